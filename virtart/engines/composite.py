"""The one compositor: region alphas, the engine's input crop, and the paste of painted pixels.

A photo and every frame of a video go through the same steps:

1. :func:`region_alphas` turns the regions' masks into blend weights (refined from the
   picture by :mod:`virtart.edges`, sharing their edges, later regions on top);
2. :func:`engine_crop` cuts the part of the photo an engine paints (the alphas' box grown by
   the engine's context, scaled so the box's long side is at most the working size) and
   :func:`engine_regions` gives the regions at that crop's size;
3. the engine paints and returns :class:`~virtart.engines.base.Layer` objects: pixels of its
   own image, nothing else;
4. :func:`composite` maps those pixels back onto the photo, gives each region's painted side
   the photo's own tone at its rim (:func:`virtart.edges.follow_rim_tone`), keeps the
   photo's colour (``preserve_color="luminance"``), fades them by the region's strength and blends them
   through the alphas. Every pixel where all regions' alpha is exactly 0 is copied from the
   photo, so it is bit-identical to the input however the painted pixels were computed.

Coordinates: boxes are ``(x0, y0, x1, y1)`` pixels, x right, y down
(:class:`~virtart.geometry.Box`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from virtart import edges
from virtart import masks as mask_ops
from virtart.engines.color import keep_photo_chroma, match_color_statistics
from virtart.geometry import Box, resize_image

if TYPE_CHECKING:
    from virtart.engines.base import Region

# The soft-edge radius (output pixels) a request gets when it names none.
DEFAULT_FEATHER = edges.AUTO
# Rows blended at a time: the float copies of a large photo stay small.
COMPOSITE_ROWS = 512


@dataclass
class Layer:
    """Painted pixels an engine hands back: ``pixels`` ``(h, w, 3) uint8`` cover ``box`` of the
    image the engine painted and belong to the regions (indices) in ``regions``."""

    box: Box
    pixels: np.ndarray
    regions: tuple[int, ...]


def region_alphas(photo_rgb: np.ndarray, masks: Sequence[np.ndarray],
                  softness: float | str | Sequence[float | str] = DEFAULT_FEATHER, quick: bool = False
                  ) -> list[np.ndarray]:
    """Each region's blend weight, ``(H, W) float32`` in ``[0, 1]``, for blending in order,
    later regions on top (:func:`blend`).

    ``photo_rgb``: the ``(H, W, 3) uint8`` picture the masks belong to; ``masks``: ``(H, W)``
    each. ``softness``: the edge band's half-width in pixels or "auto"
    (:func:`virtart.edges.band_radius`), one for all or one per region. The alphas are
    :func:`virtart.edges.partition_alphas` made blendable (:func:`virtart.edges.layer_alphas`):
    refined from the picture, a later region takes the pixels it shares with an earlier one,
    and where two regions meet their weights and the photo's sum to one (no seam, no double
    paint). Pixels beyond every region's band have alpha exactly 0. ``quick``: the cheaper
    refinement a clip's frames use to keep their frame rate (:func:`virtart.edges.refine_alpha`).
    """
    assert all(mask.shape == photo_rgb.shape[:2] for mask in masks)
    weights, _ = edges.partition_alphas(photo_rgb, list(masks), softness, quick=quick)
    return edges.layer_alphas(weights)


def pixel_weight(strength: float) -> float:
    """How much of the painted pixels survive the fade into the photo: ``2 * strength`` up to 1,
    so strength 0 is the photo itself and from 0.5 up the engine's own strength rules alone."""
    return min(1.0, 2.0 * float(strength))


def styles_for(photo_rgb: np.ndarray, regions: Sequence[Region]) -> list[Region]:
    """The regions, those with ``preserve_color == "histogram"`` with their painting recoloured
    to the photo's colours under their mask (done once per request, before any engine runs)."""
    return [replace(region, style=match_color_statistics(region.style, photo_rgb, where=region.mask >= 0.5))
            if region.preserve_color == "histogram" else region for region in regions]


@dataclass(frozen=True)
class Crop:
    """What an engine is given to paint.

    ``box``: the part of the photo, in photo pixels. ``image``: ``(h, w, 3) uint8``, the
    photo's pixels of ``box`` at the working scale (``scale`` working pixels per photo pixel,
    at most 1).
    """

    box: Box
    image: np.ndarray
    scale: float

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


def engine_crop(photo_rgb: np.ndarray, alphas: Sequence[np.ndarray], max_size: int | None,
                context: int, grow: int = 0) -> Crop | None:
    """The one place an engine's input is made: the box of every non-zero alpha (grown by
    ``grow`` photo pixels), scaled so its long side is at most ``max_size`` working pixels
    (None: the photo's own resolution), then grown by ``context`` working pixels the engine
    looks at around the regions (clipped to the photo). None when every alpha is empty."""
    boxes = [box for box in (Box.around(alpha, threshold=0) for alpha in alphas) if box is not None]
    if not boxes:
        return None
    regions_box = boxes[0].union(*boxes[1:]).grown(grow, photo_rgb.shape[:2])
    scale = min(1.0, max_size / regions_box.long_side) if max_size else 1.0
    box = regions_box.grown(math.ceil(context / scale), photo_rgb.shape[:2])
    pixels = box.of(photo_rgb)
    if scale < 1.0:
        pixels = resize_image(pixels, (max(1, round(box.width * scale)), max(1, round(box.height * scale))))
    return Crop(box, np.ascontiguousarray(pixels), scale)


def engine_regions(crop: Crop, regions: Sequence[Region], alphas: Sequence[np.ndarray],
                   photo_shape: tuple[int, ...] | None = None) -> list[Region]:
    """The regions at the crop's working size: masks and alphas cut to ``crop.box`` and
    resized, and each region's ``view``: the crop's image with what lies across the region's
    edge filled from the region's own content (:func:`virtart.edges.engine_input`), over the
    margin of :func:`virtart.edges.engine_margin` (the region's feather on a photo of
    ``photo_shape``, in working pixels)."""
    working = []
    for region, alpha in zip(regions, alphas, strict=True):
        margin = edges.engine_margin(photo_shape or crop.box.size[::-1], region.feather)
        mask = mask_ops.resize_mask(crop.box.of(region.mask), crop.size)
        working.append(replace(region, mask=mask, alpha=mask_ops.resize_mask(crop.box.of(alpha), crop.size),
                               view=edges.engine_input(crop.image, mask, max(1, round(margin * crop.scale)))))
    return working


def map_layer(layer: Layer, frame: tuple[int, int], crop_box: Box, target: Box) -> np.ndarray:
    """``layer`` (pixels of an image of ``frame = (w, h)`` that shows ``crop_box``) resampled onto
    ``target``, a box of the photo inside ``crop_box``: ``(h, w, 3) uint8``. The same pixel-centre
    mapping as resizing the whole image to ``crop_box``, but only ``target`` is computed."""
    sx, sy = frame[0] / crop_box.width, frame[1] / crop_box.height
    x0, y0 = target.x0 - crop_box.x0, target.y0 - crop_box.y0  # target in the crop's photo pixels
    inside = Box(x0, y0, x0 + target.width, y0 + target.height).shifted(-layer.box.x0, -layer.box.y0)
    if (sx, sy) == (1.0, 1.0) and _within(inside, Box.whole(layer.pixels.shape)):
        return inside.of(layer.pixels)
    matrix = np.float32([
        [sx, 0.0, (x0 + 0.5) * sx - 0.5 - layer.box.x0],
        [0.0, sy, (y0 + 0.5) * sy - 0.5 - layer.box.y0],
    ])
    return cv2.warpAffine(layer.pixels, matrix, target.size, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def _within(inner: Box, outer: Box) -> bool:
    return outer.x0 <= inner.x0 and outer.y0 <= inner.y0 and inner.x1 <= outer.x1 and inner.y1 <= outer.y1


def _intersection(first: Box, second: Box) -> Box | None:
    box = Box(max(first.x0, second.x0), max(first.y0, second.y0), min(first.x1, second.x1), min(first.y1, second.y1))
    return box if box.x0 < box.x1 and box.y0 < box.y1 else None


def finish(painted: np.ndarray, original: np.ndarray, weight: float, preserve_color: bool | str) -> np.ndarray:
    """Painted pixels with the photo's colour kept (luminance) and faded into ``original`` by ``weight``."""
    if preserve_color in (True, "luminance"):
        painted = keep_photo_chroma(painted, original)
    if weight < 1.0:
        mixed = original.astype(np.float32) + weight * (painted.astype(np.float32) - original)
        painted = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
    return painted


def blend(original: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Blend ``(painted, alpha)`` pairs over ``original``, in order.

    ``original`` and each painted image are ``(H, W, 3) uint8``; each alpha is
    ``(H, W) float32`` in ``[0, 1]``. Pixels with zero total alpha keep the original bytes
    (a weight of 1 on the original and 0 on the paint gives back its exact value).
    """
    result = original
    for painted, alpha in layers:
        # One pass in OpenCV, rounded to uint8 after each layer: within 1 grey level of a float
        # accumulation, and several times faster on a video frame.
        result = cv2.blendLinear(result, painted, 1.0 - alpha, alpha)
    return result if layers else original.copy()


def composite(photo_rgb: np.ndarray, crop_box: Box, layers: Sequence[Layer], frame: tuple[int, int],
              alphas: Sequence[np.ndarray], regions: Sequence[Region]) -> np.ndarray:
    """The final paste: ``photo_rgb`` ``(H, W, 3) uint8`` with every region's painted pixels in.

    ``layers``: what the engine painted, pixels of an image of ``frame = (w, h)`` that shows
    ``crop_box`` of the photo (each layer names the region indices it paints). ``alphas``:
    :func:`region_alphas` at the photo's size; ``regions``: their ``strength`` (faded by
    :func:`pixel_weight`) and ``preserve_color`` (luminance: the photo's chroma kept). Each
    region's painted side (its alpha at least 0.5) follows the photo's tone at its rim
    (:func:`virtart.edges.follow_rim_tone`). Regions blend in order, later on top; only the
    regions' box is touched, in stripes of rows.
    """
    result = photo_rgb.copy()
    by_region = {index: layer for layer in layers for index in layer.regions}
    targets = {}
    for index in by_region:
        box = Box.around(alphas[index], threshold=0)
        if box is not None and pixel_weight(regions[index].strength) > 0.0:
            box = _intersection(box, crop_box)
            if box is not None:
                targets[index] = box
    if not targets:
        return result
    boxes = list(targets.values())
    outer = boxes[0].union(*boxes[1:])
    original = outer.of(photo_rgb)
    canvases = []
    for index in sorted(targets):
        target = targets[index]
        inner = target.shifted(-outer.x0, -outer.y0)
        canvas = original.copy()
        painted = map_layer(by_region[index], frame, crop_box, target)
        painted = edges.follow_rim_tone(painted, inner.of(original), target.of(alphas[index]) >= 0.5, photo_rgb.shape)
        region = regions[index]
        inner.of(canvas)[:] = finish(painted, inner.of(original), pixel_weight(region.strength), region.preserve_color)
        canvases.append((canvas, outer.of(alphas[index])))
    blended = outer.of(result)
    for top in range(0, blended.shape[0], COMPOSITE_ROWS):
        rows = slice(top, top + COMPOSITE_ROWS)
        blended[rows] = blend(original[rows], [(canvas[rows], alpha[rows]) for canvas, alpha in canvases])
    return result


def outside_changed_pixels(original: np.ndarray, result: np.ndarray, alphas: Sequence[np.ndarray]) -> int:
    """How many pixels with zero alpha in every region differ from the original (must be 0)."""
    outside = None
    for alpha in alphas:
        beyond = cv2.compare(alpha, 0.0, cv2.CMP_LE)
        outside = beyond if outside is None else cv2.bitwise_and(outside, beyond)
    changed = cv2.absdiff(original, result)
    if outside is not None:
        changed = cv2.bitwise_and(changed, changed, mask=outside)
    # Every frame of a clip is checked: counting changed bytes is one cheap pass, and it is 0
    # whenever the pixel count is.
    if cv2.countNonZero(changed.reshape(changed.shape[0], -1)) == 0:
        return 0
    return cv2.countNonZero(cv2.transform(changed, _CHANNEL_SUM))  # > 0 where any channel differs


_CHANNEL_SUM = np.ones((1, 3), np.float32)
