"""The Gatys engine's own behaviour with a tiny random VGG (``tiny_gatys``): fast, no weights.

What the real network adds (losses that fall by a known factor, a recognisable style) is in
``test_gatys_engine.py``, marked ``weights``.
"""

import time

import numpy as np
import pytest

from virtart.engines.base import Region
from virtart.engines.registry import GatysOptions
from virtart.pipeline import stylize


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    y, x = np.mgrid[0:40, 0:40]
    return np.stack([(x * 6) % 256, (y * 6) % 256, ((x + y) * 3) % 256], axis=2).astype(np.uint8)


def left_half(photo: np.ndarray) -> np.ndarray:
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :32] = 1
    return mask


def test_outside_pixels_are_untouched_and_the_result_is_full_size(tiny_gatys, photo, painting):
    options = GatysOptions(steps=6, max_size=64, preview_every=2, init="photo")
    previews = list(stylize(photo, [Region(left_half(photo), painting, feather=2)], engine=tiny_gatys,
                            options=options))
    final = previews[-1]
    assert final.final and not previews[0].final
    assert final.image.shape == photo.shape and final.image.dtype == np.uint8
    assert final.result.report["outside_changed_pixels"] == 0
    assert np.array_equal(final.image[:, 40:], photo[:, 40:])
    assert final.result.report["perceptual_net"]["name"] == "tiny-vgg"


def test_same_inputs_same_result(tiny_gatys, photo, painting):
    options = GatysOptions(steps=3, max_size=64, preview_every=3, init="photo")
    runs = [list(stylize(photo, [Region(left_half(photo), painting, feather=2)], engine=tiny_gatys,
                         options=options))[-1]
            for _ in range(2)]
    assert np.array_equal(runs[0].image, runs[1].image)


def test_closing_the_generator_stops_work_promptly(tiny_gatys, photo, painting):
    options = GatysOptions(steps=10_000, max_size=64, preview_every=1, init="photo")
    generator = stylize(photo, [Region(left_half(photo), painting)], engine=tiny_gatys, options=options)
    started = time.perf_counter()
    first = next(generator)
    first_step = time.perf_counter() - started
    started = time.perf_counter()
    generator.close()
    # 10,000 steps would take minutes; closing must cost about one step, not the run.
    assert time.perf_counter() - started < max(1.0, 10 * first_step)
    assert first.step <= 1
