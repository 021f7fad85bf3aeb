"""Refined region edges (virtart.edges): band, bit-identity, shared edges, engine input, stability."""

import cv2
import numpy as np
import pytest

from virtart import edges
from virtart import masks as mask_ops
from virtart.engines.composite import blend as composite
from virtart.engines.composite import region_alphas


def two_tone(width=120, height=90, edge_x=60):
    """A photo dark left of ``edge_x`` and bright right of it, with a little noise."""
    rng = np.random.default_rng(0)
    photo = np.full((height, width, 3), (200, 180, 150), np.uint8)
    photo[:, :edge_x] = (40, 60, 90)
    noise = rng.integers(-4, 5, photo.shape)
    return np.clip(photo.astype(int) + noise, 0, 255).astype(np.uint8)


def test_ximgproc_is_the_one_opencv():
    from importlib import metadata

    assert hasattr(cv2, "ximgproc") and hasattr(cv2.ximgproc, "guidedFilter")
    providers = {dist.metadata["Name"].lower() for dist in metadata.distributions()
                 if (dist.read_text("top_level.txt") or "").split() == ["cv2"]
                 or any(str(f).startswith("cv2/__init__") for f in dist.files or ())}
    assert providers == {"opencv-contrib-python-headless"}


@pytest.mark.parametrize("matting", [False, True])
def test_refined_alpha_is_exact_beyond_the_band_and_follows_the_colour_edge(matting):
    photo = two_tone()
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :57] = 1.0  # the segmenter's cut 3 px short of the true edge at x = 60
    alpha = edges.refine_alpha(photo, mask, softness=6, matting=matting, budget_s=5.0)
    distance = edges.signed_distance(mask)
    assert alpha.dtype == np.float32 and alpha.shape == mask.shape
    assert np.all(alpha[distance < -6] == 0.0) and np.all(alpha[distance > 6] == 1.0)
    row = alpha[45]
    crossing = int(np.argmax(row < 0.5))
    assert abs(crossing - 60) < abs(57 - 60)  # moved toward the picture's edge


def test_pixels_beyond_the_band_keep_the_photo_bytes():
    photo = two_tone()
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[20:70, 30:90] = 1.0
    alpha = edges.refine_alpha(photo, mask)
    painted = np.full_like(photo, 7)
    result = composite(photo, [(painted, alpha)])
    beyond = edges.signed_distance(mask) < -edges.band_radius(photo.shape)
    assert np.array_equal(result[beyond], photo[beyond])


def test_softness_zero_and_empty_masks_are_hard():
    photo = two_tone()
    mask = np.zeros(photo.shape[:2], np.float32)
    assert not edges.refine_alpha(photo, mask).any()
    mask[10:20, 10:20] = 1
    assert np.array_equal(edges.refine_alpha(photo, mask, softness=0), mask)


def luminance_dip(photo, first, second, weights_or_alphas):
    """Grey levels by which the result along the two regions' shared edge is darker than away
    from it, with both regions painted the same bright grey over a black photo."""
    painted = np.full_like(photo, 200)
    result = composite(photo, [(painted, a) for a in weights_or_alphas])
    grey = result.astype(np.float32).mean(axis=2)
    edge_column = grey[10:-10, 56:64].min()
    away = grey[10:-10, 20:40].mean()
    return float(away - edge_column)


def test_two_painted_regions_share_their_edge_without_a_seam():
    photo = np.zeros((80, 120, 3), np.uint8)
    photo[:, 60:] = 5  # a faint colour edge where the two regions meet
    first = np.zeros(photo.shape[:2], np.float32)
    first[:, :60] = 1
    second = 1.0 - first
    weights, photo_weight = edges.partition_alphas(photo, [first, second], softness=4)
    assert np.allclose(np.sum(weights, axis=0) + photo_weight, 1.0, atol=1e-5)
    assert np.all(photo_weight == 0.0)  # everything is painted: no gap, no photo seam
    assert all(np.all(w >= 0) for w in weights)
    dip = luminance_dip(photo, first, second, edges.layer_alphas(weights))
    assert dip <= 1.0
    feathered = [mask_ops.feather(first, 4.0), mask_ops.feather(second, 4.0)]  # the old 4 px feather
    feathered[0] = np.minimum(feathered[0], 1.0 - feathered[1])
    assert luminance_dip(photo, first, second, feathered) > 20  # its seam
    assert luminance_dip(photo, first, second, region_alphas(photo, [first, second], 4)) <= 1.0  # the compositor's


def test_partition_sums_to_one_and_leaves_the_photo_beyond_the_band():
    photo = two_tone()
    first = np.zeros(photo.shape[:2], np.float32)
    first[10:50, 10:60] = 1
    second = np.zeros_like(first)
    second[30:80, 40:100] = 1  # overlaps the first: the later region takes the overlap
    weights, photo_weight = edges.partition_alphas(photo, [first, second], softness=5)
    assert np.allclose(np.sum(weights, axis=0) + photo_weight, 1.0, atol=1e-5)
    union = np.maximum(first, second)
    beyond = edges.signed_distance(union) < -5
    assert np.all(photo_weight[beyond] == 1.0) and all(np.all(w[beyond] == 0) for w in weights)
    assert np.all(weights[0][35:45, 45:55] == 0)  # deep in the overlap: the second region only
    # The layers' alphas rebuild the weighted sum exactly through the one-over-another blend.
    layers = [np.full_like(photo, 50), np.full_like(photo, 250)]
    expected = photo * photo_weight[:, :, None] + sum(lay * w[:, :, None] for lay, w in zip(layers, weights, strict=True))
    blended = composite(photo, list(zip(layers, edges.layer_alphas(weights), strict=True)))
    assert np.abs(blended.astype(float) - expected).max() <= 1.0


def test_engine_input_hides_what_lies_across_the_edge():
    photo = two_tone()
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :60] = 1  # the dark side is the region
    seen = edges.engine_input(photo, mask, margin=12)
    assert np.array_equal(seen[:, :60], photo[:, :60])
    assert np.array_equal(seen[:, 72:], photo[:, 72:])
    across = seen[:, 60:72].astype(float)
    assert np.abs(across - photo[:, 30:50].astype(float).mean(axis=(0, 1))).max() < 20  # dark fill, no contour


def test_alpha_stability_is_zero_for_a_still_edge_and_grows_when_it_moves():
    photo = two_tone()
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :58] = 1
    still = [edges.refine_alpha(photo, mask, matting=False) for _ in range(3)]
    assert edges.alpha_stability(still) == 0.0
    moved = mask.copy()
    moved[:, 58:61] = 1
    assert edges.alpha_stability([mask, moved]) > 0.0


def test_fast_guided_filter_is_close_to_the_exact_one():
    rng = np.random.default_rng(1)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (0, 0), 3)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[30:90, 40:120] = 1
    exact = edges.guided_filter(photo, mask, 6, subsample=1)
    fast = edges.guided_filter(photo, mask, 6, subsample=2)
    assert fast.shape == exact.shape and np.abs(fast - exact).mean() < 0.02


def test_without_opencv_contrib_the_guided_filter_still_runs(monkeypatch):
    """A host that installs plain opencv-python over the contrib build (a Space installing
    requirements.txt) loses ``cv2.ximgproc``: the filter then runs without it, alike."""
    rng = np.random.default_rng(2)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8), (0, 0), 3)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[20:70, 30:100] = 1
    exact = edges.guided_filter(photo, mask, 5, subsample=1)
    monkeypatch.delattr(cv2, "ximgproc")
    fallback = edges.guided_filter(photo, mask, 5, subsample=1)
    assert fallback.shape == exact.shape and np.abs(fallback - exact).mean() < 0.02


def test_softness_reads_auto_or_pixels_and_refuses_the_rest():
    from virtart.engines.base import Region
    from virtart.errors import VirtArtError
    from virtart.request import check_region, parse_softness

    assert parse_softness("auto") == parse_softness("AUTO ") == parse_softness(None) == "auto"
    assert parse_softness("3.5") == 3.5 and parse_softness(2) == 2.0
    with pytest.raises(VirtArtError, match="feather must be 'auto' or a number"):
        parse_softness("soft")
    style = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(VirtArtError, match="feather must be 'auto' or between"):
        check_region(Region(np.ones((8, 8), np.float32), style, feather=parse_softness("nan")), 0)
    check_region(Region(np.ones((8, 8), np.float32), style), 0)  # "auto" by default


def test_regions_with_their_own_softness_still_sum_to_one():
    photo = two_tone()
    first = np.zeros(photo.shape[:2], np.float32)
    first[:, :60] = 1
    second = np.zeros_like(first)
    second[20:70, 60:100] = 1
    weights, photo_weight = edges.partition_alphas(photo, [first, second], [2.0, 8.0])
    assert np.allclose(np.sum(weights, axis=0) + photo_weight, 1.0, atol=1e-5)
    assert np.all(photo_weight[30:60, 50:70] == 0.0)  # their shared edge shows no photo


@pytest.mark.parametrize("subsample", [1, 3])
def test_guided_filter_at_some_pixels_equals_the_whole_filter_there(subsample, monkeypatch):
    rng = np.random.default_rng(3)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (90, 130, 3), dtype=np.uint8), (0, 0), 2)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[25:70, 30:100] = 1
    at = np.flatnonzero(np.abs(edges.signed_distance(mask)) <= 6)
    whole = edges.guided_filter(photo, mask, 6, subsample)
    assert np.allclose(edges.guided_filter(photo, mask, 6, subsample, at), whole.reshape(-1)[at], atol=1e-5)
    monkeypatch.delattr(cv2, "ximgproc")  # the filter without OpenCV contrib, too
    assert np.allclose(edges.guided_filter(photo, mask, 6, subsample, at),
                       edges.guided_filter(photo, mask, 6, subsample).reshape(-1)[at], atol=1e-5)


def test_matting_solve_matches_pymattings_own_solver():
    from pymatting import estimate_alpha_cf

    photo = two_tone(64, 48, 30)
    trimap = np.zeros(photo.shape[:2])
    trimap[:, :24] = 1.0
    trimap[:, 24:36] = 0.5
    image = photo.astype(np.float64) / 255.0
    ours = estimate_alpha_cf(image, trimap, preconditioner=edges._exact_solve, laplacian_kwargs={"epsilon": edges.MATTING_EPS})
    theirs = estimate_alpha_cf(image, trimap, laplacian_kwargs={"epsilon": edges.MATTING_EPS}, cg_kwargs={"maxiter": 2000})
    assert np.abs(ours - theirs).max() < 1e-3


def test_painted_rim_follows_the_photos_own_tone_without_the_far_sides_colour():
    from virtart.evaluation import edge_metrics

    height, width = 360, 480  # the reach: 2.7 % of the diagonal, 16 px
    obj = np.zeros((height, width), bool)
    obj[90:270, 120:360] = True
    depth = cv2.distanceTransform(obj.astype(np.uint8), cv2.DIST_L2, 5)
    photo = np.full((height, width, 3), 250, np.uint8)  # a bright background
    shaded = 120 - 40 * np.clip(1 - depth / 8, 0, 1)  # the object darkens toward its silhouette
    photo[obj] = shaded[obj, None].astype(np.uint8)
    painted = np.full_like(photo, 90)  # a flat painting of the object
    followed = edges.follow_rim_tone(painted, photo, obj)
    result = np.where(obj[:, :, None], followed, photo)
    assert abs(edge_metrics.rim_contrast(photo, result, obj, painted_inside=True)) < 5
    flat = np.where(obj[:, :, None], painted, photo)
    assert abs(edge_metrics.rim_contrast(photo, flat, obj, painted_inside=True)) > 15
    deep = depth > 3 * edges.RIM_REACH_FRACTION * np.hypot(height, width)
    assert np.abs(followed[deep].astype(int) - 90).max() <= 1  # far from the edge: the painting
    assert followed[obj].astype(int).max() <= 92  # the bright background does not come in
