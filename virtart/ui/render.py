"""Pictures the app shows: the photo with masks and clicks, region thumbnails, the style
gallery's items and the loss curves. Inputs are ``(H, W, 3) uint8`` photos and
``(H, W) float32`` masks at the photo's size; outputs are at display size."""

from __future__ import annotations

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart import styles
from virtart.geometry import resize_image, shrink_to
from virtart.segmentation.base import Box, Stroke
from virtart.ui.state import RegionEntry

CLICK_COLOR = (30, 144, 255)
BOX_COLOR = (255, 170, 0)
INCLUDE_COLOR = (40, 200, 70)
EXCLUDE_COLOR = (230, 40, 40)
REGION_COLORS = [(170, 60, 255), (0, 210, 210), (255, 60, 150), (255, 210, 0), (120, 200, 40), (255, 140, 0)]
THUMB_SIDE = 160


def fit_display(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The photo shrunk so its long side is at most ``max_side``, and original/displayed scale."""
    width = rgb.shape[1]
    size = shrink_to((width, rgb.shape[0]), max_side)
    return resize_image(rgb, size), width / size[0]


def to_display(mask: np.ndarray, display: np.ndarray) -> np.ndarray:
    """A full-size mask resized to the displayed photo's size."""
    if mask.shape == display.shape[:2]:
        return mask
    return mask_ops.resize_mask(mask, (display.shape[1], display.shape[0]))


def draw_points(image: np.ndarray, points: list[tuple[float, float, int]], scale: float) -> np.ndarray:
    """Green dots for include clicks, red for exclude, at original coordinates / ``scale``."""
    image = image.copy()
    radius = max(4, round(max(image.shape[:2]) / 120))
    for x, y, label in points:
        center = (round(x / scale), round(y / scale))
        color = INCLUDE_COLOR if label == 1 else EXCLUDE_COLOR
        cv2.circle(image, center, radius + 2, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, center, radius, color, -1, cv2.LINE_AA)
    return image


def draw_prompts(image: np.ndarray, scale: float, box: Box | None, strokes: list[Stroke],
                 corner: tuple[float, float] | None) -> np.ndarray:
    """The box (a dashed-looking white-and-blue frame), the strokes (green include, red exclude)
    and a box's first corner, at original coordinates / ``scale``."""
    image = image.copy()
    width = max(2, round(max(image.shape[:2]) / 300))
    if box is not None:
        p0, p1 = (round(box[0] / scale), round(box[1] / scale)), (round(box[2] / scale), round(box[3] / scale))
        cv2.rectangle(image, p0, p1, (255, 255, 255), width + 2, cv2.LINE_AA)
        cv2.rectangle(image, p0, p1, BOX_COLOR, width, cv2.LINE_AA)
    for stroke in strokes:
        polyline = np.round(np.asarray(stroke.points) / scale).astype(np.int32).reshape(-1, 1, 2)
        color = INCLUDE_COLOR if stroke.label == 1 else EXCLUDE_COLOR
        cv2.polylines(image, [polyline], False, (255, 255, 255), 2 * width + 2, cv2.LINE_AA)
        cv2.polylines(image, [polyline], False, color, 2 * width, cv2.LINE_AA)
    if corner is not None:
        centre = (round(corner[0] / scale), round(corner[1] / scale))
        cv2.drawMarker(image, centre, (255, 255, 255), cv2.MARKER_CROSS, 8 * width, width + 2)
        cv2.drawMarker(image, centre, BOX_COLOR, cv2.MARKER_CROSS, 8 * width, width)
    return image


def editor_view(display: np.ndarray, scale: float, regions: list[RegionEntry], mask: np.ndarray | None,
                points: list[tuple[float, float, int]], box: Box | None = None, strokes: list[Stroke] = (),
                corner: tuple[float, float] | None = None) -> np.ndarray:
    """The photo with every region tinted in its colour and outlined, the current selection's
    mask, and its clicks, box and strokes."""
    view = display
    outline = max(2, round(max(display.shape[:2]) / 340))
    for index, region in enumerate(regions):
        color = REGION_COLORS[index % len(REGION_COLORS)]
        view = mask_ops.overlay(view, to_display(region.effective_mask(), display), color, opacity=0.3,
                                outline=outline)
    if mask is not None:
        view = mask_ops.overlay(view, to_display(mask, display), CLICK_COLOR, opacity=0.45, outline=outline)
    return draw_points(draw_prompts(view, scale, box, list(strokes), corner), points, scale)


def thumbnail(display: np.ndarray, mask: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """A small picture of one region: its mask over the photo, the rest dimmed."""
    small, _ = fit_display(display, THUMB_SIDE)
    region = mask_ops.binary(to_display(mask, small))
    view = (small.astype(np.float32) * 0.35).astype(np.uint8)
    view[region] = small[region]
    return mask_ops.overlay(view, region.astype(np.float32), color, opacity=0.25, outline=1)


def region_gallery(display: np.ndarray | None, regions: list[RegionEntry]) -> list[tuple[np.ndarray, str]]:
    """``(thumbnail, caption)`` per region for a ``gr.Gallery``."""
    if display is None:
        return []
    return [
        (thumbnail(display, region.effective_mask(), REGION_COLORS[i % len(REGION_COLORS)]),
         f"{i + 1}. {region.name}: {region.style_name} @ {region.strength:.2f}" + (" (inverted)" if region.invert else ""))
        for i, region in enumerate(regions)
    ]


def style_gallery() -> list[tuple[str, str]]:
    """``(image path, "Title, Painter (year)")`` for each painting whose image is present."""
    return [(str(styles.painting_path(p)), f"{p.title}, {p.painter} ({p.year})") for p in styles.available()]


START_LABELS = {"fast": "start: the fast engine's result", "photo": "start: the photo"}


def loss_figure(history: list[tuple[int, dict[int, dict[str, float]]]], start: str | None = None):
    """Matplotlib figure of each region's style and content loss per step (log scale), the
    whole run from step 0, with the starting image (``start``: "fast" or "photo") marked; None
    when there is nothing to plot (an engine that reports no losses)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2), dpi=100)
    axes = figure.subplots()
    region_ids = sorted({index for _, losses in history for index in losses})
    for index in region_ids:
        for kind, style in (("style", "-"), ("content", "--")):
            points = [(step, losses[index][kind]) for step, losses in history
                      if index in losses and kind in losses[index] and losses[index][kind] > 0]
            if points:
                steps, values = zip(*points, strict=True)
                axes.plot(steps, values, style, label=f"region {index + 1} {kind}")
    if not region_ids:
        return None
    if start in START_LABELS:
        axes.axvline(0, color="0.4", linestyle=":", label=START_LABELS[start])
    axes.set_xlim(left=0)
    axes.set_yscale("log")
    axes.legend(fontsize=7)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    figure.tight_layout()
    return figure
