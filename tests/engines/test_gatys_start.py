"""The quality engine's start moved toward the photo (``start_content``), with a tiny random VGG."""

import numpy as np
import torch

from virtart.engines import losses
from virtart.engines.gatys import _to_tensor
from virtart.engines.registry import GatysOptions
from virtart.models.vgg import CONTENT_TAP


def content_distance(engine, image: np.ndarray, photo: np.ndarray, options: GatysOptions) -> float:
    with torch.no_grad():
        features = [engine._features(_to_tensor(x, engine.device), options, (CONTENT_TAP,))[CONTENT_TAP]
                    for x in (image, photo)]
        return float(losses.content_loss(features[0], features[1]))


def test_a_far_start_is_mixed_toward_the_photo_until_its_content_loss_fits(tiny_gatys, small_photo):
    photo = small_photo
    far = np.random.default_rng(0).integers(0, 256, photo.shape, dtype=np.uint8)
    unmixed = content_distance(tiny_gatys, far, photo, GatysOptions())
    options = GatysOptions(start_content=unmixed / 10)
    start, mix = tiny_gatys._toward_photo(far, photo, options)
    assert 0.0 < mix < 1.0 and start.dtype == np.uint8 and start.shape == photo.shape
    assert content_distance(tiny_gatys, start, photo, options) <= 1.3 * options.start_content
    expected = photo + mix * (far.astype(np.float32) - photo)
    assert np.abs(start - expected).max() <= 0.5 + 1e-3  # a pixel blend, rounded


def test_a_near_start_or_no_target_keeps_the_fast_result(tiny_gatys, small_photo):
    photo = small_photo
    near = np.clip(photo.astype(int) + 3, 0, 255).astype(np.uint8)
    unmixed = content_distance(tiny_gatys, near, photo, GatysOptions())
    start, mix = tiny_gatys._toward_photo(near, photo, GatysOptions(start_content=2 * unmixed))
    assert mix == 1.0 and np.array_equal(start, near)
    start, mix = tiny_gatys._toward_photo(near, photo, GatysOptions(start_content=None))
    assert mix == 1.0 and np.array_equal(start, near)
