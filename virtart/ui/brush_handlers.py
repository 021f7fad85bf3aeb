"""The brush: include and exclude strokes painted on a copy of the photo (``gr.ImageEditor``).

The editor shows the photo at display size with the current selection drawn on it; the
visitor paints with the green (include) or red (exclude) brush and presses *Apply strokes*.
Each painted blob becomes one :class:`~virtart.segmentation.base.Stroke` along its middle
(:func:`~virtart.segmentation.prompts.medial_stroke`), mapped to the original photo's pixels,
and joins the current selection: hard constraints for the offline segmenter, points along the
stroke for SAM.
"""

import time
from dataclasses import replace

import cv2
import numpy as np

from virtart.errors import VirtArtError
from virtart.segmentation.base import Stroke
from virtart.segmentation.prompts import medial_stroke
from virtart.ui.page import PageUpdate
from virtart.ui.photo_handlers import change_selection, editor_image, photo_view
from virtart.ui.render import brush_value
from virtart.ui.state import Session

BRUSH_INCLUDE, BRUSH_EXCLUDE = "#28c846", "#e62828"
MIN_BLOB = 4  # painted pixels below this count are stray dabs


def brush_canvas(session: Session) -> PageUpdate:
    """The brush panel shows the photo as it looks now (regions, selection), nothing painted."""
    return PageUpdate(brush=brush_value(editor_image(session)))


def painted_strokes(value: dict | None, display_size: tuple[int, int], scale: float) -> list[Stroke]:
    """Strokes from an editor value ``{"background", "layers", "composite"}`` (``(h, w, 4)``
    RGBA layers at display size ``(w, h)``): green paint includes, red excludes."""
    if not isinstance(value, dict):
        return []
    layers = [np.asarray(layer) for layer in value.get("layers") or [] if layer is not None]
    strokes = []
    for layer in layers:
        if layer.ndim != 3 or layer.shape[2] < 3:
            continue
        painted = layer[..., 3] > 0 if layer.shape[2] == 4 else np.any(layer > 0, axis=2)
        red, green = layer[..., 0].astype(np.int32), layer[..., 1].astype(np.int32)
        ratio = (display_size[0] / layer.shape[1], display_size[1] / layer.shape[0])
        for label, paint in ((1, painted & (green > red)), (0, painted & (red >= green))):
            count, blobs = cv2.connectedComponents(paint.astype(np.uint8), connectivity=8)
            for index in range(1, count):
                blob = blobs == index
                if np.count_nonzero(blob) < MIN_BLOB:
                    continue
                depth = cv2.distanceTransform(np.pad(blob.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
                stroke = medial_stroke(blob, depth, label)
                strokes.append(Stroke(tuple(((x + 0.5) * ratio[0] * scale - 0.5, (y + 0.5) * ratio[1] * scale - 0.5)
                                            for x, y in stroke.points), label))
    return strokes


def apply_brush(session: Session, value: dict | None) -> PageUpdate:
    """The painted strokes join the selection and re-segment; the canvas starts afresh on the new view."""
    started = time.perf_counter()
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) before painting strokes")
    height, width = session.display.shape[:2]
    strokes = painted_strokes(value, (width, height), session.scale)
    if not strokes:
        raise VirtArtError("paint on the photo in the Brush panel first (green includes, red excludes)")
    image_width, image_height = session.photo.size
    strokes = [Stroke(tuple((min(max(x, 0.0), image_width - 1.0), min(max(y, 0.0), image_height - 1.0))
                            for x, y in s.points), s.label) for s in strokes]
    current = session.selection
    change_selection(session, replace(current, strokes=(*current.strokes, *strokes)))
    session.mask_ms = (time.perf_counter() - started) * 1000.0
    update = photo_view(session)
    update.brush = brush_value(update.photo)
    return update
