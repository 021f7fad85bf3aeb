"""Regions chosen on a video's keyframe with the photo tools: a prompt (clicks and/or a box),
detected objects, mask images and "everything else". Shared by ``virtart video`` and the
app's ``/stylize_video`` API.

Coordinates are in the upright keyframe's pixels (x right, y down); masks come back as
:class:`~virtart.request.RegionRequest` items at the keyframe's size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from virtart import masks as mask_ops
from virtart.errors import VirtArtError
from virtart.request import RegionRequest
from virtart.segmentation.prompts import Prompt


def selected_masks(keyframe: np.ndarray, prompt: Prompt | None = None, *, detect: Sequence[str] = (),
                   masks: Sequence = (), backend: str = "auto",
                   min_score: float = 0.25) -> list[tuple[np.ndarray, str | None]]:
    """Each selected region's ``(H, W) float32`` mask on ``keyframe`` (``masks`` as given, the cut
    of ``prompt``, then every object of the ``detect`` classes), with the COCO class of a
    detected object (None for the others)."""
    from virtart.imageio import load_mask

    size = (keyframe.shape[1], keyframe.shape[0])
    chosen = [(load_mask(mask, size, label=f"mask {index}"), None) for index, mask in enumerate(masks, start=1)]
    if prompt is not None and not prompt.is_empty():
        from virtart.segmentation import get_segmenter
        from virtart.segmentation.prompts import cut

        chosen.append((cut(get_segmenter(backend), keyframe, prompt).mask, None))
    if detect:
        from virtart.segmentation.detect import detect_objects

        objects = detect_objects(keyframe, classes=list(detect), min_score=min_score)
        if not objects:
            raise VirtArtError(f"no {', '.join(detect)} found on the keyframe; try another frame")
        chosen.extend((obj.mask, obj.label) for obj in objects)
    return chosen


def region_requests(keyframe: np.ndarray, style, strength: float = 1.0, prompt: Prompt | None = None, *,
                    detect: Sequence[str] = (), masks: Sequence = (), everything_else: bool | str | None = None,
                    backend: str = "auto", min_score: float = 0.25) -> tuple[list[RegionRequest], list[str | None]]:
    """Regions for :func:`virtart.video.pipeline.stylize_video` (nothing selected: the whole
    frame) and, per region, the class of a detected object (its ``labels`` argument).

    ``everything_else``: None (off), True (repaint everything outside the selection instead)
    or a style (also repaint everything else, in that style)."""
    chosen = selected_masks(keyframe, prompt, detect=detect, masks=masks, backend=backend, min_score=min_score)
    requests = [RegionRequest(mask, style, strength) for mask, _ in chosen]
    labels = [label for _, label in chosen]
    if everything_else is None or everything_else is False:
        if not requests:
            return [RegionRequest(np.ones(keyframe.shape[:2], np.float32), style, strength)], [None]
        return requests, labels
    if not chosen:
        raise VirtArtError("everything else needs a selection first (clicks, a box, detected objects or a mask)")
    rest_style = style if everything_else is True else everything_else
    rest = RegionRequest(mask_ops.union(*[mask for mask, _ in chosen]), rest_style, strength, invert=True)
    if everything_else is True:
        return [rest], [None]
    return [rest, *requests], [None, *labels]
