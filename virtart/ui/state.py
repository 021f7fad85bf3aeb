"""Per-session state, held in ``gr.State`` so no visitor's data can reach another session.

A :class:`Session` holds three things, each with what its panel needs and nothing more:
the photo (:class:`PhotoState`), the selection being made and the regions made so far, and
the last result (:class:`ResultView`, at display size: what the result panel shows and what
Stop keeps).

Coordinates: ``points`` are ``(x, y, label)`` in the ORIGINAL photo's pixels (label 1
includes, 0 excludes), as are the box ``(x0, y0, x1, y1)`` and the strokes' vertices. The
photo is displayed at ``display`` size; ``scale`` maps a displayed pixel to the original
(``x_orig = x_display * scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from virtart.engines.composite import DEFAULT_FEATHER
from virtart.imageio import Photo
from virtart.segmentation.base import Box, Stroke
from virtart.segmentation.detect import Detection
from virtart.segmentation.prompts import Prompt

Style = str | np.ndarray  # a gallery id, or a user's painting as (h, w, 3) uint8
HISTORY = 50  # undo steps kept per visitor
NEXT_REGION = -1  # the region picker's value for "what the next region gets"


@dataclass(frozen=True)
class Look:
    """How one region is painted: its painting (``style``, shown as ``style_name``), strength
    in [0, 1], whether the photo's colours are kept, and the soft edge: "auto" (follows the
    photo, :data:`virtart.edges.AUTO`) or px."""

    style: Any = "starry_night"  # Style; Any so the frozen dataclass takes an array
    style_name: str = "starry_night"
    strength: float = 1.0
    preserve_color: bool = False
    feather: float | str = DEFAULT_FEATHER

    def with_values(self, **changes) -> Look:
        return replace(self, **changes)


@dataclass
class RegionEntry:
    """One region the user made: ``mask`` is ``(H, W) float32`` at the photo's size."""

    mask: np.ndarray
    name: str
    look: Look = field(default_factory=Look)
    invert: bool = False
    selection: Prompt | None = None  # the prompts it was made from (None: "everything else")

    def effective_mask(self) -> np.ndarray:
        return 1.0 - self.mask if self.invert else self.mask


@dataclass
class ResultView:
    """The last result as the page shows it: ``before`` and ``after`` at display size
    ``(h, w, 3) uint8``, the full-resolution PNG's path (None for a stopped run's preview)."""

    before: np.ndarray
    after: np.ndarray
    download: str | None = None


@dataclass
class Session:
    """Everything one visitor has done so far."""

    # the photo
    photo: Photo | None = None
    display: np.ndarray | None = None  # the photo at display size, (h, w, 3) uint8
    scale: float = 1.0
    object_boxes: list[Box] | None = None  # the quiet detection's boxes (None: not run yet)
    # the selection being made
    points: list[tuple[float, float, int]] = field(default_factory=list)
    box: Box | None = None
    strokes: list[Stroke] = field(default_factory=list)
    grow: int = 0  # px the current mask is grown (negative: shrunk) by
    base: np.ndarray | None = None  # the mask the selection started from (a detected object's)
    corner: tuple[float, float] | None = None  # the first corner of a box being drawn
    undo_stack: list[Prompt] = field(default_factory=list)
    redo_stack: list[Prompt] = field(default_factory=list)
    editing: int | None = None  # the region whose selection came back for editing
    mask: np.ndarray | None = None  # the current click mask, (H, W) float32
    previous: Any = None  # the segmenter's Prediction, passed back on the next click
    segmenter_name: str = ""
    mask_ms: float = 0.0  # server time of the last click (mapping, segmenter, drawing)
    # the regions
    regions: list[RegionEntry] = field(default_factory=list)
    selected: int | None = None  # the region the painting controls apply to (None: the next one)
    look: Look = field(default_factory=Look)  # what the next region gets
    detections: list[Detection] = field(default_factory=list)  # offered for ticking, numbered as drawn
    # the result
    result: ResultView | None = None  # the last result (what the result panel shows)
    preview: ResultView | None = None  # the running stylization's last preview (what Stop keeps)
    preview_step: int = 0

    def reset_photo(self, photo: Photo, display: np.ndarray, scale: float) -> None:
        """A new photo: everything tied to the old one goes (the chosen look stays)."""
        self.photo, self.display, self.scale = photo, display, scale
        self.clear_clicks()
        self.mask_ms, self.undo_stack, self.redo_stack = 0.0, [], []
        self.regions, self.detections, self.object_boxes, self.selected = [], [], None, None
        self.result, self.preview = None, None

    def clear_clicks(self) -> None:
        self.points, self.mask, self.previous, self.base = [], None, None, None
        self.box, self.strokes, self.grow, self.corner, self.editing = None, [], 0, None, None

    @property
    def selection(self) -> Prompt:
        """The current prompt; ``previous`` is the mask it started from (a detected object's)."""
        return Prompt(tuple(self.points), self.box, tuple(self.strokes), self.grow, self.base)

    def remember(self) -> None:
        """Keep the current selection for undo (a new action forgets what redo held)."""
        self.undo_stack = [*self.undo_stack[-(HISTORY - 1):], self.selection]
        self.redo_stack = []

    def region_choices(self) -> list[tuple[str, int]]:
        """``(label, value)`` pairs for the region picker: "New regions", then each region."""
        return [("New regions (default)", NEXT_REGION)] + [(f"{i + 1}. {r.name}", i) for i, r in enumerate(self.regions)]

    def selected_region(self) -> RegionEntry | None:
        if self.selected is not None and 0 <= self.selected < len(self.regions):
            return self.regions[self.selected]
        return None


def new_session() -> Session:
    """The value ``gr.State`` starts each visitor with (deep-copied per session by Gradio)."""
    return Session()
