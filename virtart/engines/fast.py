"""The fast engine: one feed-forward pass of Magenta's arbitrary stylization network per region.

Each region is stylised on its own bounding box (the feathered mask's, plus a margin for
the network's receptive field) at full resolution by default, so a region covering half a
photo costs about half. ``options.max_size`` caps the long side of the regions' box instead
(the network then works smaller and its output is scaled up, bicubic).

Strength ``s`` follows Ghiasi et al. 2017: the style vector moves from the photo's own
(predicted from the region's box) to the painting's, ``s * painting + (1 - s) * own``. The
network never reproduces a photo exactly, even in its own style, so below ``s = 0.5`` the
result is also faded into the photo (weight ``2 s``): strength 0 is the photo itself.

The engine yields a quick preview (the whole photo, long side 384 px) and then the final
result, composited into the original through the feathered masks: pixels outside every
region's feather band keep their original bytes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import MAX_WORKING_SIZE, Preview, Region, StyleOptions
from virtart.engines.color import keep_photo_chroma, match_color_statistics
from virtart.engines.composite import Layer, alphas_of, composite_layers, region_alphas
from virtart.geometry import Box, fit_long_side, resize_image
from virtart.models.magenta import RECEPTIVE_MARGIN, MagentaStylizer, shared_stylizer

PREVIEW_LONG_SIDE = 384

def pixel_weight(strength: float) -> float:
    """How much of the stylised pixels survive the fade into the photo (1 from strength 0.5 up)."""
    return min(1.0, 2.0 * float(strength))


def working_scale(box: Box, max_size: int | None) -> float:
    """Scale from photo pixels to working pixels: 1 unless the box's long side exceeds the cap."""
    return min(1.0, (max_size or MAX_WORKING_SIZE) / box.long_side)


def resample_box(stylised: np.ndarray, origin: tuple[int, int], scales: tuple[float, float], box: Box) -> np.ndarray:
    """Map a working-resolution crop (top-left ``origin`` in working pixels) onto photo ``box``.

    ``scales``: working pixels per photo pixel, ``(x, y)``. The same pixel-centre mapping as
    resizing the whole working image to the photo's size, but only the box is computed.
    """
    inverse_x, inverse_y = 1.0 / scales[0], 1.0 / scales[1]
    matrix = np.float32([
        [inverse_x, 0.0, (origin[0] + 0.5) * inverse_x - 0.5 - box[0]],
        [0.0, inverse_y, (origin[1] + 0.5) * inverse_y - 0.5 - box[1]],
    ])
    size = (box[2] - box[0], box[3] - box[1])
    return cv2.warpAffine(stylised, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


class FastEngine:
    """Feed-forward arbitrary style transfer behind the :class:`~virtart.engines.base.Engine` protocol."""

    name = "fast"

    def __init__(self, stylizer: MagentaStylizer):
        self.stylizer = stylizer

    @classmethod
    def from_registry(cls, device: str = "cpu") -> FastEngine:
        """The engine on the verified ONNX weights of the registry (shared per device)."""
        return cls(shared_stylizer("cuda" if device.startswith("cuda") else "cpu"))

    def style_vectors(self, photo: np.ndarray, regions: list[Region], options: StyleOptions) -> list[np.ndarray]:
        """Each region's style vector, moved toward the photo's own by ``1 - strength``."""
        vectors = []
        for region in regions:
            style = region.style
            if region.preserve_color == "histogram":
                style = match_color_statistics(style, photo, where=region.mask >= 0.5)
            vector = self.stylizer.style_vector(style)
            if region.strength < 1.0:
                own = self.stylizer.style_vector((Box.around(region.mask) or Box.whole(photo.shape)).of(photo))
                vector = region.strength * vector + (1.0 - region.strength) * own
            vectors.append(vector)
        return vectors

    def paint(self, photo: np.ndarray, alphas: list[np.ndarray], regions: list[Region], vectors: list[np.ndarray],
              max_size: int | None) -> tuple[list[Layer], tuple[int, int]]:
        """One :class:`Layer` per region (its alpha's box, repainted at the photo's resolution; none
        for an empty alpha or strength 0), and the working size of the regions' box."""
        boxes = [Box.around(alpha, threshold=0) for alpha in alphas]
        present = [box for box in boxes if box is not None]
        if not present:
            return [], (0, 0)
        outer = present[0].union(*present[1:])
        scale = working_scale(outer, max_size)
        height, width = photo.shape[:2]
        working = photo
        if scale < 1.0:
            working = resize_image(photo, fit_long_side((width, height), max(width, height) * scale))
        scales = (working.shape[1] / width, working.shape[0] / height)
        layers = []
        for index, (box, region, vector) in enumerate(zip(boxes, regions, vectors, strict=True)):
            weight = pixel_weight(region.strength)
            if box is None or weight == 0.0:
                continue  # strength 0: the photo itself, no need to run the network
            photo_box = box.of(photo)
            stylised = self.stylise_box(working, box, scales, vector)
            if region.preserve_color in (True, "luminance"):
                stylised = keep_photo_chroma(stylised, photo_box)
            if weight < 1.0:
                mixed = photo_box.astype(np.float32) + weight * (stylised.astype(np.float32) - photo_box)
                stylised = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
            layers.append(Layer(box, stylised, (index,)))
        return layers, (round(outer.width * scale), round(outer.height * scale))

    def render(self, photo: np.ndarray, region_masks: list[np.ndarray], regions: list[Region],
               vectors: list[np.ndarray], scale: float, max_size: int | None) -> tuple[np.ndarray, tuple[int, int]]:
        """The photo with every region repainted (for previews and starting images), and the
        working size of the regions' box; ``photo`` and ``region_masks`` are ``scale`` x the
        regions' own size, and so are their feathers."""
        alphas = region_alphas(region_masks, [region.feather * scale for region in regions])
        layers, working_size = self.paint(photo, alphas, regions, vectors, max_size)
        return composite_layers(photo, layers, alphas), working_size

    def stylise_box(self, working: np.ndarray, box: Box, scales: tuple[float, float],
                     vector: np.ndarray) -> np.ndarray:
        """Stylised pixels of photo ``box``, computed on the working image with context around it."""
        height, width = working.shape[:2]
        sx, sy = scales
        core = (math.floor(box[0] * sx), math.floor(box[1] * sy),
                min(width, math.ceil(box[2] * sx)), min(height, math.ceil(box[3] * sy)))
        x0, y0 = max(0, core[0] - RECEPTIVE_MARGIN), max(0, core[1] - RECEPTIVE_MARGIN)
        x1, y1 = min(width, core[2] + RECEPTIVE_MARGIN), min(height, core[3] + RECEPTIVE_MARGIN)
        stylised = self.stylizer.stylize(working[y0:y1, x0:x1], vector)
        if scales == (1.0, 1.0):
            return stylised[box[1] - y0 : box[3] - y0, box[0] - x0 : box[2] - x0]
        return resample_box(stylised, (x0, y0), scales, box)

    def run(self, photo: np.ndarray, regions: list[Region], options: StyleOptions) -> Iterator[Preview]:
        """Yield a preview of the whole photo (long side 384 px), then the full-size result.

        The preview is skipped when the final would not take much longer (small photos, or a
        ``max_size`` close to the preview's working size).
        """
        assert photo.dtype == np.uint8 and all(r.mask.shape == photo.shape[:2] for r in regions)  # checked requests
        started = time.perf_counter()
        vectors = self.style_vectors(photo, regions, options)
        info = {
            "device": self.stylizer.device, "perceptual_net": None, "working_sizes": [],
            "network": "magenta-arbitrary (Ghiasi et al. 2017)", "sources": dict(self.stylizer.sources),
        }
        height, width = photo.shape[:2]
        shrink = PREVIEW_LONG_SIDE / max(height, width)
        boxes = [Box.around(region.mask) for region in regions]
        box_long_side = boxes[0].union(*boxes[1:]).long_side
        final_long_side = min(box_long_side, options.max_size or MAX_WORKING_SIZE)
        if shrink < 1.0 and final_long_side > 1.5 * box_long_side * shrink:  # else the final is as quick
            size = (max(8, round(width * shrink)), max(8, round(height * shrink)))
            small = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
            small_masks = [mask_ops.resize_mask(region.mask, size) for region in regions]
            image, working_size = self.render(small, small_masks, regions, vectors, shrink, options.max_size)
            info["working_sizes"].append(list(working_size))
            yield Preview(step=0, total_steps=1, image=image, elapsed=time.perf_counter() - started,
                          stage="preview", info={**info, "working_sizes": list(info["working_sizes"])})
        alphas = alphas_of(regions)
        layers, working_size = self.paint(photo, alphas, regions, vectors, options.max_size)
        info["working_sizes"].append(list(working_size))
        yield Preview(step=1, total_steps=1, image=lambda: composite_layers(photo, layers, alphas),
                      elapsed=time.perf_counter() - started, final=True, stage="final", info=info, layers=layers)
