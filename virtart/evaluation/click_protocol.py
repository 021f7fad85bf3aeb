"""The standard interactive-segmentation click protocol (NoC@85/90, k-click mIoU).

A simulated user clicks on the ground truth, as in the evaluation code of RITM, f-BRS and
SimpleClick:

* the first click goes to the object's interior point farthest from its boundary;
* every next click goes to the deepest interior point of the largest error region: false
  negatives and false positives are distance-transformed (the image border counts as
  boundary) and the region whose deepest point lies farther from its boundary wins; the
  click includes (label 1) if it lands on missed object, excludes (label 0) on false
  background;
* IoU is measured after every click, ignoring pixels marked "unknown" in the ground truth
  (value 128 in GrabCut's masks).

Two other first interactions (``prompt``): ``box``, the object's bounding box (grown by
``BOX_MARGIN`` px, as a user draws it) counts as the first interaction, then corrective
clicks as above, the box kept; ``strokes``, one include stroke along the object's medial
axis (the longest path through its skeleton, trimmed where it nears the outline), then
corrective strokes along the medial axis of the largest error region. With ``prior_boxes``
(a detector's boxes, as the page runs it after upload), clicks carry the detector prior
(:func:`~virtart.segmentation.prompts.detector_prior`).

NoC@T is the number of interactions needed to reach IoU >= T, capped at ``max_clicks`` when an
image never gets there. Ground truth is ``(H, W) uint8``: 0 background, 255 object, 128
ignored; coordinates are pixels of the image (x right, y down).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from virtart.errors import VirtArtError
from virtart.segmentation.base import Box, Point, Segmenter, Stroke
from virtart.segmentation.prompts import detector_prior, medial_stroke

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
PROMPTS = ("clicks", "box", "strokes")
BOX_MARGIN = 5  # px a drawn box leaves around the object (as bench_clicks' box-prompt figure)


def split_ground_truth(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(object, ignored)`` boolean masks from a 0/128/255 ground truth (greys near 128 are ignored)."""
    gt = np.asarray(gt)
    if gt.ndim == 3:
        gt = gt[:, :, 0]
    if gt.dtype == bool:
        return gt.copy(), np.zeros_like(gt)
    return gt >= 192, (gt > 64) & (gt < 192)


def masked_iou(pred: np.ndarray, obj: np.ndarray, ignored: np.ndarray) -> float:
    """IoU of two boolean masks over the pixels not ignored (1.0 when both are empty there)."""
    valid = ~ignored
    inter = np.count_nonzero(pred & obj & valid)
    union = np.count_nonzero((pred | obj) & valid)
    return 1.0 if union == 0 else inter / union


def _inner_distance(region: np.ndarray) -> np.ndarray:
    """Euclidean distance of each region pixel to the nearest non-region pixel or the border."""
    padded = np.pad(region.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def next_click(pred: np.ndarray, obj: np.ndarray, ignored: np.ndarray) -> Point | None:
    """The simulated user's next click ``(x, y, label)``, or ``None`` when nothing is wrong."""
    found = _error_regions(pred, obj, ignored)
    if found is None:
        return None
    _, dt, label = found
    ys, xs = np.nonzero(dt == dt.max())  # the first in raster order, as the reference code does
    return (int(xs[0]), int(ys[0]), label)


def _error_regions(pred: np.ndarray, obj: np.ndarray, ignored: np.ndarray):
    """``(region, depth map, label)`` of the largest error region (see :func:`next_click`), or None."""
    valid = ~ignored
    missed, false = obj & ~pred & valid, ~obj & pred & valid
    missed_dt, false_dt = _inner_distance(missed), _inner_distance(false)
    if max(float(missed_dt.max()), float(false_dt.max())) <= 0:
        return None
    positive = missed_dt.max() > false_dt.max()
    return (missed, missed_dt, 1) if positive else (false, false_dt, 0)


def object_box(obj: np.ndarray, margin: int = BOX_MARGIN) -> Box:
    """The object's bounding box grown by ``margin`` px, clipped to the image."""
    ys, xs = np.nonzero(obj)
    height, width = obj.shape
    return (float(max(xs.min() - margin, 0)), float(max(ys.min() - margin, 0)),
            float(min(xs.max() + 1 + margin, width)), float(min(ys.max() + 1 + margin, height)))


def next_stroke(pred: np.ndarray, obj: np.ndarray, ignored: np.ndarray) -> Stroke | None:
    """The simulated user's next stroke through the largest error region, or ``None``."""
    found = _error_regions(pred, obj, ignored)
    return None if found is None else medial_stroke(*found)


@dataclass
class ImageResult:
    """One image's run: the IoU and the predict seconds after each click."""

    name: str
    ious: list[float] = field(default_factory=list)
    click_seconds: list[float] = field(default_factory=list)
    set_image_seconds: float = 0.0

    def noc(self, threshold: float, max_clicks: int) -> int:
        for index, value in enumerate(self.ious[:max_clicks]):
            if value >= threshold:
                return index + 1
        return max_clicks

    def iou_at(self, clicks: int) -> float:
        """IoU after ``clicks`` clicks (the last one reached if the run stopped earlier)."""
        return self.ious[min(clicks, len(self.ious)) - 1]


def run_image(segmenter: Segmenter, image: np.ndarray, gt: np.ndarray, max_clicks: int = 20,
              name: str = "", stop_at: float | None = None, prompt: str = "clicks",
              prior_boxes: list[Box] | None = None) -> ImageResult:
    """Interact with one image until ``max_clicks`` (or IoU ``stop_at``), recording IoU after each
    interaction: ``prompt`` "clicks", "box" (then clicks) or "strokes"; ``prior_boxes``: a
    detector's boxes, for the clicks' detector prior (None: no prior)."""
    if prompt not in PROMPTS:
        raise VirtArtError(f"unknown prompt '{prompt}'; choose one of: {', '.join(PROMPTS)}")
    obj, ignored = split_ground_truth(gt)
    if obj.shape != image.shape[:2]:
        raise VirtArtError(f"{name}: mask is {obj.shape[1]}x{obj.shape[0]}, image {image.shape[1]}x{image.shape[0]}")
    if not np.any(obj & ~ignored):
        raise VirtArtError(f"{name}: the ground-truth mask has no object pixels")
    result = ImageResult(name)
    start = time.perf_counter()
    state = segmenter.set_image(image)
    result.set_image_seconds = time.perf_counter() - start
    pred = np.zeros_like(obj)
    points: list[Point] = []
    strokes: list[Stroke] = []
    box = object_box(obj & ~ignored) if prompt == "box" else None
    previous = None
    for turn in range(max_clicks):
        if prompt == "strokes":
            stroke = next_stroke(pred, obj, ignored)
            done = stroke is None
            if not done:
                strokes.append(stroke)
        elif box is not None and turn == 0:
            done = False
        else:
            click = next_click(pred, obj, ignored)
            done = click is None
            if not done:
                points.append(click)
        if done:  # perfect already: later interactions change nothing
            result.ious.append(result.ious[-1])
            result.click_seconds.append(0.0)
            continue
        prior = detector_prior(points, prior_boxes) if prior_boxes else None
        start = time.perf_counter()
        previous = segmenter.predict(state, list(points), box=box, previous=previous, strokes=tuple(strokes),
                                     prior=prior)
        result.click_seconds.append(time.perf_counter() - start)
        pred = previous.mask >= 0.5
        result.ious.append(masked_iou(pred, obj, ignored))
        if stop_at is not None and result.ious[-1] >= stop_at:
            break
    return result


HARMFUL_DROP = 0.05  # a click lowering an object's IoU by more than this is harmful (issue 21)


def robustness(results: list[ImageResult], max_clicks: int) -> dict:
    """How reliably each interaction helps: the mean IoU after every click (1..``max_clicks``),
    the share of interactions after the first that lower an object's IoU by more than
    ``HARMFUL_DROP``, the worst single drop, and the largest fall of the mean curve."""
    curve = [float(np.mean([r.iou_at(k) for r in results])) for k in range(1, max_clicks + 1)]
    drops = [before - after for r in results
             for before, after, seconds in zip(r.ious, r.ious[1:], r.click_seconds[1:], strict=False)
             if seconds > 0]  # an interaction was made (not padding after a perfect mask)
    return {
        "miou_per_click": [round(v, 4) for v in curve],
        "harmful_rate": float(np.mean([d > HARMFUL_DROP for d in drops])) if drops else 0.0,
        "worst_drop": float(max(drops, default=0.0)),
        "mean_curve_worst_fall": float(max([a - b for a, b in zip(curve, curve[1:], strict=False)], default=0.0)),
    }


def summarize(results: list[ImageResult], max_clicks: int, curves: bool = True) -> dict:
    """NoC@85/90 within ``max_clicks`` (and within 10 when more are run), NoF@90 (objects never
    reaching 0.90), 1- and 5-click mIoU, :func:`robustness`, seconds per click and
    (optionally) per-image IoU curves."""
    if not results:
        raise VirtArtError("no images were evaluated")
    clicks = [s for r in results for s in r.click_seconds if s > 0]
    summary = {
        "images": len(results),
        "max_clicks": max_clicks,
        "noc85": float(np.mean([r.noc(0.85, max_clicks) for r in results])),
        "noc90": float(np.mean([r.noc(0.90, max_clicks) for r in results])),
    }
    if max_clicks > 10:
        summary["noc85_10"] = float(np.mean([r.noc(0.85, 10) for r in results]))
        summary["noc90_10"] = float(np.mean([r.noc(0.90, 10) for r in results]))
    summary.update({
        "miou_1click": float(np.mean([r.iou_at(1) for r in results])),
        "miou_5click": float(np.mean([r.iou_at(5) for r in results])),
        "nof90": int(sum(max(r.ious[:max_clicks]) < 0.90 for r in results)),
        **robustness(results, max_clicks),
        "seconds_per_click": float(np.mean(clicks)) if clicks else 0.0,
        "set_image_seconds": float(np.mean([r.set_image_seconds for r in results])),
    })
    if curves:
        summary["per_image"] = {r.name: [round(v, 4) for v in r.ious] for r in results}
    return summary


def find_pairs(images_dir: str | Path, masks_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """``(name, image, mask)`` for every image whose mask (same stem, any image suffix) exists."""
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    for folder, what in ((images_dir, "images"), (masks_dir, "masks")):
        if not folder.is_dir():
            raise VirtArtError(f"the {what} folder {folder} does not exist")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = [(p.stem, p, masks[p.stem]) for p in sorted(images_dir.iterdir())
             if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in masks]
    if not pairs:
        raise VirtArtError(f"no image in {images_dir} has a mask of the same name in {masks_dir}")
    return pairs


def evaluate(segmenter: Segmenter, samples: Iterable[tuple[str, np.ndarray, np.ndarray]], max_clicks: int = 20,
             progress: Callable[[ImageResult], None] | None = None, prompt: str = "clicks",
             detect: Callable[[np.ndarray], list[Box]] | None = None) -> list[ImageResult]:
    """Run the protocol over ``(name, image, gt)`` samples, calling ``progress`` after each image.
    ``detect``: the detector prior's boxes for an image (clicks only; None = no prior)."""
    if max_clicks < 1:
        raise VirtArtError(f"max clicks must be at least 1, got {max_clicks}")
    results = []
    for name, image, gt in samples:
        boxes = detect(image) if detect is not None and prompt == "clicks" else None
        results.append(run_image(segmenter, image, gt, max_clicks, name, prompt=prompt, prior_boxes=boxes))
        if progress is not None:
            progress(results[-1])
    return results
