"""A photo as a graph of superpixels, and a min-cut on it.

:func:`build_graph` runs once per photo (in ``set_image``): SLIC superpixels, each one's
colour histogram, mean colour, and the adjacency between touching superpixels weighted by
how little colour changes across their shared boundary. :func:`min_cut` then labels the
nodes object/background in a few milliseconds, so a click is a small solve, given unary
costs such as :func:`colour_cost` (a superpixel's pixels under a colour histogram);
:func:`geodesic_closeness`, :func:`keep_connected` and :func:`keep_out_cost` are the other
per-click graph steps, and :func:`refine_outline` moves the answer's outline onto pixels.

Frames: ``labels`` is ``(h, w) int32`` at the working size, one superpixel id per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra, maximum_flow
from skimage.segmentation import slic

COLOUR_BITS = 4  # 16 levels per RGB channel: 4096 histogram bins
BINS = 1 << (3 * COLOUR_BITS)
COLOUR_FLOOR = 1e-3  # an unseen colour counts as this fraction of an evenly spread pixel
OUTLINE_PRIOR = 2.0  # how much a pixel trusts its superpixel over its own colour at the outline


@dataclass
class SuperpixelGraph:
    """Per-photo data, read-only once built."""

    labels: np.ndarray  # (h, w) int32 superpixel id of each working-size pixel
    count: int
    area: np.ndarray  # (n,) pixels per superpixel
    mean_lab: np.ndarray  # (n, 3) float32 mean CIELAB colour
    centroid: np.ndarray  # (n, 2) float32 (x, y) in working pixels
    histogram: sparse.csr_matrix  # (n, BINS) pixel counts per colour bin
    edges: np.ndarray  # (m, 2) int32 pairs i < j of touching superpixels
    edge_weight: np.ndarray  # (m,) float32 similarity x shared boundary length
    edge_distance: np.ndarray  # (m,) float32 colour distance across the edge (CIELAB units)
    on_border: np.ndarray  # (n,) bool: touches the image border


def colour_bins(rgb: np.ndarray) -> np.ndarray:
    """``(h, w) int32`` colour-histogram bin of each pixel of an ``(h, w, 3) uint8`` image."""
    q = (rgb >> (8 - COLOUR_BITS)).astype(np.int32)
    return (q[..., 0] << (2 * COLOUR_BITS)) | (q[..., 1] << COLOUR_BITS) | q[..., 2]


def _pair_stats(labels: np.ndarray, lab: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Touching superpixel pairs, their shared boundary length and mean squared colour step across it."""
    pairs, steps = [], []
    for a, b, ca, cb in ((labels[:, :-1], labels[:, 1:], lab[:, :-1], lab[:, 1:]),
                         (labels[:-1, :], labels[1:, :], lab[:-1, :], lab[1:, :])):
        cross = a != b
        la, lb = a[cross], b[cross]
        pairs.append(np.minimum(la, lb).astype(np.int64) * n + np.maximum(la, lb))
        steps.append(((ca[cross] - cb[cross]) ** 2).sum(axis=1))
    keys, inverse = np.unique(np.concatenate(pairs), return_inverse=True)
    length = np.bincount(inverse).astype(np.float32)
    step = np.bincount(inverse, weights=np.concatenate(steps)).astype(np.float32) / length
    edges = np.stack([keys // n, keys % n], axis=1).astype(np.int32)
    return edges, length, step


def build_graph(rgb: np.ndarray, pixels_per_superpixel: int = 150, max_superpixels: int = 4000,
                compactness: float = 10.0) -> SuperpixelGraph:
    """Superpixel graph of an ``(h, w, 3) uint8`` working-size image."""
    h, w = rgb.shape[:2]
    segments = int(np.clip(h * w / pixels_per_superpixel, 16, max_superpixels))
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)  # L in [0, 100]
    # slic rescales its input to [0, 1]; shrinking the compactness alike keeps CIELAB's balance.
    span = max(float(lab.max() - lab.min()), 1e-6)
    labels = slic(lab, n_segments=segments, compactness=compactness / span, start_label=0, convert2lab=False,
                  channel_axis=-1)
    if labels.max() + 1 < max(2, segments // 50):  # SLIC collapses on pure noise: use a square grid
        side = max(1, int(np.sqrt(h * w / segments)))
        ys, xs = np.mgrid[0:h, 0:w] // side
        labels = ys * (-(-w // side)) + xs
    labels = labels.astype(np.int32)
    n = int(labels.max()) + 1
    lab = lab * np.float32([2.55, 1.0, 1.0])  # lightness on a 0-255 scale: its edges count more
    flat = labels.ravel()
    area = np.bincount(flat, minlength=n).astype(np.float32)
    mean_lab = np.stack([np.bincount(flat, lab[..., c].ravel(), n) for c in range(3)], 1) / area[:, None]
    ys, xs = np.mgrid[0:h, 0:w]
    centroid = np.stack([np.bincount(flat, xs.ravel(), n), np.bincount(flat, ys.ravel(), n)], 1) / area[:, None]
    bins = colour_bins(rgb).ravel()
    histogram = sparse.csr_matrix((np.ones_like(flat, dtype=np.float32), (flat, bins)), shape=(n, BINS))
    edges, length, step = _pair_stats(labels, lab, n)
    mean_diff = ((mean_lab[edges[:, 0]] - mean_lab[edges[:, 1]]) ** 2).sum(axis=1)
    contrast = 0.5 * (step + mean_diff)
    mean_contrast = float(np.average(contrast, weights=length)) if length.size else 1.0
    beta = 1.0 / (2.0 * max(mean_contrast, 1e-6))
    edge_weight = (length * np.exp(-beta * contrast)).astype(np.float32)
    on_border = np.zeros(n, dtype=bool)
    on_border[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True
    return SuperpixelGraph(labels, n, area, mean_lab.astype(np.float32), centroid.astype(np.float32),
                           histogram, edges, edge_weight, np.sqrt(contrast).astype(np.float32), on_border)



def colour_cost(graph: SuperpixelGraph, members: np.ndarray) -> np.ndarray:
    """Per node: summed negative log-likelihood of its pixels under the members' colour histogram
    (``members``: ``(n,) bool``, or ``(n,)`` float weights per node)."""
    return -(graph.histogram @ log_density(graph, members))


def log_density(graph: SuperpixelGraph, members: np.ndarray) -> np.ndarray:
    """``(BINS,)`` log colour density of the members' pixels (``members`` as in :func:`colour_cost`).

    A plain histogram: blurring it across neighbouring bins measured worse on GrabCut-50
    (it lets the object's colours leak into similar background colours).
    """
    counts = graph.histogram.T @ members.astype(np.float32)
    density = counts + COLOUR_FLOOR * max(counts.sum(), 1) / BINS
    return np.log(density / density.sum()).astype(np.float32)


def refine_outline(graph: SuperpixelGraph, bins: np.ndarray, obj: np.ndarray, clicked: np.ndarray,
                   pixels_per_superpixel: int) -> np.ndarray:
    """Working-size mask whose outline follows pixel colours rather than superpixel borders.

    Near the superpixel outline, each pixel weighs its colour's object/background
    likelihood ratio against the (blurred) superpixel answer; elsewhere the latter stands.
    ``bins``: ``(h, w)`` colour bin of each working pixel (:func:`colour_bins`); ``obj`` and
    ``clicked``: ``(n,) bool`` object and clicked nodes.
    """
    mask = obj[graph.labels].astype(np.float32)
    sigma = 0.5 * np.sqrt(pixels_per_superpixel)
    soft = cv2.GaussianBlur(mask, (0, 0), sigma)
    band = (soft > 0.02) & (soft < 0.98) & ~clicked[graph.labels]  # clicked superpixels stay as clicked
    ratio = (log_density(graph, obj) - log_density(graph, ~obj))[bins]
    ratio = cv2.GaussianBlur(np.clip(ratio, -6, 6), (0, 0), 1.0)
    prior = np.log(np.clip(soft, 0.02, 0.98) / np.clip(1 - soft, 0.02, 0.98))
    refined = mask.copy()
    refined[band] = (ratio[band] + OUTLINE_PRIOR * prior[band] > 0).astype(np.float32)
    return refined


def min_cut(graph: SuperpixelGraph, cost_object: np.ndarray, cost_background: np.ndarray,
            smoothness: float, force_object: np.ndarray | None = None,
            force_background: np.ndarray | None = None, levels: float = 20000.0) -> np.ndarray:
    """``(n,) bool`` labelling (True = object) minimising unary costs plus ``smoothness`` x edge weights.

    ``cost_object[i]`` is paid when node ``i`` is labelled object, ``cost_background[i]``
    when labelled background; ``force_*`` pin nodes to a label. Solved exactly as an s-t
    min-cut with scipy's Dinic max-flow on integer capacities (``levels`` sets the precision).
    """
    n = graph.count
    source, sink = n, n + 1  # source side = object
    shift = np.minimum(cost_object, cost_background)
    # Labelling i background cuts source->i, so that edge carries the background cost.
    from_source = cost_background - shift
    to_sink = cost_object - shift
    pair = smoothness * graph.edge_weight
    norm = levels / max(float(max(from_source.max(), to_sink.max(), pair.max(initial=0.0))), 1e-9)
    from_source = np.round(from_source * norm).astype(np.int64)
    to_sink = np.round(to_sink * norm).astype(np.int64)
    pair = np.round(pair * norm).astype(np.int64)
    hard = int(from_source.sum() + to_sink.sum() + 2 * pair.sum() + 1)
    if force_object is not None:
        from_source[force_object], to_sink[force_object] = hard, 0
    if force_background is not None:
        from_source[force_background], to_sink[force_background] = 0, hard
    if hard >= 2**31 - 1:
        raise OverflowError("min-cut capacities overflow int32; lower `levels`")
    nodes = np.arange(n)
    rows = np.concatenate([graph.edges[:, 0], graph.edges[:, 1], np.full(n, source), nodes])
    cols = np.concatenate([graph.edges[:, 1], graph.edges[:, 0], nodes, np.full(n, sink)])
    caps = np.concatenate([pair, pair, from_source, to_sink])
    keep = caps > 0
    capacity = sparse.csr_matrix((caps[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(n + 2, n + 2))
    flow = maximum_flow(capacity, source, sink).flow
    residual = (capacity - flow).tocsr()
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    labels = np.zeros(n + 2, dtype=bool)
    labels[reached] = True
    return labels[:n]


def geodesic_closeness(graph: SuperpixelGraph, fg: np.ndarray, bg: np.ndarray,
                        border_offset: float | None, floor: float = 1.0) -> np.ndarray:
    """Per node ``d_bg / (d_fg + d_bg)``: geodesic colour distances to include vs exclude seeds.

    With ``border_offset``, the image border also acts as an exclude seed reached at that
    extra distance (objects seldom fill the frame). Returns 0.5 where neither side is reachable.
    """
    n = graph.count
    step = graph.edge_distance + floor  # the floor makes distance grow over flat colour too
    rows, cols, weights = [graph.edges[:, 0]], [graph.edges[:, 1]], [step]
    virtual = n  # one extra node standing for the border
    border = np.flatnonzero(graph.on_border)
    if border_offset is not None and border.size:
        rows.append(border)
        cols.append(np.full(border.size, virtual))
        weights.append(np.full(border.size, border_offset, dtype=np.float32))
    adjacency = sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                                  shape=(n + 1, n + 1))
    inf = np.full(n + 1, np.inf)
    d_fg = dijkstra(adjacency, directed=False, indices=np.flatnonzero(fg), min_only=True) if fg.any() else inf
    bg_seeds = np.flatnonzero(bg)
    if border_offset is not None and border.size:
        bg_seeds = np.append(bg_seeds, virtual)
    d_bg = dijkstra(adjacency, directed=False, indices=bg_seeds, min_only=True) if bg_seeds.size else inf
    d_fg, d_bg = d_fg[:n], d_bg[:n]
    with np.errstate(invalid="ignore"):
        closeness = np.where(np.isinf(d_bg), 1.0, d_bg / (d_fg + d_bg))
    closeness[np.isinf(d_fg)] = 0.0
    closeness[np.isinf(d_fg) & np.isinf(d_bg)] = 0.5
    return np.nan_to_num(closeness, nan=0.5)


def keep_connected(graph: SuperpixelGraph, obj: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Object nodes in a connected piece that holds an anchor (an include click)."""
    both = obj[graph.edges[:, 0]] & obj[graph.edges[:, 1]]
    n = graph.count
    adjacency = sparse.csr_matrix((np.ones(both.sum()), (graph.edges[both, 0], graph.edges[both, 1])), shape=(n, n))
    _, component = connected_components(adjacency, directed=False)
    keep = np.unique(component[anchors & obj])
    return obj & np.isin(component, keep)


def keep_out_cost(graph: SuperpixelGraph, before: np.ndarray, clicks: np.ndarray,
                  weight: float, radius: float) -> np.ndarray:
    """``(n,)`` cost of turning each previously-background node object, fading to 0 near the newest
    interaction.

    ``before``: ``(n,) bool`` the previous object; ``clicks``: ``(k, 2)`` the newest click (or the
    vertices of the newest stroke) ``(x, y)`` in working pixels. The fade radius is ``radius``
    x the square root of the previous object's area, so the click may reshape the object around
    it but not recruit far-off background of similar colour.
    """
    clicks = np.asarray(clicks, np.float32).reshape(-1, 2)
    d2 = ((graph.centroid[:, None, :] - clicks[None]) ** 2).sum(axis=2).min(axis=1)
    r2 = radius**2 * max(float(graph.area[before].sum()), 1.0)
    return weight * graph.area * (1 - np.exp(-d2 / r2)) * ~before
