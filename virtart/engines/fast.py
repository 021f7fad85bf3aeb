"""The fast engine: one feed-forward pass of Magenta's arbitrary stylization network per region.

The engine paints the crop the compositor gives it (:func:`~virtart.engines.composite.engine_crop`:
the regions' box with ``context`` working pixels around it for the network's receptive
field), each region on its own box within it, so a region covering half a photo costs about
half. It returns one :class:`~virtart.engines.composite.Layer` per region; the compositor
blends them in.

Strength ``s`` follows Ghiasi et al. 2017: the style vector moves from the photo's own
(predicted from the region's box) to the painting's, ``s * painting + (1 - s) * own``. The
network never reproduces a photo exactly, even in its own style, so below ``s = 0.5`` the
compositor also fades the result into the photo (:func:`~virtart.engines.composite.pixel_weight`).

The engine yields a quick preview (its image shrunk to a long side of 384 px) when the final
takes much longer, and then the final layers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

import cv2
import numpy as np

from virtart.engines.base import Preview, Region, StyleOptions
from virtart.engines.composite import Layer
from virtart.geometry import Box
from virtart.models.magenta import RECEPTIVE_MARGIN, MagentaStylizer, shared_stylizer

PREVIEW_LONG_SIDE = 384
# Paintings' style vectors kept (by content digest): a video asks for the same painting every frame.
STYLE_VECTOR_CACHE = 16


class FastEngine:
    """Feed-forward arbitrary style transfer behind the :class:`~virtart.engines.base.Engine` protocol."""

    name = "fast"
    context = RECEPTIVE_MARGIN

    def __init__(self, stylizer: MagentaStylizer):
        self.stylizer = stylizer
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()

    @classmethod
    def from_registry(cls, device: str = "cpu") -> FastEngine:
        """The engine on the verified ONNX weights of the registry (shared per device)."""
        return cls(shared_stylizer("cuda" if device.startswith("cuda") else "cpu"))

    def painting_vector(self, style: np.ndarray) -> np.ndarray:
        """A painting's style vector, computed once per painting (kept for the last few)."""
        key = hashlib.blake2b(np.ascontiguousarray(style).data, digest_size=16).digest() + repr(style.shape).encode()
        with self._vectors_lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        vector = self.stylizer.style_vector(style)
        with self._vectors_lock:
            self._vectors[key] = vector
            while len(self._vectors) > STYLE_VECTOR_CACHE:
                self._vectors.popitem(last=False)
        return vector

    def style_vectors(self, image: np.ndarray, regions: list[Region]) -> list[np.ndarray]:
        """Each region's style vector, moved toward the image's own (under the region) by ``1 - strength``."""
        vectors = []
        for region in regions:
            vector = self.painting_vector(region.style)
            if region.strength < 1.0:
                own = self.stylizer.style_vector((Box.around(region.mask) or Box.whole(image.shape)).of(image))
                vector = region.strength * vector + (1.0 - region.strength) * own
            vectors.append(vector)
        return vectors

    def paint(self, image: np.ndarray, regions: list[Region]) -> list[Layer]:
        """One :class:`Layer` per region: its box (of the alpha, else the mask) repainted at the
        image's resolution; none for an empty region or strength 0 (the photo itself)."""
        vectors = self.style_vectors(image, [region for region in regions if region.strength > 0])
        layers = []
        for index, region in enumerate(regions):
            box = Box.around(region.alpha if region.alpha is not None else region.mask, threshold=0)
            if box is None or region.strength <= 0:
                continue
            view = image if region.view is None else region.view  # the region's contour out of sight
            layers.append(Layer(box, self.stylise_box(view, box, vectors.pop(0)), (index,)))
        return layers

    def stylise_box(self, image: np.ndarray, box: Box, vector: np.ndarray) -> np.ndarray:
        """Stylised pixels of ``box``, computed with up to ``context`` pixels of the image around it."""
        outer = box.grown(self.context, image.shape)
        stylised = self.stylizer.stylize(outer.of(image), vector)
        return box.shifted(-outer.x0, -outer.y0).of(stylised)

    def run(self, image: np.ndarray, regions: list[Region], options: StyleOptions) -> Iterator[Preview]:
        """Yield a preview (the image shrunk to a long side of 384 px, painted when read) when the
        final would take much longer, then the final layers at the image's own size."""
        assert image.dtype == np.uint8 and all(r.mask.shape == image.shape[:2] for r in regions)  # checked requests
        started = time.perf_counter()
        height, width = image.shape[:2]
        info = {
            "device": self.stylizer.device, "perceptual_net": None, "working_sizes": [],
            "network": "magenta-arbitrary (Ghiasi et al. 2017)", "sources": dict(self.stylizer.sources),
        }
        shrink = PREVIEW_LONG_SIDE / max(height, width)
        if shrink < 1.0 / 1.5:  # else the final is about as quick as a preview
            size = (max(8, round(width * shrink)), max(8, round(height * shrink)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            small_regions = [region.at_size(size) for region in regions]
            info["working_sizes"].append(list(size))
            # Painted only if the consumer reads it (the video path never does).
            yield Preview(0, 1, lambda: self.paint(small, small_regions), time.perf_counter() - started,
                          stage="preview", frame=size,
                          info={**info, "working_sizes": list(info["working_sizes"])})
        layers = self.paint(image, regions)
        info["working_sizes"].append([width, height])
        yield Preview(1, 1, layers, time.perf_counter() - started, final=True, stage="final", info=info,
                      frame=(width, height))
