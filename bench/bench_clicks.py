"""Benchmark a click segmenter with the standard protocol; prints JSON.

Three figures (issue 3, section 6):

* ``grabcut``: NoC@85/90 and 1-/5-click mIoU on GrabCut-50 (``../shared/eval/grabcut``);
* ``grabcut_box_prompt``: mIoU on GrabCut-50 when prompted by a box alone (the object's
  bounding box grown by 5 px), as a detector's box prompts it;
* ``cluttered``: the same on cluttered COCO scenes, a DAVIS-like held-out check built from
  ``../shared/eval/coco128-seg`` polygon labels: per image, the largest object covering
  5-50 % of the frame, rasterised to a mask; a 2-px band along the polygon outline is
  marked "ignore" (128) because COCO polygons only approximate the true outline;
* ``speed``: ``set_image`` seconds (cache miss) and per-click milliseconds at 1024 px.

The data sets are read in place and never copied; a missing one is reported as skipped.

    python bench/bench_clicks.py --backend offline [--max-images 10] [--max-clicks 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart import settings  # noqa: E402
from virtart.evaluation import click_protocol  # noqa: E402
from virtart.evaluation.click_protocol import split_ground_truth  # noqa: E402
from virtart.imageio import load_image  # noqa: E402


def make_segmenter(backend: str):
    from virtart.cli.eval_clicks import get_segmenter

    if backend == "offline":  # a fresh one, so set_image timings are cache misses
        from virtart.segmentation.offline import OfflineSegmenter

        return OfflineSegmenter()
    return get_segmenter(backend)


def grabcut_samples(root: Path, limit: int | None):
    pairs = click_protocol.find_pairs(root / "images", root / "masks")[:limit]
    for name, image_path, mask_path in pairs:
        gt = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        yield name, load_image(image_path), gt


def box_prompt_miou(segmenter, samples, margin: int = 5) -> dict:
    """mIoU when each object is prompted by its ground-truth bounding box grown by ``margin`` px."""
    ious = []
    for _, image, gt in samples:
        obj, ignored = split_ground_truth(gt)
        ys, xs = np.nonzero(obj)
        height, width = obj.shape
        box = (max(xs.min() - margin, 0), max(ys.min() - margin, 0),
               min(xs.max() + 1 + margin, width), min(ys.max() + 1 + margin, height))
        mask = segmenter.predict(segmenter.set_image(image), [], box=box).mask >= 0.5
        ious.append(click_protocol.masked_iou(mask, obj, ignored))
    return {"images": len(ious), "box_margin_px": margin, "miou": float(np.mean(ious))}


def polygon_masks(label_path: Path, width: int, height: int) -> list[np.ndarray]:
    """One ``(H, W) uint8`` 0/255 mask per line of a YOLO polygon label file."""
    masks = []
    for line in label_path.read_text().splitlines():
        values = line.split()
        if len(values) < 7:
            continue
        xy = np.asarray(values[1:], dtype=np.float64).reshape(-1, 2) * (width, height)
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [np.round(xy).astype(np.int32)], 255)
        masks.append(mask)
    return masks


def cluttered_samples(root: Path, limit: int | None, band: int = 2):
    images = sorted((root / "images").rglob("*.jpg"))
    count = 0
    for image_path in images:
        label_path = root / "labels" / image_path.parent.name / f"{image_path.stem}.txt"
        if not label_path.is_file():
            continue
        image = load_image(image_path)
        height, width = image.shape[:2]
        masks = [m for m in polygon_masks(label_path, width, height)
                 if 0.05 <= np.count_nonzero(m) / m.size <= 0.5]
        if not masks:
            continue
        gt = max(masks, key=np.count_nonzero).copy()
        kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
        outline = (cv2.dilate(gt, kernel) > 0) & (cv2.erode(gt, kernel) == 0)
        gt[outline] = 128
        yield image_path.stem, image, gt
        count += 1
        if limit is not None and count >= limit:
            return


def speed(segmenter, image: np.ndarray, gt: np.ndarray, clicks: int = 10) -> dict:
    """set_image seconds (fresh image) and per-click ms at the image's size (1024 px long side)."""
    start = time.perf_counter()
    state = segmenter.set_image(image)
    set_image_seconds = time.perf_counter() - start
    obj, ignored = split_ground_truth(gt)
    pred = np.zeros_like(obj)
    points, times, previous = [], [], None
    for _ in range(clicks):
        click = click_protocol.next_click(pred, obj, ignored)
        if click is None:
            break
        points.append(click)
        start = time.perf_counter()
        previous = segmenter.predict(state, points, previous=previous)  # as the UI and the protocol do
        times.append(time.perf_counter() - start)
        pred = previous.mask >= 0.5
    return {"set_image_s": set_image_seconds, "click_ms_mean": 1000 * float(np.mean(times)),
            "click_ms_max": 1000 * float(np.max(times))}


def to_1024(image: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    scale = 1024 / max(height, width)
    size = (round(width * scale), round(height * scale))
    return (cv2.resize(image, size, interpolation=cv2.INTER_CUBIC),
            cv2.resize(gt, size, interpolation=cv2.INTER_NEAREST))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="offline")
    parser.add_argument("--max-images", type=int, default=None, help="GrabCut images (default: all 50; 0 skips)")
    parser.add_argument("--cluttered", type=int, default=50, help="cluttered COCO scenes (default: 50; 0 skips)")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--speed-images", type=int, default=3, help="images timed at 1024 px (0 skips)")
    parser.add_argument("--curves", action="store_true", help="include per-image IoU curves")
    args = parser.parse_args()
    settings.apply_offline_defaults()
    shared = settings.shared_dir()
    report: dict = {"backend": args.backend, "machine": f"{os.cpu_count()} CPU cores", "max_clicks": args.max_clicks}
    segmenter = make_segmenter(args.backend)
    report["backend"] = segmenter.name
    grabcut = shared / "eval" / "grabcut" if shared else None
    if grabcut is None or not grabcut.is_dir():
        report["grabcut"] = "skipped: ../shared/eval/grabcut is absent"
    elif args.max_images == 0:
        report["grabcut"] = "skipped: --max-images 0"
    else:
        results = click_protocol.evaluate(segmenter, grabcut_samples(grabcut, args.max_images), args.max_clicks)
        report["grabcut"] = click_protocol.summarize(results, args.max_clicks, curves=args.curves)
        report["grabcut_box_prompt"] = box_prompt_miou(segmenter, grabcut_samples(grabcut, args.max_images))
    coco = shared / "eval" / "coco128-seg" if shared else None
    if args.cluttered <= 0:
        report["cluttered"] = "skipped: --cluttered 0"
    elif coco is None or not coco.is_dir():
        report["cluttered"] = "skipped: ../shared/eval/coco128-seg is absent"
    else:
        results = click_protocol.evaluate(segmenter, cluttered_samples(coco, args.cluttered), args.max_clicks)
        report["cluttered"] = click_protocol.summarize(results, args.max_clicks, curves=args.curves)
    if args.speed_images > 0 and grabcut is not None and grabcut.is_dir():
        timings = [speed(make_segmenter(args.backend), *to_1024(image, gt))
                   for _, image, gt in grabcut_samples(grabcut, args.speed_images)]
        report["speed_1024px"] = {
            "images": len(timings),
            "set_image_s": float(np.median([t["set_image_s"] for t in timings])),
            "click_ms": float(np.median([t["click_ms_mean"] for t in timings])),
            "click_ms_max": float(np.max([t["click_ms_max"] for t in timings])),
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
