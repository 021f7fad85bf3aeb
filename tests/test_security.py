"""Security checks: weights are never unpickled, the container runs as uid 1000, and the
running app's file routes serve nothing outside its own folders (a smoke version of
``bench/security_probe.py``).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support import REPO_DIR

SOURCES = sorted((REPO_DIR / "virtart").rglob("*.py")) + [REPO_DIR / "app.py"]
UNPICKLERS = {"pickle", "cPickle", "_pickle", "dill", "joblib", "cloudpickle", "shelve", "marshal"}


def parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def keyword_is(call: ast.Call, name: str, value) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value for k in call.keywords)


def test_torch_load_always_says_weights_only_true():
    offenders, seen = [], 0
    for path in SOURCES:
        if not path.is_file():
            continue
        for call in calls(parsed(path)):
            if dotted(call.func) in ("torch.load", "torch.serialization.load"):
                seen += 1
                if not keyword_is(call, "weights_only", True):
                    offenders.append(f"{path.relative_to(REPO_DIR)}:{call.lineno}")
    assert not offenders, f"torch.load without weights_only=True: {offenders}"
    assert seen >= 1, "the SAM loader's torch.load was not found: is this check still looking at the right files?"


def test_nothing_in_the_package_unpickles_or_evaluates():
    offenders = []
    for path in SOURCES:
        if not path.is_file():
            continue
        tree = parsed(path)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            if UNPICKLERS & set(names):
                offenders.append(f"{path.relative_to(REPO_DIR)}:{node.lineno} imports {names}")
        for call in calls(tree):
            name = dotted(call.func)
            if name in ("eval", "exec") or (name.endswith(".load") and keyword_is(call, "allow_pickle", True)):
                offenders.append(f"{path.relative_to(REPO_DIR)}:{call.lineno} calls {name}")
            if name == "yaml.load" and not any(k.arg == "Loader" for k in call.keywords):
                offenders.append(f"{path.relative_to(REPO_DIR)}:{call.lineno} yaml.load without a safe Loader")
    assert not offenders, offenders


def test_every_registered_model_is_read_as_tensors_only():
    from virtart import settings
    from virtart.checkpoints import REGISTRY

    assert {spec.format for spec in REGISTRY.values()} <= {"safetensors", "onnx", "torch"}
    # "torch" files are read with weights_only=True (above) or by ultralytics in its safe-load mode.
    assert settings.offline_environment().get("ULTRALYTICS_SAFE_LOAD") == "1"


@pytest.mark.weights
def test_the_yolo_checkpoint_is_loaded_with_weights_only(tmp_path: Path):
    """In a fresh process (ultralytics reads its flag at import): every torch.load is weights_only=True."""
    script = """
import torch
seen = []
real = torch.load
def spy(*args, **kwargs):
    seen.append(kwargs.get("weights_only"))
    return real(*args, **kwargs)
torch.load = spy
from virtart.errors import CheckpointError
from virtart.segmentation.detect import Detector
try:
    Detector("cpu")
except CheckpointError as exc:
    print("SKIP", exc)
print("LOADS", seen)
"""
    env = {k: v for k, v in os.environ.items() if k != "ULTRALYTICS_SAFE_LOAD"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                            cwd=REPO_DIR)
    assert result.returncode == 0, result.stderr[-2000:]
    if "SKIP" in result.stdout:
        pytest.skip(result.stdout)
    loads = re.search(r"LOADS (\[.*\])", result.stdout).group(1)
    assert loads != "[]" and set(ast.literal_eval(loads)) == {True}, loads


def test_the_docker_image_runs_as_uid_1000():
    dockerfile = REPO_DIR / "Dockerfile"
    if not dockerfile.is_file():
        pytest.skip("no Dockerfile")
    lines = [line.strip() for line in dockerfile.read_text().splitlines() if line.strip() and not line.startswith("#")]
    users = [line.split(None, 1)[1].strip() for line in lines if line.upper().startswith("USER ")]
    assert users, "the Dockerfile never leaves root (no USER line)"
    final = users[-1].split(":")[0]
    if final != "1000":
        created = [line for line in lines if re.search(rf"useradd\b.*(-u|--uid)\s*1000\b.*\b{re.escape(final)}\b", line)]
        assert created, f"USER {final} is not created with uid 1000"
    last_user = max(i for i, line in enumerate(lines) if line.upper().startswith("USER "))
    last_cmd = max(i for i, line in enumerate(lines) if line.upper().startswith(("CMD", "ENTRYPOINT")))
    assert last_user < last_cmd, "the command runs before the USER switch"


@pytest.mark.server
def test_file_routes_serve_nothing_outside_the_apps_folders(tmp_path: Path):
    """A smoke run of the traversal probe against the app launched in this process."""
    from gradio import utils

    import app
    from tests.support import security
    from tests.support.server import free_port

    demo = app.build_app()
    app.queue(demo)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            **app.launch_options())
    try:
        outside = Path(tempfile.mkdtemp(prefix="virtart-secret-", dir=tmp_path))
        attempts = security.probe_file_routes(url, security.default_targets(outside), Path(utils.get_cache_folder()),
                                              time_limit=30.0, max_requests=1500)
        assert len(attempts) > 300
        leaks = [a["request"] for a in attempts if a["leaked"]]
        assert not leaks, leaks
        server_errors = [a["request"] for a in attempts if a["status"] >= 500]
        assert not server_errors, server_errors  # e.g. a NUL in the path: 400 from request_guard
    finally:
        demo.close()
