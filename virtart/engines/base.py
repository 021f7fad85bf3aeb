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

from virtart.errors import VirtArtError


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

    ``max_size`` caps the long side of the working resolution (None = the photo's own,
    up to 4096). ``feather`` is the soft-edge radius in output pixels. The Gatys losses are
    relative (scale-free), so ``style_weight`` is the style-to-content balance.
    ``preserve_color``: False, "luminance" (transfer lightness only) or "histogram"
    (match the style's colours to the photo's first).
    """

    steps: int = 300
    max_size: int | None = 512
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


class Engine(Protocol):
    """A style engine: ``name`` and a preview generator."""

    name: str

    def run(self, photo: np.ndarray, regions: list[Region], options: StyleOptions) -> Iterator[Preview]:
        ...


MAX_WORKING_SIZE = 4096


def check_inputs(photo: np.ndarray, regions: list[Region], options: StyleOptions) -> None:
    """Validate what an engine is given; raise :class:`VirtArtError` with one clear line."""
    if not isinstance(photo, np.ndarray) or photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise VirtArtError("the photo must be an (H, W, 3) uint8 RGB array")
    if min(photo.shape[:2]) < 8:
        raise VirtArtError(f"the photo is too small ({photo.shape[1]}x{photo.shape[0]}); at least 8x8 pixels")
    if not regions:
        raise VirtArtError("no region to repaint: choose at least one region")
    for index, region in enumerate(regions, start=1):
        if region.mask.shape != photo.shape[:2]:
            raise VirtArtError(
                f"region {index}: mask is {region.mask.shape[1]}x{region.mask.shape[0]}, "
                f"the photo {photo.shape[1]}x{photo.shape[0]}"
            )
        if not np.any(region.mask >= 0.5):
            raise VirtArtError(f"region {index}: the region is empty")
        if region.style.ndim != 3 or region.style.shape[2] != 3 or min(region.style.shape[:2]) < 8:
            raise VirtArtError(f"region {index}: the style image must be an RGB image of at least 8x8 pixels")
        if not 0.0 <= float(region.strength) <= 1.0:
            raise VirtArtError(f"region {index}: strength must be between 0 and 1, got {region.strength}")
    if options.steps < 1 or options.steps > 100_000:
        raise VirtArtError(f"steps must be between 1 and 100000, got {options.steps}")
    if options.max_size is not None and not 64 <= options.max_size <= MAX_WORKING_SIZE:
        raise VirtArtError(f"max size must be between 64 and {MAX_WORKING_SIZE} px, got {options.max_size}")
    if not 0 <= options.feather <= 200:  # written this way so NaN is refused too
        raise VirtArtError(f"feather must be between 0 and 200 px, got {options.feather}")
    for name in ("style_weight", "content_weight", "tv_weight", "learning_rate", "style_scale"):
        if not 0 <= getattr(options, name) < float("inf"):  # NaN would paint one flat colour
            raise VirtArtError(f"{name.replace('_', ' ')} must be a finite number >= 0, got {getattr(options, name)}")
    if options.optimizer not in ("adam", "lbfgs"):
        raise VirtArtError(f"optimizer must be 'adam' or 'lbfgs', got {options.optimizer!r}")
    if options.preserve_color not in (False, True, "luminance", "histogram"):
        raise VirtArtError("preserve colours must be off, 'luminance' or 'histogram'")
