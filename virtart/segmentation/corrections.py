"""Local corrections: a corrective prompt changes the mask near it and what is connected to it.

A segmenter re-solving the whole photo for every click can flip parts far from where the user
clicked (its models shift); for someone fixing an edge, a region that jumps away is the worst
answer. :func:`local_correction` takes the previous mask and the segmenter's fresh answer and
keeps, of the fresh answer, only

* the part it *added* that is connected to a newest include prompt (a click in a missed area
  adds its part), or the part it *removed* that is connected to a newest exclude prompt (a
  click in a false area removes its part), found on the change opened by ``SLIVER`` px so
  thin changes along the whole outline do not link far-off parts to the click; and
* everything inside a focus window around that part (FocalClick's focus crop: the part's
  bounding box grown ``focus`` times about its centre), so the outline next to it may move.

Everything else stays as it was. This works on masks alone, so every backend can use it.
Masks are ``(H, W)`` arrays at the photo's size (nonzero = object); prompts are ``(x, y)`` in
the photo's pixels (x right, y down).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from virtart.segmentation.base import Box, ImageState, Point, Prediction, Stroke

SLIVER = 2  # px: changes thinner than twice this along the outline do not connect parts
MIN_REACH = 4  # px: the least distance from the outline a prompt's reach is reckoned from


def local_correction(before: np.ndarray, after: np.ndarray, prompts: Sequence[tuple[float, float, int]],
                     focus: float = 1.5, reach: float = 0.0, sliver: int = SLIVER) -> np.ndarray:
    """``(H, W) float32`` in ``{0, 1}``: ``before`` changed only where ``after`` changed near the
    newest ``prompts`` (``(x, y, label)``, label 1 include, 0 exclude; see the module docstring).

    ``reach`` > 0 also bounds the change to within ``reach`` x ``d`` of a prompt, ``d`` being
    that prompt's distance to the outline of ``before`` (at least ``MIN_REACH`` px): a click
    deep in a wrong area may change much, a click beside the outline only its neighbourhood."""
    before, after = np.asarray(before) >= 0.5, np.asarray(after) >= 0.5
    result = before.copy()
    height, width = before.shape
    for sign in (1, 0):
        seeds = [(int(min(max(x, 0), width - 1)), int(min(max(y, 0), height - 1))) for x, y, label in prompts
                 if label == sign]
        if not seeds:
            continue
        changed = (after & ~before) if sign == 1 else (before & ~after)
        if reach > 0:
            changed &= _within_reach(before, seeds, reach)
        part = _connected_part(changed, seeds, sliver)
        if not part.any():
            continue
        result[part] = sign == 1
        if focus > 0:
            ys, xs = np.nonzero(part)
            cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
            half_w, half_h = focus * (xs.max() - xs.min() + 1) / 2, focus * (ys.max() - ys.min() + 1) / 2
            x0, x1 = max(int(cx - half_w), 0), min(int(np.ceil(cx + half_w)) + 1, width)
            y0, y1 = max(int(cy - half_h), 0), min(int(np.ceil(cy + half_h)) + 1, height)
            result[y0:y1, x0:x1] = after[y0:y1, x0:x1]
    return result.astype(np.float32)


def newest_prompts(state: ImageState, points: list[Point], strokes: tuple[Stroke, ...],
                    previous: Prediction | None) -> list[Point] | None:
    """The prompts added since ``previous`` as ``(x, y, label)`` (a stroke as its vertices), or
    None when ``previous`` is not an answer on this photo or nothing was added."""
    if previous is None or previous.extra.get("image_key") != state.key or not (points or strokes):
        return None
    if np.shape(previous.mask) != (state.size[1], state.size[0]):
        return None
    seen_points, seen_strokes = previous.extra.get("prompt_counts", (len(points) - 1, len(strokes)))
    newest = list(points[seen_points:]) + [(x, y, s.label) for s in strokes[seen_strokes:] for x, y in s.points]
    return newest or None


def given_answer(state: ImageState, mask: np.ndarray, points: int = 0, strokes: int = 0) -> Prediction:
    """A mask the segmenter did not draw (a detected object's, a user's) as its previous answer on
    ``state``, made from the first ``points`` clicks and ``strokes`` strokes: the prompts after
    those correct it (:func:`newest_prompts`) instead of cutting afresh. ``mask``: ``(H, W)`` at
    the photo's size."""
    return Prediction(mask=np.asarray(mask, np.float32), extra={"image_key": state.key,
                                                                "prompt_counts": (points, strokes)})


def grow_to_hold(box: Box, xy: Sequence[tuple[float, float]], spare: float) -> Box:
    """``box`` grown to hold every ``(x, y)`` with ``spare`` x its long side beyond each (a
    detector prior that an include click fell outside: the object goes on past the click)."""
    if not xy:
        return box
    margin = spare * max(box[2] - box[0], box[3] - box[1])
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    return (min(box[0], min(xs) - margin), min(box[1], min(ys) - margin),
            max(box[2], max(xs) + margin), max(box[3], max(ys) + margin))


def _within_reach(before: np.ndarray, seeds: list[tuple[int, int]], reach: float) -> np.ndarray:
    """``(H, W) bool``: pixels within ``reach`` x (the seed's distance to the outline of ``before``)
    of some seed (see :func:`local_correction`)."""
    height, width = before.shape
    inside = cv2.distanceTransform(before.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~before).astype(np.uint8), cv2.DIST_L2, 3)
    near = np.zeros((height, width), np.uint8)
    for x, y in seeds:
        radius = min(reach * max(float(inside[y, x] + outside[y, x]), MIN_REACH), height + width)
        cv2.circle(near, (x, y), int(np.ceil(radius)), 1, thickness=-1)
    return near.astype(bool)


def _connected_part(changed: np.ndarray, seeds: list[tuple[int, int]], sliver: int) -> np.ndarray:
    """The pixels of ``changed`` connected to a seed ``(x, y)`` once slivers are opened away
    (grown back by twice ``sliver`` px, within ``changed``); the plain connected part where the
    opening leaves the seed nothing."""
    changed8 = changed.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * sliver + 1, 2 * sliver + 1))
    core = cv2.morphologyEx(changed8, cv2.MORPH_OPEN, kernel) if sliver > 0 else changed8
    part = np.zeros(changed.shape, bool)
    for source, grow in ((core, True), (changed8, False)):
        count, labels = cv2.connectedComponents(source, connectivity=8)
        if count <= 1:
            continue
        hit = {int(labels[y, x]) for x, y in seeds if labels[y, x] > 0}
        if not hit:
            hit = _nearest_labels(labels, seeds, 2 * sliver + 1)
        if hit:
            found = np.isin(labels, list(hit))
            if grow:
                big = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * sliver + 1, 4 * sliver + 1))
                found = cv2.dilate(found.astype(np.uint8), big).astype(bool) & changed
            part |= found
            break
    return part


def _nearest_labels(labels: np.ndarray, seeds: list[tuple[int, int]], radius: int) -> set[int]:
    """Labels of the components within ``radius`` px of each seed (a click on a part's rim)."""
    height, width = labels.shape
    found: set[int] = set()
    for x, y in seeds:
        window = labels[max(y - radius, 0):min(y + radius + 1, height), max(x - radius, 0):min(x + radius + 1, width)]
        found |= {int(v) for v in np.unique(window) if v > 0}
    return found
