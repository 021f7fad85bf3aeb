"""The model download path over real HTTP, unpatched, against a local Hub (``tests/support/hub_server.py``).

huggingface_hub is pointed at the local servers as ``HF_ENDPOINT`` would (in this process
its ``constants`` are set, as the variable would set them at import; the subprocess tests set
``HF_ENDPOINT`` itself) and does what it does on the Space: HEAD the resolve URL, read
``X-Repo-Commit`` / ``X-Linked-Etag`` / ``X-Linked-Size``, follow the redirect to the file
store on another port, stream the file into its cache (blobs, snapshots, refs). The servers
inject the faults; after each, the app uses a verified file or says plainly that the model
is missing: never a traceback, never an unverified file.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.hub_server import LocalHub, sha256
from virtart import checkpoints, hub, warmup
from virtart.errors import CheckpointError, VirtArtWarning, user_message

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

VGG = checkpoints.REGISTRY["vgg19"].sources[0]  # timm/vgg19.tv_in1k, model.safetensors: no pinned sha256
SAM = checkpoints.REGISTRY["sam-vit-b"].sources[0]
ROOT = Path(__file__).resolve().parents[1]


def vgg19_safetensors(width_divisor: int = 1, seed: int = 0) -> bytes:
    """VGG-19's 16 convolutions as timm names them (``features.N.weight``/``.bias``), random
    float16 weights; ``width_divisor`` 1 gives the real shapes (40 MB), more a thin copy."""
    from safetensors.numpy import save

    from virtart.models.vgg import CONFIGS

    rng = np.random.default_rng(seed)
    state, channels, index = {}, 3, 0
    for item in CONFIGS["vgg19"]:
        if item == "M":
            index += 1
            continue
        width = int(item) // width_divisor
        state[f"features.{index}.weight"] = rng.standard_normal((width, channels, 3, 3), np.float32).astype(np.float16)
        state[f"features.{index}.bias"] = np.zeros(width, np.float16)
        channels, index = width, index + 2  # a conv, then its ReLU
    return save(state)


def sam_state_dict() -> bytes:
    """segment-anything's ``Sam`` state dict (its real key names; thin, random: tests/support/tiny_models)."""
    import torch

    from tests.support.tiny_models import tiny_sam

    buffer = io.BytesIO()
    torch.save(tiny_sam().state_dict(), buffer)
    return buffer.getvalue()


def onnx_model() -> bytes:
    """A small ONNX graph (y = x * 2 over 1x3x8x8)."""
    from onnx import TensorProto, helper

    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"])], "double",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])], [two])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


THIN_VGG = vgg19_safetensors(width_divisor=16)


@functools.lru_cache(maxsize=1)
def full_vgg19() -> bytes:
    return vgg19_safetensors()


@pytest.fixture()
def local_hub(tmp_path: Path, monkeypatch) -> LocalHub:
    """A running local Hub with ``timm/vgg19.tv_in1k`` (a thin VGG-19 file), huggingface_hub
    pointed at it with an empty cache, and VirtArt's download state fresh."""
    from huggingface_hub import constants

    server = LocalHub().start()
    server.commit(VGG.repo_id, {VGG.filename: THIN_VGG})
    monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("VIRTART_CHECKPOINTS", raising=False)
    for name, fresh in (("_probes", {}), ("_fetches", {}), ("_background_only", set())):
        monkeypatch.setattr(hub, name, fresh)
    monkeypatch.setattr(checkpoints, "_verified", {})
    monkeypatch.setattr(warmup, "_states", {})
    monkeypatch.setattr(warmup, "_threads", {})
    yield server
    warmup.stop(timeout=10)
    server.close()


def cache_root(source) -> Path:
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=source.repo_id, repo_type="model")


def leftovers(source) -> list[str]:
    """Partial downloads left in the cache (huggingface_hub's ``*.incomplete``)."""
    root = cache_root(source)
    return [p.name for p in root.rglob("*.incomplete")] if root.exists() else []


def plain(message: str) -> None:
    """A message fit for a visitor: one line, no traceback, no path, no URL, no library name."""
    assert "\n" not in message and "Traceback" not in message, message
    for word in ("/tmp", "127.0.0.1", "http", "huggingface_hub", "httpx", ".cache", "hf-cache"):
        assert word not in message, f"{word!r} in {message!r}"


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---------------------------------------------------------------- the protocol, without faults


def test_the_real_protocol_downloads_verifies_and_caches_a_full_size_vgg19(local_hub, monkeypatch):
    from huggingface_hub import constants

    from virtart.models.vgg import vgg19_from_safetensors

    full = full_vgg19()
    commit = local_hub.commit(VGG.repo_id, {VGG.filename: full})
    found = checkpoints.resolve("vgg19")
    assert found.source == VGG.describe() and found.path.read_bytes() == full
    root = cache_root(VGG)
    assert (root / "refs" / "main").read_text() == commit
    assert found.path == root / "snapshots" / commit / VGG.filename
    assert (root / "blobs" / sha256(full)).is_file()
    assert hub.recorded_digest(found.path) == sha256(full)  # the served X-Linked-Etag, recorded
    assert local_hub.count("hub", "HEAD", "/resolve/main/") >= 1 and local_hub.count("store", "GET") == 1
    assert leftovers(VGG) == []
    network = vgg19_from_safetensors(str(found.path))  # the real loader takes it: the real shapes
    assert len(network.convs) == 16
    # Again, and offline: the cached file, checked against its record, no download.
    monkeypatch.setattr(checkpoints, "_verified", {})
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert checkpoints.resolve("vgg19").path == found.path and local_hub.count("store", "GET") == 1


def test_an_onnx_file_and_a_sam_state_dict_over_http(local_hub, monkeypatch):
    import onnxruntime
    import torch

    sam = sam_state_dict()
    local_hub.commit(SAM.repo_id, {SAM.filename: sam})
    spec = checkpoints.REGISTRY["sam-vit-b"]  # its pinned sha256 is the real file's: point it at this one
    monkeypatch.setitem(checkpoints.REGISTRY, spec.name, dataclasses.replace(spec, sha256=sha256(sam)))
    found = checkpoints.resolve("sam-vit-b")
    state = torch.load(found.path, weights_only=True)
    assert "image_encoder.patch_embed.proj.weight" in state and "mask_decoder.iou_token.weight" in state
    graph = onnx_model()
    local_hub.commit("virtart/test-onnx", {"double.onnx": graph})
    onnx_spec = checkpoints.ModelSpec("test-onnx", "test", "double.onnx", None, "MIT", "onnx",
                                      (checkpoints.HubSource("virtart/test-onnx", "double.onnx"),))
    monkeypatch.setitem(checkpoints.REGISTRY, onnx_spec.name, onnx_spec)
    session = onnxruntime.InferenceSession(str(checkpoints.resolve("test-onnx").path))
    (out,) = session.run(None, {"x": np.ones((1, 3, 8, 8), np.float32)})
    assert float(out.mean()) == 2.0


# ---------------------------------------------------------------- faults


def test_500s_that_pass_are_ridden_out_and_the_warmup_ends_ready(local_hub):
    local_hub.faults.resolve_status = [500, 500]  # the first HEADs fail; huggingface_hub retries
    (thread,) = warmup.start(("vgg19",))
    thread.join(60)
    assert warmup.status("vgg19") == "ready", warmup.status("vgg19")
    assert hub.recorded_digest(checkpoints.resolve("vgg19").path) == sha256(THIN_VGG)


def test_a_503_hub_says_the_model_is_missing_and_backs_off(local_hub, monkeypatch):
    from virtart.ui import health

    local_hub.faults.resolve_status_always = 503
    (thread,) = warmup.start(("vgg19",))
    wait_for(lambda: (warmup.status("vgg19") or "").startswith("failed"))
    state = warmup.status("vgg19")
    assert state.startswith("failed: the Hub answered HTTP 503; retried in") and state.endswith(("60 s", "59 s")), state
    plain(state)
    assert "Quality engine" in health.status_markdown()  # the status line answers (the fallback serves)
    asked = local_hub.count("hub", contains="/resolve/")
    with pytest.raises(CheckpointError) as caught:
        checkpoints.resolve("vgg19")  # a visitor's request during the back-off: no new request
    assert local_hub.count("hub", contains="/resolve/") == asked
    message = user_message(caught.value)
    plain(message)
    assert "vgg19" in message and "503" in message
    assert not checkpoints.is_available("vgg19")
    # The back-off grows: 60 s after the first failure, 300 s after the second.
    warmup.stop(timeout=10)
    hub._background_only.clear()  # as if this thread were the warm-up's
    key = VGG.describe()
    hub._fetches[key].retry_at = 0.0
    with pytest.raises(Exception, match="503"):  # the library call itself: the Hub's own error
        hub.download(VGG, None)
    assert 290 < hub.retry_wait(key) <= 300
    # The Hub comes back and the wait is over: the next try downloads and verifies.
    local_hub.faults.resolve_status_always = None
    hub._fetches[key].retry_at = 0.0
    assert checkpoints.resolve("vgg19").path.read_bytes() == THIN_VGG


def test_a_connection_dropped_half_way_is_resumed_with_a_range_request(local_hub):
    full = full_vgg19()  # over huggingface_hub's 10 MB write chunk, so that half of it is on disk
    local_hub.commit(VGG.repo_id, {VGG.filename: full})
    local_hub.faults.drops = 1
    found = checkpoints.resolve("vgg19")
    assert found.path.read_bytes() == full
    assert local_hub.count("store", "GET", "Range=bytes=") == 1, local_hub.requests
    assert leftovers(VGG) == []


def test_a_slow_hub_fails_the_probe_in_time_and_the_page_stays_responsive(local_hub, monkeypatch):
    from virtart.ui import health

    local_hub.faults.probe_delay = 3.0
    monkeypatch.setattr(hub, "PROBE_TIMEOUT_S", 0.5)
    started = time.monotonic()
    assert hub.reachable() is False and time.monotonic() - started < 2.5
    with pytest.raises(CheckpointError, match="offline or unreachable"):
        checkpoints.resolve("vgg19")
    # A Hub that answers, but streams the file slowly: the warm-up downloads in the background,
    # and the page's status line answers at once meanwhile.
    local_hub.commit(VGG.repo_id, {VGG.filename: vgg19_safetensors(width_divisor=4)})  # 2.5 MB: 40 slow chunks
    local_hub.faults.probe_delay, local_hub.faults.store_chunk_delay = 0.0, 0.2
    monkeypatch.setattr(hub, "_probes", {})
    (thread,) = warmup.start(("vgg19",))
    wait_for(lambda: local_hub.count("store", "GET") == 1)
    started = time.monotonic()
    line = health.status_markdown()
    assert time.monotonic() - started < 2.0 and "vgg19 downloading" in line, line
    assert thread.is_alive()
    with pytest.raises(CheckpointError, match="not downloaded here: downloading"):
        checkpoints.resolve("vgg19")  # a visitor never waits on it
    thread.join(60)
    assert warmup.status("vgg19") == "ready"


def test_a_digest_mismatch_is_refused_and_the_earlier_verified_copy_kept(local_hub, monkeypatch):
    first = checkpoints.resolve("vgg19").path
    changed = vgg19_safetensors(width_divisor=16, seed=1)
    local_hub.commit(VGG.repo_id, {VGG.filename: changed})
    local_hub.faults.corrupt = {sha256(changed)}  # the store's bytes do not match X-Linked-Etag
    with pytest.raises(CheckpointError, match="fails its checksum.*refused, not loaded"):
        hub.download(VGG, None, force=True)  # what a refresh does (virtart weights --fetch)
    status = hub.fetch_status(VGG.describe())
    assert status.startswith("failed: ") and "fails its checksum" in status and "retried in" in status, status
    plain(status)
    assert [p.name for p in (cache_root(VGG) / "blobs").iterdir()] == [sha256(THIN_VGG)], \
        "the refused bytes were left in the cache"
    monkeypatch.setattr(checkpoints, "_verified", {})
    with pytest.warns(VirtArtWarning, match="using the copy downloaded earlier"):
        kept = checkpoints.resolve("vgg19")
    assert kept.path == first and kept.path.read_bytes() == THIN_VGG


def test_a_digest_mismatch_with_nothing_cached_says_the_model_is_missing(local_hub, load_spies):
    local_hub.faults.corrupt = {sha256(THIN_VGG)}
    with pytest.raises(CheckpointError) as caught:
        checkpoints.resolve("vgg19")
    message = user_message(caught.value)
    plain(message)
    assert "vgg19" in message and "fails its checksum" in message and "not available" in message
    assert list((cache_root(VGG) / "blobs").iterdir()) == [], "the refused bytes were kept"
    assert load_spies == []


@pytest.fixture()
def load_spies(monkeypatch) -> list[str]:
    """Every safetensors file opened while the test runs."""
    import safetensors.numpy

    opened: list[str] = []
    real = safetensors.numpy.load_file
    monkeypatch.setattr(safetensors.numpy, "load_file", lambda path, *a, **k: (opened.append(str(path)),
                                                                              real(path, *a, **k))[1])
    return opened


def test_a_pinned_revision_wins_over_a_moved_branch(local_hub, monkeypatch):
    pinned_commit = local_hub.branches[(VGG.repo_id, "main")]
    local_hub.commit(VGG.repo_id, {VGG.filename: vgg19_safetensors(width_divisor=16, seed=2)})  # main moves on
    spec = checkpoints.REGISTRY["vgg19"]
    pinned = dataclasses.replace(VGG, revision=pinned_commit)
    monkeypatch.setitem(checkpoints.REGISTRY, "vgg19", dataclasses.replace(spec, sources=(pinned,)))
    found = checkpoints.resolve("vgg19")
    assert found.path.read_bytes() == THIN_VGG and found.path.parent.name == pinned_commit
    assert local_hub.count("hub", "HEAD", f"/resolve/{pinned_commit}/") >= 1
    assert local_hub.count("hub", contains="/resolve/main/") == 0


# ---------------------------------------------------------------- other processes


def fetch_in_subprocess(local_hub: LocalHub, cache: Path, file_size_limit: int | None = None,
                        start_at: float | None = None) -> subprocess.Popen:
    """``checkpoints.resolve("vgg19")`` in a fresh interpreter with ``HF_ENDPOINT`` set; prints
    one JSON line: the path, or the user's message and the download's status."""
    code = f"""
import json, resource, sys, time
limit, start = {file_size_limit!r}, {start_at!r}
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # writes past it fail: a full disk
from virtart import checkpoints, hub
from virtart.errors import CheckpointError, user_message
if start:
    time.sleep(max(0.0, start - time.time()))
try:
    print(json.dumps({{"path": str(checkpoints.resolve("vgg19").path)}}))
except CheckpointError as exc:
    print(json.dumps({{"message": user_message(exc), "status": hub.fetch_status(checkpoints.REGISTRY["vgg19"].sources[0].describe())}}))
"""
    env = {**os.environ, "HF_ENDPOINT": local_hub.endpoint, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "0",
           "PYTHONPATH": str(ROOT), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    env.pop("VIRTART_CHECKPOINTS", None)
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def answer(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def test_a_full_disk_fails_the_write_cleanly_and_leaves_nothing_half_written(local_hub, tmp_path):
    big = vgg19_safetensors(width_divisor=4)  # ~2.5 MB: over the 1 MB the process may write
    local_hub.commit(VGG.repo_id, {VGG.filename: big})
    cache = tmp_path / "full-disk-cache"
    result = answer(fetch_in_subprocess(local_hub, cache, file_size_limit=1 << 20))
    assert "path" not in result, result
    plain(result["message"])
    assert "vgg19" in result["message"] and "the disk is full" in result["message"], result
    assert result["status"].startswith("failed: the disk is full"), result
    assert [p for p in cache.rglob("*") if p.is_file() and (p.suffix == ".incomplete" or p.parent.name == "blobs")] \
        == []


def test_two_processes_downloading_at_once_both_get_the_verified_file(local_hub, tmp_path):
    local_hub.faults.store_chunk_delay = 0.05  # long enough for the two downloads to overlap
    cache = tmp_path / "shared-cache"
    start = time.time() + 4.0  # both past their imports, then at once
    processes = [fetch_in_subprocess(local_hub, cache, start_at=start) for _ in range(2)]
    results = [answer(process) for process in processes]
    paths = {result.get("path") for result in results}
    assert len(paths) == 1 and None not in paths, results
    path = Path(paths.pop())
    assert path.read_bytes() == THIN_VGG and hub.recorded_digest(path) == sha256(THIN_VGG)
    assert [p.name for p in cache.rglob("*.incomplete")] == []
    assert len(list(cache.rglob("blobs/*"))) == 1


def test_requests_in_threads_while_the_background_download_runs(local_hub):
    """Visitors' requests in threads during the warm-up: each is refused at once (the fallback
    serves them), none downloads a second copy."""
    local_hub.faults.store_chunk_delay = 0.1
    (thread,) = warmup.start(("vgg19",))
    wait_for(lambda: local_hub.count("store", "GET") == 1)
    outcomes: list[str] = []

    def visitor() -> None:
        try:
            checkpoints.resolve("vgg19")
            outcomes.append("resolved")
        except CheckpointError as exc:
            outcomes.append(user_message(exc))

    visitors = [threading.Thread(target=visitor) for _ in range(4)]
    for visitor_thread in visitors:
        visitor_thread.start()
    for visitor_thread in visitors:
        visitor_thread.join(5)
    assert len(outcomes) == 4 and all("downloading" in o for o in outcomes), outcomes
    thread.join(60)
    assert warmup.status("vgg19") == "ready" and local_hub.count("store", "GET") == 1
