"""Region edges that follow the picture: refined alphas, shared edges, the engine's view.

A region's mask is the segmenter's hard cut; its alpha is refined from the photo in a band
around that cut only:

* :func:`refine_alpha`: a colour guided filter of the mask (He et al. 2010, OpenCV contrib's
  ``ximgproc.guidedFilter``) across the band, then, where the edge is fuzzy (hair, fur,
  motion blur), a closed-form matting solve (Levin et al. 2008, pymatting) on tiles of the
  band, fuzziest first, within a time budget. Beyond the band the alpha is exactly 0
  outside and exactly 1 inside, so those pixels keep the photo's bytes.
* :func:`partition_alphas`: the weights of all regions and of the untouched photo, summing
  to one at every pixel: two painted regions meet without a seam, a gap or double paint.
* :func:`engine_input`: the crop an engine paints, with what lies across the region's edge
  replaced, in a margin, by a fill from the region's own content (a push-pull pyramid), so
  the painting never sees, and never draws, the contour.
* :func:`follow_rim_tone`: the painted pixels near a region's edge given the photo's own
  slow change of brightness toward that edge (an object's shading at its silhouette, a
  shadow on the ground), so the painted side is neither brighter nor darker at its rim than
  the photo is there.
* :func:`alpha_stability`: the mean change of alpha frame to frame in the edge band.

Arrays: photos ``(H, W, 3) uint8`` RGB; masks and alphas ``(H, W) float32`` in ``[0, 1]``,
in the photo's pixel frame. ``softness`` is the edge's half-width in pixels (a number, as
the old feather radius) or ``"auto"`` (scaled with the photo's diagonal).
"""

from __future__ import annotations

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart.geometry import Box

AUTO = "auto"
AUTO_BAND_FRACTION = 0.006  # "auto" band half-width as a fraction of the photo's diagonal
AUTO_BAND_LIMITS = (3.0, 24.0)  # px
GUIDE_EPS = 0.005  # guided-filter regulariser, in (colour / 255)^2
TAPER = 2.0  # px over which the refined alpha is eased into the exact 0 / 1 beyond the band
MATTING_TILE = 96  # px: the matting solve runs on tiles of the band this big (plus padding)
MATTING_PAD = 6
MATTING_EPS = 1e-5
DECIDED = 0.02  # band pixels whose guided alpha is this close to 0 or 1 are known to the matting solve
FUZZY_MIN = 0.35  # a tile is solved when its guided alpha is at least this uncertain
MATTING_SECONDS_PER_MP = 0.5  # the matting band's time budget, per megapixel of photo
# Tiles solved per second of budget (one 96 px tile ~ 15 ms of CPU, 50 ms on a loaded core). The
# budget is counted in tiles, not read off a clock, so the same input gives the same alpha.
MATTING_TILES_PER_SECOND = 15
ENGINE_CLEARANCE = 48  # px of fill beyond the band (see engine_margin)
RIM_REACH_FRACTION = 0.027  # of the photo's diagonal: how far in the painting keeps the photo's rim tone
RIM_DETAIL_FRACTION = 0.0033  # of the diagonal: the finest scale of that tone (a Gaussian's sigma)
QUICK_SUBSAMPLE = 3  # a clip's frames: the fast guided filter at 1/3 at least (about 5x cheaper at 480p)
GUIDE_SMALL_RADIUS = 4.0  # px: the fast guided filter fits its coefficients at a radius of about this
SHARPEN = 3.0  # slope of the refined alpha around 0.5: edges as crisp as the photo's


def band_radius(shape: tuple[int, ...], softness: float | str = AUTO) -> float:
    """The edge band's half-width in pixels for a photo of ``shape`` ``(H, W, ...)``."""
    if softness == AUTO:
        diagonal = float(np.hypot(shape[0], shape[1]))
        return float(np.clip(AUTO_BAND_FRACTION * diagonal, *AUTO_BAND_LIMITS))
    return float(softness)


def engine_margin(shape: tuple[int, ...], softness: float | str = AUTO) -> int:
    """Pixels past a region's edge that an engine paints from :func:`engine_input`: the band
    and a clearance, so the fill's own far border stays out of every blended pixel."""
    return int(np.ceil(band_radius(shape, softness))) + ENGINE_CLEARANCE


REMAP_ROW = 4096


def guide_subsample(radius: float) -> int:
    """How much smaller the guided filter fits its coefficients for a band of ``radius`` px: 1
    (the exact filter) for thin bands, else so the fitted radius stays ``GUIDE_SMALL_RADIUS``."""
    return max(1, int(radius / GUIDE_SMALL_RADIUS))


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """``(H, W) float32``: distance to the hard mask's boundary, positive inside, negative
    outside (pixel centres; +-0.5 on the two sides of the cut)."""
    hard = mask_ops.binary(mask)
    inside = cv2.distanceTransform(hard.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~hard).astype(np.uint8), cv2.DIST_L2, 5)
    return np.where(hard, inside - 0.5, 0.5 - outside).astype(np.float32)


def guided_filter(photo: np.ndarray, source: np.ndarray, radius: int, subsample: int = 1,
                  at: np.ndarray | None = None) -> np.ndarray:
    """Colour guided filter (He et al. 2010) of ``source`` ``(h, w) float32`` guided by
    ``photo`` ``(h, w, 3) uint8``: ``(h, w) float32``, or, with ``at`` (``(n,)`` flat
    indices into the ``(h, w)`` frame), ``(n,) float32``: the filter's values there only.

    ``subsample`` > 1 is the fast guided filter (He and Sun 2015): the local linear
    coefficients are fitted ``subsample`` times smaller and applied to the full-resolution
    photo. Where OpenCV lacks its contrib modules (a host that installs opencv-python over the
    contrib build), the exact filter runs on the same code path with ``subsample`` 1."""
    if subsample <= 1 and hasattr(getattr(cv2, "ximgproc", None), "guidedFilter"):
        full = cv2.ximgproc.guidedFilter(photo, source.astype(np.float32), radius, GUIDE_EPS * 255.0**2)
        return full if at is None else full.reshape(-1)[at]
    height, width = source.shape
    small = (max(1, width // subsample), max(1, height // subsample))
    if subsample > 1:
        guide = cv2.resize(photo, small, interpolation=cv2.INTER_AREA)
        p = cv2.resize(source.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    else:
        guide, p = photo, source.astype(np.float32)
    guide = guide.astype(np.float32) * np.float32(1.0 / 255.0)
    window = (2 * max(1, round(radius / subsample)) + 1,) * 2

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, window, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(p)
    cov_ip = box(guide * p[:, :, None]) - mean_i * mean_p[:, :, None]
    r, g, b = (guide[:, :, k] for k in range(3))
    mr, mg, mb = (mean_i[:, :, k] for k in range(3))
    rr, rg, rb = box(r * r) - mr * mr + GUIDE_EPS, box(r * g) - mr * mg, box(r * b) - mr * mb
    gg, gb, bb = box(g * g) - mg * mg + GUIDE_EPS, box(g * b) - mg * mb, box(b * b) - mb * mb + GUIDE_EPS
    # The symmetric 3x3 covariance's inverse by cofactors, every pixel at once.
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb
    c_r, c_g, c_b = (cov_ip[:, :, k] for k in range(3))
    a = np.stack([i_rr * c_r + i_rg * c_g + i_rb * c_b, i_rg * c_r + i_gg * c_g + i_gb * c_b,
                  i_rb * c_r + i_gb * c_g + i_bb * c_b], axis=2) / det[:, :, None]
    offset = mean_p - np.sum(a * mean_i, axis=2)
    coefficients = box(np.concatenate([a, offset[:, :, None]], axis=2))  # (h', w', 4): a_rgb, b
    # The coefficients upsampled to the photo (as the fast guided filter does) and applied to
    # the full-resolution colours, at the asked pixels only: there they are interpolated
    # directly (the resize's own pixel-centre mapping), so a thin band costs its own pixels.
    colour = photo.reshape(-1, 3)
    if at is None or subsample <= 1:
        coefficients = cv2.resize(coefficients, (width, height), interpolation=cv2.INTER_LINEAR).reshape(-1, 4)
        if at is not None:
            coefficients = coefficients[at]
    else:
        rows, cols = np.divmod(at, width)
        scale_x, scale_y = coefficients.shape[1] / width, coefficients.shape[0] / height
        # remap takes maps of under 2**15 rows and columns: the points go in rows of REMAP_ROW.
        padded = -(-at.size // REMAP_ROW) * REMAP_ROW
        map_x, map_y = (np.zeros(padded, np.float32) for _ in range(2))
        map_x[:at.size] = (cols + 0.5) * scale_x - 0.5
        map_y[:at.size] = (rows + 0.5) * scale_y - 0.5
        coefficients = cv2.remap(coefficients, map_x.reshape(-1, REMAP_ROW), map_y.reshape(-1, REMAP_ROW),
                                 cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(-1, 4)[:at.size]
    if at is not None:
        colour = colour[at]
    values = np.sum(coefficients[:, :3] * colour.astype(np.float32), axis=1) * np.float32(1.0 / 255.0) + coefficients[:, 3]
    return values if at is not None else values.reshape(height, width)


def _edge_box(hard: np.ndarray) -> Box | None:
    """The box of the pixels on either side of the hard mask's edge."""
    outer = Box.around(hard)
    if outer is None:
        return None
    # Only the mask's own box (and a pixel around it) can hold edge pixels.
    around = outer.grown(1, hard.shape)
    local = around.of(hard)
    edge = np.zeros(local.shape, bool)
    vertical, horizontal = local[1:] != local[:-1], local[:, 1:] != local[:, :-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    found = Box.around(edge)
    return None if found is None else found.shifted(around.x0, around.y0)


def _fuzziness(alpha: np.ndarray, band: np.ndarray) -> float:
    """How undecided ``alpha`` is over the band: mean of ``4 a (1 - a)`` (0 hard, 1 all halves)."""
    values = alpha[band]
    return float(np.mean(4.0 * values * (1.0 - values))) if values.size else 0.0


def _matting_tiles(shape: tuple[int, int], band: np.ndarray) -> list[Box]:
    tiles = []
    for y0 in range(0, shape[0], MATTING_TILE):
        for x0 in range(0, shape[1], MATTING_TILE):
            tile = Box(x0, y0, min(shape[1], x0 + MATTING_TILE), min(shape[0], y0 + MATTING_TILE))
            if tile.of(band).any():
                tiles.append(tile)
    return tiles


def _exact_solve(matrix):
    """A preconditioner that solves the system outright (a sparse LU, symmetric ordering): on
    a tile's few thousand unknowns it costs less than an incomplete Cholesky, and the
    conjugate gradient it preconditions stops after one step."""
    from scipy.sparse.linalg import splu

    return splu(matrix.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}).solve


def load_matting() -> None:
    """Import the matting solver now (about 1.4 s here: numba loads its compiled code), so the
    first refined edge does not wait for it; the app does this in the background at start-up."""
    import pymatting  # noqa: F401


def solve_band(photo: np.ndarray, alpha: np.ndarray, band: np.ndarray, inside: np.ndarray,
               budget_s: float) -> tuple[np.ndarray, int]:
    """Closed-form matting of the band's fuzzy tiles, fuzziest first, as many as ``budget_s``
    seconds allow (``MATTING_TILES_PER_SECOND``, at least one).

    ``band``: the band's pixels; ``inside``: known object pixels (the rest is known
    background). Within the band, pixels whose guided ``alpha`` is already decided (within
    ``DECIDED`` of 0 or 1) are known too; the rest are solved. Returns the alpha with solved
    tiles replaced, and how many were solved.
    """
    from pymatting import estimate_alpha_cf  # see load_matting

    known_inside = inside | (band & (alpha >= 1.0 - DECIDED))
    unknown = band & (alpha > DECIDED) & (alpha < 1.0 - DECIDED)
    tiles = []
    for tile in _matting_tiles(band.shape, unknown):
        padded = tile.grown(MATTING_PAD, band.shape)
        known_in, open_ = padded.of(known_inside), padded.of(unknown)
        if known_in.any() and not (known_in | open_).all():  # a solve needs both sides known
            tiles.append((tile, _fuzziness(tile.of(alpha), tile.of(band))))
    tiles = sorted((t for t in tiles if t[1] >= FUZZY_MIN), key=lambda t: (-t[1], t[0]))
    result, solved = alpha.copy(), 0
    for tile, _ in tiles[: max(1, int(budget_s * MATTING_TILES_PER_SECOND))]:
        padded = tile.grown(MATTING_PAD, band.shape)
        trimap = np.where(padded.of(unknown), 0.5, padded.of(known_inside).astype(np.float64))
        image = padded.of(photo).astype(np.float64) / 255.0
        try:
            matte = estimate_alpha_cf(image, trimap, preconditioner=_exact_solve,
                                      laplacian_kwargs={"epsilon": MATTING_EPS}, cg_kwargs={"maxiter": 200})
        except Exception:  # noqa: BLE001 - a singular tile keeps its guided alpha
            continue
        core = tile.shifted(-padded.x0, -padded.y0)
        keep = tile.of(unknown)
        tile.of(result)[keep] = core.of(matte).astype(np.float32)[keep]
        solved += 1
    return result, solved


def refine_alpha(photo_rgb: np.ndarray, mask: np.ndarray, softness: float | str = AUTO,
                 matting: bool = True, budget_s: float | None = None, quick: bool = False) -> np.ndarray:
    """The region's ``(H, W) float32`` alpha, refined from the photo in the edge band.

    ``mask``: the region, ``(H, W)``, thresholded at 0.5. The band is every pixel within
    :func:`band_radius` of the mask's boundary; beyond it the alpha is exactly 1 inside and
    exactly 0 outside. ``matting``: also solve fuzzy parts of the band (closed-form), within
    ``budget_s`` seconds (default: ``MATTING_SECONDS_PER_MP`` per megapixel). ``quick`` (a
    clip's frames, which must keep their frame rate): no matting, and the guided filter's
    coefficients fitted at least ``QUICK_SUBSAMPLE`` times smaller. Softness 0 is the hard mask.
    """
    hard = mask_ops.binary(mask)
    radius = band_radius(photo_rgb.shape, softness)
    if radius <= 0 or not hard.any() or hard.all():
        return hard.astype(np.float32)
    crop = _edge_box(hard).grown(int(np.ceil(radius)) + 2, hard.shape)
    photo, hard_crop = crop.of(photo_rgb), crop.of(hard)
    dist = signed_distance(hard_crop)  # exact within the band: its nearest edge is in the crop
    band = np.abs(dist) <= radius
    at = np.flatnonzero(band)
    alpha = hard_crop.astype(np.float32)
    subsample = max(QUICK_SUBSAMPLE, guide_subsample(radius)) if quick else guide_subsample(radius)
    alpha.reshape(-1)[at] = np.clip(guided_filter(photo, alpha, max(1, round(radius)), subsample, at), 0.0, 1.0)
    if matting and not quick:
        if budget_s is None:
            budget_s = MATTING_SECONDS_PER_MP * photo_rgb.shape[0] * photo_rgb.shape[1] / 1e6
        alpha, _ = solve_band(photo, alpha, band, dist > radius, budget_s)
    values, near = np.clip(0.5 + SHARPEN * (alpha.reshape(-1)[at] - 0.5), 0.0, 1.0), dist.reshape(-1)[at]
    # Ease into the exact 0 / 1 beyond the band so the band's border leaves no step.
    outer = np.clip((radius - np.abs(near)) / TAPER, 0.0, 1.0)
    alpha = hard_crop.astype(np.float32)
    alpha.reshape(-1)[at] = np.where(near > 0, 1.0 - (1.0 - values) * outer, values * outer)
    result = hard.astype(np.float32)
    crop.of(result)[:] = alpha
    return result


def partition_alphas(photo_rgb: np.ndarray, masks: list[np.ndarray],
                     softness: float | str | list[float | str] = AUTO,
                     matting: bool = True, quick: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """``(region_weights, photo_weight)``: ``(H, W) float32`` weights of each region's painted
    pixels and of the untouched photo, summing to one at every pixel.

    ``softness``: one for all regions or one per region. Later regions take the pixels they
    share with earlier ones (hard masks, as drawn). The painted-or-photo edge is the refined
    alpha of the regions' union (each stretch of it with the softness of the region nearest
    to it), so where two painted regions meet the photo's weight is 0 (no seam, no gap);
    across that shared edge the two split the weight by their own refined alphas (no double
    paint). A region's weight is 0 beyond its band, and the photo's exactly 1 beyond the
    union's band.
    """
    hard = [mask_ops.binary(mask) for mask in masks]
    for index in range(len(hard) - 1):
        hard[index] = hard[index] & ~np.logical_or.reduce(hard[index + 1 :])
    if not hard:
        return [], np.ones(photo_rgb.shape[:2], np.float32)
    softnesses = list(softness) if isinstance(softness, (list, tuple)) else [softness] * len(hard)
    union = np.logical_or.reduce(hard)
    distinct = list(dict.fromkeys(softnesses))
    covered = refine_alpha(photo_rgb, union, distinct[0], matting, quick=quick)
    if len(distinct) > 1:  # each pixel takes the union's edge at the softness of its nearest region
        nearest = np.argmin([cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) for mask in hard], axis=0)
        for value in distinct[1:]:
            chosen = np.isin(nearest, [i for i, s in enumerate(softnesses) if s == value])
            covered = np.where(chosen, refine_alpha(photo_rgb, union, value, matting, quick=quick), covered)
    if len(hard) == 1:
        return [covered], (1.0 - covered).astype(np.float32)
    radius = max(band_radius(photo_rgb.shape, value) for value in distinct)
    # Each region's share of the painted weight: its refined alpha; where no region's alpha
    # reaches a covered pixel (the union's band can reach past theirs), a linear ramp that
    # reaches past the union's band, so that every covered pixel has an owner.
    shares = np.stack([refine_alpha(photo_rgb, mask, value, matting, quick=quick)
                       for mask, value in zip(hard, softnesses, strict=True)])
    orphan = shares.sum(axis=0) <= 0
    if orphan.any():
        ramps = np.stack([mask_ops.feather(mask, 2 * radius + 2) for mask in hard])
        shares[:, orphan] = ramps[:, orphan]
    total = np.maximum(shares.sum(axis=0), 1e-12)
    weights = [(covered * share / total).astype(np.float32) for share in shares]
    return weights, (1.0 - covered).astype(np.float32)


def layer_alphas(region_weights: list[np.ndarray]) -> list[np.ndarray]:
    """The partition's weights as alphas for blending layers one over another, first to last:
    ``alpha_k = w_k / (w_photo + w_1 + ... + w_k)``, so that blending the photo with each
    layer in turn, ``result = result * (1 - alpha_k) + layer_k * alpha_k``, gives every pixel
    exactly ``w_photo * photo + sum_k w_k * layer_k``. An alpha is 0 wherever its weight is."""
    if not region_weights:
        return []
    cumulative = np.ones(region_weights[0].shape, np.float32)
    for weight in region_weights:
        cumulative -= weight
    np.clip(cumulative, 0.0, 1.0, out=cumulative)  # the photo's weight
    alphas = []
    for weight in region_weights:
        cumulative += weight
        alpha = np.zeros(weight.shape, np.float32)
        np.divide(weight, np.maximum(cumulative, 1e-12), out=alpha, where=weight > 0)
        alphas.append(alpha)
    return alphas


def _push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``image`` ``(h, w, 3) float32`` with unknown pixels filled from the known ones by a
    push-pull pyramid (Gortler et al. 1996): a smooth extrapolation of the nearby colours."""
    weight = known.astype(np.float32)
    levels = [(image * weight[:, :, None], weight)]
    while min(levels[-1][1].shape) > 2 and levels[-1][1].min() < 1e-3:
        colour, w = levels[-1]
        levels.append((cv2.pyrDown(colour), cv2.pyrDown(w)))
    colour, w = levels[-1]
    fill = colour / np.maximum(w, 1e-6)[:, :, None]
    for colour, w in reversed(levels[:-1]):
        fill = cv2.resize(fill, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        confident = np.clip(w * 4.0, 0.0, 1.0)[:, :, None]
        fill = confident * colour / np.maximum(w, 1e-6)[:, :, None] + (1.0 - confident) * fill
    return np.where(known[:, :, None], image, fill)


def _mirror(image: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with each pixel outside ``source`` replaced by its mirror image across the
    source's edge (the pixel as far inside as it is outside, along the edge's normal), so the
    fill keeps the region's texture; and where that mirror lands inside ``source``."""
    outside = cv2.distanceTransform((~source).astype(np.uint8), cv2.DIST_L2, 5)
    gy, gx = np.gradient(outside)
    norm = np.maximum(np.hypot(gx, gy), 1e-6)
    ys, xs = np.indices(source.shape, dtype=np.float32)
    map_x = (xs - 2.0 * outside * gx / norm).astype(np.float32)
    map_y = (ys - 2.0 * outside * gy / norm).astype(np.float32)
    mirrored = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    landed = cv2.remap(source.astype(np.uint8), map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT) > 0
    return mirrored, landed


def engine_input(photo_crop: np.ndarray, mask_crop: np.ndarray, margin: int) -> np.ndarray:
    """What an engine should paint for one region: ``photo_crop`` ``(h, w, 3) uint8`` with the
    pixels across the region's edge, up to ``margin`` px from it, replaced by a fill from
    the region's own content (its mirror image across the edge, a push-pull pyramid where the
    mirror leaves the region), so the engine never sees the contour and paints the region's
    texture a margin past its edge. ``mask_crop``: ``(h, w)``, the region in the same crop.
    Pixels inside the region and farther than ``margin`` outside it are the photo's."""
    hard = mask_ops.binary(mask_crop)
    if margin <= 0 or not hard.any() or hard.all():
        return photo_crop.copy()
    # The region's own edge pixels mix both sides' colours: the fill starts a pixel inside.
    source = mask_ops.erode(hard, 1) > 0
    if not source.any():
        source = hard
    across = (mask_ops.dilate(hard, margin) > 0) & ~hard
    image = photo_crop.astype(np.float32)
    mirrored, landed = _mirror(image, source)
    filled = np.where(landed[:, :, None], mirrored, _push_pull(image, source))
    result = photo_crop.copy()
    result[across] = np.clip(np.round(filled[across]), 0, 255).astype(np.uint8)
    return result


def _smooth(values: np.ndarray, weights: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised Gaussian smoothing: the weighted local mean of ``values`` (both ``(h, w)``
    float32) at scale ``sigma`` px; NaN where no weight is near. Wide scales are smoothed on
    a grid ``sigma / 4`` times coarser (the result is smooth at that scale anyway)."""
    step = max(1, int(sigma // 4))
    height, width = values.shape
    total, weighted = weights, values * weights
    if step > 1:
        small = (max(1, width // step), max(1, height // step))
        total, weighted = (cv2.resize(x, small, interpolation=cv2.INTER_AREA) for x in (total, weighted))
    total, weighted = (cv2.GaussianBlur(x, (0, 0), sigma / step) for x in (total, weighted))
    if step > 1:
        total, weighted = (cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR) for x in (total, weighted))
    return np.where(total > 1e-3, weighted / np.maximum(total, 1e-6), np.nan)


def follow_rim_tone(painted: np.ndarray, photo: np.ndarray, side: np.ndarray,
                    shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``painted`` ``(h, w, 3) uint8`` with, over the ``reach`` (``RIM_REACH_FRACTION`` of the
    diagonal of a photo of ``shape``, default ``painted``'s) inside ``side``'s edge and across
    it, the photo's own low-frequency change of brightness toward the edge: the difference
    between the photo's and the painting's smoothed grey, taken relative to its level a
    reach further in, is added, wholly up to half the reach, fading to nothing at the reach.

    ``photo``: the same pixels of the photo; ``side``: ``(h, w) bool``, the painted side. Both
    smoothings see the painted side only, so nothing of the far side's colour comes in. Beyond
    the reach, and where no part of the side lies a reach in within a few reaches (a thin
    side), the painting is untouched."""
    if not side.any() or side.all():
        return painted
    diagonal = float(np.hypot(*(shape or painted.shape)[:2]))
    reach = max(4.0, RIM_REACH_FRACTION * diagonal)
    detail = max(1.0, RIM_DETAIL_FRACTION * diagonal)
    side_u8 = side.astype(np.uint8)
    depth = cv2.distanceTransform(side_u8, cv2.DIST_L2, 5)
    # The tone is smooth at ``detail``: measured on a grid about detail / 1.5 coarser, it is the same.
    step = max(1, int(detail / 1.5))
    height, width = side.shape
    small = (max(1, width // step), max(1, height // step))

    def coarse(image: np.ndarray) -> np.ndarray:
        """``image`` (uint8) on the coarse grid, as float32 (shrunk as uint8: it is every frame's cost)."""
        image = image if step == 1 else cv2.resize(image, small, interpolation=cv2.INTER_AREA)
        return image.astype(np.float32)

    inside = coarse(side_u8 * np.uint8(255)) / np.float32(255)
    further_in = coarse(cv2.inRange(depth, reach, 2 * reach)) / np.float32(255)
    grey = {name: coarse(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
            for name, image in (("photo", photo), ("painted", painted))}
    difference = _smooth(grey["photo"], inside, detail / step) - _smooth(grey["painted"], inside, detail / step)
    level = _smooth(np.nan_to_num(difference), further_in, 2 * reach / step)
    tone = np.nan_to_num(difference - level).astype(np.float32)
    if step > 1:
        tone = cv2.resize(tone, (width, height), interpolation=cv2.INTER_LINEAR)
    fade = np.clip(depth, reach / 2, reach)  # whole to half the reach, then fading to 0 at it
    fade -= reach
    fade *= np.float32(-2.0 / reach)
    shift = cv2.multiply(fade, tone)
    return cv2.add(painted, cv2.merge((shift, shift, shift)), dtype=cv2.CV_8U)  # rounded, saturated


def alpha_stability(alphas: list[np.ndarray], band_px: float = 10.0) -> float:
    """Mean ``|alpha_t - alpha_(t-1)|`` over the edge band (pixels within ``band_px`` of either
    frame's 0.5 contour), averaged over consecutive frames of a clip; 0 is perfectly steady."""
    changes = []
    for previous, current in zip(alphas[:-1], alphas[1:], strict=True):
        band = np.zeros(current.shape, bool)
        for alpha in (previous, current):
            hard = alpha >= 0.5
            if hard.any() and not hard.all():
                band |= np.abs(signed_distance(hard)) <= band_px
        if band.any():
            changes.append(float(np.mean(np.abs(current[band] - previous[band]))))
    return float(np.mean(changes)) if changes else 0.0
