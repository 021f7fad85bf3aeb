"""The page's box, brush, grow/shrink, undo/redo and region editing (issue 14), through the
handlers with the offline segmenter; no browser or server."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest

from virtart.errors import VirtArtError
from virtart.imageio import save_png
from virtart.ui import brush_handlers, photo_handlers, region_handlers, render
from virtart.ui.state import new_session


def click(x: float, y: float) -> gr.SelectData:
    return gr.SelectData(None, {"index": [x, y], "value": None})


@pytest.fixture()
def loaded(tmp_path, small_photo):
    photo = np.kron(small_photo, np.ones((4, 4, 1), np.uint8))  # 256x192, the red square scaled up
    return photo_handlers.upload_photo(str(save_png(tmp_path / "p.png", photo)), new_session()).session


def test_box_by_two_corners_then_a_click_refines_it_and_undo_redo(loaded):
    update = photo_handlers.click_photo(loaded, photo_handlers.BOX, click(40, 30))
    session, status = update.session, update.status
    assert session.corner is not None and session.mask is None and "opposite corner" in status
    update = photo_handlers.click_photo(session, photo_handlers.BOX, click(230, 170))
    session, status = update.session, update.status
    boxed = session.mask.copy()
    assert session.box is not None and "a box" in status and boxed.any()
    assert boxed[:25].sum() == 0  # nothing outside the box
    update = photo_handlers.click_photo(session, photo_handlers.EXCLUDE, click(60, 40))
    session, status = update.session, update.status
    assert session.box is not None and len(session.points) == 1 and "1 click(s), a box" in status
    session = photo_handlers.undo_click(session).session
    assert session.points == [] and np.array_equal(session.mask, boxed)
    session = photo_handlers.redo_click(session).session
    assert len(session.points) == 1
    with pytest.raises(VirtArtError, match="nothing to redo"):
        photo_handlers.redo_click(session)


def test_a_thin_box_is_refused_and_nothing_is_lost(loaded):
    session = photo_handlers.click_photo(loaded, photo_handlers.INCLUDE, click(120, 90)).session
    mask = session.mask.copy()
    session = photo_handlers.click_photo(session, photo_handlers.BOX, click(50, 50)).session
    with pytest.raises(VirtArtError, match="too thin"):
        photo_handlers.click_photo(session, photo_handlers.BOX, click(50, 120))
    assert session.points and np.array_equal(session.mask, mask) and session.box is None


def test_grow_and_shrink_move_the_outline(loaded):
    with pytest.raises(VirtArtError, match="select something first"):
        photo_handlers.grow_selection(loaded, 3)
    session = photo_handlers.click_photo(loaded, photo_handlers.INCLUDE, click(120, 90)).session
    area = session.mask.sum()
    update = photo_handlers.grow_selection(session, photo_handlers.GROW_STEP)
    session, status = update.session, update.status
    assert session.mask.sum() > area and "grown +3 px" in status
    session = photo_handlers.grow_selection(session, -2 * photo_handlers.GROW_STEP).session
    assert session.mask.sum() < area


def test_brush_strokes_join_the_selection(loaded):
    with pytest.raises(VirtArtError, match="before painting"):
        brush_handlers.apply_brush(new_session(), None)
    canvas = brush_handlers.brush_canvas(loaded).brush
    with pytest.raises(VirtArtError, match="paint on the photo"):
        brush_handlers.apply_brush(loaded, canvas)
    height, width = loaded.display.shape[:2]
    layer = np.zeros((height, width, 4), np.uint8)
    layer[85:95, 90:150] = (40, 200, 70, 255)  # green: include, across the red square
    update = brush_handlers.apply_brush(loaded, {**canvas, "layers": [layer]})
    session, status, canvas = update.session, update.status, update.brush
    assert len(session.strokes) == 1 and session.strokes[0].label == 1 and "1 stroke" in status
    assert session.mask[90, 120] == 1 and canvas["layers"] == []


def test_edit_a_region_brings_its_prompts_back(loaded):
    session = photo_handlers.click_photo(loaded, photo_handlers.INCLUDE, click(120, 90)).session
    session = region_handlers.add_click_region(session).session
    first = session.regions[0].mask.copy()
    assert session.points == [] and session.regions[0].prompt.points
    update = region_handlers.edit_region(session, 0)
    session, status = update.session, update.status
    assert session.points and session.editing == 0 and "Editing region 1" in status
    session = photo_handlers.grow_selection(session, 6).session
    session = region_handlers.add_click_region(session).session
    assert len(session.regions) == 1 and session.regions[0].mask.sum() > first.sum()
    session = region_handlers.add_everything_else(session).session
    with pytest.raises(VirtArtError, match="nothing to edit"):
        region_handlers.edit_region(session, 1)


def test_box_and_strokes_are_drawn_and_no_empty_loss_plot(loaded):
    from virtart.segmentation.base import Stroke

    plain = render.draw_prompts(loaded.display, loaded.scale, None, [], None)
    drawn = render.draw_prompts(loaded.display, loaded.scale, (10, 10, 100, 80),
                                [Stroke(((20.0, 100.0), (120.0, 100.0)), 0)], (5.0, 5.0))
    assert np.array_equal(plain, loaded.display) and not np.array_equal(drawn, loaded.display)
    assert render.loss_figure([]) is None and render.loss_figure([(1, {0: {"style": 2.0}})]) is not None


def test_quiet_detection_after_upload_feeds_the_click_prior(loaded, monkeypatch):
    from virtart.segmentation import detect

    monkeypatch.setattr(detect, "object_boxes", lambda rgb: [(60.0, 40.0, 200.0, 150.0)])
    photo_handlers.warm_segmenter(loaded)
    assert loaded.object_boxes == [(60.0, 40.0, 200.0, 150.0)]
    session = photo_handlers.click_photo(loaded, photo_handlers.INCLUDE, click(120, 90)).session
    assert session.mask[90, 120] == 1 and session.mask[:, 210:].sum() == 0

    def broken(rgb):
        raise RuntimeError("no detector")

    monkeypatch.setattr(detect, "object_boxes", broken)
    loaded.object_boxes = None
    photo_handlers.warm_segmenter(loaded)  # never raises: no boxes, no prior
    assert loaded.object_boxes == []
