"""The benchmark's tutorial-recipe baseline runs on CPU (it used to crash in L-BFGS on its
first call, and only ran on a GPU, so nothing saw it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from virtart.models.vgg import CONFIGS, VGGFeatures

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_gatys.py"


@pytest.fixture(scope="module")
def bench_gatys():
    spec = importlib.util.spec_from_file_location("bench_gatys", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def one_thread():
    """One torch thread: on a shared 2-core machine two spin-waiting threads run ~100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_tutorial_recipe_runs_its_evaluations_and_lowers_its_loss(bench_gatys, one_thread):
    torch.manual_seed(0)
    narrow = [item if item == "M" else int(item) // 8 for item in CONFIGS["vgg19"]]  # VGG-19's layout, thin
    network = VGGFeatures(narrow).eval().requires_grad_(False)
    rng = np.random.default_rng(0)
    photo, style = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2))
    snapshots: list = []
    seconds = bench_gatys.tutorial_recipe(network, photo, style, 5, torch.device("cpu"), snapshots, 2)
    assert seconds > 0 and len(snapshots) == 3  # after evaluations 2 and 4, and at the end
    objective = bench_gatys.TutorialLoss(network, photo, style, "cpu")
    with torch.no_grad():
        start, end = (objective(bench_gatys.image_tensor(image, "cpu")).item() for image in (photo, snapshots[-1][1]))
    assert end < start
