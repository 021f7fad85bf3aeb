"""The Dockerfile fetches only the models the app uses by default, in a layer that code
changes do not invalidate (before ``COPY . .``), and runs as uid 1000."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from virtart import checkpoints

REPO = Path(__file__).resolve().parents[1]


def test_the_model_layer_comes_before_the_code_and_needs_only_the_files_copied_for_it(tmp_path):
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    code_copy = lines.index("COPY --chown=user . .")
    fetch = next(i for i, line in enumerate(lines) if "checkpoints.fetch(" in line)
    assert fetch < code_copy, "the model layer must not depend on the whole code"
    assert "APP_MODELS" in lines[fetch]
    assert not {"sam-vit-l", "sam-vit-h", "mobile-sam"} & set(checkpoints.APP_MODELS)
    assert "useradd -m -u 1000 user" in " ".join(lines) and "USER user" in lines
    copied = [line.split()[2:-1] for line in lines[:fetch] if line.startswith("COPY") and "virtart/" in line]
    assert copied, "the checkpoint modules are copied before the fetch"
    for relative in copied[0]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, tmp_path / relative)
    command = re.search(r'python -c "(.*)"', lines[fetch]).group(1)
    check = command + "; import sys; print(sorted(m for m in sys.modules if m.startswith('virtart')))"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tmp_path), "VIRTART_CACHE": str(tmp_path / "c")}
    env.pop("VIRTART_CHECKPOINTS", None)
    done = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(f"[missing] {name}:" in done.stdout for name in checkpoints.APP_MODELS)  # offline here
    assert str(tmp_path) in subprocess.run([sys.executable, "-c", "import virtart; print(virtart.__file__)"],
                                           cwd=tmp_path, env=env, capture_output=True, text=True).stdout
