"""A model file that passes its checksum but fails to load falls back to the next model with one
warning naming the file and the reason (marked ``weights``: the fallbacks are real)."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest

from virtart import checkpoints, hub
from virtart.errors import VirtArtWarning

pytestmark = pytest.mark.weights


def corrupt_but_stated(folder, filename: str) -> None:
    """A garbage ``filename`` whose sha256 the user stated in SHA256SUMS: it passes the hash."""
    content = b"\x00garbage, not a model\x00" * 64
    (folder / filename).write_bytes(content)
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(content).hexdigest()}  {filename}\n")


def only_warning(caught) -> str:
    ours = [str(w.message) for w in caught if issubclass(w.category, VirtArtWarning)]
    assert len(ours) == 1, ours
    return ours[0]


def test_a_corrupt_vgg19_falls_back_to_the_offline_vgg16_and_still_stylizes(tmp_path, monkeypatch, small_photo):
    from virtart.engines.base import Region
    from virtart.engines.gatys import GatysEngine
    from virtart.engines.registry import GatysOptions
    from virtart.models.vgg import load_perceptual_network
    from virtart.pipeline import stylize

    monkeypatch.setenv("VIRTART_CHECKPOINTS", str(tmp_path))
    filename = checkpoints.REGISTRY["vgg19"].filename
    corrupt_but_stated(tmp_path, filename)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network = load_perceptual_network("auto")
    message = only_warning(caught)
    assert network.name == "vgg16-offline"
    assert str(tmp_path / filename) in message and "failed to load" in message
    mask = np.zeros(small_photo.shape[:2], np.float32)
    mask[8:40, 8:56] = 1
    style = np.flipud(small_photo).copy()
    previews = list(stylize(small_photo, [Region(mask, style)], engine=GatysEngine(network),
                            options=GatysOptions(steps=2, max_size=64, preview_every=1, device="cpu")))
    assert previews[-1].final and previews[-1].image.shape == small_photo.shape


def test_a_corrupt_vgg19_in_the_hub_cache_falls_back_too(tmp_path, monkeypatch):
    """Garbage in the Hub cache whose recorded digest matches it (as if the Hub had served it)."""
    import huggingface_hub

    from virtart.models.vgg import load_perceptual_network

    monkeypatch.delenv("VIRTART_CHECKPOINTS", raising=False)
    cached = tmp_path / "snapshots" / "abc" / "model.safetensors"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not safetensors" * 10)
    hub.record_digest(cached, hub.file_sha256(cached))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: str(cached))
    monkeypatch.setattr(checkpoints, "_hub_offline", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        network = load_perceptual_network("auto")
    assert network.name == "vgg16-offline" and str(cached) in only_warning(caught)


@pytest.mark.parametrize("where", ["users folder", "hub cache"])
def test_a_corrupt_yolo11n_seg_falls_back_to_yolo11n_and_still_detects(where, tmp_path, monkeypatch, astronaut):
    import huggingface_hub

    from virtart.segmentation import detect

    if where == "users folder":
        monkeypatch.setenv("VIRTART_CHECKPOINTS", str(tmp_path))
        corrupt_but_stated(tmp_path, "yolo11n-seg.pt")
        bad = tmp_path / "yolo11n-seg.pt"
    else:  # garbage whose recorded digest matches it, as if the Hub had served it
        monkeypatch.delenv("VIRTART_CHECKPOINTS", raising=False)
        bad = tmp_path / "snapshots" / "abc" / "yolo11n-seg.pt"
        bad.parent.mkdir(parents=True)
        bad.write_bytes(b"\x80\x02not a checkpoint" * 50)
        hub.record_digest(bad, hub.file_sha256(bad))
        real_download = huggingface_hub.hf_hub_download

        def cached(repo_id, filename, **kwargs):
            return str(bad) if filename == "yolo11n-seg.pt" else real_download(repo_id, filename, **kwargs)

        monkeypatch.setattr(huggingface_hub, "hf_hub_download", cached)
        monkeypatch.setattr(checkpoints, "_hub_offline", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detector = detect.Detector("cpu")
    message = only_warning(caught)
    assert (detector.model_name, detector.segments) == ("yolo11n", False)
    assert str(bad) in message and "failed to load" in message
    found = detector.detect(astronaut, classes=["person"], image_size=320, augment=False)
    assert found and found[0].label == "person"
