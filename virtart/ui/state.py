"""Per-session state, held in ``gr.State`` so no visitor's data can reach another session.

Coordinates: ``points`` are ``(x, y, label)`` in the ORIGINAL photo's pixels (label 1
includes, 0 excludes), as are the box ``(x0, y0, x1, y1)`` and the strokes' vertices. The
photo is displayed at ``display`` size; ``scale`` maps a displayed pixel to the original
(``x_orig = x_display * scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from virtart.imageio import Photo
from virtart.segmentation.base import Box, Stroke
from virtart.segmentation.detect import Detection
from virtart.segmentation.prompts import Prompt

Style = str | np.ndarray  # a gallery id, or a user's painting as (h, w, 3) uint8
HISTORY = 50  # undo steps kept per visitor


@dataclass
class RegionEntry:
    """One region the user made: ``mask`` is ``(H, W) float32`` at the photo's size."""

    mask: np.ndarray
    name: str
    style: Style = "starry_night"
    style_name: str = "starry_night"
    strength: float = 1.0
    invert: bool = False
    selection: Prompt | None = None  # the prompts it was made from (None: detected, or "everything else")

    def effective_mask(self) -> np.ndarray:
        return 1.0 - self.mask if self.invert else self.mask


@dataclass
class Session:
    """Everything one visitor has done so far."""

    photo: Photo | None = None
    display: np.ndarray | None = None  # the photo at display size, (h, w, 3) uint8
    scale: float = 1.0
    points: list[tuple[float, float, int]] = field(default_factory=list)
    box: Box | None = None
    strokes: list[Stroke] = field(default_factory=list)
    grow: int = 0  # px the current mask is grown (negative: shrunk) by
    corner: tuple[float, float] | None = None  # the first corner of a box being drawn
    undo_stack: list[Prompt] = field(default_factory=list)
    redo_stack: list[Prompt] = field(default_factory=list)
    editing: int | None = None  # the region whose selection came back for editing
    object_boxes: list[Box] | None = None  # the quiet detection's boxes (None: not run yet)
    mask: np.ndarray | None = None  # the current click mask, (H, W) float32
    previous: Any = None  # the segmenter's Prediction, passed back on the next click
    segmenter_name: str = ""
    mask_ms: float = 0.0  # server time of the last click (mapping, segmenter, drawing)
    regions: list[RegionEntry] = field(default_factory=list)
    detections: list[Detection] = field(default_factory=list)  # offered for ticking, largest first
    style: Style = "starry_night"
    style_name: str = "starry_night"
    result: np.ndarray | None = None
    report: dict | None = None

    def reset_photo(self, photo: Photo, display: np.ndarray, scale: float) -> None:
        """A new photo: everything tied to the old one goes."""
        self.photo, self.display, self.scale = photo, display, scale
        self.clear_clicks()
        self.mask_ms, self.undo_stack, self.redo_stack = 0.0, [], []
        self.regions, self.detections, self.object_boxes = [], [], None
        self.result, self.report = None, None

    def clear_clicks(self) -> None:
        self.points, self.mask, self.previous = [], None, None
        self.box, self.strokes, self.grow, self.corner, self.editing = None, [], 0, None, None

    @property
    def selection(self) -> Prompt:
        return Prompt(tuple(self.points), self.box, tuple(self.strokes), self.grow)

    def remember(self) -> None:
        """Keep the current selection for undo (a new action forgets what redo held)."""
        self.undo_stack = [*self.undo_stack[-(HISTORY - 1):], self.selection]
        self.redo_stack = []


def new_session() -> Session:
    """The value ``gr.State`` starts each visitor with (deep-copied per session by Gradio)."""
    return Session()
