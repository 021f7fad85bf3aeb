"""Pictures the app shows: the photo with masks and clicks, region thumbnails, the style
gallery's items and the loss curves. Inputs are ``(H, W, 3) uint8`` photos and
``(H, W) float32`` masks at the photo's size; outputs are at display size."""

from __future__ import annotations

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart import styles
from virtart.engines import registry
from virtart.engines.composite import DEFAULT_FEATHER
from virtart.geometry import resize_image, shrink_to
from virtart.request import RegionRequest
from virtart.segmentation.base import Box, Stroke
from virtart.segmentation.detect import Detection
from virtart.ui.state import Session, shown_mask

CLICK_COLOR = (30, 144, 255)
BOX_COLOR = (255, 170, 0)
INCLUDE_COLOR = (40, 200, 70)
EXCLUDE_COLOR = (230, 40, 40)
REGION_COLORS = [(170, 60, 255), (0, 210, 210), (255, 60, 150), (255, 210, 0), (120, 200, 40), (255, 140, 0)]
THUMB_SIDE = 160
SWATCH_FRACTION = 0.3  # of a thumbnail's long side: the region's painting in its corner


def object_color(index: int) -> tuple[int, int, int]:
    """A distinct, saturated colour for the ``index``-th detected object (golden-ratio hues)."""
    hue = int((index * 0.618034 % 1.0) * 180)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def draw_detections(image: np.ndarray, detections: list[Detection]) -> np.ndarray:
    """Each detected object's outline and number (1-based, as listed) in its own colour."""
    if not detections:
        return image
    image = image.copy()
    size = image.shape[:2]
    thickness = max(2, round(max(size) / 400))
    font_scale = max(0.5, max(size) / 1400)
    for index, found in enumerate(detections):
        color = object_color(index)
        hard = mask_ops.binary(to_display(found.mask, image)).astype(np.uint8)
        contours, _ = cv2.findContours(hard, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image, contours, -1, color, thickness, cv2.LINE_AA)
        ys, xs = np.nonzero(hard)
        if len(xs) == 0:
            continue
        # the label sits on the object's pixel nearest its centre of mass (inside concave shapes too)
        cx, cy = xs.mean(), ys.mean()
        nearest = np.argmin((xs - cx) ** 2 + (ys - cy) ** 2)
        text = str(index + 1)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        x, y = int(xs[nearest]) - tw // 2, int(ys[nearest]) + th // 2
        cv2.rectangle(image, (x - 3, y - th - 3), (x + tw + 3, y + 4), (0, 0, 0), -1)
        cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness, cv2.LINE_AA)
    return image


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


def editor_view(display: np.ndarray, scale: float, regions: list[RegionRequest], mask: np.ndarray | None,
                points: list[tuple[float, float, int]], box: Box | None = None, strokes: list[Stroke] = (),
                corner: tuple[float, float] | None = None, detections: list[Detection] = ()) -> np.ndarray:
    """The photo with the detected objects' numbered outlines, every region tinted in its
    colour and outlined, the current selection's mask, and its clicks, box and strokes."""
    view = draw_detections(display, list(detections))
    outline = max(2, round(max(display.shape[:2]) / 340))
    for index, region in enumerate(regions):
        color = REGION_COLORS[index % len(REGION_COLORS)]
        view = mask_ops.overlay(view, to_display(shown_mask(region), display), color, opacity=0.3,
                                outline=outline)
    if mask is not None:
        view = mask_ops.overlay(view, to_display(mask, display), CLICK_COLOR, opacity=0.45, outline=outline)
    return draw_points(draw_prompts(view, scale, box, list(strokes), corner), points, scale)


def painting_swatch(style, side: int) -> np.ndarray | None:
    """A region's painting (gallery id or ``(h, w, 3) uint8``) fitted in ``side`` px; None if absent."""
    if isinstance(style, np.ndarray):
        image = style
    else:
        painting = styles.BY_ID.get(style)
        path = styles.painting_path(painting) if painting else None
        if path is None:
            return None
        image = _gallery_image(str(path))
    small, _ = fit_display(image, side)
    return small


def _gallery_image(path: str) -> np.ndarray:
    if path not in _SWATCHES:
        from virtart.imageio import load_image

        _SWATCHES[path] = fit_display(load_image(path), THUMB_SIDE)[0]
    return _SWATCHES[path]


_SWATCHES: dict[str, np.ndarray] = {}


def brush_value(view: np.ndarray | None) -> dict | None:
    """The brush editor's value: ``view`` as its background, nothing painted."""
    return None if view is None else {"background": view, "layers": [], "composite": view}


def thumbnail(display: np.ndarray, mask: np.ndarray, color: tuple[int, int, int], style=None) -> np.ndarray:
    """A small picture of one region: its mask over the photo, the rest dimmed, and its
    painting in the lower right corner."""
    small, _ = fit_display(display, THUMB_SIDE)
    region = mask_ops.binary(to_display(mask, small))
    view = (small.astype(np.float32) * 0.35).astype(np.uint8)
    view[region] = small[region]
    view = mask_ops.overlay(view, region.astype(np.float32), color, opacity=0.25, outline=1)
    swatch = painting_swatch(style, round(max(view.shape[:2]) * SWATCH_FRACTION)) if style is not None else None
    if swatch is not None and swatch.shape[0] < view.shape[0] and swatch.shape[1] < view.shape[1]:
        h, w = swatch.shape[:2]
        view[-h - 1:, -w - 1:] = 255  # a white frame
        view[-h:, -w:] = swatch
    return view


def style_label(style) -> str:
    """A region's painting in a line: its gallery id, or "your painting" for an upload."""
    return style if isinstance(style, str) else "your painting"


def look_summary(region: RegionRequest) -> str:
    parts = [style_label(region.style), f"@ {region.strength:.2f}"] + (["photo colours"] if region.preserve_color else []) + \
        ([f"feather {region.feather:g}"] if region.feather != DEFAULT_FEATHER else []) + \
        (["inverted"] if region.invert else [])
    return " ".join(parts)


def region_gallery(display: np.ndarray | None, regions: list[RegionRequest]) -> list[tuple[np.ndarray, str]]:
    """``(thumbnail, caption)`` per region for a ``gr.Gallery``."""
    if display is None:
        return []
    return [
        (thumbnail(display, shown_mask(region), REGION_COLORS[i % len(REGION_COLORS)], region.style),
         f"{i + 1}. {region.name}: {look_summary(region)}")
        for i, region in enumerate(regions)
    ]


def look_caption(session: Session) -> str:
    """Which painting is set, and what it applies to."""
    region = session.selected_region()
    look = region or session.look
    target = f"region {session.selected + 1} ({region.name})" if region else "the next new region"
    painting = styles.BY_ID.get(look.style) if isinstance(look.style, str) else None
    name = f"**{painting.title}** ({painting.painter})" if painting else "**your own painting**"
    return f"{name}, strength {look.strength:.2f}: applies to **{target}**."


def style_gallery() -> list[tuple[str, str]]:
    """``(image path, "Title, Painter (year)")`` for each painting whose image is present."""
    return [(str(styles.painting_path(p)), f"{p.title}, {p.painter} ({p.year})") for p in styles.available()]


def start_label(start: str | None) -> str:
    """What an optimisation started from ("the photo", or an engine's result by its label)."""
    spec = registry.ENGINES.get(start or "")
    return f"the {spec.label} engine's result" if spec else "the photo"


def loss_figure(history: list[tuple[int, dict[int, dict[str, float]]]], start: str | None = None):
    """A small matplotlib figure of each region's style (solid) and content (dashed) loss per
    step, log scale, one colour per region and one legend entry per line; the starting image
    (``start``: the options' ``init``) is written at step 0. None when there is nothing to
    plot (an engine that reports no losses)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    region_ids = sorted({index for _, losses in history for index in losses})
    if not region_ids:
        return None
    figure = Figure(figsize=(4.8, 2.4), dpi=100)
    axes = figure.subplots()
    for index in region_ids:
        color = tuple(c / 255 for c in REGION_COLORS[index % len(REGION_COLORS)])
        for kind, style in (("style", "-"), ("content", "--")):
            points = [(step, losses[index][kind]) for step, losses in history
                      if index in losses and kind in losses[index] and losses[index][kind] > 0]
            if points:
                steps, values = zip(*points, strict=True)
                axes.plot(steps, values, style, color=color, linewidth=1.5, label=f"{index + 1} {kind}")
    if start:
        axes.annotate(f"started from {start_label(start)}", (0, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                      textcoords="offset points", va="top", fontsize=7, color="0.35")
    axes.set_xlim(left=0)
    axes.set_yscale("log")
    axes.tick_params(labelsize=7)
    axes.set_xlabel("step", fontsize=8)
    axes.set_ylabel("loss (region)", fontsize=8)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, handlelength=1.6)
    figure.tight_layout(pad=0.4)
    return figure
