"""A fuzz of the photo page's handlers, called as the page calls them (``virtart.ui.page.call``).

Random sequences of uploads (good and bad files), clicks (include, exclude, box corners,
outside the photo, before any photo), undo/redo, grow/shrink, brush, regions (add, everything
else, pick, edit, invert, delete, bad indices), paintings and their settings (bad values
too), Detect, Stylize (to the end, or stopped midway) and Stop, 2000 steps in all. After
every step:

* no handler raised, and no refusal is the "internal error" line (that would be a bug);
* a refused step changed nothing: the photo, the regions (masks and looks) and the last result
  are the very ones from before, and its update sets nothing but the notice (and the run status);
* the page (the updates applied in order, as the browser applies them) shows the session's
  photo with its regions, one thumbnail per region, and the last result;
* a step that should work did (a click on a loaded photo, adding a selection, ...).

The segmenter, the detector and the engine are tiny stand-ins (a disc around the clicks, random
boxes, a colour inversion), so the whole run takes seconds; the real ones have their own tests.
"""

from __future__ import annotations

import random
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from virtart import pipeline, styles
from virtart.engines.base import Preview
from virtart.errors import INTERNAL_ERROR
from virtart.imageio import save_png
from virtart.request import MAX_REGIONS
from virtart.segmentation import detect as detect_module
from virtart.segmentation.base import ImageState, Prediction, image_key
from virtart.segmentation.detect import Detection
from virtart.ui import brush_handlers, page, photo_handlers, region_handlers, stylize_handlers
from virtart.ui.page import KEEP
from virtart.ui.state import NEXT_REGION, new_session

STEPS_PER_SEED = 500
SEEDS = (1, 2, 3, 4)


class DiscSegmenter:
    """Answers every prompt with the union of discs around the include clicks (and the box)."""

    name = "disc"

    def set_image(self, image: np.ndarray) -> ImageState:
        return ImageState(image_key(image), (image.shape[1], image.shape[0]))

    def predict(self, state, points, box=None, previous=None, strokes=(), prior=None) -> Prediction:
        width, height = state.size
        ys, xs = np.mgrid[0:height, 0:width]
        mask = np.zeros((height, width), bool)
        for x, y, label in points:
            disc = (xs - x) ** 2 + (ys - y) ** 2 <= (min(width, height) / 5) ** 2
            mask = mask | disc if label == 1 else mask & ~disc
        if box is not None:
            mask |= (xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3])
        for stroke in strokes:
            for x, y in stroke.points:
                disc = (xs - x) ** 2 + (ys - y) ** 2 <= 9
                mask = mask | disc if stroke.label == 1 else mask & ~disc
        return Prediction(mask.astype(np.float32), 1.0, self.name)


class InvertingEngine:
    """A tiny engine: three previews, then the photo's colours inverted inside the regions."""

    name = "tiny"

    def run(self, photo, regions, options):
        painted = photo.copy()
        for region in regions:
            inside = region.alpha > 0
            painted[inside] = 255 - photo[inside]
        for step in (1, 2, 3):
            yield Preview(step, 3, painted, 0.01 * step, {0: {"style": 1.0 / step, "content": 0.1 * step}})
        yield Preview(3, 3, painted, 0.04, {0: {"style": 0.3, "content": 0.3}}, final=True)


def fake_detections(rgb: np.ndarray, rng: random.Random) -> list[Detection]:
    height, width = rgb.shape[:2]
    found = []
    for _ in range(rng.randint(0, 4)):
        x0, y0 = rng.randint(0, width - 8), rng.randint(0, height - 8)
        x1, y1 = rng.randint(x0 + 4, width), rng.randint(y0 + 4, height)
        mask = np.zeros((height, width), np.float32)
        mask[y0:y1, x0:x1] = 1.0
        found.append(Detection(rng.choice(["elephant", "person"]), rng.random(), (x0, y0, x1, y1), mask, "fake"))
    return found


@pytest.fixture()
def files(tmp_path: Path, small_photo: np.ndarray) -> dict[str, list[str]]:
    bad = {"text.png": b"not an image", "empty.png": b"", "half.png": b"\x89PNG\r\n\x1a\n\x00\x00"}
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
    tiny = save_png(tmp_path / "tiny.png", np.zeros((4, 4, 3), np.uint8))
    photos = [save_png(tmp_path / "a.png", small_photo),
              save_png(tmp_path / "b.png", np.ascontiguousarray(np.rot90(small_photo))),
              save_png(tmp_path / "c.png", np.kron(small_photo, np.ones((2, 2, 1), np.uint8)))]
    painting = save_png(tmp_path / "painting.png", np.full((16, 16, 3), 120, np.uint8))
    return {"photos": [str(p) for p in photos], "bad": [str(tmp_path / n) for n in bad] + [str(tiny)],
            "painting": [str(painting)]}


@pytest.fixture()
def tiny_models(monkeypatch: pytest.MonkeyPatch):
    segmenter = DiscSegmenter()
    monkeypatch.setattr(photo_handlers, "segmenter", lambda: segmenter)
    monkeypatch.setattr(photo_handlers, "DETECTOR_PRIOR", False)
    monkeypatch.setattr(stylize_handlers, "run_stylize", lambda request: pipeline.run(request, InvertingEngine()))
    monkeypatch.setattr(stylize_handlers, "PREVIEW_INTERVAL", 0.0)
    monkeypatch.setattr(page, "_toast", lambda message: None)
    monkeypatch.setattr(stylize_handlers.gr, "Info", lambda message: None)


def snapshot(session) -> tuple:
    """What a refused step must leave exactly as it was."""
    regions = tuple((id(r), r.mask.tobytes(), id(r.style), r.strength, r.preserve_color, r.feather, r.invert, r.name)
                    for r in session.regions)
    return session.photo, regions, session.result


class Page:
    """The page as the browser holds it: each update's fields applied in turn."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def apply(self, update: page.PageUpdate) -> None:
        for name, value in update.changed().items():
            if isinstance(value, dict) and value.get("__type__") == "update":
                merged = dict(self.values.get(name) or {}) if isinstance(self.values.get(name), dict) else {}
                merged.update({k: v for k, v in value.items() if k != "__type__"})
                self.values[name] = merged
            else:
                self.values[name] = value


def check_page(view: Page, session) -> None:
    if session.photo is None:
        return
    shown = view.values.get("photo")
    assert isinstance(shown, np.ndarray), "the photo panel lost the photo"
    assert np.array_equal(shown, photo_handlers.editor_image(session)), "the photo panel is not the session's"
    thumbs = view.values.get("thumbs")
    assert thumbs is not None and len(thumbs) == len(session.regions), "thumbnails do not match the regions"
    picker = view.values.get("picker") or {}
    if "choices" in picker:
        assert [value for _, value in picker["choices"]] == [NEXT_REGION, *range(len(session.regions))]
    result = view.values.get("result")
    if session.result is None:
        assert result is None
    else:
        assert result is not None and np.array_equal(result[1], session.result.after), "the result panel changed"


def refused(update: page.PageUpdate) -> bool:
    return isinstance(update.notice, str) and update.notice.startswith("**Not done:**")


def select(index) -> gr.SelectData:
    return gr.SelectData(None, {"index": index, "value": None})


def random_click(rng: random.Random, session):
    if session.display is None or rng.random() < 0.05:
        return [rng.uniform(-50, 500), rng.uniform(-50, 500)] if rng.random() < 0.5 else None
    height, width = session.display.shape[:2]
    return [rng.uniform(0, width - 1), rng.uniform(0, height - 1)]


def painted_canvas(rng: random.Random, session):
    if session.display is None or rng.random() < 0.2:
        return rng.choice([None, {"layers": []}, {"layers": [np.zeros((3, 3), np.uint8)]}, "junk"])
    height, width = session.display.shape[:2]
    layer = np.zeros((height, width, 4), np.uint8)
    y, x = rng.randrange(height), rng.randrange(max(1, width - 10))
    layer[y:y + 3, x:x + 10] = (40, 200, 70, 255) if rng.random() < 0.7 else (230, 40, 40, 255)
    return {"background": session.display, "layers": [layer], "composite": session.display}


def actions(rng: random.Random, files: dict, session):
    """``(name, handler, args, must_work)``: one random step; ``must_work`` when it cannot fail."""
    photo, regions = session.photo is not None, len(session.regions)
    index = rng.choice([None, -5, 0, 1, 2, 7, 3.0, "x"] + list(range(regions)))
    style_count = len(styles.available())
    modes = [photo_handlers.INCLUDE, photo_handlers.EXCLUDE, photo_handlers.BOX]
    choices = [
        (8, "upload", photo_handlers.upload_photo, (rng.choice(files["photos"]), session), True),
        (3, "bad upload", photo_handlers.upload_photo, (rng.choice(files["bad"]), session), False),
        (1, "no upload", photo_handlers.upload_photo, (None, session), True),
        (25, "click", photo_handlers.click_photo, (session, rng.choice(modes), select(random_click(rng, session))),
         False),
        (4, "undo", photo_handlers.undo_click, (session,), False),
        (2, "redo", photo_handlers.redo_click, (session,), False),
        (3, "grow", photo_handlers.grow_selection, (session, rng.choice([3, -3, 9, -40])), session.mask is not None),
        (2, "clear", photo_handlers.clear_clicks, (session,), True),
        (3, "brush", brush_handlers.apply_brush, (session, painted_canvas(rng, session)), False),
        (8, "add", region_handlers.add_click_region, (session,),
         photo and session.mask is not None and session.mask.max() >= 0.5 and session.editing is None
         and regions < MAX_REGIONS),
        (3, "rest", region_handlers.add_everything_else, (session,), False),
        (5, "pick", region_handlers.pick_region, (session, index), index in (None, NEXT_REGION) or
         (isinstance(index, int) and 0 <= index < regions)),
        (3, "edit", region_handlers.edit_region, (session, index), False),
        (2, "invert", region_handlers.invert_region, (session, index), False),
        (3, "delete", region_handlers.delete_region, (session, index),
         isinstance(index, int) and 0 <= index < regions),
        (4, "painting", region_handlers.select_style, (session, select(rng.choice([0, style_count - 1, 99, None]))),
         False),
        (1, "own painting", region_handlers.upload_style, (session, rng.choice(files["painting"] + files["bad"])),
         False),
        (3, "strength", region_handlers.set_strength, (session, rng.choice([0.0, 0.35, 1.0, 2.0, float("nan"), "a"])),
         False),
        (2, "feather", region_handlers.set_feather, (session, rng.choice([0, 4, 12.5, -1, 500])), False),
        (2, "edge auto", region_handlers.set_edge_auto, (session, rng.random() < 0.5, rng.choice([0, 4, -1, "a"])),
         False),
        (2, "colours", region_handlers.set_preserve, (session, rng.random() < 0.5), True),
        (3, "detect", region_handlers.detect, (session,), photo),
        (3, "add detected", region_handlers.add_detected,
         (session, rng.sample(region_handlers.detection_choices(session) and
                              [v for _, v in region_handlers.detection_choices(session)] or ["0", "junk"],
                              k=1) + (["all:elephant"] if rng.random() < 0.2 else [])), False),
    ]
    weights = [c[0] for c in choices]
    return rng.choices(choices, weights)[0][1:]


def run_stylize_step(rng: random.Random, session, view: Page) -> None:
    """Stylize to the end, or Stop after a few updates (the generator closed, then ``stopped``)."""
    before = snapshot(session)
    generator = page.stream(stylize_handlers.stylize, session, "auto", rng.random() < 0.5, 3, 0,
                            rng.choice(list(stylize_handlers.OUTPUT_SIZES)), also=("run_status",))
    stop_after = rng.choice([None, 1, 2, 3])
    failed = False
    for seen, update in enumerate(generator, start=1):
        view.apply(update)
        if refused(update):
            failed = True
            assert INTERNAL_ERROR[:40] not in update.notice, update.notice
        if stop_after is not None and seen >= stop_after:
            generator.close()
            stop = page.call(stylize_handlers.stopped, session)
            view.apply(stop)
            break
    if failed:
        assert snapshot(session) == before
    check_page(view, session)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_sequences_never_lose_the_photo_the_regions_or_the_result(seed, files, tiny_models, monkeypatch):
    rng = random.Random(seed)
    monkeypatch.setattr(detect_module, "detect_objects", lambda rgb, **_: fake_detections(rgb, rng))
    session, view, counts = new_session(), Page(), {"refused": 0, "worked": 0}
    for step in range(STEPS_PER_SEED):
        if rng.random() < 0.06:
            run_stylize_step(rng, session, view)
            continue
        name, handler, args, must_work = actions(rng, files, session)
        before, regions_before = snapshot(session), len(session.regions)
        shown_before = view.values.get("photo")
        update = page.call(handler, *args)
        view.apply(update)
        where = f"seed {seed}, step {step}: {name}"
        if refused(update):
            counts["refused"] += 1
            assert INTERNAL_ERROR[:40] not in update.notice, f"{where}: a bug ({update.notice})"
            assert not must_work, f"{where}: refused ({update.notice})"
            assert snapshot(session) == before, f"{where}: a refused step changed the session"
            touched = set(update.changed()) - {"notice"}
            assert touched <= {"photo"}, f"{where}: a refusal touched {sorted(touched)}"
            if touched:  # a refused upload sends the photo back as it was (the browser showed the file)
                assert name.endswith("upload") and (shown_before is None or np.array_equal(update.photo, shown_before))
        else:
            counts["worked"] += 1
            assert update.notice in ("", KEEP) or update.notice.startswith("No objects"), where
            if name == "add" and must_work:
                assert len(session.regions) == regions_before + 1, where
            if name == "delete":
                assert len(session.regions) == regions_before - 1, where
            if name == "upload" and args[0] is not None:
                assert session.regions == [] and session.result is None, where
        check_page(view, session)
    assert counts["refused"] > 50 and counts["worked"] > 200, counts  # both paths were exercised
