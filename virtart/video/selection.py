"""Regions chosen on a video's keyframe with the photo tools: clicks, a box, detected objects,
mask images and "everything else". Shared by ``virtart video`` and the app's Video tab.

Coordinates are in the upright keyframe's pixels (x right, y down); masks come back as
:class:`~virtart.pipeline.RegionRequest` items at the keyframe's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from virtart import masks as mask_ops
from virtart.errors import VirtArtError
from virtart.pipeline import RegionRequest
from virtart.segmentation.base import Box, Point, check_prompts


@dataclass
class Selection:
    """What the user picked on the keyframe.

    ``points``/``box``: one region segmented from clicks and/or a box. ``detect``: COCO class
    names; every object found is a region. ``masks``: ``(H, W)`` arrays or mask image paths.
    ``everything_else``: None (off), True (repaint everything outside the selection instead)
    or a style (also repaint everything else, in that style).
    """

    points: list[Point] = field(default_factory=list)
    box: Box | None = None
    detect: list[str] | None = None
    masks: list = field(default_factory=list)
    everything_else: bool | str | None = None
    backend: str = "auto"
    min_score: float = 0.25


def selected_masks(selection: Selection, keyframe: np.ndarray) -> list[tuple[np.ndarray, str | None]]:
    """Each selected region's ``(H, W) float32`` mask on ``keyframe``, with the COCO class of a
    detected object (None for the others)."""
    from virtart.imageio import load_mask

    size = (keyframe.shape[1], keyframe.shape[0])
    chosen = [(load_mask(mask, size, label=f"mask {index}"), None)
              for index, mask in enumerate(selection.masks, start=1)]
    if selection.points or selection.box is not None:
        from virtart.segmentation import get_segmenter

        check_prompts(size, selection.points, selection.box)
        segmenter = get_segmenter(selection.backend)
        chosen.append((segmenter.predict(segmenter.set_image(keyframe), selection.points, selection.box).mask, None))
    if selection.detect:
        from virtart.segmentation.detect import detect_objects

        objects = detect_objects(keyframe, classes=selection.detect, min_score=selection.min_score)
        if not objects:
            raise VirtArtError(f"no {', '.join(selection.detect)} found on the keyframe; try another frame")
        chosen.extend((obj.mask, obj.label) for obj in objects)
    return chosen


def region_requests(selection: Selection, keyframe: np.ndarray, style,
                    strength: float = 1.0) -> tuple[list[RegionRequest], list[str | None]]:
    """Regions for :func:`virtart.video.pipeline.stylize_video` (no selection: the whole frame)
    and, per region, the class of a detected object (its ``labels`` argument)."""
    chosen = selected_masks(selection, keyframe)
    requests = [RegionRequest(mask, style, strength) for mask, _ in chosen]
    labels = [label for _, label in chosen]
    if selection.everything_else is None or selection.everything_else is False:
        if not requests:
            return [RegionRequest(np.ones(keyframe.shape[:2], np.float32), style, strength)], [None]
        return requests, labels
    if not chosen:
        raise VirtArtError("everything else needs a selection first (clicks, a box, detected objects or a mask)")
    rest_style = style if selection.everything_else is True else selection.everything_else
    rest = RegionRequest(mask_ops.union(*[mask for mask, _ in chosen]), rest_style, strength, invert=True)
    if selection.everything_else is True:
        return [rest], [None]
    return [rest, *requests], [None, *labels]
