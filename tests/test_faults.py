"""Faults the app must survive: wrong checkpoints, a corrupted Hub cache, too-large requests,
a model that cannot load. Each ends in one clear message; nothing bad is ever loaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from virtart import checkpoints
from virtart.errors import CheckpointError, VirtArtError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class _Trap:
    """Unpickling this creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.fixture()
def checkpoint_folder(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(checkpoints, "_verified", {})
    return folder


@pytest.fixture()
def load_spies(monkeypatch) -> list[str]:
    """Record every torch.load / onnxruntime session opened while the test runs."""
    import onnxruntime

    opened: list[str] = []
    real_load, real_session = torch.load, onnxruntime.InferenceSession

    def spy_load(path, *args, **kwargs):
        opened.append(str(path))
        return real_load(path, *args, **kwargs)

    def spy_session(path, *args, **kwargs):
        opened.append(str(path))
        return real_session(path, *args, **kwargs)

    monkeypatch.setattr(torch, "load", spy_load)
    monkeypatch.setattr(onnxruntime, "InferenceSession", spy_session)
    return opened


def test_a_pickle_posing_as_a_sam_checkpoint_is_refused_and_never_unpickled(checkpoint_folder, load_spies, tmp_path,
                                                                               monkeypatch):
    from virtart import segmentation

    marker = tmp_path / "UNPICKLED"
    bad = checkpoint_folder / checkpoints.REGISTRY["sam-vit-b"].filename
    bad.write_bytes(pickle.dumps(_Trap(marker)))
    with pytest.raises(CheckpointError) as caught:
        checkpoints.resolve("sam-vit-b")
    message = str(caught.value)
    assert "\n" not in message and "fails its checksum" in message and "refused, not loaded" in message
    assert str(bad) in message and "VIRTART_CHECKPOINTS" in caught.value.detail  # for whoever runs it, not shown
    with pytest.raises(CheckpointError, match="fails its checksum"):
        segmentation.build_segmenter("sam-vit-b")
    # "auto" sees a file of the right name; it must still refuse it (or fall back), never load it.
    monkeypatch.setattr(segmentation, "_instances", {})
    try:
        chosen = segmentation.get_segmenter("auto").name
    except CheckpointError as exc:
        chosen = f"refused: {exc}"
    assert chosen == "offline" or "fails its checksum" in chosen
    assert str(bad) not in load_spies and not marker.exists()


def test_a_wrong_onnx_file_is_skipped_for_the_verified_packaged_one(checkpoint_folder, load_spies):
    spec = checkpoints.REGISTRY["magenta-style-predict"]
    bad = checkpoint_folder / spec.filename
    bad.write_bytes(b"\x08\x01not an onnx graph" * 100)
    found = checkpoints.resolve(spec.name)
    assert found.path != bad and found.source.startswith("package:")
    assert checkpoints.sha256_of(found.path) == spec.sha256
    assert str(bad) not in load_spies


def test_a_wrong_file_with_no_fallback_disables_the_fast_engine_with_a_message(checkpoint_folder, load_spies,
                                                                                 monkeypatch):
    from virtart.engines import registry
    from virtart.models import magenta

    for name in ("magenta-style-predict", "magenta-style-transform"):
        spec = checkpoints.REGISTRY[name]
        monkeypatch.setitem(checkpoints.REGISTRY, name, dataclasses.replace(spec, sources=()))
        (checkpoint_folder / spec.filename).write_bytes(b"tampered")
    monkeypatch.setattr(magenta, "_shared", {})
    monkeypatch.setattr(registry, "_shared", {})
    with pytest.raises(CheckpointError, match=r"fails its checksum .*refused, not loaded"):
        registry.shared_engine("fast", "cpu")
    assert not any(path.startswith(str(checkpoint_folder)) for path in load_spies)


# ---------------------------------------------------------------- the Hub cache


@pytest.fixture()
def hub_model(tmp_path: Path, monkeypatch) -> dict:
    """A registry entry served by a fake Hub whose cached copy is corrupted."""
    import huggingface_hub

    good = b"weights" * 1000
    cache = tmp_path / "hub-cache" / "w.safetensors"
    cache.parent.mkdir()
    cache.write_bytes(good[:-10] + b"0123456789")  # same size, wrong bytes: a corrupted download
    spec = checkpoints.ModelSpec("fault-test", "test", "w.safetensors", hashlib.sha256(good).hexdigest(), "MIT",
                                 "safetensors", (checkpoints.HubSource("virtart/fault-test", "w.safetensors"),))
    calls: list[bool] = []

    def fake_download(repo_id, filename, revision=None, local_files_only=False, force_download=False, **_):
        calls.append(bool(force_download))
        if force_download:
            if local_files_only:
                raise huggingface_hub.errors.LocalEntryNotFoundError("offline")
            cache.write_bytes(good)
        return str(cache)

    monkeypatch.setitem(checkpoints.REGISTRY, spec.name, spec)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr(checkpoints, "_verified", {})
    monkeypatch.delenv("VIRTART_CHECKPOINTS", raising=False)
    return {"spec": spec, "cache": cache, "good": good, "calls": calls}


def test_a_corrupted_hub_cache_entry_is_fetched_again(hub_model, monkeypatch):
    monkeypatch.setattr(checkpoints, "_hub_offline", lambda: False)
    found = checkpoints.resolve("fault-test")
    assert found.path == hub_model["cache"] and found.path.read_bytes() == hub_model["good"]
    assert hub_model["calls"] == [False, True]


def test_a_corrupted_hub_cache_entry_is_reported_when_offline(hub_model, monkeypatch):
    monkeypatch.setattr(checkpoints, "_hub_offline", lambda: True)
    with pytest.raises(CheckpointError) as caught:
        checkpoints.resolve("fault-test")
    assert "fails its checksum" in str(caught.value) and "\n" not in str(caught.value)
    assert hub_model["calls"] == [False]


# ---------------------------------------------------------------- memory


def test_a_too_large_request_suggests_a_size_that_fits(monkeypatch):
    from virtart.engines import memory

    have = 256 * 2**20
    monkeypatch.setattr(memory, "available_bytes", lambda device: have)
    with pytest.raises(VirtArtError) as caught:
        memory.check_fits(2048, (2048, 1536), torch.device("cpu"), 2)
    match = re.search(r"use a max size of (\d+) px or less", str(caught.value))
    assert match, str(caught.value)
    suggested = int(match.group(1))
    assert suggested < 2048 and memory.estimate_bytes(suggested, (2048, 1536), 2) <= 0.85 * have
    memory.check_fits(suggested, (2048, 1536), torch.device("cpu"), 2)  # the suggestion itself fits


def test_a_too_large_gatys_run_fails_before_working_and_the_process_serves_on(monkeypatch, small_photo):
    from virtart import pipeline
    from virtart.engines import memory
    from virtart.engines.base import StyleOptions
    from virtart.engines.gatys import GatysEngine
    from virtart.pipeline import RegionRequest

    # No network is needed: the memory check runs before the first feature is computed.
    engine = GatysEngine(network=None, device="cpu")
    monkeypatch.setattr(memory, "available_bytes", lambda device: 8 * 2**20)
    mask = np.ones(small_photo.shape[:2], np.float32)
    style = np.full((32, 32, 3), 128, np.uint8)
    with pytest.raises(VirtArtError, match="max size of"):
        list(pipeline.stylize(small_photo, [RegionRequest(mask, style)], engine=engine,
                              options=StyleOptions(max_size=512, device="cpu")))


# ---------------------------------------------------------------- a model that fails disables only its feature


@pytest.fixture()
def app_api():
    import gradio as gr

    from virtart.ui import api

    return gr, api


@pytest.fixture()
def photo_files(tmp_path: Path, small_photo) -> dict[str, str]:
    from tests.support.hostile import good_style
    from virtart.imageio import save_mask, save_png

    mask = np.zeros(small_photo.shape[:2], np.float32)
    mask[10:30, 10:40] = 1
    (tmp_path / "style.png").write_bytes(good_style())
    return {"image": str(save_png(tmp_path / "photo.png", small_photo)),
            "mask": str(save_mask(tmp_path / "mask.png", mask)), "style": str(tmp_path / "style.png")}


def fast_stylize(api, files: dict[str, str], engine: str = "fast"):
    return list(api.stylize_api(image=files["image"], mask=files["mask"], style="", style_images=[files["style"]],
                                engine=engine, max_size=64, feather=0))[-1]


def error_text(exc) -> str:
    return str(getattr(exc, "message", exc))


def test_a_detector_that_cannot_load_disables_detection_only(app_api, photo_files, monkeypatch):
    gr, api = app_api
    from virtart.segmentation import detect

    def broken(*args, **kwargs):
        raise CheckpointError("model 'yolo11n' (yolo11n.pt) is not available: test fault")

    monkeypatch.setattr(detect, "_detector", None)
    monkeypatch.setattr(detect, "Detector", broken)
    with pytest.raises(gr.Error) as caught:
        api.detect_api(photo_files["image"])
    assert "yolo11n" in error_text(caught.value)
    mask, info = api.segment_api(photo_files["image"], "[[20, 20, 1]]")
    assert mask.shape == (48, 64) and info["backend"]
    image, png, _ = fast_stylize(api, photo_files)
    assert image.shape == (48, 64, 3) and Path(png).is_file()


def test_an_engine_that_cannot_load_disables_stylizing_only_and_says_why(app_api, photo_files, monkeypatch):
    gr, api = app_api
    from virtart.engines import registry
    from virtart.models import magenta

    def broken(cls, device="cpu"):
        raise CheckpointError("model 'magenta-style-predict' (arbitrary_predict.onnx) is not available: test fault")

    monkeypatch.setattr(registry, "_shared", {})
    monkeypatch.setattr(magenta, "_shared", {})
    monkeypatch.setattr(magenta.MagentaStylizer, "from_registry", classmethod(broken))
    with pytest.raises(gr.Error) as caught:
        fast_stylize(api, photo_files)
    assert "arbitrary_predict.onnx" in error_text(caught.value)
    mask, _ = api.segment_api(photo_files["image"], "[[20, 20, 1]]")
    assert mask.shape == (48, 64)
    assert isinstance(api.styles_api(), list)


@pytest.mark.weights
def test_the_app_says_to_use_a_smaller_size_and_serves_on(app_api, photo_files, monkeypatch):
    gr, api = app_api
    from virtart.engines import memory, registry
    from virtart.engines.gatys import GatysEngine

    # The app serves the registry's shared engines; this one fails its memory check before it needs a network.
    monkeypatch.setitem(registry._shared, ("gatys", "cpu"), GatysEngine(network=None, device="cpu"))
    monkeypatch.setattr(memory, "available_bytes", lambda device: 8 * 2**20)
    with pytest.raises(gr.Error) as caught:
        list(api.stylize_api(image=photo_files["image"], mask=photo_files["mask"], style="",
                             style_images=[photo_files["style"]], engine="gatys", max_size=512, feather=0))
    assert re.search(r"use a max size of \d+ px or less", error_text(caught.value))
    image, png, _ = fast_stylize(api, photo_files)  # the next request is served as usual
    assert image.shape == (48, 64, 3) and Path(png).is_file()


def test_the_page_says_which_features_are_off_and_why(monkeypatch):
    from virtart import checkpoints
    from virtart.ui import health

    monkeypatch.setattr(checkpoints, "is_available", lambda name: name not in ("yolo11n-seg", "yolo11n", "sam-vit-b"))
    rows = {name: (ok, detail) for name, ok, detail in health.feature_status()}
    assert rows["Detect objects"][0] is False and "yolo11n.pt" in rows["Detect objects"][1]
    assert rows["Fast engine"][0] and rows["Quality engine"][0]
    assert rows["Click selection"] == (True, "offline segmenter (no SAM checkpoint here)")
    assert "Detect objects: OFF, unavailable" in health.status_markdown()
