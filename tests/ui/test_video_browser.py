"""The Video tab in headless Chromium: upload a clip, make two regions on its keyframe (one by a
click, one by a box, the photo tab's handlers), give them two gallery paintings, stylize; the
painted keyframe shows first, the MP4 plays beside the original; a second run stopped midway
keeps the frames done as a playable clip and says how many.

No weights are read: the clip is painted by the fast engine's code over a tiny random network
(``tests/support/tiny_models``), paced so that Stop lands midway. Screenshots go to
``test-artifacts/browser/video-*.png``; the measured Stop latency (click to the page's
"Stopped" line) is printed and written to ``test-artifacts/browser/video-stop.json``.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]

pytest.importorskip("av")
pytest.importorskip("playwright.sync_api")

from tests.support.clips import make_clip  # noqa: E402
from tests.support.tiny_models import SlowEngine, tiny_fast_engine  # noqa: E402
from tests.ui.test_app_browser import (  # noqa: E402, F401
    ARTIFACTS,
    assert_error_colour,
    browser,
    click_photo_pixel,
    page,
    shot,
    url,
)
from virtart.ui.photo_handlers import BOX  # noqa: E402

FRAMES, SIZE = 40, (192, 128)
SQUARE = (22, 28)  # inside the clip's bright square on the keyframe (tests/support/clips.scene)
BOX_CORNERS = ((110, 66), (176, 116))  # a box on the textured background, clear of the square
KEYFRAME = "#video-keyframe img"


@pytest.fixture(autouse=True)
def tiny_paced_engine(tmp_path):
    """The tab's engine: the tiny fast engine, 0.1 s per painted box (a 40-frame clip takes a few s)."""
    from virtart.ui import video_handlers

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(video_handlers, "ENGINE", SlowEngine(tiny_fast_engine(), 0.1, str(tmp_path / "pid")))
        yield


def add_region(tab, regions: int) -> None:
    tab.locator("#video-add-region").click()
    tab.wait_for_selector(f"#video-keyframe-status:has-text('{regions} region(s)')", timeout=30_000)


def pick_painting(tab, index: int) -> str:
    """Click the gallery's ``index``-th painting (it applies to the region just added); its title."""
    from virtart import styles

    painting = styles.available()[index]
    tab.locator("#video-styles img").nth(index).click()
    tab.wait_for_selector(f"#video-style-caption:has-text('{painting.title}')", timeout=30_000)
    return painting.title


def result_plays(tab) -> dict:
    """Play the result's <video> muted: its src, duration, whether play() resolved and time moved."""
    return tab.evaluate("""async () => {
        const v = document.querySelector('#video-result video');
        if (!v) return {src: null};
        if (v.readyState < 1) await new Promise(r => { v.onloadedmetadata = r; setTimeout(r, 10000); });
        v.muted = true;
        let played = true;
        try { await v.play(); } catch (e) { played = String(e); }
        const start = v.currentTime;
        await new Promise(r => setTimeout(r, 700));
        const moved = v.currentTime > start || v.ended;
        v.pause();
        return {src: v.currentSrc, duration: v.duration, played, moved};
    }""")


def test_two_regions_two_paintings_play_and_stop(page, tmp_path, styles_dir):  # noqa: F811 - the imported fixture
    clip = make_clip(tmp_path / "clip.mp4", frames=FRAMES, size=SIZE)
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-in input[type=file]").set_input_files(str(clip))
    page.wait_for_selector(f"#video-keyframe-status:has-text('{SIZE[0]}x{SIZE[1]}')", timeout=60_000)
    page.wait_for_selector("#video-original video", timeout=30_000)

    click_photo_pixel(page, *SQUARE, image=KEYFRAME)
    page.wait_for_selector("#video-keyframe-status:has-text('1 click')", timeout=60_000)
    add_region(page, 1)
    first = pick_painting(page, 1)
    page.locator("#video-click-mode").get_by_label(BOX).check()
    click_photo_pixel(page, *BOX_CORNERS[0], image=KEYFRAME)
    page.wait_for_selector("#video-keyframe-status:has-text('opposite corner')", timeout=30_000)
    click_photo_pixel(page, *BOX_CORNERS[1], image=KEYFRAME)
    page.wait_for_selector("#video-keyframe-status:has-text('a box')", timeout=60_000)
    add_region(page, 2)
    second = pick_painting(page, 3)
    assert first != second
    page.wait_for_timeout(400)
    shot(page, "video-1-two-regions")
    assert page.locator("#video-regions img").count() == 2

    page.locator("#video-run").click()
    # The painted keyframe shows before the clip is done ("Keyframe painted" may pass too fast to see).
    page.wait_for_selector("#video-preview img", timeout=60_000)
    shot(page, "video-2-keyframe-preview")
    assert "Done" not in page.locator("#video-status").inner_text()
    page.wait_for_selector("#video-status:has-text('Done: ')", timeout=120_000)
    assert f"Done: {FRAMES} frames" in page.locator("#video-status").inner_text()
    page.wait_for_selector("#video-result video", timeout=30_000)
    played = result_plays(page)
    shot(page, "video-3-done")
    assert played["src"] and played["duration"] > 0 and played["played"] is True and played["moved"], played
    whole = played["src"]

    page.locator("#video-run").click()
    page.wait_for_function("() => { const m = document.querySelector('#video-status')?.innerText.match(/Frame (\\d+) of/);"
                           " return m && Number(m[1]) >= 8; }", timeout=60_000)
    clicked = page.evaluate("""() => {
        window.__stoppedAt = null;
        const line = document.querySelector('#video-status');
        new MutationObserver(() => {
            if (window.__stoppedAt === null && line.innerText.includes('Stopped')) window.__stoppedAt = performance.now();
        }).observe(line, {subtree: true, childList: true, characterData: true});
        const t = performance.now();
        document.querySelector('#video-stop').click();
        return t;
    }""")
    page.wait_for_function("() => window.__stoppedAt !== null", timeout=30_000)
    latency = (page.evaluate("() => window.__stoppedAt") - clicked) / 1000
    text = page.locator("#video-status").inner_text()
    page.wait_for_function("(w) => { const v = document.querySelector('#video-result video');"
                           " return v && v.currentSrc && v.currentSrc !== w; }", arg=whole, timeout=30_000)
    played = result_plays(page)
    shot(page, "video-4-stopped")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "video-stop.json").write_text(json.dumps({"stop_to_message_seconds": round(latency, 3),
                                                          "message": text}) + "\n")
    print(f"Stop: click to 'Stopped' line {latency:.3f} s; {text}")
    assert text.startswith("Stopped: the clip holds ") and f" of {FRAMES} frames" in text
    held = int(text.split("holds ")[1].split(" of")[0])
    assert 8 <= held < FRAMES
    assert played["src"] and played["duration"] > 0 and played["played"] is True, played
    # the partial clip's length matches the frames it holds (10 frames/s clip), within a frame
    assert abs(played["duration"] - held / 10) <= 0.15, (played, held)

    # A bad upload is refused with a message: the keyframe, the regions and the result stay.
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a clip")
    page.locator("#video-in").get_by_label("Clear").click()
    page.locator("#video-in input[type=file]").set_input_files(str(bad))
    page.wait_for_selector("#video-notice:has-text('not a video')", timeout=30_000)
    notice = page.locator("#video-notice").inner_text()
    shot(page, "video-5-bad-upload")
    assert str(tmp_path) not in notice and "/tmp" not in notice
    # shown in the page's error colour, as the photo tab's message line is
    assert_error_colour(page, "#video-notice", "#video-keyframe-status")
    assert page.locator(f"{KEYFRAME}").count() == 1 and page.locator("#video-regions img").count() == 2
    assert page.evaluate("() => document.querySelector('#video-result video')?.currentSrc") == played["src"]
