"""Handlers for regions and their paintings: add the selection, "everything else", detected
objects; pick, edit, invert, delete a region; pick a gallery painting or upload one's own, set
the strength, the colour option and the feather.

The painting controls act on the region picked in the list (at once, thumbnail and caption
redrawn), or, with "New regions" picked, set what the next region gets; the caption says
which. Each handler returns a :class:`~virtart.ui.page.PageUpdate` and refuses with
:class:`~virtart.errors.VirtArtError` before changing the session.
"""

from collections import Counter
from dataclasses import replace

import gradio as gr
import numpy as np

from virtart import masks as mask_ops
from virtart import styles
from virtart.edges import AUTO
from virtart.errors import VirtArtError
from virtart.imageio import load_image
from virtart.request import MAX_REGIONS, RegionRequest
from virtart.segmentation.prompts import Prompt
from virtart.ui import render
from virtart.ui.page import PageUpdate
from virtart.ui.photo_handlers import edge_controls, editor_image, status_text
from virtart.ui.state import NEXT_REGION, Session, shown_mask

MIN_PAINTING_SIDE = 8


def regions_update(session: Session) -> PageUpdate:
    """Photo, thumbnails, picker, status, and the painting controls showing the picked look."""
    region = session.selected_region()
    look = region or session.look
    value = session.selected if region else NEXT_REGION
    return PageUpdate(session=session, photo=editor_image(session), status=status_text(session),
                      thumbs=render.region_gallery(session.display, session.regions),
                      picker=gr.update(choices=session.region_choices(), value=value), caption=render.look_caption(session),
                      strength=look.strength, preserve=look.preserve_color, **edge_controls(session, look.feather))


def _require_photo(session: Session) -> None:
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) first")


def _new_region(session: Session, mask: np.ndarray, name: str, selection: Prompt | None) -> RegionRequest:
    if len(session.regions) >= MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions per photo: delete one first")
    if not np.any(mask >= 0.5):
        raise VirtArtError(f"the region '{name}' is empty")
    return replace(session.look, mask=mask.astype(np.float32), name=name, prompt=selection)


def _append(session: Session, *regions: RegionRequest) -> PageUpdate:
    session.regions.extend(regions)
    session.selected = len(session.regions) - 1  # a painting picked next applies to it
    return regions_update(session)


def add_click_region(session: Session) -> PageUpdate:
    """The current selection's mask becomes a region with the default look (or, while a region
    is being edited, that region's new mask, its look kept)."""
    _require_photo(session)
    if session.mask is None:
        raise VirtArtError("click on the photo first to select something, then add it as a region")
    editing = session.editing if session.editing is not None and session.editing < len(session.regions) else None
    if editing is not None:
        region = session.regions[editing]
        if not np.any(session.mask >= 0.5):
            raise VirtArtError(f"the region '{region.name}' would be empty")
        region.mask, region.prompt = session.mask.astype(np.float32), session.selection
        session.remember()
        session.clear_clicks()
        session.selected = editing
        return regions_update(session)
    region = _new_region(session, session.mask, f"selection {len(session.regions) + 1}", session.selection)
    session.remember()
    session.clear_clicks()
    return _append(session, region)


def edit_region(session: Session, index: int | None) -> PageUpdate:
    """The picked region's clicks, box, strokes (or detected mask) come back as the current
    selection; clicks, strokes, grow/shrink refine it, *Add selection* puts it back."""
    region = _pick(session, index)
    if region.prompt is None:
        raise VirtArtError(f"the region '{region.name}' covers everything else, so it has nothing to edit: "
                           "invert or delete it instead")
    session.remember()
    session.clear_clicks()
    selection = region.prompt
    session.points, session.box, session.strokes = list(selection.points), selection.box, list(selection.strokes)
    session.grow, session.base, session.mask = selection.grow, selection.previous, region.mask.copy()
    session.editing = session.selected = int(index)
    update = regions_update(session)
    update.status += f" Editing region {int(index) + 1}: click, box, brush or grow, then *Add selection*."
    return update


def add_everything_else(session: Session) -> PageUpdate:
    """One region for everything not yet in a region (nor in the current click mask)."""
    _require_photo(session)
    taken = [shown_mask(r) for r in session.regions] + ([session.mask] if session.mask is not None else [])
    height, width = session.photo.rgb.shape[:2]
    rest = mask_ops.invert(mask_ops.union(*taken)) if taken else np.ones((height, width), np.float32)
    if not np.any(rest >= 0.5):
        raise VirtArtError("nothing is left: the regions already cover the whole photo")
    return _append(session, _new_region(session, rest, "everything else", None))


def pick_region(session: Session, index: int | None) -> PageUpdate:
    """The picker changed: the painting controls now show and act on that region (or, for
    "New regions", on the next region)."""
    if index is None or int(index) == NEXT_REGION or session.photo is None:
        session.selected = None
    else:
        _pick(session, index)
        session.selected = int(index)
    return regions_update(session)


def invert_region(session: Session, index: int | None) -> PageUpdate:
    """Swap a region for its complement (the region's inside becomes outside)."""
    region = _pick(session, index)
    if not np.any(1.0 - shown_mask(region) >= 0.5):
        raise VirtArtError("the inverted region would be empty")
    region.invert = not region.invert
    return regions_update(session)


def delete_region(session: Session, index: int | None) -> PageUpdate:
    _pick(session, index)
    del session.regions[int(index)]
    if session.editing is not None:  # the indices moved: stop editing rather than edit the wrong one
        session.editing = None
    session.selected = min(int(index), len(session.regions) - 1) if session.regions else None
    return regions_update(session)


def _pick(session: Session, index: int | None) -> RegionRequest:
    if index is None or isinstance(index, bool) or not isinstance(index, (int, float, np.integer)) \
            or not 0 <= int(index) < len(session.regions):
        raise VirtArtError("choose a region in the list first")
    return session.regions[int(index)]


def _set_look(session: Session, **changes) -> PageUpdate:
    """Apply ``changes`` (painting, strength, colour, soft edge) to the picked region (or to
    what the next region gets)."""
    region = session.selected_region()
    if region is None:  # no photo yet, or "New regions": nothing to redraw but the caption and the edge
        session.look = replace(session.look, **changes)
        return PageUpdate(session=session, caption=render.look_caption(session),
                          **edge_controls(session, session.look.feather))
    session.regions[session.selected] = replace(region, **changes)
    return regions_update(session)


def _number(value, what: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VirtArtError(f"the {what} must be a number between {low:g} and {high:g}") from None
    if not low <= number <= high:  # NaN is refused too
        raise VirtArtError(f"the {what} must be between {low:g} and {high:g}, got {value}")
    return number


def set_strength(session: Session, value) -> PageUpdate:
    return _set_look(session, strength=_number(value, "strength", 0.0, 1.0))


def set_preserve(session: Session, value) -> PageUpdate:
    return _set_look(session, preserve_color=bool(value))


FEATHER_MAX = 50.0


def set_feather(session: Session, value) -> PageUpdate:
    """The soft-edge slider: that many px (the automatic edge is off from then on)."""
    return _set_look(session, feather=_number(value, "soft edge (px)", 0.0, FEATHER_MAX))


def set_edge_auto(session: Session, automatic, value) -> PageUpdate:
    """The "automatic edge" checkbox: "auto" when ticked, else the slider's ``value`` in px."""
    return _set_look(session, feather=AUTO if automatic else _number(value, "soft edge (px)", 0.0, FEATHER_MAX))


def select_style(session: Session, evt: gr.SelectData) -> PageUpdate:
    """A click in the painting gallery: that painting for the picked region (or the next one)."""
    available = styles.available()
    index = getattr(evt, "index", None)
    if not isinstance(index, int) or not 0 <= index < len(available):
        raise VirtArtError("pick one of the paintings shown")
    return _set_look(session, style=available[index].id)


def upload_style(session: Session, path: str | None) -> PageUpdate:
    """The visitor's own painting for the picked region (or the next one); refused if not an image."""
    if path is None:
        return PageUpdate(caption=render.look_caption(session))
    painting = load_image(path, label="the painting")
    if min(painting.shape[:2]) < MIN_PAINTING_SIDE:
        raise VirtArtError(f"the painting is too small; at least {MIN_PAINTING_SIDE}x{MIN_PAINTING_SIDE} pixels")
    return _set_look(session, style=painting)


def detection_choices(session: Session) -> list[tuple[str, str]]:
    """The detected objects grouped by class, the most frequent first: ``"elephant: all 15"``
    then ``"elephant 1"``, ``"elephant 4"``, ... (the numbers drawn on the photo)."""
    counts = Counter(d.label for d in session.detections)
    choices: list[tuple[str, str]] = []
    for label, count in counts.most_common():
        if count > 1:
            choices.append((f"{label}: all {count}", f"all:{label}"))
        choices += [(f"{label} {i + 1}", str(i)) for i, d in enumerate(session.detections) if d.label == label]
    return choices


def detection_summary(session: Session) -> str:
    counts = Counter(d.label for d in session.detections)
    return ", ".join(f"{label}: {count}" for label, count in counts.most_common())


def detect(session: Session) -> PageUpdate:
    """Find objects: each drawn on the photo with its outline and number in its own colour,
    listed grouped by class."""
    _require_photo(session)
    from virtart.segmentation.detect import detect_objects  # imports ultralytics: only when asked

    found = detect_objects(session.photo.rgb)
    session.detections = found
    update = PageUpdate(session=session, photo=editor_image(session), status=status_text(session),
                        detected=gr.update(choices=detection_choices(session), value=[],
                                           label=f"Detected: {detection_summary(session)}" if found
                                           else "Detected objects: none"))
    if not found:
        update.notice = "No objects found: click on the photo instead."
    else:
        update.status += f" Detected {detection_summary(session)}: tick them in the list (numbered as drawn)."
    return update


def ticked_objects(session: Session, ticked: list[str] | None) -> list[int]:
    """Indices into ``session.detections`` for the ticked choices ("all:label" or an index)."""
    chosen: list[int] = []
    for value in ticked or []:
        text = str(value)
        if text.startswith("all:"):
            chosen += [i for i, d in enumerate(session.detections) if d.label == text[4:]]
        elif text.isdigit() and int(text) < len(session.detections):
            chosen.append(int(text))
    return list(dict.fromkeys(chosen))


def add_detected(session: Session, ticked: list[str] | None) -> PageUpdate:
    """Each ticked object becomes a region (editable like a clicked one: its box and mask
    come back on *Edit*)."""
    _require_photo(session)
    chosen = ticked_objects(session, ticked)
    if not chosen:
        raise VirtArtError("tick at least one detected object first (or click on the photo)")
    if len(session.regions) + len(chosen) > MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions per photo: tick fewer objects or delete a region")
    new = []
    for index in chosen:
        found = session.detections[index]
        mask = found.mask.astype(np.float32)
        new.append(_new_region(session, mask, f"{found.label} {index + 1}", Prompt(box=found.box, previous=mask)))
    update = _append(session, *new)
    update.detected = gr.update(value=[])
    return update
