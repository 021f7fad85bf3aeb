"""What a user's interactions mean to a segmenter, shared by the page, the API and the benchmark.

* :func:`stroke_points`: a brush stroke as clicks sampled along its polyline (how SAM, which
  knows no strokes, is told about one);
* :func:`detector_prior`: which detected object's box, if any, the first include click falls
  in; the segmenter takes it as a box prompt that fades as later include clicks fall outside;
* :func:`rasterize_strokes`: the pixels a set of strokes covers, at any scale;
* :func:`medial_stroke`: a painted (or missed) region as one stroke along its middle, how the
  page's brush and the benchmark's simulated user turn areas into strokes.

Coordinates are the original photo's pixels (x right, y down); boxes are ``(x0, y0, x1, y1)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from skimage.morphology import skeletonize

from virtart.segmentation.base import Box, Point, Stroke

STROKE_SPACING = 8  # px between the vertices of a stroke traced along a region


def stroke_points(strokes: Sequence[Stroke], spacing: float = 24.0, limit: int = 16) -> list[Point]:
    """Points every ``spacing`` px along each stroke (its ends included), at most ``limit`` per stroke."""
    points: list[Point] = []
    for stroke in strokes:
        vertices = np.asarray(stroke.points, np.float64).reshape(-1, 2)
        steps = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
        along = np.concatenate([[0.0], np.cumsum(steps)])
        count = int(np.clip(np.ceil(along[-1] / spacing) + 1, 1, limit))
        at = np.linspace(0.0, along[-1], count)
        xs, ys = np.interp(at, along, vertices[:, 0]), np.interp(at, along, vertices[:, 1])
        points += [(float(x), float(y), int(stroke.label)) for x, y in zip(xs, ys, strict=True)]
    return points


def rasterize_strokes(strokes: Sequence[Stroke], shape: tuple[int, int], scale: float = 1.0,
                      radius: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(include, exclude)`` ``(h, w) bool`` masks of the strokes drawn ``2 * radius + 1`` px wide
    into an image of ``shape`` whose pixels are ``scale`` x the photo's; a later stroke wins."""
    label_map = np.full(shape, 255, np.uint8)
    for stroke in strokes:
        polyline = np.round(np.asarray(stroke.points, np.float64) * scale).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(label_map, [polyline], False, int(stroke.label), thickness=2 * radius + 1)
    return label_map == 1, label_map == 0


def detector_prior(points: Sequence[Point], boxes: Sequence[Box]) -> Box | None:
    """The smallest detected box holding the first include click, or None if no box holds it.

    It is kept however the later clicks fall: a segmenter weighs it less as include clicks
    land outside it and grows it to hold them (the prior fades, it never switches off);
    exclude clicks only trim the object inside."""
    includes = [(x, y) for x, y, label in points if label == 1]
    if not includes or not boxes:
        return None
    x, y = includes[0]
    holding = [b for b in boxes if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
    if not holding:
        return None
    box = min(holding, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def medial_stroke(region: np.ndarray, depth: np.ndarray, label: int, spacing: int = STROKE_SPACING) -> Stroke:
    """A stroke along the medial axis of the connected part of ``region`` holding its deepest
    pixel: the longest path through that part's skeleton, trimmed at both ends to where it lies
    at least a third of its deepest depth inside; a vertex every ``spacing`` px along it."""
    ys, xs = np.nonzero(depth == depth.max())
    _, parts = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    part = parts == parts[ys[0], xs[0]]
    skeleton = skeletonize(part) & part
    sy, sx = np.nonzero(skeleton)
    if sy.size < 2:
        return Stroke(((float(xs[0]), float(ys[0])), (float(xs[0]), float(ys[0]))), label)
    index = np.full(part.shape, -1, np.int64)
    index[sy, sx] = np.arange(sy.size)
    rows, cols, weights = [], [], []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        ny, nx = sy + dy, sx + dx
        ok = (ny < part.shape[0]) & (nx >= 0) & (nx < part.shape[1])
        ok[ok] &= index[ny[ok], nx[ok]] >= 0
        rows.append(np.flatnonzero(ok))
        cols.append(index[ny[ok], nx[ok]])
        weights.append(np.full(ok.sum(), np.hypot(dy, dx)))
    graph = sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(sy.size, sy.size))
    start = int(np.argmax(depth[sy, sx]))
    distance = dijkstra(graph, directed=False, indices=start)
    end = int(np.argmax(np.where(np.isinf(distance), -1, distance)))
    distance, previous = dijkstra(graph, directed=False, indices=end, return_predecessors=True)
    node = int(np.argmax(np.where(np.isinf(distance), -1, distance)))
    path = [node]
    while previous[node] >= 0:
        node = int(previous[node])
        path.append(node)
    along = depth[sy[path], sx[path]]
    deep = np.flatnonzero(along >= along.max() / 3)
    path = path[deep[0]:deep[-1] + 1][::spacing] + [path[deep[-1]]]
    vertices = tuple((float(sx[n]), float(sy[n])) for n in path)
    return Stroke(vertices if len(vertices) >= 2 else vertices * 2, label)
