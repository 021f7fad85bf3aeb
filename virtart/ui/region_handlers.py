"""Handlers for regions and styles: add the clicked mask, "everything else", detected
objects, invert/delete/restyle a region, pick a gallery painting or upload one's own.

Each returns the new :class:`~virtart.ui.state.Session` first. A failing action raises
``gr.Error`` before touching the session, so the visitor's points and regions stay.
"""

import gradio as gr
import numpy as np

from virtart import masks as mask_ops
from virtart import styles
from virtart.errors import VirtArtError
from virtart.imageio import load_image
from virtart.request import MAX_REGIONS
from virtart.ui import render
from virtart.ui.messages import user_facing
from virtart.ui.photo_handlers import editor_image, status_text
from virtart.ui.state import RegionEntry, Session


def region_choices(session: Session) -> list[tuple[str, int]]:
    """``(label, index)`` pairs for the region picker."""
    return [(f"{i + 1}. {r.name}", i) for i, r in enumerate(session.regions)]


def _region_outputs(session: Session, selected: int | None = None):
    """``(session, editor image, thumbnails, picker update, status)`` after a region change."""
    choices = region_choices(session)
    if selected is None or selected >= len(choices):
        selected = len(choices) - 1 if choices else None
    return (session, editor_image(session), render.region_gallery(session.display, session.regions),
            gr.update(choices=choices, value=selected), status_text(session))


def _new_region(session: Session, mask: np.ndarray, name: str, strength: float) -> RegionEntry:
    if len(session.regions) >= MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions per photo: delete one first")
    if not np.any(mask >= 0.5):
        raise VirtArtError(f"the region '{name}' is empty")
    return RegionEntry(mask=mask.astype(np.float32), name=name, style=session.style,
                       style_name=session.style_name, strength=float(strength))


def _require_photo(session: Session) -> None:
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) first")


@user_facing
def add_click_region(session: Session, strength: float):
    """The current selection's mask becomes a region with the selected style and strength (or,
    while a region is being edited, that region's new mask, its style and strength kept)."""
    _require_photo(session)
    if session.mask is None:
        raise VirtArtError("click on the photo first to select something, then add it as a region")
    editing = session.editing if session.editing is not None and session.editing < len(session.regions) else None
    if editing is not None:
        region = session.regions[editing]
        if not np.any(session.mask >= 0.5):
            raise VirtArtError(f"the region '{region.name}' would be empty")
        region.mask, region.selection = session.mask.astype(np.float32), session.selection
    else:
        region = _new_region(session, session.mask, f"selection {len(session.regions) + 1}", strength)
        region.selection = session.selection
        session.regions.append(region)
    session.remember()
    session.clear_clicks()
    return _region_outputs(session, editing)


@user_facing
def edit_region(session: Session, index: int | None):
    """The picked region's clicks, box and strokes come back as the current selection (its mask
    as it is); further clicks, strokes, grow/shrink refine it, *Add selection* puts it back."""
    region = _pick(session, index)
    if region.selection is None:
        raise VirtArtError(f"the region '{region.name}' was not made from clicks, a box or strokes: "
                           "invert or delete it instead")
    session.remember()
    session.clear_clicks()
    selection = region.selection
    session.points, session.box, session.strokes = list(selection.points), selection.box, list(selection.strokes)
    session.grow, session.mask, session.editing = selection.grow, region.mask.copy(), int(index)
    return _region_outputs(session, int(index))


@user_facing
def add_everything_else(session: Session, strength: float):
    """One region for everything not yet in a region (nor in the current click mask)."""
    _require_photo(session)
    taken = [r.effective_mask() for r in session.regions] + ([session.mask] if session.mask is not None else [])
    height, width = session.photo.rgb.shape[:2]
    rest = mask_ops.invert(mask_ops.union(*taken)) if taken else np.ones((height, width), np.float32)
    if not np.any(rest >= 0.5):
        raise VirtArtError("nothing is left: the regions already cover the whole photo")
    session.regions.append(_new_region(session, rest, "everything else", strength))
    return _region_outputs(session)


@user_facing
def invert_region(session: Session, index: int | None):
    """Swap a region for its complement (the region's inside becomes outside)."""
    region = _pick(session, index)
    if not np.any(1.0 - region.effective_mask() >= 0.5):
        raise VirtArtError("the inverted region would be empty")
    region.invert = not region.invert
    return _region_outputs(session, index)


@user_facing
def delete_region(session: Session, index: int | None):
    _pick(session, index)
    del session.regions[index]
    if session.editing is not None:  # the indices moved: stop editing rather than edit the wrong one
        session.editing = None
    return _region_outputs(session, index)


@user_facing
def restyle_region(session: Session, index: int | None, strength: float):
    """Give a region the currently selected painting and the strength slider's value."""
    region = _pick(session, index)
    region.style, region.style_name, region.strength = session.style, session.style_name, float(strength)
    return _region_outputs(session, index)


def _pick(session: Session, index: int | None) -> RegionEntry:
    if index is None or not 0 <= int(index) < len(session.regions):
        raise VirtArtError("choose a region in the list first")
    return session.regions[int(index)]


@user_facing
def detect(session: Session):
    """Find objects; offer them as ``"label score"`` ticks (largest first)."""
    _require_photo(session)
    from virtart.segmentation.detect import detect_objects  # imports ultralytics: only when asked

    found = detect_objects(session.photo.rgb)
    session.detections = found
    if not found:
        gr.Info("No objects found: click on the photo instead.")
    choices = [(f"{d.label} ({d.score:.2f})", i) for i, d in enumerate(session.detections)]
    return session, gr.update(choices=choices, value=[])


@user_facing
def add_detected(session: Session, ticked: list[int] | None, strength: float):
    """Each ticked object becomes a region."""
    _require_photo(session)
    if not ticked:
        raise VirtArtError("tick at least one detected object first (or click on the photo)")
    chosen = [session.detections[i] for i in ticked if 0 <= i < len(session.detections)]
    if len(session.regions) + len(chosen) > MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions per photo: tick fewer objects or delete a region")
    first = len(session.regions) + 1
    new = [_new_region(session, det.mask, f"{det.label} {first + i}", strength) for i, det in enumerate(chosen)]
    session.regions.extend(new)
    return _region_outputs(session)


def select_style(session: Session, evt: gr.SelectData) -> tuple[Session, str]:
    """A click in the style gallery picks that painting for the next regions."""
    available = styles.available()
    painting = available[evt.index] if 0 <= evt.index < len(available) else None
    if painting is not None:
        session.style, session.style_name = painting.id, painting.id
    return session, style_caption(session)


@user_facing
def upload_style(session: Session, path: str | None) -> tuple[Session, str]:
    """The visitor's own painting becomes the selected style (refused if not an image)."""
    if path is None:
        return session, style_caption(session)
    painting = load_image(path, label="the painting")
    if min(painting.shape[:2]) < 8:
        raise VirtArtError("the painting is too small; at least 8x8 pixels")
    session.style, session.style_name = painting, "your painting"
    return session, style_caption(session)


def style_caption(session: Session) -> str:
    if isinstance(session.style, str) and session.style in styles.BY_ID:
        painting = styles.BY_ID[session.style]
        return f"Style: **{painting.title}**, {painting.painter} ({painting.year})"
    return "Style: **your own painting**"
