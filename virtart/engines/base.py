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

    ``steps``: "auto" stops the optimisation when its objective has improved by less than
    ``auto_tolerance`` (a fraction) over the last ``auto_window`` steps, or at ``auto_max_steps``;
    a number means exactly that many steps. ``init``: the image the optimisation starts from,
    "fast" (the fast engine's result, region-aware) or "photo" (Gatys et al.'s content start).
    """

    steps: int | Literal["auto"] = "auto"
    init: Literal["fast", "photo"] = "fast"
    auto_tolerance: float = 0.07
    auto_window: int = 10
    auto_max_steps: int = 300
    max_size: int | None = 512
    optimizer: Literal["adam", "lbfgs"] = "adam"
    learning_rate: float = 0.02
    style_weight: float = 10.0
    content_weight: float = 1.0
    tv_weight: float = 1e-1
    style_scale: float = 1.0
    preserve_color: bool | str = False
    feather: float = 4.0
    seed: int = 0
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
MAX_STEPS = 100_000


def check_steps(options: StyleOptions) -> None:
    """Raise :class:`VirtArtError` unless the step settings are "auto" or a count in range."""
    if options.steps != "auto":
        if isinstance(options.steps, bool) or not isinstance(options.steps, int):
            raise VirtArtError(f"steps must be 'auto' or a whole number, got {options.steps!r}")
        if not 1 <= options.steps <= MAX_STEPS:
            raise VirtArtError(f"steps must be between 1 and {MAX_STEPS}, got {options.steps}")
    if not 1 <= options.auto_max_steps <= MAX_STEPS or options.auto_window < 1:
        raise VirtArtError(f"the automatic stop needs a cap between 1 and {MAX_STEPS} and a window of at least 1 step")
    if not 0 <= options.auto_tolerance < 1:  # NaN is refused too
        raise VirtArtError(f"the automatic stop's tolerance must be a fraction in [0, 1), got {options.auto_tolerance}")
    if options.init not in ("fast", "photo"):
        raise VirtArtError(f"init must be 'fast' or 'photo', got {options.init!r}")


def planned_steps(options: StyleOptions) -> int:
    """The most steps a run can take: the explicit count, or the automatic stop's cap."""
    return options.auto_max_steps if options.steps == "auto" else int(options.steps)


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
    check_steps(options)
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
