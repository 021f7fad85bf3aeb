"""The seed: no engine draws a random number, so the API accepts ``seed`` (old clients send
it) and ignores it. A seed beyond 64 bits once crashed the JSON output; and no request may
touch process-global random state (it used to call torch.manual_seed)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from virtart.imageio import save_png

pytestmark = pytest.mark.weights  # the Gatys engine with the real offline VGG-16


def test_a_huge_seed_through_the_stylize_api_is_ignored_and_no_global_random_state_is_touched(
        tmp_path, monkeypatch, small_photo):
    import orjson  # how Gradio writes a JSON output

    from virtart.ui import api

    def global_seed(*_args, **_kwargs):
        pytest.fail("a request touched process-global random state")

    for owner, name in ((torch, "manual_seed"), (torch, "seed"), (torch.random, "manual_seed"),
                        (torch.cuda, "manual_seed_all"), (np.random, "seed"), (random, "seed")):
        monkeypatch.setattr(owner, name, global_seed)
    mask = np.zeros(small_photo.shape[:2], np.uint8)
    mask[8:40, 8:40] = 255
    save_png(tmp_path / "photo.png", small_photo)
    save_png(tmp_path / "mask.png", np.dstack([mask] * 3))
    save_png(tmp_path / "painting.png", np.flipud(small_photo).copy())
    outputs = list(api.stylize_api(str(tmp_path / "photo.png"), mask=str(tmp_path / "mask.png"),
                                   style="", style_images=[str(tmp_path / "painting.png")], engine="gatys", steps=2,
                                   max_size=64, seed=2.0**70))
    image, path, report = outputs[-1]
    assert path and image.shape == small_photo.shape and report["final"]
    assert "seed" not in orjson.dumps(report).decode()
