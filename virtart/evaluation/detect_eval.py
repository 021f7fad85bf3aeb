"""How well auto-detected masks cover ground-truth objects (``virtart eval-detect``).

Ground truth is in the YOLO polygon format: one ``.txt`` per image (same relative path
and stem under the labels folder), one object per line: ``class x1 y1 x2 y2 ...`` with
coordinates normalised to ``[0, 1]``. For every ground-truth object the score is the best
IoU among all masks :func:`detect_objects` returned for its image (0 when none overlaps);
we report the mean per class, overall and over people and animals. To tell detection
from segmentation, an object also counts as *detected* when some detected box overlaps
its ground-truth box with IoU >= 0.5; and the people-and-animals mean is also given over
objects covering at least 1% of their image (tiny objects are mostly missed by YOLO11n).
Since the best-IoU score never penalises a spurious object, the report also gives the
*precision*: the fraction of returned objects whose box overlaps some labelled object's box
(any class) with IoU >= 0.5, and the objects returned per image.

The ground truth may also be a folder of 0/255 masks, one object per image with the image's
stem (``../shared/eval/coco_mval_dev``'s ``gt/``), the class named by the stem
(:func:`class_from_name`, ``"tennis racket07_000000410496"`` -> ``"tennis racket"``).
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart.errors import VirtArtError
from virtart.geometry import Box
from virtart.imageio import load_image
from virtart.segmentation.base import Segmenter
from virtart.segmentation.detect import (
    AUGMENT,
    IMAGE_SIZE,
    PEOPLE_AND_ANIMALS,
    box_iou,
    detect_objects,
    get_detector,
)

LARGE_FRACTION = 0.01
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def read_polygon_labels(path: Path, size: tuple[int, int]) -> list[tuple[int, np.ndarray]]:
    """``[(class_id, (H, W) float32 mask), ...]`` from a YOLO polygon label file at ``size = (W, H)``."""
    width, height = size
    objects = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            class_id, coords = int(fields[0]), np.array(fields[1:], dtype=np.float64)
        except ValueError:
            raise VirtArtError(f"{path}:{number}: expected 'class x1 y1 x2 y2 ...'") from None
        if coords.size < 6 or coords.size % 2:
            raise VirtArtError(f"{path}:{number}: a polygon needs at least 3 (x, y) pairs")
        polygon = np.round(coords.reshape(-1, 2) * (width, height)).astype(np.int32)
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [polygon], 1)
        objects.append((class_id, mask.astype(np.float32)))
    return objects


def labelled_images(images: Path, labels: Path) -> list[tuple[Path, Path]]:
    """``(image, label file)`` pairs, matched by relative path and stem."""
    if not images.is_dir():
        raise VirtArtError(f"{images}: no such folder")
    if not labels.is_dir():
        raise VirtArtError(f"{labels}: no such folder")
    pairs = []
    for image in sorted(p for p in images.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        label = (labels / image.relative_to(images)).with_suffix(".txt")
        if label.is_file():
            pairs.append((image, label))
    if not pairs:
        raise VirtArtError(f"no image in {images} has a label file in {labels}")
    return pairs


def class_from_name(stem: str) -> str:
    """The class a mask folder's file stem names: its leading words, before a number and an
    underscore (``"tennis racket07_000000410496"`` -> ``"tennis racket"``)."""
    return re.sub(r"\d+_\d+$", "", stem)


def mask_images(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    """``(image, mask)`` pairs of a folder of images and a folder of masks named by their stems."""
    from virtart.evaluation.click_protocol import find_pairs

    return [(image, mask) for _, image, mask in find_pairs(images, masks)]


def _truth(label_path: Path, size: tuple[int, int], names: dict[int, str]) -> list[tuple[str, np.ndarray]]:
    """``[(class name, (H, W) float32 mask)]`` of a polygon label file, or of one 0/255 mask image."""
    if label_path.suffix.lower() == ".txt":
        return [(names[c], m) for c, m in read_polygon_labels(label_path, size) if c in names]
    mask = cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
    if mask is None or mask.shape != (size[1], size[0]):
        raise VirtArtError(f"{label_path}: not a {size[0]}x{size[1]} mask image")
    return [(class_from_name(label_path.stem), (mask >= 128).astype(np.float32))]


def evaluate_detection(images: Path, labels: Path, *, segmenter: Segmenter | None = None,
                       min_score: float = 0.25, limit: int | None = None, image_size: int = IMAGE_SIZE,
                       augment: bool = AUGMENT, subset: str | None = None,
                       progress: Callable[[int, int], None] | None = None, every: int = 1) -> dict:
    """Mean best IoU of detected masks against every labelled object (JSON-ready report).

    ``labels``: a folder of YOLO polygon files, or of one mask per image (see the module
    docstring). ``subset`` "even" or "odd" keeps every other image (in sorted order, before
    ``every``, which keeps every N-th of those, and ``limit``), so settings can be tuned on one
    half and checked on the other.
    """
    labels = Path(labels)
    polygons = any(labels.rglob("*.txt")) if labels.is_dir() else True
    pairs = labelled_images(Path(images), labels) if polygons else mask_images(Path(images), labels)
    if subset not in (None, "even", "odd"):
        raise VirtArtError(f"subset must be 'even' or 'odd', got {subset!r}")
    pairs = pairs[{"even": 0, "odd": 1}[subset]::2] if subset else pairs
    pairs = pairs[::max(1, every)][:limit]
    detector = get_detector()
    names = detector.names
    if segmenter is None:
        from virtart.segmentation import get_segmenter

        segmenter = get_segmenter("auto")
    per_image, records = [], []
    returned = matched = 0  # objects returned, and those that match a labelled object's box
    started = time.perf_counter()
    for index, (image_path, label_path) in enumerate(pairs):
        rgb = load_image(image_path)
        truth = _truth(label_path, (rgb.shape[1], rgb.shape[0]), names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "nothing found" is a result here, not news
            found = detect_objects(rgb, min_score=min_score, segmenter=segmenter, image_size=image_size,
                                   augment=augment)
        truth_boxes = [box for box in (Box.around(mask) for _, mask in truth) if box is not None]
        returned += len(found)
        matched += sum(any(box_iou(obj.box, box) >= 0.5 for box in truth_boxes) for obj in found)
        rows = []
        for name, mask in truth:
            truth_box = Box.around(mask)
            rows.append({
                "class": name,
                "best_iou": round(max((mask_ops.iou(obj.mask, mask) for obj in found), default=0.0), 4),
                "detected": truth_box is not None and any(box_iou(obj.box, truth_box) >= 0.5 for obj in found),
                "area_fraction": round(float(mask.mean()), 5),
            })
        records.extend(rows)
        per_image.append({"image": image_path.name, "detected": len(found), "objects": rows})
        if progress:
            progress(index + 1, len(pairs))
    seconds = time.perf_counter() - started
    people_and_animals = [r for r in records if r["class"] in PEOPLE_AND_ANIMALS]
    return {
        "images": len(pairs),
        "subset": subset or "all",
        "detector": detector.model_name,
        "backend": segmenter.name,
        "min_score": min_score,
        "image_size": image_size,
        "augment": augment,
        **_summary(records),
        "precision": round(matched / returned, 4) if returned else None,
        "objects_per_image": round(returned / max(1, len(pairs)), 2),
        "people_and_animals": _summary(people_and_animals),
        "people_and_animals_over_1pct": _summary([r for r in people_and_animals
                                                  if r["area_fraction"] >= LARGE_FRACTION]),
        "per_class": {name: _summary([r for r in records if r["class"] == name])
                      for name in sorted({r["class"] for r in records})},
        "seconds": round(seconds, 2),
        "seconds_per_image": round(seconds / max(1, len(pairs)), 3),
        "per_image": per_image,
    }


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _summary(records: list[dict]) -> dict:
    """Object count, mean best IoU, fraction detected and mean best IoU of the detected ones."""
    return {
        "objects": len(records),
        "mean_best_iou": _mean([r["best_iou"] for r in records]),
        "detected_fraction": _mean([float(r["detected"]) for r in records]),
        "mean_best_iou_when_detected": _mean([r["best_iou"] for r in records if r["detected"]]),
    }
