"""What every style engine takes and yields.

An engine is a generator: ``engine.run(photo, regions, options)`` yields
:class:`Preview` objects while it works and ends with one whose ``final`` is True and
whose ``image`` is the full-resolution result. Closing the generator stops the work and
frees its memory. The CLI, the app and the tests all consume this one generator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np


@dataclass
class Region:
    """One region to repaint.

    ``mask``: ``(H, W) float32`` in ``[0, 1]`` at the photo's resolution (1 = repaint).
    ``style``: the painting, ``(h, w, 3) uint8`` RGB, any size.
    ``strength``: 0 keeps the photo, 1 is the full style.
    ``alpha``: the feathered blend weight ``(H, W) float32`` when the pipeline has computed it
    (engines then use it rather than feather the mask again).
    """

    mask: np.ndarray
    style: np.ndarray
    strength: float = 1.0
    style_name: str = "custom"
    alpha: np.ndarray | None = None


@dataclass
class StyleOptions:
    """Settings shared by the engines; each engine ignores what does not apply to it.

    ``max_size`` caps the long side of the working resolution (None: the engine's default
    for the device, from :mod:`virtart.engines.registry`, when the request is made; an engine
    run directly with None works at the photo's own size, up to 4096). ``feather`` is the soft-edge radius in output pixels. The Gatys losses are
    relative (scale-free), so ``style_weight`` is the style-to-content balance.
    ``preserve_color``: False, "luminance" (transfer lightness only) or "histogram"
    (match the style's colours to the photo's first).

    ``steps``: "auto" stops the optimisation when its objective has improved by less than
    ``auto_tolerance`` (a fraction) over the last ``auto_window`` steps while its content loss
    fell by less than ``auto_content_tolerance``, or at ``auto_max_steps``; a number means
    exactly that many steps. ``init``: the image the optimisation starts from, "fast" (the
    fast engine's result, region-aware) or "photo" (Gatys et al.'s content start).
    ``start_content``: the "fast" start is mixed toward the photo until its content loss is at
    most this (None: the fast result as it is), so a painting the fast engine renders far from
    the photo's structure does not pull the optimisation away from it.
    """

    steps: int | Literal["auto"] = "auto"
    init: Literal["fast", "photo"] = "fast"
    start_content: float | None = 0.6
    auto_tolerance: float = 0.07
    auto_window: int = 10
    auto_max_steps: int = 42
    auto_content_tolerance: float = 0.01
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


class Preview:
    """One progress report from an engine: cheap to make, so engines report every step.

    ``image``: ``(h, w, 3) uint8`` RGB, the photo with the regions repainted so far (at the
    working size for previews; at the photo's full size when ``final``). An engine may give a
    zero-argument function instead: the picture is then drawn only when a consumer reads
    ``image`` (once), so steps nobody shows cost nothing to draw.
    ``losses``: per region index, ``{"style": ..., "content": ...}``, on the steps that read them.
    ``layers``: on the final preview, the repainted pixels (:class:`~virtart.engines.composite.Layer`)
    the pipeline composites into the photo through its region alphas.
    """

    def __init__(self, step: int, total_steps: int, image: np.ndarray | Callable[[], np.ndarray] | None,
                 elapsed: float, losses: dict[int, dict[str, float]] | None = None, final: bool = False,
                 stage: str = "", info: dict | None = None, result: StylizeResult | None = None,
                 layers: list | None = None) -> None:
        self.step, self.total_steps, self.elapsed = step, total_steps, elapsed
        self.losses = losses if losses is not None else {}
        self.final, self.stage, self.info, self.result = final, stage, info if info is not None else {}, result
        self.layers = layers
        self._image = image

    @property
    def image(self) -> np.ndarray | None:
        if callable(self._image):
            self._image = self._image()
        return self._image

    @image.setter
    def image(self, value: np.ndarray) -> None:
        self._image = value

    def __repr__(self) -> str:
        return f"Preview(step={self.step}/{self.total_steps}, stage={self.stage!r}, final={self.final})"


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


def planned_steps(options: StyleOptions) -> int:
    """The most steps a run can take: the explicit count, or the automatic stop's cap."""
    return options.auto_max_steps if options.steps == "auto" else int(options.steps)
