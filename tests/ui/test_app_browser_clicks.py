"""A detected animal, then corrective clicks, in headless Chromium (issue 21).

On ``../shared/eval/coco_mval_dev``'s horse09 (a horse the detector finds), the test runs
*Detect objects*, ticks the horse, adds it and opens it with *Edit*, then clicks as the
simulated user of :mod:`virtart.evaluation.click_protocol` does: first the horse's deepest
interior point, then three corrective clicks in the largest error region against the labelled
mask (each lies by the region's edge), once with the page's default offline segmenter (a known
failure: its first click drops the horse's head and tail) and once with the preset "guarded".
After every step the selection the page holds (the mask
it draws, recorded from the running app in this process) is scored against the truth: no click
may lower its IoU by more than ``MAX_DROP``, and the last must beat the detected mask. A
screenshot of every step goes to ``test-artifacts/browser/clicks-PRESET-*.png``.
"""

from __future__ import annotations

import re
import time

import cv2
import numpy as np
import pytest

from tests.ui.test_app_browser import browser, click_photo_pixel, page, shot, url  # noqa: F401
from tests.ui.test_app_browser_regions import choose_mode
from virtart import settings
from virtart.evaluation.click_protocol import masked_iou, next_click
from virtart.imageio import load_image
from virtart.ui import render
from virtart.ui.photo_handlers import EXCLUDE, INCLUDE

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.weights]

PHOTO = "horse09_000000356968"
ANIMAL = "horse"
CORRECTIONS = 3
MAX_DROP = 0.05  # a click lowering the IoU by more than this is harmful (click_protocol.HARMFUL_DROP)


@pytest.fixture()
def drawn_masks(monkeypatch):
    """Every selection mask the page draws (``(H, W)`` at the photo's size), in order."""
    masks: list[np.ndarray] = []
    draw = render.editor_view

    def recording(display, scale, regions, mask, *args, **kwargs):
        if mask is not None:
            masks.append(np.asarray(mask) >= 0.5)
        return draw(display, scale, regions, mask, *args, **kwargs)

    monkeypatch.setattr(render, "editor_view", recording)
    return masks


@pytest.mark.parametrize("preset", [
    pytest.param("default", marks=pytest.mark.xfail(
        strict=True, reason="issue 21: the default re-solves the whole cut on the first click and drops the "
                            "horse's head, mane and tail (IoU 0.83 -> 0.62)")),
    "guarded",
])
def test_corrective_clicks_on_a_detected_animal_never_jump_away(page, drawn_masks, preset, monkeypatch):  # noqa: F811
    """``preset``: the offline segmenter's settings the page answers with (offline.PRESETS)."""
    from virtart.segmentation.offline import OfflineSegmenter
    from virtart.ui import photo_handlers

    segmenter = OfflineSegmenter(preset)
    monkeypatch.setattr(photo_handlers, "segmenter", lambda: segmenter)
    shared = settings.shared_dir()
    root = shared / "eval" / "coco_mval_dev" if shared else None
    if root is None or not (root / "images" / f"{PHOTO}.jpg").is_file():
        pytest.skip("../shared/eval/coco_mval_dev is absent")
    image_path = root / "images" / f"{PHOTO}.jpg"
    photo = load_image(image_path)
    truth = cv2.imread(str(root / "gt" / f"{PHOTO}.png"), cv2.IMREAD_GRAYSCALE) >= 128
    ignored = np.zeros_like(truth)
    page.locator("#photo input[type=file]").set_input_files(str(image_path))
    page.wait_for_selector(f"#status:has-text('{photo.shape[1]}x{photo.shape[0]}')", timeout=60_000)
    page.locator("#detect").click()
    page.wait_for_selector("#detected:has-text('Detected:')", timeout=180_000)
    time.sleep(0.5)  # let the outlines paint
    shot(page, f"clicks-{preset}-1-detected")
    page.locator("#detected input").click()
    page.get_by_role("option", name=re.compile(rf"^{ANIMAL} \d+$")).first.click()
    page.locator("#add-detected").click()
    page.wait_for_selector(f"#regions:has-text('1. {ANIMAL}')", timeout=30_000)
    page.locator("#edit-region").click()
    page.wait_for_selector("#status:has-text('Editing region 1')", timeout=30_000)
    time.sleep(0.5)
    shot(page, f"clicks-{preset}-2-detected-mask")
    scores = [masked_iou(drawn_masks[-1], truth, ignored)]
    selected = drawn_masks[-1]
    for step in range(1 + CORRECTIONS):
        # the protocol's first click (the object's deepest point: all of it is missed from an
        # empty mask), then its corrective clicks on what the page shows
        x, y, label = next_click(np.zeros_like(truth) if step == 0 else selected, truth, ignored)
        choose_mode(page, INCLUDE if label == 1 else EXCLUDE)
        shown = len(drawn_masks)
        click_photo_pixel(page, x, y)  # the photo is shown at its own size (640 px)
        page.wait_for_selector(f"#status:has-text('{step + 1} click(s), a box')", timeout=60_000)
        time.sleep(0.5)
        shot(page, f"clicks-{preset}-{3 + step}-click-{step + 1}")
        assert len(drawn_masks) > shown, "the click drew no new selection"
        selected = drawn_masks[-1]
        scores.append(masked_iou(selected, truth, ignored))
    rounded = [round(s, 3) for s in scores]
    drops = [before - after for before, after in zip(scores, scores[1:], strict=False)]
    assert max(drops) <= MAX_DROP, f"IoU of the detected mask, then after each click: {rounded}"
    assert scores[-1] > scores[0], f"IoU of the detected mask, then after each click: {rounded}"
