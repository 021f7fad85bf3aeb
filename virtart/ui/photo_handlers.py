"""Handlers for the photo and its clicks: upload, click to add a point, undo, clear.

Each returns the new :class:`~virtart.ui.state.Session` first, then what the page shows.
The photo is displayed at most ``DISPLAY_MAX_SIDE`` pixels wide; a click's displayed
``(x, y)`` is mapped back to the original photo's pixels before it reaches the segmenter.
"""

import contextlib
import os
import time

import gradio as gr
import numpy as np

from virtart import settings
from virtart.errors import VirtArtError
from virtart.imageio import load_photo
from virtart.segmentation import get_segmenter
from virtart.ui import render
from virtart.ui.limits import DISPLAY_MAX_SIDE, MIN_PHOTO_SIDE
from virtart.ui.messages import user_facing
from virtart.ui.state import Session

INCLUDE, EXCLUDE = "Include (add to the mask)", "Exclude (remove from the mask)"

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
    return render.editor_view(session.display, session.scale, session.regions, session.mask, session.points)


def status_text(session: Session) -> str:
    if session.photo is None:
        return "Upload a photo or pick an example."
    width, height = session.photo.size
    text = f"Photo {width}x{height}. {len(session.points)} click(s), {len(session.regions)} region(s)."
    if session.segmenter_name:
        text += f" Segmenter: {session.segmenter_name}"
        text += f", mask in {session.mask_ms:.0f} ms." if session.mask_ms else "."
    return text


@user_facing
def upload_photo(path: str | None, session: Session) -> tuple[Session, np.ndarray | None, list, str]:
    """A new photo (a file path from ``gr.Image(type="filepath")``): decode, check, show.

    Returns ``(session, editor image, region thumbnails, status)``. A bad file leaves the
    session (and its previous photo, points and regions) as it was.
    """
    if path is None:
        return session, editor_image(session), render.region_gallery(session.display, session.regions), \
            status_text(session)
    photo = load_photo(path, label="the photo", max_pixels=app_max_pixels())
    if min(photo.size) < MIN_PHOTO_SIDE:
        raise VirtArtError(f"the photo is too small ({photo.size[0]}x{photo.size[1]}); at least "
                           f"{MIN_PHOTO_SIDE}x{MIN_PHOTO_SIDE} pixels")
    display, scale = render.fit_display(photo.rgb, DISPLAY_MAX_SIDE)
    session.reset_photo(photo, display, scale)
    return session, editor_image(session), [], status_text(session)


def clear_photo(session: Session) -> tuple[Session, list, str]:
    """The photo was removed (its x button): start over, keeping the chosen painting."""
    fresh = Session(style=session.style, style_name=session.style_name)
    return fresh, [], status_text(fresh)


def warm_segmenter(session: Session) -> None:
    """Compute the photo's embedding ahead of the first click (cached by content hash)."""
    if session.photo is None:
        return
    with contextlib.suppress(VirtArtError):  # the click will report it
        segmenter().set_image(session.photo.rgb)


def display_to_original(session: Session, x: float, y: float) -> tuple[float, float]:
    """A displayed pixel's ``(x, y)`` in the original photo, clamped inside it."""
    width, height = session.photo.size
    ox = min(max((x + 0.5) * session.scale - 0.5, 0.0), width - 1.0)
    oy = min(max((y + 0.5) * session.scale - 0.5, 0.0), height - 1.0)
    return round(ox, 2), round(oy, 2)


def _predict(session: Session, points: list[tuple[float, float, int]], refine: bool) -> None:
    """Run the segmenter on ``points``; update the session only when it succeeded."""
    model = segmenter()
    state = model.set_image(session.photo.rgb)
    prediction = model.predict(state, points=points, previous=session.previous if refine else None)
    session.points, session.previous = points, prediction
    session.mask = np.asarray(prediction.mask, dtype=np.float32)
    session.segmenter_name = prediction.backend or getattr(model, "name", "")


@user_facing
def click_photo(session: Session, mode: str, evt: gr.SelectData) -> tuple[Session, np.ndarray, str]:
    """A click on the displayed photo adds an include (or exclude) point and re-segments."""
    started = time.perf_counter()
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) before clicking on it")
    x, y = display_to_original(session, float(evt.index[0]), float(evt.index[1]))
    label = 0 if mode == EXCLUDE else 1
    _predict(session, [*session.points, (x, y, label)], refine=True)
    view = editor_image(session)
    session.mask_ms = (time.perf_counter() - started) * 1000.0  # server side: mapping, mask and drawing
    return session, view, status_text(session)


@user_facing
def undo_click(session: Session) -> tuple[Session, np.ndarray | None, str]:
    """Remove the last point and re-segment from the remaining ones."""
    if session.points[:-1]:
        _predict(session, session.points[:-1], refine=False)
    else:
        session.clear_clicks()
    return session, editor_image(session), status_text(session)


def clear_clicks(session: Session) -> tuple[Session, np.ndarray | None, str]:
    """Forget the current points and mask (regions already made stay)."""
    session.clear_clicks()
    return session, editor_image(session), status_text(session)
