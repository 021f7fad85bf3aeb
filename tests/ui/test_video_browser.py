"""The Video tab in headless Chromium: upload a clip, click its keyframe (the photo tab's handlers),
add the region, stylize, and the MP4 plays on the page."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]

pytest.importorskip("av")
pytest.importorskip("playwright.sync_api")

from tests.support.clips import make_clip  # noqa: E402
from tests.ui.test_app_browser import browser, page, shot, url  # noqa: E402, F401 - fixtures


def test_video_tab_end_to_end(page, tmp_path, styles_dir):  # noqa: F811 - the imported fixture
    clip = make_clip(tmp_path / "clip.mp4", frames=6)
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-in input[type=file]").set_input_files(str(clip))
    page.wait_for_selector("#video-keyframe img", timeout=60_000)
    page.locator("#video-keyframe img").click()  # the centre: the frame itself, not its letterbox
    page.wait_for_selector("#video-keyframe-status:has-text('1 click')", timeout=60_000)
    page.locator("#video-add-region").click()
    page.wait_for_selector("#video-regions img", timeout=60_000)
    page.locator("#video-run").click()
    page.wait_for_function("() => document.querySelector('#video-status')?.innerText.includes('Done')",
                           timeout=120_000)
    shot(page, "video-tab")
    assert page.locator("#video-result video").count() >= 1  # the result plays on the page
