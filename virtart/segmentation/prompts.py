"""What a user's interactions mean to a segmenter, shared by the page, the API and the benchmark.

* :class:`Prompt`: the one prompt type (clicks, a box, brush strokes, a previous mask, grow), with
  its JSON form (:meth:`Prompt.to_json`, :meth:`Prompt.from_json`) and the parsers of the command
  line's ``--point``, ``--box`` and ``--stroke`` strings beside it;
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
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from skimage.morphology import skeletonize

from virtart import masks as mask_ops
from virtart.errors import VirtArtError
from virtart.geometry import Box
from virtart.json_limits import LIMITS, load_json
from virtart.segmentation.base import Point, Prediction, Segmenter, Stroke, check_prompts

STROKE_SPACING = 8  # px between the vertices of a stroke traced along a region
MAX_PROMPT_ITEMS = 1000  # clicks, strokes or stroke vertices in one prompt


@dataclass(frozen=True)
class Prompt:
    """What one region's mask is cut from, in the photo's pixels (x right, y down).

    ``points``: clicks ``(x, y, label)``, label 1 includes, 0 excludes. ``box``: a
    :class:`~virtart.geometry.Box` around the object (sub-pixel coordinates allowed).
    ``strokes``: brush polylines with their labels. ``grow``: px the segmenter's answer is grown
    by (negative: shrunk). ``previous``: a mask the segmenter refines (an ``(H, W)`` array, or an
    image the request loads; not compared).

    JSON form: ``{"points": [[x, y, label], ...], "box": [x0, y0, x1, y1], "strokes":
    [{"points": [[x, y], ...], "label": 1}], "previous": MASK, "grow": 0}``, every key optional.
    """

    points: tuple[Point, ...] = ()
    box: Box | None = None
    strokes: tuple[Stroke, ...] = ()
    grow: int = 0
    previous: Any = field(default=None, compare=False)

    def is_empty(self) -> bool:
        return not self.points and self.box is None and not self.strokes

    def with_click(self, x: float, y: float, label: int = 1) -> Prompt:
        """This prompt and one more click (a page's click event, in the photo's pixels)."""
        return replace(self, points=(*self.points, (float(x), float(y), int(label))))

    def with_box(self, first: tuple[float, float], second: tuple[float, float]) -> Prompt:
        """This prompt with the box spanned by two clicked corners (the page's box tool)."""
        return replace(self, box=Box.between(first, second))

    def with_stroke(self, stroke: Stroke) -> Prompt:
        """This prompt and one more brush stroke."""
        return replace(self, strokes=(*self.strokes, stroke))

    def check(self, size: tuple[int, int]) -> None:
        """Raise :class:`VirtArtError` unless the prompt fits a ``(width, height)`` photo."""
        check_prompts(size, list(self.points), self.box, self.strokes)

    def to_json(self, previous: Any = None) -> dict:
        """The JSON form; ``previous`` is how the previous mask is written (a path or data URL),
        left out when None."""
        data: dict = {}
        if self.points:
            data["points"] = [[float(x), float(y), int(label)] for x, y, label in self.points]
        if self.box is not None:
            data["box"] = [float(v) for v in self.box]
        if self.strokes:
            data["strokes"] = [{"points": [[float(x), float(y)] for x, y in s.points], "label": int(s.label)}
                               for s in self.strokes]
        if previous is not None:
            data["previous"] = previous
        if self.grow:
            data["grow"] = int(self.grow)
        return data

    @classmethod
    def from_json(cls, data: Any, what: str = "prompt") -> Prompt:
        """A prompt from its JSON form (a dict, or its text); ``previous`` is kept as given."""
        data = _loads(data, what)
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise VirtArtError(f'{what} must be a JSON object like {{"points": [[x, y, 1]], "box": [x0, y0, x1, y1]}}')
        unknown = sorted(set(data) - {"points", "box", "strokes", "previous", "grow"})
        if unknown:
            raise VirtArtError(f"{what}: unknown key {unknown[0]!r}; use points, box, strokes, previous or grow")
        grow = data.get("grow", 0)
        if isinstance(grow, bool) or not isinstance(grow, int) or abs(grow) > 1000:
            raise VirtArtError(f"{what}: grow must be a whole number of px between -1000 and 1000, got {grow!r}")
        return cls(tuple(points_from_json(data.get("points"))), box_from_json(data.get("box")),
                   strokes_from_json(data.get("strokes")), grow, data.get("previous"))


def cut(segmenter: Segmenter, image: np.ndarray, prompt: Prompt) -> Prediction:
    """What ``segmenter`` cuts from ``prompt`` on an ``(H, W, 3) uint8`` image: its prediction
    with the ``(H, W) float32`` mask grown by ``prompt.grow``; a ``previous`` mask (an array at
    the image's size) is handed over as the previous answer."""
    prompt.check((image.shape[1], image.shape[0]))
    previous = None if prompt.previous is None else Prediction(np.asarray(prompt.previous, np.float32))
    prediction = segmenter.predict(segmenter.set_image(image), list(prompt.points), prompt.box,
                                   previous=previous, strokes=prompt.strokes)
    return replace(prediction, mask=mask_ops.grow(np.asarray(prediction.mask, np.float32), prompt.grow),
                   backend=prediction.backend or getattr(segmenter, "name", ""))


def _loads(value: Any, what: str) -> Any:
    """JSON text -> its value (blank: None), parsed within ``what``'s limits (the prompt's for
    a nested field; :func:`virtart.json_limits.load_json`); anything else is taken as parsed."""
    if not isinstance(value, (str, bytes)):
        return value
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return load_json(text, what, LIMITS.get(what, LIMITS["prompt"]))


def _coordinate(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise VirtArtError(f"{what} must be finite numbers, got {value!r}")
    return float(value)


def _label(value: Any, what: str) -> int:
    if value not in (0, 1) or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VirtArtError(f"{what} label must be 1 (include) or 0 (exclude), got {value!r}")
    return int(value)


def _items(value: Any, what: str, example: str) -> list:
    if not isinstance(value, list):
        raise VirtArtError(f"{what} must be a JSON list like {example}")
    if len(value) > MAX_PROMPT_ITEMS:
        raise VirtArtError(f"{what}: at most {MAX_PROMPT_ITEMS} items, got {len(value)}")
    return value


def points_from_json(value: Any) -> list[Point]:
    """``[[x, y], [x, y, label], ...]`` (label 1 include, 0 exclude; default 1), a list or its JSON
    text; absent or empty: no clicks."""
    value = _loads(value, "points")
    if value is None:
        return []
    points = []
    for item in _items(value, "points", "[[x, y, 1], [x, y, 0]]"):
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise VirtArtError(f"each point is [x, y] or [x, y, label], got {item!r}")
        label = _label(item[2], "a click's") if len(item) == 3 else 1
        points.append((_coordinate(item[0], "a point's x and y"), _coordinate(item[1], "a point's x and y"), label))
    return points


def box_from_json(value: Any) -> Box | None:
    """``[x0, y0, x1, y1]``, a list or its JSON text -> a :class:`Box`; absent or empty: None."""
    value = _loads(value, "box")
    if value is None or value == []:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise VirtArtError(f"box must be a JSON list [x0, y0, x1, y1], got {value!r}")
    return Box(*(_coordinate(v, "box corners") for v in value))


def strokes_from_json(value: Any) -> tuple[Stroke, ...]:
    """``[{"points": [[x, y], ...], "label": 1}, ...]`` (label default 1), a list or its JSON text."""
    value = _loads(value, "strokes")
    if value is None:
        return ()
    example = '[{"points": [[10, 20], [40, 25]], "label": 1}]'
    strokes = []
    for item in _items(value, "strokes", example):
        if not isinstance(item, dict) or not isinstance(item.get("points"), list):
            raise VirtArtError(f"strokes must be a JSON list like {example}")
        vertices = _items(item["points"], "a stroke's points", "[[10, 20], [40, 25]]")
        if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in vertices):
            raise VirtArtError(f"a stroke's points are [x, y] pairs of numbers, got {item['points']!r}")
        xy = tuple((_coordinate(x, "a stroke's points"), _coordinate(y, "a stroke's points")) for x, y in vertices)
        strokes.append(Stroke(xy, _label(item.get("label", 1), "a stroke's")))
    return tuple(strokes)


def parse_point(text: str) -> Point:
    """The command line's ``"X,Y"`` or ``"X,Y,LABEL"`` -> ``(x, y, label)``."""
    fields = [f.strip() for f in text.split(",")]
    try:
        if len(fields) not in (2, 3):
            raise ValueError
        x, y = float(fields[0]), float(fields[1])
        label = int(fields[2]) if len(fields) == 3 else 1
    except ValueError:
        raise VirtArtError(f"--point {text!r}: expected X,Y or X,Y,LABEL (e.g. 120,80 or 120,80,0)") from None
    return (x, y, label)


def parse_stroke(text: str) -> Stroke:
    """The command line's ``"X0,Y0,X1,Y1,...[:LABEL]"`` -> a :class:`Stroke` of two or more points."""
    coords, _, label_text = text.partition(":")
    try:
        values = [float(f) for f in coords.split(",")]
        label = int(label_text) if label_text.strip() else 1
        if len(values) < 4 or len(values) % 2 or label not in (0, 1):
            raise ValueError
    except ValueError:
        raise VirtArtError(f"--stroke {text!r}: expected X0,Y0,X1,Y1,... (two or more points) and an optional "
                           f":LABEL of 1 or 0 (e.g. 10,20,40,25,80,30:0)") from None
    return Stroke(tuple(zip(values[0::2], values[1::2], strict=True)), label)


def parse_box(text: str, what: str = "--box") -> Box:
    """The command line's (and ``/stylize_video``'s) ``"X0,Y0,X1,Y1"`` -> a :class:`Box`."""
    try:
        values = tuple(float(f) for f in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)):
        raise VirtArtError(f"{what} {text!r}: expected X0,Y0,X1,Y1 (e.g. 10,20,300,240)")
    return Box(*values)


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
