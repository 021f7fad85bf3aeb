"""Handlers for the photo and its clicks: upload, click to add a point, undo, clear.

Each returns a :class:`~virtart.ui.page.PageUpdate` and refuses with
:class:`~virtart.errors.VirtArtError` before changing the session.
The photo is displayed at most ``DISPLAY_MAX_SIDE`` pixels wide; a click's displayed
``(x, y)`` is mapped back to the original photo's pixels before it reaches the segmenter.
"""

import contextlib
import os
import time
import warnings
from dataclasses import replace

import gradio as gr
import numpy as np

from virtart import masks as mask_ops
from virtart import settings
from virtart.edges import AUTO, band_radius
from virtart.errors import VirtArtError
from virtart.imageio import load_photo
from virtart.segmentation import get_segmenter
from virtart.segmentation.corrections import given_answer
from virtart.segmentation.prompts import Prompt, detector_prior
from virtart.ui import render
from virtart.ui.limits import DISPLAY_MAX_SIDE, MIN_PHOTO_SIDE
from virtart.ui.page import PageUpdate, restores
from virtart.ui.state import HISTORY, NEXT_REGION, Session
from virtart.ui.stylize_handlers import download_button

INCLUDE, EXCLUDE, BOX = "Include", "Exclude", "Box"  # Box: two corner clicks
MIN_BOX_SIDE = 2  # px of the photo
GROW_STEP = 3  # px one press of Grow or Shrink moves the outline by
# Clicks inside a detected object's box lean on it (bench/bench_clicks.py: cluttered scenes).
DETECTOR_PRIOR = True
AUTO_PX_SHOWN = 4  # the soft-edge slider's value under "automatic" before there is a photo to size it for


def app_max_pixels() -> int:
    """The app's own pixel limit (lower than the library's: every visitor's photo sits in memory)."""
    return min(settings.max_pixels(), int(os.environ.get("VIRTART_APP_MAX_PIXELS", 16_000_000)))


def segmenter():
    """The shared, read-only segmenter (``auto`` backend; the library builds it once)."""
    return get_segmenter("auto")


def editor_image(session: Session) -> np.ndarray | None:
    """What the photo panel shows: the photo, the regions, the current mask and clicks."""
    if session.display is None:
        return None
    return render.editor_view(session.display, session.scale, session.regions, session.mask, session.points,
                              session.box, session.strokes, session.corner, session.detections)


def photo_view(session: Session, status: str | None = None) -> PageUpdate:
    """The photo panel and its status line as they are now."""
    return PageUpdate(session=session, photo=editor_image(session),
                      status=status_text(session) if status is None else status)


def status_text(session: Session) -> str:
    if session.photo is None:
        return "Upload a photo or pick an example."
    width, height = session.photo.size
    parts = [f"{len(session.points)} click(s)"] + (["a box"] if session.box else []) + \
        ([f"{len(session.strokes)} stroke(s)"] if session.strokes else []) + \
        ([f"grown {session.grow:+d} px"] if session.grow else [])
    text = f"Photo {width}x{height}. {', '.join(parts)}, {len(session.regions)} region(s)."
    if session.editing is not None:
        text += f" Editing region {session.editing + 1}."
    if session.segmenter_name:
        text += f" Segmenter: {session.segmenter_name}"
        text += f", mask in {session.mask_ms:.0f} ms." if session.mask_ms else "."
    return text


def edge_controls(session: Session, softness: float | str) -> dict:
    """The "automatic edge" checkbox and the px slider for a look's ``softness`` ("auto" or
    px): with "auto" the slider shows, greyed, the width the photo gets (what
    :func:`virtart.edges.band_radius` picks for its size)."""
    if softness != AUTO:
        return {"edge_auto": False, "feather": gr.update(value=float(softness), interactive=True)}
    shown = band_radius(session.photo.rgb.shape) if session.photo is not None else AUTO_PX_SHOWN
    return {"edge_auto": True, "feather": gr.update(value=round(shown), interactive=False)}


def shown_photo(path: str | None, session: Session) -> PageUpdate:
    """The photo panel as the session has it (sent back when an upload is refused: the browser
    already shows the refused file)."""
    return PageUpdate(photo=editor_image(session))


@restores(shown_photo)
def upload_photo(path: str | None, session: Session) -> PageUpdate:
    """A new photo (a file path from ``gr.Image(type="filepath")``): decode, check, show; the
    regions, the detections and the result of the old photo go. A bad file leaves the session
    (and its previous photo, points, regions and result) as it was.
    """
    if path is None:
        return photo_view(session)
    photo = load_photo(path, label="the photo", max_pixels=app_max_pixels())
    if min(photo.size) < MIN_PHOTO_SIDE:
        raise VirtArtError(f"the photo is too small ({photo.size[0]}x{photo.size[1]}); at least "
                           f"{MIN_PHOTO_SIDE}x{MIN_PHOTO_SIDE} pixels")
    display, scale = render.fit_display(photo.rgb, DISPLAY_MAX_SIDE)
    session.reset_photo(photo, display, scale)
    view = editor_image(session)
    return PageUpdate(session=session, photo=view, status=status_text(session), thumbs=[], brush=render.brush_value(view),
                      **edge_controls(session, session.look.feather),
                      caption=render.look_caption(session),
                      picker=gr.update(choices=session.region_choices(), value=NEXT_REGION), detected=gr.update(choices=[], value=[]),
                      result=None, download=download_button(None), run_status="", plot=gr.update(value=None, visible=False))


def clear_photo(session: Session) -> PageUpdate:
    """The photo was removed (its x button): start over, keeping the chosen painting."""
    fresh = Session(look=session.look)
    return PageUpdate(session=fresh, status=status_text(fresh), thumbs=[], picker=gr.update(choices=fresh.region_choices(), value=NEXT_REGION),
                      detected=gr.update(choices=[], value=[]), result=None, download=download_button(None), run_status="")


def warm_segmenter(session: Session) -> None:
    """Compute the photo's embedding ahead of the first click (cached by content hash), then,
    quietly, the detector's boxes for the clicks' prior (none where no detector is at hand)."""
    if session.photo is None:
        return
    photo = session.photo
    with contextlib.suppress(VirtArtError):  # the click will report it
        segmenter().set_image(photo.rgb)
    if DETECTOR_PRIOR and session.object_boxes is None:
        from virtart.segmentation.detect import object_boxes  # imports ultralytics: only now

        boxes: list = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quiet: a missing detector only means no prior
            try:
                boxes = object_boxes(photo.rgb)
            except Exception:  # noqa: BLE001 - nobody asked for this step: it must never show an error
                boxes = []
        if session.photo is photo:  # the visitor may have moved on to another photo meanwhile
            session.object_boxes = boxes


def display_to_original(session: Session, x: float, y: float) -> tuple[float, float]:
    """A displayed pixel's ``(x, y)`` in the original photo, clamped inside it."""
    width, height = session.photo.size
    ox = min(max((x + 0.5) * session.scale - 0.5, 0.0), width - 1.0)
    oy = min(max((y + 0.5) * session.scale - 0.5, 0.0), height - 1.0)
    return round(ox, 2), round(oy, 2)


def _predict(session: Session, selection: Prompt, refine: bool) -> None:
    """Segment ``selection`` (clicks, box, strokes, then grown or shrunk; with neither clicks nor
    strokes, its ``previous`` mask, a detected object's, is only grown or shrunk); update the session
    only when it succeeded. Clicks inside a detected object's box lean on it (the detector
    prior) where the quiet detection after upload found objects."""
    if selection.is_empty() and selection.previous is None:
        session.clear_clicks()
        return
    if selection.previous is not None and not selection.points and not selection.strokes:
        # a detected object's own mask, grown or shrunk: nothing to segment
        session.points, session.box, session.strokes, session.base = [], selection.box, [], selection.previous
        session.grow, session.previous = selection.grow, None
        session.mask = mask_ops.grow(selection.previous, selection.grow)
        return
    model = segmenter()
    state = model.set_image(session.photo.rgb)
    prior = detector_prior(selection.points, session.object_boxes or []) if DETECTOR_PRIOR else None
    previous = session.previous if refine else None
    if refine and previous is None and selection.previous is not None:
        # the first click on a detected object's mask corrects that mask, it does not cut afresh
        previous = given_answer(state, selection.previous)
    prediction = model.predict(state, points=list(selection.points), box=selection.box,
                               previous=previous, strokes=selection.strokes, prior=prior)
    session.points, session.box, session.strokes = list(selection.points), selection.box, list(selection.strokes)
    session.grow, session.previous, session.base = selection.grow, prediction, selection.previous
    session.mask = mask_ops.grow(np.asarray(prediction.mask, dtype=np.float32), selection.grow)
    session.segmenter_name = prediction.backend or getattr(model, "name", "")




def change_selection(session: Session, selection: Prompt, refine: bool = True) -> None:
    """Make ``selection`` current (re-segmenting), keeping the one before for undo."""
    before = session.selection
    _predict(session, selection, refine)
    session.undo_stack = [*session.undo_stack[-(HISTORY - 1):], before]
    session.redo_stack = []


def _view(session: Session, started: float) -> PageUpdate:
    view = editor_image(session)
    session.mask_ms = (time.perf_counter() - started) * 1000.0  # server side: mapping, mask and drawing
    return PageUpdate(session=session, photo=view, status=status_text(session))


def click_photo(session: Session, mode: str, evt: gr.SelectData) -> PageUpdate:
    """A click on the displayed photo: an include or exclude point (re-segmenting), or in box
    mode one corner of the box (the second corner draws it and segments)."""
    started = time.perf_counter()
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) before clicking on it")
    index = getattr(evt, "index", None)
    if not isinstance(index, (list, tuple)) or len(index) != 2:
        raise VirtArtError("that click did not land on the photo: click on the photo itself")
    x, y = display_to_original(session, float(index[0]), float(index[1]))
    current = session.selection
    if mode == BOX:
        if session.corner is None:
            session.corner = (x, y)
            return photo_view(session, "First corner set: click the opposite corner of the box.")
        selection = replace(current.with_box(session.corner, (x, y)), previous=None)
        if min(selection.box.width, selection.box.height) < MIN_BOX_SIDE:
            raise VirtArtError(f"the box is too thin (under {MIN_BOX_SIDE} px): click two opposite corners")
        change_selection(session, selection, refine=False)
        session.corner = None
        return _view(session, started)
    label = 0 if mode == EXCLUDE else 1
    change_selection(session, current.with_click(x, y, label))
    session.corner = None
    return _view(session, started)


def _step_history(session: Session, source: list, target: list, nothing: str):
    """Move one selection from ``source`` (undo or redo stack) to the current one, the current
    one onto ``target``; the segmenter answers the restored selection afresh."""
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) first")
    if not source:
        raise VirtArtError(nothing)
    current = session.selection
    _predict(session, source[-1], refine=False)
    session.corner = None
    source.pop()
    target.append(current)
    return photo_view(session)


def undo_click(session: Session) -> PageUpdate:
    """Go back one change of the selection (a click, box, stroke, grow or shrink)."""
    return _step_history(session, session.undo_stack, session.redo_stack, "nothing to undo")


def redo_click(session: Session) -> PageUpdate:
    """Redo the change undone last."""
    return _step_history(session, session.redo_stack, session.undo_stack, "nothing to redo")


def grow_selection(session: Session, pixels: int) -> PageUpdate:
    """Grow (``pixels`` > 0) or shrink the current selection's mask."""
    if session.mask is None:
        raise VirtArtError("select something first (click, box or brush), then grow or shrink it")
    current = session.selection
    change_selection(session, replace(current, grow=current.grow + int(pixels)), refine=False)
    return photo_view(session)


def clear_clicks(session: Session) -> PageUpdate:
    """Forget the current points and mask (regions already made stay; undo brings them back)."""
    if not session.selection.is_empty():
        session.remember()
    session.clear_clicks()
    return photo_view(session)
