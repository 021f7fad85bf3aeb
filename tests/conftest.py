"""Shared fixtures: offline settings, sample photos, the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")

from virtart import settings  # noqa: E402

settings.apply_offline_defaults()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's public-domain astronaut photo, ``(512, 512, 3) uint8``."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = settings.shared_dir()
    if path is None:
        pytest.skip("../shared is absent: skipping tests that need its data")
    return path


@pytest.fixture(scope="session")
def styles_dir() -> Path:
    path = settings.styles_dir()
    if path is None:
        pytest.skip("no styles folder (../shared/styles or VIRTART_STYLES): skipping")
    return path


@pytest.fixture()
def small_photo() -> np.ndarray:
    """A deterministic 64x48 RGB gradient with a square, for fast unit tests."""
    y, x = np.mgrid[0:48, 0:64]
    photo = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    photo[12:36, 16:48] = (200, 40, 40)
    return photo


@pytest.fixture(scope="session")
def tiny_fast():
    """The fast engine over a small random stylizer: the real engine code, no weights read."""
    from tests.support.tiny_models import tiny_fast_engine

    return tiny_fast_engine()


@pytest.fixture(scope="session")
def tiny_gatys(tiny_fast):
    """A Gatys engine over a randomly initialised, thinned VGG-19 (its "fast" start from
    ``tiny_fast``): the real engine code, results in a fraction of a second, no weights read."""
    from tests.support.tiny_models import tiny_gatys_engine

    return tiny_gatys_engine("cpu", fast=tiny_fast)
