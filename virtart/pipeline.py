"""The one entry point the CLI, the app, the API and the video path use to stylize a picture.

``stylize(photo, regions, engine=..., options=...)`` makes a checked
:class:`~virtart.request.StylizeRequest` (or takes one) and runs it through the stages of
:mod:`virtart.engines.composite`: alphas, the engine's crop, the engine, the paste. It hands
back a typed :class:`StylizeResult` on the final preview: the image and a report counted
with the same alphas the paste used. :func:`paint` is those stages for one picture, shared
with the video path (one call per keyframe or refreshed frame).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from virtart.engines import composite
from virtart.engines.base import Engine, Preview, Region, StyleOptions
from virtart.engines.registry import AUTO, ENGINES, shared_engine
from virtart.geometry import fit_long_side, resize_image
from virtart.imageio import ImageSource, Photo
from virtart.masks import resize_mask
from virtart.request import RegionRequest, StylizeRequest

__all__ = ["RegionRequest", "StylizeRequest", "StylizeResult", "stylize", "run", "paint"]

# Previews show the photo at most this large (long side, px); the final is full size.
PREVIEW_LONG_SIDE = 1024


@dataclass
class StylizeResult:
    """What :func:`stylize` hands back on its final preview.

    ``image``: ``(H, W, 3) uint8`` at the photo's full size. ``alpha``: the photo's own
    transparency ``(H, W) uint8`` or None, for saving. ``report``: JSON-ready data (engine,
    sizes, losses, seconds, ``outside_changed_pixels`` counted with the paste's alphas).
    """

    image: np.ndarray
    alpha: np.ndarray | None
    report: dict


def stylize(
    photo: Photo | ImageSource | StylizeRequest,
    regions: Sequence[RegionRequest | Region] = (),
    *,
    engine: str | Engine = AUTO,
    options: StyleOptions | None = None,
) -> Iterator[Preview]:
    """Yield previews, then a final :class:`Preview` whose ``result`` is the full-size result.

    ``engine``: a registry name, "auto" (the default for the device) or an engine object
    (tests inject small ones; checked as its registry entry, options type and limits, when it
    has one). Inputs are checked before any work starts; closing the generator stops the engine.
    """
    if isinstance(photo, StylizeRequest):
        return run(photo, engine if not isinstance(engine, str) else None)
    name = engine if isinstance(engine, str) else engine.name if engine.name in ENGINES else AUTO
    request = StylizeRequest.create(photo, regions, name, options)
    return run(request, engine if not isinstance(engine, str) else None)


def paint(photo_rgb: np.ndarray, regions: Sequence[Region], alphas: Sequence[np.ndarray], engine: Engine,
          options: StyleOptions, grow: int = 0) -> Iterator[tuple[Preview, composite.Crop]]:
    """The engine's previews on one picture, each with the crop it painted.

    ``photo_rgb``: ``(H, W, 3) uint8``; ``regions``: masks at its size, paintings prepared
    (:func:`~virtart.engines.composite.styles_for`); ``alphas``: their
    :func:`~virtart.engines.composite.region_alphas`. ``grow``: photo pixels added around the
    regions' box before it is cut (the video paints a little beyond the region). Yields
    nothing when every alpha is empty.
    """
    crop = composite.engine_crop(photo_rgb, alphas, options.max_size, engine.context, grow=grow)
    if crop is None:
        return
    working = composite.engine_regions(crop, regions, alphas, photo_rgb.shape)
    generator = engine.run(crop.image, working, options)
    try:
        for preview in generator:
            yield preview, crop
    finally:
        generator.close()


def run(request: StylizeRequest, engine: Engine | None = None) -> Iterator[Preview]:
    """Run a checked request on its registry engine (or ``engine``)."""
    runner = engine or shared_engine(request.engine, request.options.device)
    options, photo = request.options, request.photo.rgb
    started = time.perf_counter()
    first_losses: dict[int, dict[str, float]] = {}
    # The one feathering of the masks: the engine paints inside these alphas' box, the paste
    # blends through them and the report counts with them.
    alphas = composite.region_alphas(photo, [region.mask for region in request.regions],
                                     [region.feather for region in request.regions])
    regions = composite.styles_for(photo, request.regions)
    view = PreviewView(photo, alphas)
    for preview, crop in paint(photo, regions, alphas, runner, options):
        for index, values in preview.losses.items():
            first_losses.setdefault(index, dict(values))
        if preview.final:
            preview.image = composite.composite(photo, crop.box, preview.layers, preview.frame, alphas, regions)
            report = build_report(runner, request, preview, first_losses, time.perf_counter() - started,
                                  composite.outside_changed_pixels(photo, preview.image, alphas))
            preview.result = StylizeResult(preview.image, request.photo.alpha, report)
        else:
            preview.image = view.drawer(crop, preview, regions)
        yield preview


class PreviewView:
    """The photo and its alphas shrunk to :data:`PREVIEW_LONG_SIDE`, made on the first preview read."""

    def __init__(self, photo: np.ndarray, alphas: list[np.ndarray]) -> None:
        self.photo, self.alphas = photo, alphas
        self.scale = min(1.0, PREVIEW_LONG_SIDE / max(photo.shape[:2]))
        self._small: tuple[np.ndarray, list[np.ndarray]] | None = None

    def small(self) -> tuple[np.ndarray, list[np.ndarray]]:
        if self._small is None:
            if self.scale == 1.0:
                self._small = self.photo, self.alphas
            else:
                size = fit_long_side((self.photo.shape[1], self.photo.shape[0]), PREVIEW_LONG_SIDE)
                self._small = resize_image(self.photo, size), [resize_mask(alpha, size) for alpha in self.alphas]
        return self._small

    def drawer(self, crop: composite.Crop, preview: Preview, regions: list[Region]):
        """A function drawing ``preview`` (the photo with its layers pasted in, shrunk)."""

        def draw() -> np.ndarray:
            photo, alphas = self.small()
            height, width = photo.shape[:2]
            sx, sy = width / self.photo.shape[1], height / self.photo.shape[0]
            box = crop.box.scaled(sx, sy)
            box = type(box)(box.x0, box.y0, min(width, box.x1), min(height, box.y1))
            return composite.composite(photo, box, preview.layers, preview.frame, alphas, regions)

        return draw


def build_report(runner: Engine, request: StylizeRequest, final: Preview,
                 first_losses: dict[int, dict[str, float]], seconds: float, outside_changed: int) -> dict:
    """The run's report as plain JSON-ready data."""
    return {
        "engine": runner.name,
        "perceptual_net": final.info.get("perceptual_net"),
        "device": final.info.get("device"),
        "steps": final.step,
        "stopped": final.info.get("stop"),
        "start": final.info.get("start"),
        "seconds": round(seconds, 3),
        "input_size": list(request.photo.size),
        "output_size": [int(final.image.shape[1]), int(final.image.shape[0])],
        "working_sizes": final.info.get("working_sizes"),
        "regions": [
            {
                "style": region.style_name,
                "strength": region.strength,
                "preserve_color": region.preserve_color,
                "feather": region.feather,
                "area_fraction": round(float((region.mask >= 0.5).mean()), 4),
                "first": first_losses.get(index),
                "last": final.losses.get(index),
            }
            for index, region in enumerate(request.regions)
        ],
        "options": asdict(request.options),  # the engine's own options, as its registry entry declares them
        "outside_changed_pixels": outside_changed,
    }
