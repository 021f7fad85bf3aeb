"""The one stylization path the UI and the public API share.

:func:`run_stylize` wraps :func:`virtart.pipeline.stylize` for the app: it books a ZeroGPU
slot sized to the request, turns a missing engine into a clear message, and always
closes the engine's generator (so Stop, a cancelled client or a closed tab frees the
worker at once). :class:`ResultFiles` keeps the downloadable PNGs in a bounded folder.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import Preview
from virtart.engines.registry import gpu_seconds
from virtart.geometry import resize_image, shrink_to
from virtart.imageio import Photo, save_png
from virtart.request import RegionRequest, StylizeRequest
from virtart.ui.gpu import on_gpu

# Seconds between two previews sent to a page or a client (engines report every step).
PREVIEW_INTERVAL = 0.25


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
    size = shrink_to(photo.size, long_side)
    if size == photo.size:
        return photo, requests
    rgb = resize_image(photo.rgb, size)
    alpha = None if photo.alpha is None else resize_image(photo.alpha, size)
    resized = [replace(r, mask=mask_ops.resize_mask(np.asarray(r.mask, np.float32), size))
               if isinstance(r.mask, np.ndarray) else r for r in requests]
    return Photo(rgb, alpha, photo.name), resized


def _gpu_seconds(request: StylizeRequest) -> int:
    return gpu_seconds(request.engine, request.options.planned_steps(), request.options.max_size)


@on_gpu(duration=_gpu_seconds)
def run_stylize(request: StylizeRequest) -> Iterator[Preview]:
    """Previews, then the final (full-size) preview; stops the engine when closed early."""
    from virtart import pipeline

    generator = pipeline.stylize(request)
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
