"""A click segmenter that needs no segmentation checkpoint: colour and deep-feature models
and a min-cut on superpixels.

``set_image`` shrinks the photo to a working size (long side <= 1024 px), cuts it into
SLIC superpixels, builds their adjacency graph (:mod:`virtart.segmentation.superpixels`)
and averages a few VGG-16 channels over each superpixel (:mod:`~virtart.segmentation.
deep_features`; skipped, colour only, where the offline VGG-16 is not installed).
``predict`` turns clicks (and an optional box) into seeds, then alternates, GrabCut-style,
between fitting object/background models (colour histograms, and a Gaussian per side on
the deep features) and an exact min-cut on the graph; the object is the part connected
to the include clicks, and its outline is refined per pixel before being scaled back to
the photo's size. When the caller passes back the previous :class:`Prediction` (as the UI
does for each added click), superpixels that lie away from the newest click pay a cost for
changing side; with ``local`` (preset "local") only the change of the new cut connected to
the newest click is taken (:mod:`~virtart.segmentation.corrections`), so a corrective click
cannot make the region jump away elsewhere, as a re-solve with re-estimated colour models may. The
superpixels under clicks and strokes weigh extra in the colour models, since a user's
click is certain and the rest a guess. A detected object's box holding the first include
click (``prior``) serves as a box prompt; with ``prior_fade`` its say fades as include clicks
land outside it, else it is dropped then.
All the knobs are in :class:`OfflineSettings` (named presets in :data:`PRESETS`); how each
value was chosen is in ``docs/offline_segmenter.md``.

Points and boxes are in the original photo's pixels (x right, y down); masks come back as
``(H, W) float32`` in ``{0, 1}``. Nothing per user is stored on the segmenter: only a
bounded, thread-safe LRU of per-photo graphs keyed by content hash; the previous answer's
superpixel labelling travels in ``Prediction.extra``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import cv2
import numpy as np

from virtart.errors import VirtArtError
from virtart.geometry import resize_image, shrink_to
from virtart.segmentation.base import Box, ImageState, Point, Prediction, Stroke, check_prompts, image_key
from virtart.segmentation.corrections import grow_to_hold, local_correction, newest_prompts
from virtart.segmentation.deep_features import SuperpixelFeatures, feature_log_ratio
from virtart.segmentation.prompts import rasterize_strokes
from virtart.segmentation.superpixels import (
    SuperpixelGraph,
    build_graph,
    colour_bins,
    colour_cost,
    geodesic_closeness,
    keep_connected,
    keep_out_cost,
    min_cut,
    refine_outline,
)

CLICK_RADIUS = 3  # a click pins the superpixels within this many working pixels, like a small brush
STROKE_RADIUS = 1  # a stroke pins the superpixels it crosses, drawn this many working pixels either side
# Shape prior of a zoomed box (see ``OfflineSegmenter.box_shape_prior``): a superpixel's chance
# of being object falls to one half at this box-normalised elliptical radius (1 = the ellipse
# inscribed in the box), over a logistic width of ``BOX_SHAPE_SOFTNESS``.
BOX_SHAPE_RADIUS = 1.2
BOX_SHAPE_SOFTNESS = 0.3


@dataclass
class _Working:
    """What ``set_image`` keeps per photo."""

    graph: SuperpixelGraph
    rgb: np.ndarray  # (h, w, 3) uint8 at the working size
    bins: np.ndarray  # (h, w) int32 colour bin of each working pixel
    scale: float  # working pixels per original pixel
    features: np.ndarray | None = None  # (n, d) deep features per superpixel (deep_features.py)


@dataclass(frozen=True)
class OfflineSettings:
    """Every knob of :class:`OfflineSegmenter`, by the step it tunes (how each value was chosen:
    ``docs/offline_segmenter.md``). Lengths are in working pixels, costs per pixel of a superpixel."""

    # The graph, built once per photo.
    working_size: int = 1024  # long side the photo is shrunk to
    pixels_per_superpixel: int = 60  # SLIC superpixel size ...
    max_superpixels: int = 4000  # ... and cap on their number
    refine: bool = True  # move the answer's outline from superpixel borders onto pixels
    deep_weight: float = 0.5  # weight of the VGG-16 feature log-ratio (0: colour alone, no VGG)
    deep_dims: int = 8  # whitened deep-feature components kept
    # The cut.
    smoothness: float = 18.0  # edge weights against unary costs
    iterations: int = 4  # model fit / min-cut rounds
    border_offset: float = 20.0  # extra geodesic distance at which the image border counts as background
    geodesic_weight: float = 1.0  # how strongly a click claims what it reaches without crossing colour changes
    geodesic_floor: float = 1.0  # geodesic distance per step over flat colour
    seed_weight: float = 50.0  # how many times a prompted superpixel counts in its side's colour model
    # Boxes.
    box_prior: float = 0.3  # geodesic weight of a box's centre (and of the clicks inside a detector prior)
    box_click_weight: float = 2.0  # geodesic weight of the box's seeds once a user's clicks join them
    box_zoom_size: int = 256  # a box whose long side is under this is segmented in an enlarged crop
    box_margin: float = 0.25  # that crop's margin, a fraction of the box's long side
    box_shape_prior: float = 0.1  # pull of the zoomed box's middle over its corners
    prior_as_box: bool = True  # a detector prior is taken as a box prompt
    # Corrections after a previous answer.
    previous_weight: float = 1.0  # cost per pixel of previous background turning object far from the click
    keep_in: float = 1.0  # ... and of previous object turning background
    previous_radius: float = 0.5  # those costs fade within this x sqrt(previous object area) of the click
    local: bool = False  # keep only the change connected to the newest prompt (corrections.py; preset "local")
    focus: float = 1.5  # ... and all of it within that part's bounding box grown this many times
    reach: float = 2.0  # ... and within this x its distance to the previous outline (0: no bound)
    prior_fade: bool = False  # an include click outside a detector prior grows it and lowers its say (else: dropped)
    prior_grow: float = 0.1  # ... this much of its long side beyond the click
    exclude_keeps_box_weight: bool = False  # exclude prompts alone leave a box's seeds at ``box_prior``
    far_change: float = 0.0  # not local: a re-solve changing more than this x the previous mask's area
    # outside the newest prompt's own part (local_correction) is taken locally instead (0: never)


PRESETS: dict[str, OfflineSettings] = {
    "default": OfflineSettings(),
    # Colour alone: no VGG-16 at all (quicker set-up; also where that network is not installed).
    "colour": OfflineSettings(deep_weight=0.0),
    # Issue 21: corrections that never undo the user (only the change connected to the newest
    # prompt, bounded by its distance to the outline), a fading detector prior; fewer harmful
    # clicks, slower convergence on the lean halves measured (docs/offline_segmenter.md).
    "local": OfflineSettings(local=True, reach=2.0, prior_fade=True, exclude_keeps_box_weight=True),
    # Issue 21, a middle ground: the re-solve stands unless it flips more than 5 % of the mask
    # away from the click's own part; fewer harmful clicks, slower on GrabCut's odd half
    # (docs/offline_segmenter.md), so not the default.
    "guarded": OfflineSettings(far_change=0.05),
    # Quicker set-up on slow machines: a smaller working size and coarser superpixels.
    "fast": OfflineSettings(working_size=768, pixels_per_superpixel=90, deep_weight=0.0),
}


class OfflineSegmenter:
    """Checkpoint-free interactive segmenter (see the module docstring).

    ``settings``: an :class:`OfflineSettings` or the name of one of :data:`PRESETS`;
    ``overrides`` replace single fields of it (``OfflineSegmenter(deep_weight=0)``).
    ``cache_size`` bounds the per-photo graphs kept.
    """

    name = "offline"

    def __init__(self, settings: OfflineSettings | str = "default", *, cache_size: int = 8,
                 **overrides: float | int | bool) -> None:
        if isinstance(settings, str):
            if settings not in PRESETS:
                raise VirtArtError(f"unknown offline preset '{settings}'; choose one of: {', '.join(PRESETS)}")
            settings = PRESETS[settings]
        self.settings = replace(settings, **overrides)
        self.cache_size = cache_size
        self._features = SuperpixelFeatures(dims=self.settings.deep_dims) if self.settings.deep_weight > 0 else None
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
        width = image.shape[1]
        rgb = resize_image(image, shrink_to((width, image.shape[0]), self.settings.working_size))
        return self._working(rgb, width)

    def _working(self, rgb: np.ndarray, original_width: int, deep: bool = True) -> _Working:
        rgb = np.ascontiguousarray(rgb)
        graph = build_graph(rgb, self.settings.pixels_per_superpixel, self.settings.max_superpixels)
        features = self._features(rgb, graph.labels, graph.count) if deep and self._features else None
        return _Working(graph, rgb, colour_bins(rgb), rgb.shape[1] / original_width, features)

    # ---------------------------------------------------------------- per click
    def predict(self, state: ImageState, points: list[Point], box: Box | None = None,
                previous: Prediction | None = None, strokes: tuple[Stroke, ...] = (),
                prior: Box | None = None) -> Prediction:
        """Mask ``(H, W) float32`` in ``{0, 1}`` for include/exclude clicks, strokes and/or a box.

        The cut is solved from all the prompts; clicks and strokes pin the superpixels under
        them. With ``previous`` (this segmenter's last answer on the same photo), superpixels
        away from the prompts added since pay to change side, and (``local``) of the new cut
        only what changed in connection with those prompts is taken (:func:`~virtart.
        segmentation.corrections.local_correction`): the rest of ``previous.mask`` stays. An include click
        or stroke outside ``box`` grows the box to hold it. ``prior`` (the detected object's box
        the first include click fell in, no box given) is taken as a box prompt whose clicks
        only point at the object; each include click outside it grows it and weighs the clicks
        more (:func:`_fading_prior`, with ``prior_fade``; else it is dropped). Exclude prompts
        alone give an empty mask.
        """
        strokes = tuple(Stroke(tuple(map(tuple, s.points)), int(s.label)) for s in strokes)
        check_prompts(state.size, points, box, strokes)
        working: _Working = state.data
        if not isinstance(working, _Working):
            raise VirtArtError("this image state was not made by the offline segmenter; call set_image first")
        newest = newest_prompts(state, points, strokes, previous)
        click_weight = self.settings.box_click_weight
        if prior is not None and box is None and self.settings.prior_as_box:
            box, click_weight = _fading_prior(prior, points, self.settings)
            if box != prior and not self.settings.prior_fade:  # an include click left it: the user means more
                box, click_weight = None, self.settings.box_click_weight
        if box is not None:
            box = _hold_includes(box, points, strokes)
            long_side = max(box[2] - box[0], box[3] - box[1]) * working.scale
            if self.settings.box_zoom_size and long_side < self.settings.box_zoom_size:
                answer = self._predict_zoomed(state, box, points, strokes, previous, newest, click_weight)
                return self._localised(answer, previous, newest, len(points), len(strokes))
        extra = None
        if newest:
            before = _mask_nodes(working, np.asarray(previous.mask))
            extra = self._keep_out(working, before, newest)
        answer = self._predict(state, points, box, extra, strokes, click_weight=click_weight)
        return self._localised(answer, previous, newest, len(points), len(strokes))

    def _localised(self, answer: Prediction, previous: Prediction | None, newest: list[Point] | None,
                   point_count: int, stroke_count: int) -> Prediction:
        """``answer`` with only the change connected to the newest prompts kept (when local), and
        what the next interaction needs in its ``extra``."""
        mask = answer.mask
        if newest and (self.settings.local or self.settings.far_change > 0):
            local = local_correction(previous.mask, mask, newest, focus=self.settings.focus, reach=self.settings.reach)
            far = np.count_nonzero((local >= 0.5) != (mask >= 0.5))
            if self.settings.local or far > self.settings.far_change * max(np.count_nonzero(previous.mask >= 0.5), 1):
                mask = local
        return Prediction(mask=mask, score=answer.score, backend=self.name,
                          extra={"image_key": answer.extra["image_key"], "prompt_counts": (point_count, stroke_count)})

    def _keep_out(self, working: _Working, before: np.ndarray, newest: list[Point]) -> np.ndarray | None:
        """``(n,)`` cost of each superpixel of ``working`` changing side from ``before`` (``(n,)
        bool``, the previous object): zero near the ``newest`` prompts (photo pixels, or the
        crop's), growing away from them; negative (a cost of turning background) for the
        previous object."""
        if self.settings.previous_weight <= 0:
            return None
        xy = np.float32([(x, y) for x, y, _ in newest]) * working.scale
        cost = keep_out_cost(working.graph, before, xy, self.settings.previous_weight, self.settings.previous_radius)
        if self.settings.keep_in > 0:  # and object far from the newest prompt pays to turn background
            cost = cost - keep_out_cost(working.graph, ~before, xy, self.settings.keep_in, self.settings.previous_radius)
        return cost

    def _zoomed_working(self, state: ImageState, crop_box: tuple[int, int, int, int], zoom: float) -> _Working:
        """The enlarged crop's graph, cached like a photo's (clicks after a box reuse it)."""
        key = f"{state.key}/zoom{crop_box}"
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        working: _Working = state.data
        x0, y0, x1, y1 = crop_box
        s = working.scale
        crop = working.rgb[int(y0 * s):max(int(np.ceil(y1 * s)), int(y0 * s) + 1),
                           int(x0 * s):max(int(np.ceil(x1 * s)), int(x0 * s) + 1)]
        size = (max(1, round((x1 - x0) * s * zoom)), max(1, round((y1 - y0) * s * zoom)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
        # Colour alone here: a detector sends many small boxes, and VGG on each crop would cost ~0.4 s.
        zoomed = self._working(crop, x1 - x0, deep=False)
        with self._lock:
            self._cache[key] = zoomed
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return zoomed

    def _predict_zoomed(self, state: ImageState, box: Box, points: list[Point], strokes: tuple[Stroke, ...],
                        previous: Prediction | None, newest: list[Point] | None, click_weight: float) -> Prediction:
        """A small box: segment a crop around it, enlarged so the box's long side is
        ``box_zoom_size`` working pixels; finer superpixels, and colour models of its surroundings.
        Clicks and strokes are moved into the crop (exclude ones outside it are background anyway)."""
        working: _Working = state.data
        width, height = state.size
        margin = self.settings.box_margin * max(box[2] - box[0], box[3] - box[1]) + 2
        x0, y0 = max(0, int(box[0] - margin)), max(0, int(box[1] - margin))
        x1, y1 = min(width, int(np.ceil(box[2] + margin))), min(height, int(np.ceil(box[3] + margin)))
        s = working.scale
        crop_shape = (max(int(np.ceil(y1 * s)), int(y0 * s) + 1) - int(y0 * s),
                      max(int(np.ceil(x1 * s)), int(x0 * s) + 1) - int(x0 * s))
        zoom = max(1.0, self.settings.box_zoom_size / max((box[2] - box[0]) * s, (box[3] - box[1]) * s, 1e-6))
        zoom = min(zoom, 2 * self.settings.box_zoom_size / max(crop_shape))  # tiny boxes: keep SLIC quick
        crop_box = (x0, y0, x1, y1)
        sub = ImageState(key=f"{state.key}/{crop_box}", size=(x1 - x0, y1 - y0),
                         data=self._zoomed_working(state, crop_box, round(zoom, 3)))

        def inside(x: float, y: float) -> bool:
            return x0 <= x < x1 and y0 <= y < y1

        inner_points = [(x - x0, y - y0, label) for x, y, label in points if inside(x, y)]
        inner_strokes = tuple(Stroke(tuple((x - x0, y - y0) for x, y in st.points if inside(x, y)), st.label)
                              for st in strokes)
        inner_strokes = tuple(st for st in inner_strokes if len(st.points) >= 2)
        inner_box = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
        extra = _box_shape_cost(sub.data, inner_box, self.settings.box_shape_prior) if self.settings.box_shape_prior > 0 else None
        if newest:
            before = _mask_nodes(sub.data, np.asarray(previous.mask)[y0:y1, x0:x1])
            extra = _add(extra, self._keep_out(sub.data, before, [(x - x0, y - y0, label) for x, y, label in newest]))
        inner = self._predict(sub, inner_points, inner_box, extra, inner_strokes, click_weight=click_weight)
        mask = np.zeros((height, width), np.float32)
        mask[y0:y1, x0:x1] = inner.mask
        return Prediction(mask=mask, score=inner.score, backend=self.name, extra={"image_key": state.key})

    def _predict(self, state: ImageState, points: list[Point], box: Box | None,
                 keep_out: np.ndarray | None = None, strokes: tuple[Stroke, ...] = (),
                 *, click_weight: float) -> Prediction:
        """``click_weight``: the geodesic weight of a box's seeds once clicks or strokes join them."""
        working: _Working = state.data
        graph = working.graph
        fg, bg = _click_nodes(working, points, strokes)
        excluded = bg.copy()
        centre = None
        if box is not None:
            x0, y0, x1, y1 = (v * working.scale for v in box)
            cx, cy = graph.centroid[:, 0], graph.centroid[:, 1]
            bg = bg | (((cx < x0) | (cx > x1) | (cy < y0) | (cy > y1)) & ~fg)
            _, centre = _click_nodes(working, [((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 0)])
            if bg.all():  # a box smaller than any superpixel: pin its centre
                fg, bg = fg | centre, bg & ~centre
        # The box's seeds weigh more once the user says where the object is; exclude prompts
        # alone keep the box's own weight (else its centre's claim jumps, and the cut collapses).
        includes = any(label == 1 for *_, label in points) or any(s.label == 1 for s in strokes)
        if not self.settings.exclude_keeps_box_weight:
            includes = bool(points or strokes)
        weight = click_weight if includes else self.settings.box_prior
        obj = self._segment(graph, fg, bg, box is not None, centre, keep_out, working.features, box_weight=weight,
                            excluded=excluded)
        # A box bounds the object already: every piece in it may belong (an occluded object).
        obj = keep_connected(graph, obj, fg if fg.any() and box is None else obj)
        mask = obj[graph.labels].astype(np.float32)
        if self.settings.refine and obj.any() and not obj.all():
            mask = refine_outline(graph, working.bins, obj, fg | bg, self.settings.pixels_per_superpixel)
        mask = _to_original(mask, state.size)
        if box is not None:
            inside = np.zeros_like(mask)
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            inside[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 1
            mask *= inside
        return Prediction(mask=mask, score=1.0, backend=self.name, extra={"image_key": state.key})

    def _segment(self, graph: SuperpixelGraph, fg: np.ndarray, bg: np.ndarray, boxed: bool,
                 centre: np.ndarray | None = None, keep_out: np.ndarray | None = None,
                 features: np.ndarray | None = None, *, box_weight: float,
                 excluded: np.ndarray) -> np.ndarray:
        """``(n,) bool`` object nodes for the seeds, GrabCut-style on superpixels.

        ``centre`` (a box): the box's middle superpixel, a soft include seed, since a box is
        drawn centred on its object; the cut then starts from the whole box, as GrabCut does,
        and include clicks join the centre as seeds (an exclude click on the centre drops it),
        their geodesic closeness weighed by ``box_weight``. ``keep_out``: ``(n,)`` extra object
        costs (the previous answer's, or a zoomed box's shape prior); ``features``: ``(n, d)``
        deep features per node, or None for colour alone. The prompted superpixels (``fg`` and
        ``excluded``, the exclude prompts among ``bg``) count ``seed_weight`` times in their
        side's colour model: they are certain, the rest of the labelling is a guess.
        """
        if not fg.any() and not boxed:
            return fg
        weight = self.settings.geodesic_weight
        if centre is not None:
            seeds = (centre & ~bg) | fg
            closeness = geodesic_closeness(graph, seeds, bg, None, self.settings.geodesic_floor) if seeds.any() else \
                np.full(graph.count, 0.5)
            obj, weight = ~bg, box_weight
        else:
            closeness = geodesic_closeness(graph, fg, bg, None if boxed else self.settings.border_offset, self.settings.geodesic_floor)
            obj = closeness > 0.5
        p = np.clip(closeness, 0.01, 0.99)
        geo_fg = weight * graph.area * -np.log(p)
        geo_bg = weight * graph.area * -np.log(1 - p)
        if keep_out is not None:
            geo_fg = geo_fg + keep_out
        seeds_fg = self.settings.seed_weight * fg
        seeds_bg = self.settings.seed_weight * excluded
        for _ in range(self.settings.iterations):
            cost_fg = colour_cost(graph, obj + seeds_fg) + geo_fg
            cost_bg = colour_cost(graph, ~obj + seeds_bg) + geo_bg
            if features is not None:  # half the deep log-ratio to each side, clipped like a floor
                ratio = self.settings.deep_weight * graph.area * np.clip(feature_log_ratio(features, graph.area, obj), -5, 5)
                cost_fg, cost_bg = cost_fg - 0.5 * ratio, cost_bg + 0.5 * ratio
            new = min_cut(graph, cost_fg, cost_bg, self.settings.smoothness, fg, bg)
            if np.array_equal(new, obj):
                break
            obj = new
        return obj


def _click_nodes(working: _Working, points: list[Point],
                 strokes: tuple[Stroke, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """``(include, exclude)`` node masks of the superpixels under each click's brush and each stroke.

    Where prompts of both kinds cover a superpixel, the latest click wins; strokes win over clicks.
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
    if strokes:
        include, exclude = rasterize_strokes(strokes, (h, w), working.scale, STROKE_RADIUS)
        for drawn, label in ((include, 1), (exclude, 0)):
            nodes = np.unique(graph.labels[drawn])
            fg[nodes], bg[nodes] = label == 1, label == 0
    return fg, bg


def _mask_nodes(working: _Working, mask: np.ndarray) -> np.ndarray:
    """``(n,) bool``: the superpixels of ``working`` mostly inside ``mask`` (the same view of
    the photo, or of the crop, at any size)."""
    graph = working.graph
    h, w = graph.labels.shape
    fitted = cv2.resize(np.asarray(mask, np.float32), (w, h), interpolation=cv2.INTER_AREA)
    inside = np.bincount(graph.labels.ravel(), fitted.ravel(), graph.count)
    return inside >= 0.5 * graph.area


def _fading_prior(prior: Box, points: list[Point], settings: OfflineSettings) -> tuple[Box, float]:
    """The detector prior as a box prompt and its clicks' geodesic weight.

    While every include click lies in the detected box the clicks only point at the object
    (weight ``box_prior``); each include click outside it (the user disagrees) halves the
    box's say: the clicks' weight moves halfway on towards that of a user's own box
    (``box_click_weight``), and the box grows to hold the click with ``prior_grow`` of its
    long side to spare, since the object goes on past where the user clicked."""
    outside = [(x, y) for x, y, label in points if label == 1
               and not (prior[0] <= x <= prior[2] and prior[1] <= y <= prior[3])]
    if not outside:
        return prior, settings.box_prior
    fade = 0.5 ** len(outside)
    weight = settings.box_click_weight - (settings.box_click_weight - settings.box_prior) * fade
    return grow_to_hold(prior, outside, settings.prior_grow), weight


def _hold_includes(box: Box, points: list[Point], strokes: tuple[Stroke, ...]) -> Box:
    """``box`` grown to hold every include click and include-stroke vertex (2 px to spare)."""
    xy = [(x, y) for x, y, label in points if label == 1] + [p for s in strokes if s.label == 1 for p in s.points]
    if not xy:
        return box
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    return (min(box[0], min(xs) - 2), min(box[1], min(ys) - 2), max(box[2], max(xs) + 3), max(box[3], max(ys) + 3))


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """Sum of two optional per-node cost arrays."""
    if a is None or b is None:
        return b if a is None else a
    return a + b


def _box_shape_cost(working: _Working, box: Box, weight: float) -> np.ndarray:
    """``(n,)`` extra cost of each superpixel turning object: ``weight`` x area x the log-odds
    against it of a logistic in its centroid's radius in the ellipse inscribed in ``box``
    (1 on that ellipse; ``BOX_SHAPE_RADIUS`` and ``BOX_SHAPE_SOFTNESS`` set the curve).
    Negative near the box's middle, positive towards its corners."""
    x0, y0, x1, y1 = (v * working.scale for v in box)
    graph = working.graph
    dx = (graph.centroid[:, 0] - (x0 + x1) / 2) / max(x1 - x0, 1e-6)
    dy = (graph.centroid[:, 1] - (y0 + y1) / 2) / max(y1 - y0, 1e-6)
    radius = 2 * np.sqrt(dx**2 + dy**2)
    log_odds = np.clip((radius - BOX_SHAPE_RADIUS) / BOX_SHAPE_SOFTNESS, -np.log(49), np.log(49))  # p in [0.02, 0.98]
    return (weight * graph.area * log_odds).astype(np.float32)


def _to_original(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if mask.shape != (height, width):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return (mask >= 0.5).astype(np.float32)
