"""What every style engine takes and yields.

An engine is a generator: ``engine.run(image, regions, options)`` yields :class:`Preview`
objects while it works and ends with one whose ``final`` is True and whose ``layers`` are
the painted pixels of ``image``. Engines paint and nothing else: the compositor
(:mod:`virtart.engines.composite`) makes the crop they paint, the alphas and the final
paste. Closing the generator stops the work and frees its memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np

from virtart import masks as mask_ops
from virtart.engines.composite import DEFAULT_FEATHER, Layer
from virtart.engines.options import option
from virtart.geometry import resize_image


@dataclass
class Region:
    """One region to repaint.

    ``mask``: ``(H, W) float32`` in ``[0, 1]`` at the size of the image it belongs to (the
    photo in a request, the engine's crop inside an engine; 1 = repaint).
    ``style``: the painting, ``(h, w, 3) uint8`` RGB, any size.
    ``strength``: 0 keeps the photo, 1 is the full style.
    ``alpha``: the blend weight at the mask's size (:func:`~virtart.engines.composite.region_alphas`),
    set by the compositor before an engine runs (an engine that blends a starting image uses it).
    ``feather``: the edge's softness, the half-width in photo pixels of the band where the
    alpha is refined from the picture, or "auto" (scaled with the picture; :mod:`virtart.edges`).
    ``view``: the image to paint this region from, at the mask's size
    (:func:`~virtart.engines.composite.engine_regions`: what lies across the region's edge
    filled from its own content); None: the engine's image itself. ``preserve_color``: False, "luminance"
    (transfer lightness only) or "histogram" (match the style's colours to the region's first);
    the compositor applies both, engines never do.
    """

    mask: np.ndarray
    style: np.ndarray
    strength: float = 1.0
    style_name: str = "custom"
    alpha: np.ndarray | None = None
    feather: float | str = DEFAULT_FEATHER
    preserve_color: bool | str = False
    view: np.ndarray | None = None

    def at_size(self, size: tuple[int, int]) -> Region:
        """The region with its mask, alpha and view resized to ``size = (w, h)``."""
        return replace(self, mask=mask_ops.resize_mask(self.mask, size),
                       alpha=None if self.alpha is None else mask_ops.resize_mask(self.alpha, size),
                       view=None if self.view is None else resize_image(self.view, size))


MAX_WORKING_SIZE = 4096
MIN_WORKING_SIZE = 64


@dataclass
class StyleOptions:
    """The options every engine takes; each registry entry's options type adds the engine's own
    (:mod:`virtart.engines.registry`). Each field's spec (label, help, limits) is declared with
    it (:func:`~virtart.engines.options.option`).

    ``max_size`` caps the long side of the regions' box at the working resolution (None: the
    engine's default for the device, from the registry, when the request is made).
    ``device``: "auto", "cpu", "cuda" or "cuda:N". ``precision``: bf16 autocast where it is
    fast ("auto") or as asked. ``preview_every``: how often, in steps, an optimising engine
    reads its losses. Feather and colour preservation belong to each :class:`Region`.
    """

    max_size: int | None = option(None, "Working size (px)", "long side of the working resolution in px", "int", minimum=MIN_WORKING_SIZE,
                                  maximum=MAX_WORKING_SIZE, optional=True)
    device: str = option("auto", "Device", "auto, cpu or cuda", "text")
    precision: Literal["auto", "fp32", "bf16"] = option(
        "auto", "Precision", "bf16 autocast (auto: bf16 on CUDA and on CPUs with AVX512-BF16, else fp32)", "choice",
        choices=("auto", "fp32", "bf16"))
    preview_every: int = option(10, "Losses every (steps)", "read the losses every N steps", "int", minimum=1)

    def planned_steps(self) -> int:
        """The most steps a run can take (one pass for an engine without steps)."""
        return 1


class Preview:
    """One progress report from an engine: cheap to make, so engines report every step.

    ``layers``: what the engine has painted so far, :class:`~virtart.engines.composite.Layer`
    objects in the pixels of an image of ``frame = (w, h)`` that shows the whole image the
    engine was given (at that image's own size when ``final``; previews may use a smaller
    frame). An engine may give a zero-argument function instead: the layers are then drawn
    only when a consumer reads them (once), so steps nobody shows cost nothing.
    ``losses``: per region index, ``{"style": ..., "content": ...}``, on the steps that read them.
    ``seconds_left``: an estimate where the producer can make one (a clip counts frames as
    steps: :func:`virtart.video.pipeline.frame_progress`), else None.

    The pipeline adds ``image``: ``(h, w, 3) uint8`` RGB, the photo with the layers composited
    in (previews at a reduced size, the final at the photo's full size; drawn when read) and,
    on the final preview, ``result``.
    """

    def __init__(self, step: int, total_steps: int, layers: list[Layer] | Callable[[], list[Layer]],
                 elapsed: float, losses: dict[int, dict[str, float]] | None = None, final: bool = False,
                 stage: str = "", info: dict | None = None, frame: tuple[int, int] | None = None,
                 seconds_left: float | None = None) -> None:
        self.step, self.total_steps, self.elapsed = step, total_steps, elapsed
        self.losses = losses if losses is not None else {}
        self.final, self.stage, self.info = final, stage, info if info is not None else {}
        self.frame, self.seconds_left = frame, seconds_left
        self._layers = layers
        self._image: np.ndarray | Callable[[], np.ndarray] | None = None
        self.result = None

    @property
    def layers(self) -> list[Layer]:
        if callable(self._layers):
            self._layers = self._layers()
        return self._layers

    @property
    def image(self) -> np.ndarray | None:
        if callable(self._image):
            self._image = self._image()
        return self._image

    @image.setter
    def image(self, value: np.ndarray | Callable[[], np.ndarray]) -> None:
        self._image = value

    def __repr__(self) -> str:
        return f"Preview(step={self.step}/{self.total_steps}, stage={self.stage!r}, final={self.final})"


class Engine(Protocol):
    """A style engine: ``name``, ``context`` and a preview generator.

    ``run(image, regions, options)`` paints ``image`` (``(h, w, 3) uint8``, the crop the
    compositor made at the working size, :func:`~virtart.engines.composite.engine_crop`);
    ``regions`` carry masks and alphas at that size and paintings already recoloured where
    asked. It yields :class:`Preview` objects and ends with one whose ``final`` is True and
    whose layers are the painted pixels of ``image``. ``context``: how many working pixels
    around the regions the engine needs to see (the crop is grown by that much).
    """

    name: str
    context: int

    def run(self, image: np.ndarray, regions: list[Region], options: StyleOptions) -> Iterator[Preview]:
        ...

