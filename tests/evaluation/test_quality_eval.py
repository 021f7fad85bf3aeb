"""The quality evaluator's definitions, on a tiny random VGG-shaped network and small images."""

import numpy as np
import pytest
import torch

from virtart.errors import VirtArtError
from virtart.evaluation.quality import QualityEvaluator, within_fraction
from virtart.models.vgg import VGGFeatures

TINY = [4, "M", 6, "M", 8, "M", 8, 8, "M", 8]  # has relu1_1 .. relu5_1 and relu4_2


@pytest.fixture(scope="module")
def evaluator() -> QualityEvaluator:
    network = VGGFeatures(TINY)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for conv in network.convs:
            conv.weight.copy_(torch.from_numpy(rng.normal(0, 0.3, conv.weight.shape).astype(np.float32)))
            conv.bias.fill_(0.05)
    return QualityEvaluator(network.eval().requires_grad_(False), long_side=64)


def images() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:48, 0:64]
    photo = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    painting = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    painting[::4] = (250, 200, 20)  # stripes: a texture unlike the photo's smooth gradient
    mask = np.zeros((48, 64), np.float32)
    mask[8:40, 8:40] = 1
    return photo, painting, mask


def test_the_photo_itself_has_zero_content_distance_and_a_large_style_distance(evaluator):
    photo, painting, mask = images()
    score = evaluator.score(photo, photo, mask, painting)
    assert score.content == 0.0
    assert score.style > 0.3 and set(score.style_layers) == {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}


def test_painting_the_region_lowers_style_distance_and_raises_content_distance(evaluator):
    photo, painting, mask = images()
    tiled = np.tile(painting, (2, 2, 1))[:48, :64]
    scores = []
    for weight in (0.0, 0.5, 1.0):
        result = photo.copy()
        region = mask >= 0.5
        result[region] = np.round((1 - weight) * photo[region] + weight * tiled[region]).astype(np.uint8)
        scores.append(evaluator.score(photo, result, mask, painting))
    assert scores[0].style > scores[1].style > scores[2].style
    assert scores[0].content < scores[1].content < scores[2].content


def test_whole_painting_as_result_has_zero_style_distance(evaluator):
    _, painting, _ = images()
    assert evaluator.score(painting, painting, np.ones((40, 40), np.float32), painting).style == pytest.approx(0, abs=1e-6)


def test_bad_inputs_are_refused(evaluator):
    photo, painting, mask = images()
    with pytest.raises(VirtArtError, match="region is empty"):
        evaluator.score(photo, photo, np.zeros_like(mask), painting)
    with pytest.raises(VirtArtError, match="the result is"):
        evaluator.score(photo, photo[:40], mask, painting)
    with pytest.raises(VirtArtError, match="mask"):
        evaluator.score(photo, photo, mask[:40], painting)


def test_within_fraction_finds_when_a_trajectory_settles():
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert within_fraction(times, [10.0, 5.0, 1.01, 1.0, 1.0]) == 2.0
    assert within_fraction(times, [10.0, 5.0, 1.01, 1.5, 1.0]) == 4.0  # left the band again: counts from after
    assert within_fraction([], []) is None
