"""Synthetic clips with a known mask in every frame, made from coco128-seg photos (for bench_video.py).

* ``object_clip``: one labelled object (its pixels and polygon mask) moves along a smooth
  path, growing slightly, over another photo.
* ``camera_clip``: a whole photo seen by a camera that pans and zooms; the object's mask
  moves with it.

Frames are ``(H, W, 3) uint8`` RGB at ``size = (W, H)``; masks ``(H, W) float32`` in {0, 1}.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from virtart.evaluation.detect_eval import labelled_images, read_polygon_labels
from virtart.imageio import load_image


def coco_objects(root: Path, min_fraction: float = 0.03, max_fraction: float = 0.4):
    """``[(name, rgb, mask)]``: each labelled photo with its largest object of a usable size, in file order."""
    found = []
    for image_path, label_path in labelled_images(root / "images" / "train2017", root / "labels" / "train2017"):
        rgb = load_image(image_path)
        objects = read_polygon_labels(label_path, (rgb.shape[1], rgb.shape[0]))
        sized = [(mask.mean(), mask) for _, mask in objects if min_fraction <= mask.mean() <= max_fraction]
        if sized:
            found.append((image_path.stem, rgb, max(sized, key=lambda pair: pair[0])[1]))
    return found


def _fit(rgb: np.ndarray, mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return (cv2.resize(rgb, size, interpolation=cv2.INTER_AREA),
            (cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR) >= 0.5).astype(np.float32))


def object_clip(rgb: np.ndarray, mask: np.ndarray, background: np.ndarray, size: tuple[int, int],
                frames: int = 60, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The object of ``(rgb, mask)`` moving over ``background`` (both resized to ``size``)."""
    rgb, mask = _fit(rgb, mask, size)
    background = cv2.resize(background, size, interpolation=cv2.INTER_AREA)
    width, height = size
    rng = np.random.default_rng(seed)
    speed = rng.uniform(1.5, 4.0, 2) * rng.choice([-1, 1], 2)  # pixels per frame
    wobble = rng.uniform(0.0, 2.0 * np.pi)
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean(), ys.mean()])
    # the object's centre stays where its whole box (at the largest scale) fits in the frame
    low = (centre - (xs.min(), ys.min())) * 1.15
    high = np.array([width, height]) - ((xs.max(), ys.max()) - centre) * 1.15 - 1
    span = np.maximum(high - low, 1.0)
    shown, truths = [], []
    for t in range(frames):
        scale = 1.0 + 0.15 * t / max(1, frames - 1)
        shift = speed * t + 6.0 * np.array([np.sin(t / 9.0 + wobble), np.cos(t / 11.0 + wobble)])
        # keep the object's centre inside the frame: bounce off the borders
        target = np.clip(centre, low, high) + shift - low
        target = low + np.abs(np.mod(target + span, 2 * span) - span)  # bounces off the box limits
        matrix = np.float32([[scale, 0, target[0] - scale * centre[0]], [0, scale, target[1] - scale * centre[1]]])
        moved = cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_LINEAR)
        moved_mask = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR) >= 0.5
        frame = np.where(moved_mask[:, :, None], moved, background)
        shown.append(frame)
        truths.append(moved_mask.astype(np.float32))
    return shown, truths


def camera_clip(rgb: np.ndarray, mask: np.ndarray, size: tuple[int, int], frames: int = 60,
                seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A camera panning and zooming over the whole photo (resized to ``size``)."""
    rgb, mask = _fit(rgb, mask, size)
    width, height = size
    rng = np.random.default_rng(seed)
    zoom_from, zoom_to = rng.uniform(1.15, 1.3), rng.uniform(1.05, 1.45)
    pan = rng.uniform(-0.12, 0.12, 2) * (width, height)
    pan *= min(1.0, (1.0 - 1.0 / min(zoom_from, zoom_to)) / 0.24)  # the view stays inside the photo
    shown, truths = [], []
    for t in range(frames):
        progress = t / max(1, frames - 1)
        zoom = zoom_from + (zoom_to - zoom_from) * progress
        look = np.array([width / 2, height / 2]) + pan * (2 * progress - 1)
        matrix = np.float32([[zoom, 0, width / 2 - zoom * look[0]], [0, zoom, height / 2 - zoom * look[1]]])
        shown.append(cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
        truths.append((cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR) >= 0.5).astype(np.float32))
    return shown, truths
