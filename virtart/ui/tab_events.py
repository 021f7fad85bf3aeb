"""The events the photo tab and the Video tab share, in one table: clicks, undo, grow and
clear on the picture (the photo, or the clip's keyframe), making regions, and the painting
controls acting on the picked region. Both tabs wire the same handlers
(:mod:`~virtart.ui.photo_handlers`, :mod:`~virtart.ui.region_handlers`) with the same inputs,
each on its own components and its own session.

A row of :data:`EVENTS` is ``(component, event, handler, inputs, fields, group)``:
``component`` and ``inputs`` are keys of a tab's ``ui`` dict, ``fields`` the
:class:`~virtart.ui.page.PageUpdate` fields the event may change, ``group`` the concurrency
group it runs in ("segment": the segmenter, "heavy": the detector, None: a quick event).
"""

from __future__ import annotations

from collections.abc import Callable

from virtart.ui import photo_handlers, region_handlers
from virtart.ui.page import PageUpdate
from virtart.ui.photo_handlers import GROW_STEP
from virtart.ui.state import Session

# What each kind of event may change (fields of virtart.ui.page.PageUpdate).
VIEW = ("session", "photo", "status", "notice")
REGIONS = (*VIEW, "thumbs", "picker", "caption", "strength", "preserve", "feather", "edge_auto")
DETECTED = (*VIEW, "detected")


def grow(session: Session) -> PageUpdate:
    return photo_handlers.grow_selection(session, GROW_STEP)


def shrink(session: Session) -> PageUpdate:
    return photo_handlers.grow_selection(session, -GROW_STEP)


EVENTS: tuple[tuple[str, str, Callable[..., PageUpdate], tuple[str, ...], tuple[str, ...], str | None], ...] = (
    ("photo", "select", photo_handlers.click_photo, ("session", "mode"), VIEW, "segment"),
    ("undo", "click", photo_handlers.undo_click, ("session",), VIEW, "segment"),
    ("redo", "click", photo_handlers.redo_click, ("session",), VIEW, "segment"),
    ("grow", "click", grow, ("session",), VIEW, None),
    ("shrink", "click", shrink, ("session",), VIEW, None),
    ("clear", "click", photo_handlers.clear_clicks, ("session",), VIEW, None),
    ("add", "click", region_handlers.add_click_region, ("session",), REGIONS, None),
    ("rest", "click", region_handlers.add_everything_else, ("session",), REGIONS, None),
    ("invert", "click", region_handlers.invert_region, ("session", "picker"), REGIONS, None),
    ("delete", "click", region_handlers.delete_region, ("session", "picker"), REGIONS, None),
    ("edit", "click", region_handlers.edit_region, ("session", "picker"), REGIONS, None),
    ("picker", "input", region_handlers.pick_region, ("session", "picker"), REGIONS, None),
    ("detect", "click", region_handlers.detect, ("session",), DETECTED, "heavy"),
    ("add_detected", "click", region_handlers.add_detected, ("session", "detected"), (*REGIONS, "detected"), None),
    ("gallery", "select", region_handlers.select_style, ("session",), REGIONS, None),
    ("upload", "upload", region_handlers.upload_style, ("session", "upload"), REGIONS, None),
    ("strength", "release", region_handlers.set_strength, ("session", "strength"), REGIONS, None),
    ("feather", "release", region_handlers.set_feather, ("session", "feather"), REGIONS, None),
    ("edge_auto", "input", region_handlers.set_edge_auto, ("session", "edge_auto", "feather"), REGIONS, None),
    ("preserve", "input", region_handlers.set_preserve, ("session", "preserve"), REGIONS, None),
)


def wire(on: Callable, ui: dict, groups: dict[str, dict]) -> None:
    """Wire every shared event on a tab's components. ``on(trigger, handler, inputs, fields,
    **options)``: the tab's wiring of a handler returning a PageUpdate; ``ui``: its
    components by key; ``groups``: the concurrency options of "segment" and "heavy"."""
    for key, event, handler, inputs, fields, group in EVENTS:
        # A quick event shows no spinner; Detect's spinner sits on the list it fills.
        shown = {"show_progress_on": [ui["detected"]]} if key == "detect" else {"show_progress": "hidden"}
        on(getattr(ui[key], event), handler, [ui[name] for name in inputs], fields, **shown, **groups.get(group, {}))
