import numpy as np
import torch

from virtart.engines.composite import (
    Layer,
    blend,
    composite,
    engine_crop,
    engine_regions,
    map_layer,
    outside_changed_pixels,
    region_alphas,
)
from virtart.engines.gatys import stage_sizes, stage_steps
from virtart.engines.losses import guided_gram, layer_masks
from virtart.geometry import Box


def test_blend_keeps_outside_bits(small_photo):
    mask = np.zeros(small_photo.shape[:2], np.float32)
    mask[10:30, 10:30] = 1
    stylised = np.full_like(small_photo, 7)
    alphas = region_alphas(small_photo, [mask], softness=3)
    result = blend(small_photo, [(stylised, alpha) for alpha in alphas])
    assert outside_changed_pixels(small_photo, result, alphas) == 0
    assert np.array_equal(result[0], small_photo[0])
    assert np.all(result[20, 20] == 7)


def test_later_region_wins_overlap():
    first, second = np.zeros((20, 20), np.float32), np.zeros((20, 20), np.float32)
    first[:, :12], second[:, 8:] = 1, 1
    alphas = region_alphas(np.zeros((20, 20, 3), np.uint8), [first, second], softness=0)
    assert alphas[0][5, 10] == 0 and alphas[1][5, 10] == 1
    assert np.all(alphas[0] + alphas[1] <= 1)


def test_crop_then_paste_round_trip_at_a_working_scale(small_photo):
    """An engine that paints its crop a flat colour: the paste covers exactly the alpha, the
    working scale is capped, strength fades and everything outside keeps the photo's bytes."""
    from dataclasses import replace

    from virtart.engines.base import Region

    mask = np.zeros(small_photo.shape[:2], np.float32)
    mask[8:40, 12:52] = 1
    alphas = region_alphas(small_photo, [mask], softness=2)
    crop = engine_crop(small_photo, alphas, max_size=20, context=3)
    assert max(crop.box.size) * crop.scale <= 20 + 2 * 3 + 2 and max(crop.size) <= 28
    (region,) = engine_regions(crop, [Region(mask, small_photo)], alphas)
    assert region.mask.shape == crop.image.shape[:2] == region.alpha.shape
    painted = Layer(Box.whole(crop.image.shape), np.full_like(crop.image, 200), (0,))
    full = composite(small_photo, crop.box, [painted], crop.size, alphas, [region])
    assert outside_changed_pixels(small_photo, full, alphas) == 0
    assert np.all(full[20:30, 20:40] == 200)
    half = composite(small_photo, crop.box, [painted], crop.size, alphas, [replace(region, strength=0.25)])
    expected = np.round(small_photo[24, 30] + 0.5 * (200.0 - small_photo[24, 30]))
    assert np.abs(half[24, 30].astype(int) - expected).max() <= 1
    assert np.array_equal(composite(small_photo, crop.box, [painted], crop.size, alphas,
                                    [replace(region, strength=0.0)]), small_photo)
    assert engine_crop(small_photo, [np.zeros_like(mask)], 20, 3) is None


def test_map_layer_at_scale_one_is_a_copy_and_scaled_matches_resizing():
    import cv2

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    layer = Layer(Box(5, 5, 35, 25), pixels[5:25, 5:35], (0,))
    copied = map_layer(layer, (40, 30), Box(100, 50, 140, 80), Box(110, 60, 130, 70))
    assert np.array_equal(copied, pixels[10:20, 10:30])
    small = cv2.GaussianBlur(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8), (5, 5), 0)
    whole = cv2.resize(small, (200, 150), interpolation=cv2.INTER_CUBIC)
    scaled = map_layer(Layer(Box.whole(small.shape), small, (0,)), (80, 60), Box(0, 0, 200, 150),
                       Box(40, 30, 160, 110))
    assert np.abs(scaled.astype(int) - whole[30:110, 40:160]).max() <= 2


def test_guided_gram_only_sees_masked_features():
    features = torch.zeros(1, 2, 4, 4)
    features[:, 0, :, :2] = 1.0  # left half: channel 0
    features[:, 1, :, 2:] = 3.0  # right half: channel 1
    left = torch.zeros(1, 1, 4, 4)
    left[..., :2] = 1
    gram_left = guided_gram(features, left)
    assert torch.allclose(gram_left, torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    whole = guided_gram(features)
    assert torch.allclose(whole, torch.tensor([[0.5, 0.0], [0.0, 4.5]]))


def test_layer_masks_shapes():
    mask = torch.ones(1, 1, 64, 32)
    shapes = layer_masks(mask, {"relu1_1": (64, 32), "relu3_1": (16, 8)})
    assert shapes["relu3_1"].shape == (1, 1, 16, 8)


def test_coarse_to_fine_schedule():
    assert stage_sizes(4000, 4096) == [500, 1000, 2000, 4000]
    assert stage_sizes(300, 512) == [300]
    assert stage_sizes(3000, 1024) == [512, 1024]
    assert sum(stage_steps(300, 3)) == 300


def test_too_large_working_size_is_refused_with_a_smaller_suggestion(monkeypatch):
    import pytest
    import torch

    from virtart.engines import memory
    from virtart.errors import VirtArtError

    monkeypatch.setattr(memory, "available_bytes", lambda device: 2 * 2**30)
    memory.check_fits(512, (512, 512), torch.device("cpu"), 1)
    with pytest.raises(VirtArtError, match=r"use a max size of \d+ px or less"):
        memory.check_fits(4096, (4096, 3072), torch.device("cpu"), 1)
