import numpy as np
import torch

from virtart.engines.composite import composite, outside_changed_pixels, region_alphas
from virtart.engines.gatys import stage_sizes, stage_steps
from virtart.engines.losses import guided_gram, layer_masks


def test_composite_keeps_outside_bits(small_photo):
    mask = np.zeros(small_photo.shape[:2], np.float32)
    mask[10:30, 10:30] = 1
    stylised = np.full_like(small_photo, 7)
    alphas = region_alphas([mask], feather=3)
    result = composite(small_photo, [(stylised, alpha) for alpha in alphas])
    assert outside_changed_pixels(small_photo, result, alphas) == 0
    assert np.array_equal(result[0], small_photo[0])
    assert np.all(result[20, 20] == 7)


def test_later_region_wins_overlap():
    first, second = np.zeros((20, 20), np.float32), np.zeros((20, 20), np.float32)
    first[:, :12], second[:, 8:] = 1, 1
    alphas = region_alphas([first, second], feather=0)
    assert alphas[0][5, 10] == 0 and alphas[1][5, 10] == 1
    assert np.all(alphas[0] + alphas[1] <= 1)


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
