"""One stylization request, parsed at each edge and validated once.

The CLI (arguments), the page (the session) and the API (JSON) each turn what they were given
into a :class:`StylizeRequest` with :meth:`StylizeRequest.create`; that is the only place the
rules live (one clear :class:`~virtart.errors.VirtArtError` for the first one broken). Engines
then only assert invariants. Loose values from a form or JSON (strings, NaN, huge integers)
go through :func:`parse_options` first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import MAX_WORKING_SIZE, Region, StyleOptions
from virtart.engines.registry import engine_spec, resolve_device
from virtart.errors import VirtArtError
from virtart.imageio import ImageSource, Photo, load_mask, load_photo
from virtart.styles import load_style

MAX_STEPS = 10_000
MAX_REGIONS = 8
MIN_PHOTO_SIDE = 8
MAX_FEATHER = 200


@dataclass
class RegionRequest:
    """A region as a user states it: a mask (array or image; white = region), a style (gallery
    id, path or ``(h, w, 3) uint8`` array), a strength in ``[0, 1]``; ``invert`` turns the mask
    into "everything else"."""

    mask: ImageSource
    style: str | os.PathLike | np.ndarray
    strength: float = 1.0
    invert: bool = False


@dataclass(frozen=True)
class StylizeRequest:
    """A checked request.

    ``photo``: the decoded photo. ``regions``: masks ``(H, W) float32`` at the photo's size
    (inverted where asked, never empty) with their styles loaded. ``engine``: a registry name
    ("auto" resolved for the device). ``options``: with ``max_size`` resolved from the
    engine's default for the device and ``device`` resolved ("cpu", "cuda", "cuda:N").
    """

    photo: Photo
    regions: tuple[Region, ...]
    engine: str
    options: StyleOptions

    @classmethod
    def create(cls, photo: Photo | ImageSource, regions: Sequence[RegionRequest | Region], engine: str = "auto",
               options: StyleOptions | None = None) -> StylizeRequest:
        """Parse and validate; raise :class:`VirtArtError` naming the first problem."""
        options = options or StyleOptions()
        if not isinstance(photo, Photo):
            photo = load_photo(photo)
        device = resolve_device(options.device)
        spec = engine_spec(engine, device)
        if options.max_size is None:
            options = replace(options, max_size=spec.default_max_size(device))
        options = replace(options, device=device)
        check_photo(photo)
        check_options(options)
        prepared = tuple(prepare_regions(photo, regions))
        return cls(photo, prepared, spec.name, options)


def check_photo(photo: Photo) -> None:
    rgb = photo.rgb
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise VirtArtError("the photo must be an (H, W, 3) uint8 RGB array")
    if min(rgb.shape[:2]) < MIN_PHOTO_SIDE:
        raise VirtArtError(f"the photo is too small ({rgb.shape[1]}x{rgb.shape[0]}); at least "
                           f"{MIN_PHOTO_SIDE}x{MIN_PHOTO_SIDE} pixels")


def prepare_regions(photo: Photo, requests: Sequence[RegionRequest | Region]) -> list[Region]:
    """Each request's mask loaded at the photo's size (resized with a warning) and its style
    loaded; :class:`Region` objects are checked as they are."""
    if not requests:
        raise VirtArtError("no region to repaint: choose at least one region")
    if len(requests) > MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions, got {len(requests)}")
    regions = []
    for index, request in enumerate(requests, start=1):
        if isinstance(request, Region):
            region = request
            if region.mask.shape != photo.rgb.shape[:2]:
                raise VirtArtError(f"region {index}: mask is {region.mask.shape[1]}x{region.mask.shape[0]}, "
                                   f"the photo {photo.size[0]}x{photo.size[1]}")
        else:
            mask = load_mask(request.mask, photo.size, label=f"region {index} mask")
            if request.invert:
                mask = mask_ops.invert(mask)
            style, style_name = load_style(request.style)
            region = Region(mask=mask, style=style, strength=request.strength, style_name=style_name)
        check_region(region, index)
        regions.append(region)
    return regions


def check_region(region: Region, index: int) -> None:
    if not np.any(region.mask >= 0.5):
        raise VirtArtError(f"region {index}: the region is empty")
    style = region.style
    if not isinstance(style, np.ndarray) or style.ndim != 3 or style.shape[2] != 3 or min(style.shape[:2]) < 8:
        raise VirtArtError(f"region {index}: the style image must be an RGB image of at least 8x8 pixels")
    if not 0.0 <= float(region.strength) <= 1.0:  # written this way so NaN is refused too
        raise VirtArtError(f"region {index}: strength must be between 0 and 1, got {region.strength}")


def check_options(options: StyleOptions) -> None:
    if options.steps != "auto":
        if isinstance(options.steps, bool) or not isinstance(options.steps, int):
            raise VirtArtError(f"steps must be 'auto' or a whole number, got {options.steps!r}")
        if not 1 <= options.steps <= MAX_STEPS:
            raise VirtArtError(f"steps must be between 1 and {MAX_STEPS}, got {options.steps}")
    if not 1 <= options.auto_max_steps <= MAX_STEPS or options.auto_window < 1:
        raise VirtArtError(f"the automatic stop needs a cap between 1 and {MAX_STEPS} and a window of at least 1 step")
    if not 0 <= options.auto_tolerance < 1:  # NaN is refused too
        raise VirtArtError(f"the automatic stop's tolerance must be a fraction in [0, 1), got {options.auto_tolerance}")
    if not 0 <= options.auto_content_tolerance < float("inf"):
        raise VirtArtError(f"the automatic stop's content tolerance must be a number >= 0, got {options.auto_content_tolerance}")
    if options.start_content is not None and not 0 < options.start_content < float("inf"):
        raise VirtArtError(f"start content must be a number > 0 or None, got {options.start_content}")
    if options.init not in ("fast", "photo"):
        raise VirtArtError(f"init must be 'fast' or 'photo', got {options.init!r}")
    if options.max_size is not None and not 64 <= options.max_size <= MAX_WORKING_SIZE:
        raise VirtArtError(f"max size must be between 64 and {MAX_WORKING_SIZE} px, got {options.max_size}")
    if not 0 <= options.feather <= MAX_FEATHER:
        raise VirtArtError(f"feather must be between 0 and {MAX_FEATHER} px, got {options.feather}")
    for name in ("style_weight", "content_weight", "tv_weight", "learning_rate", "style_scale"):
        if not 0 <= getattr(options, name) < float("inf"):  # NaN would paint one flat colour
            raise VirtArtError(f"{name.replace('_', ' ')} must be a finite number >= 0, got {getattr(options, name)}")
    if options.optimizer not in ("adam", "lbfgs"):
        raise VirtArtError(f"optimizer must be 'adam' or 'lbfgs', got {options.optimizer!r}")
    if options.preserve_color not in (False, "luminance", "histogram"):
        raise VirtArtError("preserve colours must be off, 'luminance' or 'histogram'")
    if options.precision not in ("auto", "fp32", "bf16"):
        raise VirtArtError(f"precision must be auto, fp32 or bf16, got {options.precision!r}")
    if options.preview_every < 1:
        raise VirtArtError(f"preview every must be at least 1 step, got {options.preview_every}")


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VirtArtError(f"{name} must be a number, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        raise VirtArtError(f"{name} must be a finite number, got one with {len(str(value))} digits") from None
    if not finite:
        raise VirtArtError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def parse_preserve_color(value) -> bool | str:
    """A checkbox (True), the CLI's/API's words, or off -> False, "luminance" or "histogram"."""
    if value in (True, "true", "True", "luminance"):
        return "luminance"
    if value == "histogram":
        return "histogram"
    if value in (False, None, "", "false", "False", "off"):
        return False
    raise VirtArtError(f"preserve colours must be off, 'luminance' or 'histogram', got {value!r}")


def parse_steps(steps) -> int | str:
    """"auto" (also empty) or a whole number of steps, from a form, JSON or the command line."""
    if isinstance(steps, str):
        text = steps.strip().lower()
        if text in ("", "auto"):
            return "auto"
        try:
            steps = float(text)
        except ValueError:
            raise VirtArtError(f"steps must be 'auto' or a number, got {steps!r}") from None
    steps = _number("steps", steps)
    if steps != int(steps):
        raise VirtArtError(f"steps must be a whole number, got {steps}")
    return int(steps)


def parse_options(steps=StyleOptions.steps, max_size=None, preserve_color=False, feather=StyleOptions.feather,
                  **exact) -> StyleOptions:
    """StyleOptions from loose form or JSON values: "auto" or a whole number of steps; numbers
    must be finite (NaN, infinity and non-numbers are refused, not crashed on); 0 or empty
    ``max_size`` means the engine's default. ``exact`` passes further :class:`StyleOptions`
    fields as they are."""
    size = _number("max size", max_size) if max_size else None
    return StyleOptions(steps=parse_steps(steps), max_size=int(size) if size else None,
                        preserve_color=parse_preserve_color(preserve_color),
                        feather=_number("feather", feather), **exact)
