"""The one entry point the CLI and the app use to stylize a photo.

``stylize(photo, regions, engine=..., options=...)`` resolves styles and masks, checks
everything at the boundary, runs the chosen engine's preview generator and attaches a
report (sizes, losses, timings, ``outside_changed_pixels``) to the final preview.
Engines are built once per (name, device) and shared read-only between requests.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import Engine, Preview, Region, StyleOptions, check_inputs
from virtart.engines.composite import outside_changed_pixels, region_alphas
from virtart.errors import VirtArtError
from virtart.imageio import ImageSource, Photo, load_mask, load_photo
from virtart.styles import load_style

ENGINE_NAMES = ("gatys", "fast")


@dataclass
class RegionRequest:
    """A region as a user states it: a mask (array or image), a style (gallery id, path or
    array), a strength in ``[0, 1]``; ``invert`` turns the mask into "everything else"."""

    mask: ImageSource
    style: str | os.PathLike | np.ndarray
    strength: float = 1.0
    invert: bool = False


_engines: dict[tuple[str, str], Engine] = {}
_engines_lock = threading.Lock()


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when a GPU is usable, else "cpu"; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise VirtArtError("--device cuda was asked for, but no CUDA GPU is available here")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise VirtArtError(f"unknown device '{device}': use auto, cpu or cuda")
    return device


def get_engine(name: str, device: str = "auto") -> Engine:
    """The shared engine ``name`` ("gatys" or "fast") on ``device``, built on first use."""
    if name not in ENGINE_NAMES:
        raise VirtArtError(f"unknown engine '{name}': choose one of {', '.join(ENGINE_NAMES)}")
    device = resolve_device(device)
    key = (name, device)
    with _engines_lock:
        if key not in _engines:
            if name == "gatys":
                from virtart.engines.gatys import GatysEngine

                _engines[key] = GatysEngine.from_registry(device=device)
            else:
                from virtart.engines.fast import FastEngine

                _engines[key] = FastEngine.from_registry(device=device)
        return _engines[key]


def prepare_regions(photo: Photo, requests: list[RegionRequest]) -> list[Region]:
    """Load each request's mask (resized to the photo with a warning) and style."""
    if not requests:
        raise VirtArtError("no region to repaint: choose at least one region")
    regions = []
    for index, request in enumerate(requests, start=1):
        mask = load_mask(request.mask, photo.size, label=f"region {index} mask")
        if request.invert:
            mask = mask_ops.invert(mask)
        if not np.any(mask >= 0.5):
            raise VirtArtError(f"region {index}: the region is empty")
        style, style_name = load_style(request.style)
        regions.append(Region(mask=mask, style=style, strength=float(request.strength), style_name=style_name))
    return regions


def stylize(
    photo: Photo | ImageSource,
    regions: list[RegionRequest] | list[Region],
    *,
    engine: str = "gatys",
    options: StyleOptions | None = None,
) -> Iterator[Preview]:
    """Yield previews, then a final :class:`Preview` at the photo's full size.

    The final preview's ``info["report"]`` holds the run's report. Inputs are checked before
    any work starts; closing the generator stops the engine.
    """
    options = options or StyleOptions()
    if not isinstance(photo, Photo):
        photo = load_photo(photo)
    if regions and isinstance(regions[0], RegionRequest):
        regions = prepare_regions(photo, regions)  # type: ignore[arg-type]
    check_inputs(photo.rgb, regions, options)  # type: ignore[arg-type]
    runner = get_engine(engine, options.device)
    started = time.perf_counter()
    first_losses: dict[int, dict[str, float]] = {}
    generator = runner.run(photo.rgb, regions, options)  # type: ignore[arg-type]
    try:
        for preview in generator:
            for index, values in preview.losses.items():
                first_losses.setdefault(index, dict(values))
            if preview.final:
                alphas = region_alphas([r.mask for r in regions], options.feather)  # type: ignore[union-attr]
                preview.info["report"] = build_report(
                    runner, photo, regions, options, preview, first_losses, time.perf_counter() - started,  # type: ignore[arg-type]
                    outside_changed_pixels(photo.rgb, preview.image, alphas),
                )
                preview.info["alpha"] = photo.alpha
            yield preview
    finally:
        generator.close()


def build_report(
    runner: Engine,
    photo: Photo,
    regions: list[Region],
    options: StyleOptions,
    final: Preview,
    first_losses: dict[int, dict[str, float]],
    seconds: float,
    outside_changed: int,
) -> dict:
    """The run's report as plain JSON-ready data."""
    return {
        "engine": runner.name,
        "perceptual_net": final.info.get("perceptual_net"),
        "device": final.info.get("device"),
        "steps": final.step,
        "stopped": final.info.get("stop"),
        "start": final.info.get("start"),
        "seconds": round(seconds, 3),
        "input_size": list(photo.size),
        "output_size": [int(final.image.shape[1]), int(final.image.shape[0])],
        "working_sizes": final.info.get("working_sizes"),
        "regions": [
            {
                "style": region.style_name,
                "strength": region.strength,
                "area_fraction": round(float((region.mask >= 0.5).mean()), 4),
                "first": first_losses.get(index),
                "last": final.losses.get(index),
            }
            for index, region in enumerate(regions)
        ],
        "options": {
            "steps": options.steps, "init": options.init, "max_size": options.max_size, "optimizer": options.optimizer,
            "preserve_color": options.preserve_color, "feather": options.feather, "seed": options.seed,
            "style_weight": options.style_weight, "content_weight": options.content_weight,
        },
        "outside_changed_pixels": outside_changed,
    }
