"""The one stylization path the UI and the public API share.

:func:`run_stylize` wraps :func:`virtart.pipeline.stylize` for the app: it books a ZeroGPU
slot sized to the request, turns a missing engine into a clear message, and always
closes the engine's generator (so Stop, a cancelled client or a closed tab frees the
worker at once). :class:`ResultFiles` keeps the downloadable PNGs in a bounded folder.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import Preview, StyleOptions, planned_steps
from virtart.errors import VirtArtError
from virtart.imageio import Photo, save_png
from virtart.pipeline import RegionRequest
from virtart.ui.gpu import on_gpu, stylize_duration
from virtart.ui.limits import MAX_STEPS

ENGINE_LABELS = {"Fast": "fast", "Quality (Gatys)": "gatys"}


def engine_name(label: str) -> str:
    """A UI label ("Fast", "Quality (Gatys)") or an API name ("fast", "gatys") -> engine name."""
    name = ENGINE_LABELS.get(label, str(label).strip().lower())
    if name not in ("fast", "gatys"):
        raise VirtArtError(f"unknown engine '{label}': use 'fast' or 'gatys'")
    return name


def parse_steps(steps: float | str) -> int | str:
    """"auto" (also empty) or a step count between 1 and ``MAX_STEPS``, from a UI/API value."""
    if isinstance(steps, str):
        text = steps.strip().lower()
        if text in ("", "auto"):
            return "auto"
        try:
            steps = float(text)
        except ValueError:
            raise VirtArtError(f"steps must be 'auto' or a number, got {steps!r}") from None
    if isinstance(steps, bool) or not isinstance(steps, (int, float)) or not math.isfinite(steps):
        raise VirtArtError(f"steps must be 'auto' or a finite number, got {steps!r}")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise VirtArtError(f"steps must be between 1 and {MAX_STEPS}, got {int(steps)}")
    return int(steps)


def build_options(steps: float | str, max_size: float | None, preserve_color: bool | str, feather: float,
                  seed: int = 0) -> StyleOptions:
    """StyleOptions from UI/API values (NaN or infinite numbers are refused, not crashed on).

    ``steps``: "auto" (stop when converged) or an exact count."""
    for name, value in (("max size", max_size or 0), ("feather", feather), ("seed", seed or 0)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise VirtArtError(f"{name} must be a finite number, got {value!r}")
    steps = parse_steps(steps)
    if preserve_color in (True, "true", "True", "luminance"):
        preserve = "luminance"
    elif preserve_color == "histogram":
        preserve = "histogram"
    else:
        preserve = False
    return StyleOptions(steps=steps, max_size=int(max_size) if max_size else None, preserve_color=preserve,
                        feather=float(feather), seed=int(seed or 0), preview_every=preview_interval(steps))


def preview_interval(steps: int | str) -> int:
    """Steps between the engine's previews. The engine can only stop at a preview, so on a
    CPU (seconds per step) it reports every step and Stop frees the worker within one step;
    on a GPU (milliseconds per step) about 30 previews per run are plenty."""
    import torch

    if not torch.cuda.is_available():
        return 1
    return max(1, planned_steps(StyleOptions(steps=steps)) // 30)


class Throttle:
    """Lets through at most one update per ``interval`` seconds (the first and the last always)."""

    def __init__(self, interval: float = 0.4):
        self.interval, self._last = interval, float("-inf")

    def ready(self, final: bool = False) -> bool:
        now = time.perf_counter()
        if final or now - self._last >= self.interval:
            self._last = now
            return True
        return False


def shrink(photo: Photo, requests: list[RegionRequest], long_side: int | None) -> tuple[Photo, list[RegionRequest]]:
    """Photo and masks resized so the long side is ``long_side`` (the "output size" setting)."""
    width, height = photo.size
    if not long_side or max(width, height) <= long_side:
        return photo, requests
    factor = long_side / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    rgb = cv2.resize(photo.rgb, size, interpolation=cv2.INTER_AREA)
    alpha = None if photo.alpha is None else cv2.resize(photo.alpha, size, interpolation=cv2.INTER_AREA)
    resized = [RegionRequest(mask_ops.resize_mask(np.asarray(r.mask, np.float32), size), r.style, r.strength, r.invert)
               if isinstance(r.mask, np.ndarray) else r for r in requests]
    return Photo(rgb, alpha, photo.name), resized


def _gpu_seconds(photo: Photo, requests: list[RegionRequest], engine: str, options: StyleOptions) -> int:
    return stylize_duration(engine, planned_steps(options), options.max_size)


@on_gpu(duration=_gpu_seconds)
def run_stylize(photo: Photo, requests: list[RegionRequest], engine: str, options: StyleOptions) -> Iterator[Preview]:
    """Previews, then the final (full-size) preview; stops the engine when closed early."""
    from virtart import pipeline

    generator = pipeline.stylize(photo, requests, engine=engine, options=options)
    try:
        while True:
            try:
                preview = next(generator)
            except StopIteration:
                return
            yield preview
    finally:
        generator.close()


class ResultFiles:
    """Writes result PNGs into one folder and keeps only the newest ``keep`` of them."""

    def __init__(self, folder: Path | None = None, keep: int = 64):
        self.folder = folder or Path(tempfile.gettempdir()) / f"virtart-results-{os.getpid()}"
        self.keep = keep
        self._lock = threading.Lock()

    def save(self, rgb: np.ndarray, alpha: np.ndarray | None = None, stem: str = "virtart") -> str:
        path = self.folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.png"
        save_png(path, rgb, alpha)
        self.prune()
        return str(path)

    def prune(self) -> None:
        with self._lock:
            files = sorted(self.folder.glob("*.png"), key=lambda p: p.stat().st_mtime)
            for old in files[: max(0, len(files) - self.keep)]:
                old.unlink(missing_ok=True)


RESULTS = ResultFiles()
