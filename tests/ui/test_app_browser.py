"""End to end in Debian's headless Chromium with Playwright: upload, click a known pixel,
see the mask, pick a style, stylize, see previews and the final image.

Needs ``apt-get install -y chromium`` (never ``playwright install``). Screenshots go to
``test-artifacts/browser/`` (gitignored) so a person can look at what the test saw.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import playwright.sync_api as playwright
import pytest

from tests.support.server import free_port

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CLICK = (180, 330)  # on the astronaut's orange suit, in the photo's own pixels


@pytest.fixture(scope="module")
def url():
    import app

    demo = app.build_app()
    app.queue(demo)
    _, address, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                quiet=True, **app.launch_options())
    yield address
    demo.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with playwright.sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#photo", timeout=30_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory, astronaut) -> Path:
    from virtart.imageio import save_png

    return save_png(tmp_path_factory.mktemp("browser") / "astronaut.png", astronaut)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_error_colour(page, notice: str, plain: str) -> None:
    """Every piece of text in ``notice`` is drawn in the page's error colour, which the
    ``plain`` line's text is not (a Markdown's own rules colour its strong and p)."""
    colours = page.evaluate("""([notice, plain]) => {
        const leaves = (s) => [...document.querySelectorAll(s + ' *')].filter(
            (e) => e.children.length === 0 && e.textContent.trim()).map((e) => getComputedStyle(e).color);
        return [leaves(notice), leaves(plain)]; }""", [notice, plain])
    texts, others = colours
    assert texts and len(set(texts)) == 1 and others and texts[0] not in others, colours


def click_photo_pixel(page, x: float, y: float, image: str = "#photo img") -> None:
    """Click where the photo's own pixel (x, y) is drawn (``object-fit`` letterboxing included);
    ``image``: the selector of the panel's ``img``."""
    page.wait_for_function("(s) => { const i = document.querySelector(s);"
                           " return i && i.complete && i.naturalWidth > 0; }", arg=image, timeout=30_000)
    box = page.evaluate("""(s) => {
        const img = document.querySelector(s);
        const r = img.getBoundingClientRect();
        return {x: r.x, y: r.y, w: r.width, h: r.height, nw: img.naturalWidth, nh: img.naturalHeight,
                fit: getComputedStyle(img).objectFit};
    }""", image)
    scale = min(box["w"] / box["nw"], box["h"] / box["nh"])
    if box["fit"] == "scale-down":
        scale = min(scale, 1.0)
    left = box["x"] + (box["w"] - box["nw"] * scale) / 2
    top = box["y"] + (box["h"] - box["nh"] * scale) / 2
    page.mouse.click(left + (x + 0.5) * scale, top + (y + 0.5) * scale)


def photo_pixels(page) -> np.ndarray:
    """The photo panel's current image, decoded in the page (``(h, w, 3) uint8``)."""
    data = page.evaluate("""async () => {
        const img = document.querySelector('#photo img');
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
        return {w: canvas.width, h: canvas.height,
                px: Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data)};
    }""")
    return np.array(data["px"], np.uint8).reshape(data["h"], data["w"], 4)[:, :, :3]


def record_previews(page) -> None:
    """Collect every image the result slider shows (its streamed previews, then the result)."""
    page.evaluate("""() => {
        window.__previews = new Set();
        const note = () => document.querySelectorAll('#result img').forEach(i => i.src && window.__previews.add(i.src));
        new MutationObserver(note).observe(document.querySelector('#result'),
                                           {subtree: true, childList: true, attributes: true});
    }""")


def open_settings(page) -> None:
    """Open the Settings sidebar (closed when the page loads)."""
    if not page.locator("#sidebar.open").count():
        page.get_by_label("Toggle Sidebar").click()
        page.locator("#sidebar.open").wait_for(timeout=10_000)
        page.wait_for_timeout(800)  # the slide-in animation


def close_settings(page) -> None:
    if page.locator("#sidebar.open").count():
        page.get_by_label("Toggle Sidebar").click()
        page.wait_for_timeout(800)


def choose_engine(page, name: str) -> None:
    """Pick an engine in Settings by its registry name (the page shows its label)."""
    from virtart.engines import registry

    open_settings(page)
    page.locator("#engine").get_by_label(registry.ENGINES[name].label).check()


def choose_quality_engine(page, steps: int | None, working_size: int) -> None:
    """Open Settings, pick the Gatys engine, set the step count (None: the automatic stop) and working size."""
    choose_engine(page, "gatys")
    if steps is None:
        values = (("working-size", working_size),)
    else:
        page.locator("#auto-steps input[type=checkbox]").uncheck()
        values = (("steps", steps), ("working-size", working_size))
    for elem_id, value in values:
        number = page.locator(f"#{elem_id} input[type=number]")
        number.fill(str(value))
        number.press("Enter")
    close_settings(page)


def test_upload_click_style_stylize(page, photo_file: Path, styles_dir: Path, astronaut: np.ndarray):
    page.locator("#photo input[type=file]").set_input_files(str(photo_file))
    page.wait_for_selector("#status:has-text('512x512')", timeout=30_000)
    shot(page, "1-uploaded")

    click_photo_pixel(page, *CLICK)
    page.wait_for_selector("#status:has-text('1 click')", timeout=30_000)
    time.sleep(0.5)  # let the new image paint
    shot(page, "2-clicked")
    shown = photo_pixels(page)
    assert shown.shape == astronaut.shape
    # The panel is a lossy WebP: count a pixel as tinted only when it moved well beyond compression noise.
    changed = np.abs(shown.astype(int) - astronaut.astype(int)).max(axis=2) > 48
    assert changed[CLICK[1], CLICK[0]], "no mask overlay or point under the click"
    assert 0.002 < changed.mean() < 0.9, "the overlay should cover the selected object, not the whole photo"

    page.locator("#add-region").click()
    page.wait_for_selector("#regions img", timeout=30_000)
    page.locator("#styles img").nth(2).click()  # The Great Wave
    page.wait_for_selector("#style-caption:has-text('Hokusai')", timeout=30_000)
    choose_quality_engine(page, steps=6, working_size=128)
    shot(page, "3-ready")

    record_previews(page)
    page.locator("#stylize").click()
    page.wait_for_selector("#run-status:has-text('Done')", timeout=180_000)
    time.sleep(0.5)
    shot(page, "4-done")
    status = page.locator("#run-status").inner_text()
    assert "512x512" in status and "changed outside the regions: 0" in status
    previews = page.evaluate("() => window.__previews.size")
    assert previews >= 3, f"expected at least two previews and the final image, saw {previews} images"
    assert page.locator("#result img").count() >= 1
    with page.expect_download(timeout=30_000) as download:
        page.locator("#download").click()
    assert download.value.suggested_filename.endswith(".png")


def test_stop_frees_the_worker_at_once(page, photo_file: Path, styles_dir: Path):
    page.locator("#photo input[type=file]").set_input_files(str(photo_file))
    page.wait_for_selector("#status:has-text('512x512')", timeout=30_000)
    page.locator("#everything-else").click()
    page.wait_for_selector("#regions img", timeout=30_000)
    choose_quality_engine(page, steps=500, working_size=128)
    page.locator("#stylize").click()
    page.wait_for_selector("#run-status:has-text('Step')", timeout=120_000)
    page.locator("#stop").click()
    # The run stops: the status says so, or at least stops moving (Gradio may deliver the cancelled
    # run's last update after the Stop message).
    previous = None
    for _ in range(30):
        time.sleep(2)
        current = page.locator("#run-status").inner_text()
        if "Stopped" in current or current == previous:
            break
        previous = current
    else:
        pytest.fail(f"the run kept going after Stop: {current}")
    shot(page, "7-stopped")
    choose_engine(page, "fast")
    close_settings(page)
    started = time.time()
    page.locator("#stylize").click()
    page.wait_for_selector("#run-status:has-text('Done')", timeout=120_000)
    shot(page, "8-stopped-then-fast")
    assert time.time() - started < 60


def test_sessions_are_kept_apart_and_bad_actions_are_explained(browser, url, photo_file: Path):
    first, second = (browser.new_context(viewport={"width": 1400, "height": 1100}) for _ in range(2))
    try:
        page_a, page_b = first.new_page(), second.new_page()
        for page in (page_a, page_b):
            page.goto(url)
            page.wait_for_selector("#photo", timeout=30_000)
        page_b.locator("#stylize").click()
        page_b.wait_for_selector("#run-status:has-text('Not done: Upload a photo')", timeout=30_000)
        page_b.wait_for_selector("#notice:has-text('Upload a photo')", timeout=30_000)
        shot(page_b, "5-stylize-before-upload")

        page_a.locator("#photo input[type=file]").set_input_files(str(photo_file))
        page_a.wait_for_selector("#status:has-text('512x512')", timeout=30_000)
        click_photo_pixel(page_a, *CLICK)
        page_a.wait_for_selector("#status:has-text('1 click')", timeout=30_000)

        page_b.locator("#examples img").nth(1).click()  # the cat
        page_b.wait_for_selector("#status:has-text('0 click')", timeout=30_000)
        assert "451x300" in page_b.locator("#status").inner_text()
        assert "1 click" in page_a.locator("#status").inner_text()
        shot(page_b, "6-second-session")
    finally:
        first.close()
        second.close()
