"""Click-to-mask segmentation: pick a backend by name, get one shared, re-entrant segmenter.

``get_segmenter("auto")`` answers with SAM ViT-B when its checkpoint is available here and
with the checkpoint-free offline backend otherwise; the returned object's ``.name`` says
which. Backends, in the spirit of segment-anything's ``build_sam.py``:

| backend | model | checkpoint |
| --- | --- | --- |
| ``sam`` / ``sam-vit-b`` | SAM ViT-B | ``sam_vit_b_01ec64.pth`` |
| ``sam-vit-l`` | SAM ViT-L | ``sam_vit_l_0b3195.pth`` |
| ``sam-vit-h`` | SAM ViT-H | ``sam_vit_h_4b8939.pth`` |
| ``mobile-sam`` | MobileSAM (TinyViT + SAM decoder, ultralytics modules) | ``mobile_sam.pt`` |
| ``offline`` | graph-cut click segmenter | none |
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from virtart import checkpoints
from virtart.errors import VirtArtError, warn
from virtart.segmentation.base import ImageState, Prediction, Segmenter, check_prompts, image_key


@dataclass(frozen=True)
class SamPreset:
    """A SAM-family backend: the registry name of its checkpoint and how to build its modules."""

    checkpoint: str
    build: Callable[[], object]


def _segment_anything(arch: str) -> Callable[[], object]:
    def build() -> object:
        from virtart.segmentation.sam import build_segment_anything

        return build_segment_anything(arch)

    return build


def _mobile_sam() -> object:
    from virtart.segmentation.sam import build_mobile_sam

    return build_mobile_sam()


SAM_PRESETS: dict[str, SamPreset] = {
    "sam-vit-b": SamPreset("sam-vit-b", _segment_anything("vit_b")),
    "sam-vit-l": SamPreset("sam-vit-l", _segment_anything("vit_l")),
    "sam-vit-h": SamPreset("sam-vit-h", _segment_anything("vit_h")),
    "mobile-sam": SamPreset("mobile-sam", _mobile_sam),
}
ALIASES = {"sam": "sam-vit-b"}
BACKENDS = ("auto", "sam", *SAM_PRESETS, "offline")

_instances: dict[str, Segmenter] = {}
_lock = threading.Lock()


def resolve_backend(backend: str = "auto") -> str:
    """The concrete backend ``backend`` stands for ("auto" looks for the SAM ViT-B checkpoint)."""
    backend = ALIASES.get(backend, backend)
    if backend == "auto":
        return "sam-vit-b" if checkpoints.is_available("sam-vit-b") else "offline"
    if backend not in SAM_PRESETS and backend != "offline":
        raise VirtArtError(f"unknown segmentation backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    return backend


def build_segmenter(backend: str, device: str | None = None) -> Segmenter:
    """A new segmenter for the concrete ``backend`` (SAM: checkpoint verified before building)."""
    if backend == "offline":
        from virtart.segmentation.offline import OfflineSegmenter

        return OfflineSegmenter()
    preset = SAM_PRESETS[backend]
    checkpoint = checkpoints.resolve(preset.checkpoint)  # fails fast, before building the model
    from virtart.segmentation.sam import SamSegmenter, load_state

    model = load_state(preset.build(), checkpoint)
    return SamSegmenter(model, name=backend, device=device)


def get_segmenter(backend: str = "auto") -> Segmenter:
    """The shared segmenter for ``backend`` (built on first use, then reused by every request).

    With "auto", a SAM checkpoint that is present but fails to load (bad checksum, wrong
    file, any error building the model) falls back to the offline backend with a warning
    instead of failing the request.
    """
    concrete = resolve_backend(backend)
    try:
        return _shared(concrete)
    except Exception as exc:  # noqa: BLE001 - any failure to build SAM: the offline segmenter serves
        if backend != "auto" or concrete == "offline":
            raise
        warn(f"SAM could not be loaded ({exc}); using the offline segmenter")
        return _shared("offline")


def _shared(backend: str) -> Segmenter:
    with _lock:
        if backend not in _instances:
            _instances[backend] = build_segmenter(backend)
        return _instances[backend]


__all__ = [
    "BACKENDS",
    "ImageState",
    "Prediction",
    "SAM_PRESETS",
    "SamPreset",
    "Segmenter",
    "build_segmenter",
    "check_prompts",
    "get_segmenter",
    "image_key",
    "resolve_backend",
]
