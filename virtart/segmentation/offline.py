"""A click segmenter that needs no checkpoint: colour models and a min-cut on superpixels.

``set_image`` shrinks the photo to a working size (long side <= 1024 px), cuts it into
SLIC superpixels and builds their adjacency graph (:mod:`virtart.segmentation.superpixels`).
``predict`` turns clicks (and an optional box) into seeds, then alternates, GrabCut-style,
between fitting object/background colour histograms and an exact min-cut on the graph;
the object is the part connected to the include clicks, and its outline is refined per
pixel before being scaled back to the photo's size.

Points and boxes are in the original photo's pixels (x right, y down); masks come back as
``(H, W) float32`` in ``{0, 1}``. Nothing per user is stored on the segmenter: only a
bounded, thread-safe LRU of per-photo graphs keyed by content hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from virtart.errors import VirtArtError
from virtart.segmentation.base import Box, ImageState, Point, Prediction, check_prompts, image_key
from virtart.segmentation.superpixels import (
    BINS,
    SuperpixelGraph,
    build_graph,
    colour_bins,
    geodesic_closeness,
    keep_connected,
    min_cut,
)

COLOUR_FLOOR = 1e-3  # an unseen colour counts as this fraction of an evenly spread pixel
CLICK_RADIUS = 3  # a click pins the superpixels within this many working pixels, like a small brush
OUTLINE_PRIOR = 2.0  # how much a pixel trusts its superpixel over its own colour at the outline


@dataclass
class _Working:
    """What ``set_image`` keeps per photo."""

    graph: SuperpixelGraph
    rgb: np.ndarray  # (h, w, 3) uint8 at the working size
    bins: np.ndarray  # (h, w) int32 colour bin of each working pixel
    scale: float  # working pixels per original pixel


class OfflineSegmenter:
    """Checkpoint-free interactive segmenter (see the module docstring).

    Tuned on GrabCut-50 and cluttered COCO scenes (``bench/bench_clicks.py``):
    ``smoothness`` weighs edges against colour costs, ``geodesic_weight`` how strongly
    a click claims what is reachable from it without crossing colour changes,
    ``border_offset`` how readily the image border counts as background, ``box_prior``
    the pull of a box's centre; images are worked on at ``working_size`` px at most, in
    superpixels of about ``pixels_per_superpixel`` pixels (at most ``max_superpixels``).
    A box alone whose long side is under ``box_zoom_size`` working pixels is segmented in
    its own crop (the box grown by ``box_margin`` of its long side), enlarged to that size:
    on every other coco128-seg image (YOLO at 960 px) this raised the mean best IoU over
    people and animals from 0.484 to 0.527; GrabCut-50 box prompts stay at 0.845.
    """

    name = "offline"

    def __init__(self, working_size: int = 1024, cache_size: int = 8, smoothness: float = 18.0,
                 iterations: int = 4, border_offset: float = 20.0, geodesic_weight: float = 1.0,
                 pixels_per_superpixel: int = 60, refine: bool = True, geodesic_floor: float = 1.0,
                 box_prior: float = 0.3, max_superpixels: int = 4000, box_zoom_size: int = 256,
                 box_margin: float = 0.25) -> None:
        self.working_size = working_size
        self.cache_size = cache_size
        self.smoothness = smoothness
        self.iterations = iterations
        self.border_offset = border_offset
        self.geodesic_weight = geodesic_weight
        self.geodesic_floor = geodesic_floor
        self.pixels_per_superpixel = pixels_per_superpixel
        self.max_superpixels = max_superpixels
        self.refine = refine
        self.box_prior = box_prior
        self.box_zoom_size = box_zoom_size
        self.box_margin = box_margin
        self._cache: OrderedDict[str, _Working] = OrderedDict()
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- per photo
    def set_image(self, image: np.ndarray) -> ImageState:
        """Build (or fetch from the cache) the superpixel graph of an ``(H, W, 3) uint8`` photo."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
            raise VirtArtError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
        key = image_key(image)
        height, width = image.shape[:2]
        with self._lock:
            working = self._cache.get(key)
            if working is not None:
                self._cache.move_to_end(key)
        if working is None:
            working = self._prepare(image)
            with self._lock:
                self._cache[key] = working
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return ImageState(key=key, size=(width, height), data=working)

    def _prepare(self, image: np.ndarray) -> _Working:
        height, width = image.shape[:2]
        scale = min(1.0, self.working_size / max(height, width))
        rgb = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return self._working(rgb, width)

    def _working(self, rgb: np.ndarray, original_width: int) -> _Working:
        rgb = np.ascontiguousarray(rgb)
        graph = build_graph(rgb, self.pixels_per_superpixel, self.max_superpixels)
        return _Working(graph, rgb, colour_bins(rgb), rgb.shape[1] / original_width)

    # ---------------------------------------------------------------- per click
    def predict(self, state: ImageState, points: list[Point], box: Box | None = None,
                previous: Prediction | None = None) -> Prediction:
        """Mask ``(H, W) float32`` in ``{0, 1}`` for include/exclude clicks and/or a box.

        Every answer is solved afresh from all the clicks, so ``previous`` is accepted for
        the common interface but not needed. Exclude clicks alone give an empty mask.
        """
        check_prompts(state.size, points, box)
        working: _Working = state.data
        if not isinstance(working, _Working):
            raise VirtArtError("this image state was not made by the offline segmenter; call set_image first")
        if box is not None and not points and self.box_zoom_size:
            long_side = max(box[2] - box[0], box[3] - box[1]) * working.scale
            if long_side < self.box_zoom_size:
                return self._predict_zoomed(state, box)
        return self._predict(state, points, box)

    def _predict_zoomed(self, state: ImageState, box: Box) -> Prediction:
        """A small box alone: segment a crop around it, enlarged so the box's long side is
        ``box_zoom_size`` working pixels; finer superpixels, and colour models of its surroundings."""
        working: _Working = state.data
        width, height = state.size
        margin = self.box_margin * max(box[2] - box[0], box[3] - box[1]) + 2
        x0, y0 = max(0, int(box[0] - margin)), max(0, int(box[1] - margin))
        x1, y1 = min(width, int(np.ceil(box[2] + margin))), min(height, int(np.ceil(box[3] + margin)))
        s = working.scale
        crop = working.rgb[int(y0 * s):max(int(np.ceil(y1 * s)), int(y0 * s) + 1),
                           int(x0 * s):max(int(np.ceil(x1 * s)), int(x0 * s) + 1)]
        zoom = max(1.0, self.box_zoom_size / max((box[2] - box[0]) * s, (box[3] - box[1]) * s, 1e-6))
        zoom = min(zoom, 2 * self.box_zoom_size / max(crop.shape[:2]))  # tiny boxes: keep SLIC quick
        size = (max(1, round((x1 - x0) * s * zoom)), max(1, round((y1 - y0) * s * zoom)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
        sub = ImageState(key="", size=(x1 - x0, y1 - y0), data=self._working(crop, x1 - x0))
        inner = self._predict(sub, [], (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0))
        mask = np.zeros((height, width), np.float32)
        mask[y0:y1, x0:x1] = inner.mask
        return Prediction(mask=mask, score=inner.score, backend=self.name)

    def _predict(self, state: ImageState, points: list[Point], box: Box | None) -> Prediction:
        working: _Working = state.data
        graph = working.graph
        fg, bg = _click_nodes(working, points)
        centre = None
        if box is not None:
            x0, y0, x1, y1 = (v * working.scale for v in box)
            cx, cy = graph.centroid[:, 0], graph.centroid[:, 1]
            bg = bg | (((cx < x0) | (cx > x1) | (cy < y0) | (cy > y1)) & ~fg)
            _, centre = _click_nodes(working, [((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 0)])
            if bg.all():  # a box smaller than any superpixel: pin its centre
                fg, bg = fg | centre, bg & ~centre
            if fg.any():
                centre = None
        obj = self._segment(graph, fg, bg, box is not None, centre)
        obj = keep_connected(graph, obj, fg if fg.any() else obj)
        mask = obj[graph.labels].astype(np.float32)
        if self.refine and obj.any() and not obj.all():
            mask = _refine_outline(working, obj, fg | bg, self.pixels_per_superpixel)
        mask = _to_original(mask, state.size)
        if box is not None:
            inside = np.zeros_like(mask)
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            inside[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 1
            mask *= inside
        return Prediction(mask=mask, score=1.0, backend=self.name)

    def _segment(self, graph: SuperpixelGraph, fg: np.ndarray, bg: np.ndarray, boxed: bool,
                 centre: np.ndarray | None = None) -> np.ndarray:
        """``(n,) bool`` object nodes for the seeds, GrabCut-style on superpixels.

        ``centre`` (a box without clicks): the box's middle superpixel, a soft include seed,
        since a detector's box is centred on its object.
        """
        if not fg.any() and not boxed:
            return fg
        weight = self.geodesic_weight
        if centre is not None:
            closeness = geodesic_closeness(graph, centre, bg, None, self.geodesic_floor)
            obj, weight = ~bg, self.box_prior
        else:
            closeness = geodesic_closeness(graph, fg, bg, None if boxed else self.border_offset, self.geodesic_floor)
            obj = closeness > 0.5
        p = np.clip(closeness, 0.01, 0.99)
        geo_fg = weight * graph.area * -np.log(p)
        geo_bg = weight * graph.area * -np.log(1 - p)
        for _ in range(self.iterations):
            cost_fg = _colour_cost(graph, obj) + geo_fg
            cost_bg = _colour_cost(graph, ~obj) + geo_bg
            new = min_cut(graph, cost_fg, cost_bg, self.smoothness, fg, bg)
            if np.array_equal(new, obj):
                break
            obj = new
        return obj


def _click_nodes(working: _Working, points: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    """``(include, exclude)`` node masks of the superpixels under each click's brush.

    Where clicks of both kinds cover a superpixel, the latest click wins.
    """
    graph = working.graph
    h, w = graph.labels.shape
    fg = np.zeros(graph.count, dtype=bool)
    bg = np.zeros(graph.count, dtype=bool)
    r = CLICK_RADIUS
    for x, y, label in points:
        cx, cy = min(int(x * working.scale), w - 1), min(int(y * working.scale), h - 1)
        nodes = np.unique(graph.labels[max(cy - r, 0):cy + r + 1, max(cx - r, 0):cx + r + 1])
        fg[nodes], bg[nodes] = label == 1, label == 0
    return fg, bg


def _colour_cost(graph: SuperpixelGraph, members: np.ndarray) -> np.ndarray:
    """Per node: summed negative log-likelihood of its pixels under the members' colour histogram."""
    return -(graph.histogram @ _log_density(graph, members))


def _log_density(graph: SuperpixelGraph, members: np.ndarray) -> np.ndarray:
    """``(BINS,)`` log colour density of the members' pixels.

    A plain histogram: blurring it across neighbouring bins measured worse on GrabCut-50
    (it lets the object's colours leak into similar background colours).
    """
    counts = np.asarray(graph.histogram[members].sum(axis=0)).ravel()
    density = counts + COLOUR_FLOOR * max(counts.sum(), 1) / BINS
    return np.log(density / density.sum()).astype(np.float32)


def _refine_outline(working: _Working, obj: np.ndarray, clicked: np.ndarray,
                    pixels_per_superpixel: int) -> np.ndarray:
    """Working-size mask whose outline follows pixel colours rather than superpixel borders.

    Near the superpixel outline, each pixel weighs its colour's object/background
    likelihood ratio against the (blurred) superpixel answer; elsewhere the latter stands.
    """
    graph = working.graph
    mask = obj[graph.labels].astype(np.float32)
    sigma = 0.5 * np.sqrt(pixels_per_superpixel)
    soft = cv2.GaussianBlur(mask, (0, 0), sigma)
    band = (soft > 0.02) & (soft < 0.98) & ~clicked[graph.labels]  # clicked superpixels stay as clicked
    ratio = (_log_density(graph, obj) - _log_density(graph, ~obj))[working.bins]
    ratio = cv2.GaussianBlur(np.clip(ratio, -6, 6), (0, 0), 1.0)
    prior = np.log(np.clip(soft, 0.02, 0.98) / np.clip(1 - soft, 0.02, 0.98))
    refined = mask.copy()
    refined[band] = (ratio[band] + OUTLINE_PRIOR * prior[band] > 0).astype(np.float32)
    return refined


def _to_original(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if mask.shape != (height, width):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return (mask >= 0.5).astype(np.float32)
