"""What every style engine takes and yields.

An engine is a generator: ``engine.run(photo, regions, options)`` yields
:class:`Preview` objects while it works and ends with one whose ``final`` is True and
whose ``image`` is the full-resolution result. Closing the generator stops the work and
frees its memory. The CLI, the app and the tests all consume this one generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np


@dataclass
class Region:
    """One region to repaint.

    ``mask``: ``(H, W) float32`` in ``[0, 1]`` at the photo's resolution (1 = repaint).
    ``style``: the painting, ``(h, w, 3) uint8`` RGB, any size.
    ``strength``: 0 keeps the photo, 1 is the full style.
    """

    mask: np.ndarray
    style: np.ndarray
    strength: float = 1.0
    style_name: str = "custom"


@dataclass
class StyleOptions:
    """Settings shared by the engines; each engine ignores what does not apply to it.

    ``max_size`` caps the long side of the working resolution (None: the engine's default
    for the device, from :mod:`virtart.engines.registry`, when the request is made; an engine
    run directly with None works at the photo's own size, up to 4096). ``feather`` is the soft-edge radius in output pixels. The Gatys losses are
    relative (scale-free), so ``style_weight`` is the style-to-content balance.
    ``preserve_color``: False, "luminance" (transfer lightness only) or "histogram"
    (match the style's colours to the photo's first).
    """

    steps: int = 300
    max_size: int | None = None
    optimizer: Literal["adam", "lbfgs"] = "adam"
    learning_rate: float = 0.02
    style_weight: float = 10.0
    content_weight: float = 1.0
    tv_weight: float = 1e-1
    style_scale: float = 1.0
    preserve_color: bool | str = False
    feather: float = 4.0
    device: str = "auto"
    preview_every: int = 10
    precision: Literal["auto", "fp32", "bf16"] = "auto"


@dataclass
class Preview:
    """One progress report from an engine.

    ``image``: ``(h, w, 3) uint8`` RGB, the photo with the regions repainted so far (at the
    working size for previews; at the photo's full size when ``final``).
    ``losses``: per region index, ``{"style": ..., "content": ...}`` at this step.
    """

    step: int
    total_steps: int
    image: np.ndarray
    elapsed: float
    losses: dict[int, dict[str, float]] = field(default_factory=dict)
    final: bool = False
    stage: str = ""
    info: dict = field(default_factory=dict)
    result: StylizeResult | None = None


@dataclass
class StylizeResult:
    """What :func:`virtart.pipeline.stylize` hands back on its final preview.

    ``image``: ``(H, W, 3) uint8`` at the photo's full size. ``alpha``: the photo's own
    transparency ``(H, W) uint8`` or None, for saving. ``alphas``: each region's feathered
    blend weight ``(H, W) float32`` in ``[0, 1]``, the ones the report counted with.
    ``report``: JSON-ready data (engine, sizes, losses, seconds, ``outside_changed_pixels``).
    """

    image: np.ndarray
    alpha: np.ndarray | None
    alphas: list[np.ndarray]
    report: dict


class Engine(Protocol):
    """A style engine: ``name`` and a preview generator."""

    name: str

    def run(self, photo: np.ndarray, regions: list[Region], options: StyleOptions) -> Iterator[Preview]:
        ...


MAX_WORKING_SIZE = 4096
