"""The one entry point the CLI, the app and the API use to stylize a photo.

``stylize(photo, regions, engine=..., options=...)`` makes a checked
:class:`~virtart.request.StylizeRequest` (or takes one), runs the engine's preview generator
and hands back a typed :class:`~virtart.engines.base.StylizeResult` on the final preview:
the image, the region alphas and a report built from those same alphas.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace

from virtart.engines.base import Engine, Preview, Region, StyleOptions, StylizeResult
from virtart.engines.composite import composite_layers, outside_changed_pixels, region_alphas
from virtart.engines.registry import AUTO, ENGINES, shared_engine
from virtart.imageio import ImageSource, Photo
from virtart.request import RegionRequest, StylizeRequest

__all__ = ["RegionRequest", "StylizeRequest", "stylize", "run"]


def stylize(
    photo: Photo | ImageSource | StylizeRequest,
    regions: Sequence[RegionRequest | Region] = (),
    *,
    engine: str | Engine = AUTO,
    options: StyleOptions | None = None,
) -> Iterator[Preview]:
    """Yield previews, then a final :class:`Preview` whose ``result`` is the full-size result.

    ``engine``: a registry name ("auto": the default for the device) or an
    engine object (tests inject small ones). Inputs are checked before any work starts;
    closing the generator stops the engine.
    """
    if isinstance(photo, StylizeRequest):
        return run(photo)
    # An injected engine object is checked as its registry entry (options type, limits) when it has one.
    name = engine if isinstance(engine, str) else engine.name if engine.name in ENGINES else AUTO
    request = StylizeRequest.create(photo, regions, name, options)
    return run(request, engine if not isinstance(engine, str) else None)


def run(request: StylizeRequest, engine: Engine | None = None) -> Iterator[Preview]:
    """Run a checked request on its registry engine (or ``engine``)."""
    runner = engine or shared_engine(request.engine, request.options.device)
    started = time.perf_counter()
    first_losses: dict[int, dict[str, float]] = {}
    # The one feathering of the masks: the engine paints inside these alphas' boxes, the
    # composite blends through them and the report counts with them.
    alphas = region_alphas([region.mask for region in request.regions], [region.feather for region in request.regions])
    regions = [replace(region, alpha=alpha) for region, alpha in zip(request.regions, alphas, strict=True)]
    generator = runner.run(request.photo.rgb, regions, request.options)
    try:
        for preview in generator:
            for index, values in preview.losses.items():
                first_losses.setdefault(index, dict(values))
            if preview.final:
                if preview.layers is not None:
                    preview.image = composite_layers(request.photo.rgb, preview.layers, alphas)
                report = build_report(runner, request, preview, first_losses, time.perf_counter() - started,
                                      outside_changed_pixels(request.photo.rgb, preview.image, alphas))
                preview.result = StylizeResult(preview.image, request.photo.alpha, alphas, report)
            yield preview
    finally:
        generator.close()


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
