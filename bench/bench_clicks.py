"""Benchmark a click segmenter with the standard protocol; prints JSON.

Figures (issue 3, section 6; issue 14 for the prompts), each data set under each ``--prompts``:
``clicks`` (with the detector prior, as the page answers clicks, where the detector is at
hand), ``clicks_plain`` (the plain segmenter), ``box`` (the object's box, then corrective
clicks) and ``strokes`` (a stroke along the object, then corrective strokes); per prompt
NoC@85/90, ``miou_1click`` (after the first interaction) and ``miou_5click``:

* ``grabcut``: GrabCut-50 (``../shared/eval/grabcut``);
* ``grabcut_box_prompt``: mIoU on GrabCut-50 when prompted by a box alone (the object's
  bounding box grown by 5 px), as a detector's box prompts it;
* ``cluttered``: the same on cluttered COCO scenes, a DAVIS-like held-out check built from
  ``../shared/eval/coco128-seg`` polygon labels: per image, the largest object covering
  5-50 % of the frame, rasterised to a mask; a 2-px band along the polygon outline is
  marked "ignore" (128) because COCO polygons only approximate the true outline;
* ``speed``: ``set_image`` seconds (cache miss) and milliseconds per click, per stroke and
  per box at 1024 px.

``--subset even|odd`` keeps every other image of each set (tune on even, confirm on odd).
The data sets are read in place and never copied; a missing one is reported as skipped.

    python bench/bench_clicks.py --backend offline [--max-images 10] [--max-clicks 20] \
        [--prompts clicks,clicks_plain,box,strokes] [--subset even]
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
    """set_image seconds (fresh image) and ms per interaction at the image's size (1024 px long
    side): ``clicks`` clicks, then as many strokes, then the box followed by as many clicks."""
    start = time.perf_counter()
    state = segmenter.set_image(image)
    set_image_seconds = time.perf_counter() - start
    obj, ignored = split_ground_truth(gt)
    times: dict[str, list[float]] = {}
    for prompt in ("clicks", "strokes", "box"):
        result = click_protocol.run_image(segmenter, image, gt, clicks, prompt=prompt)
        times[prompt] = [s for s in result.click_seconds if s > 0]
    box = click_protocol.object_box(obj & ~ignored)
    start = time.perf_counter()
    segmenter.predict(state, [], box=box)
    box_ms = 1000 * (time.perf_counter() - start)
    return {"set_image_s": set_image_seconds, "click_ms_mean": 1000 * float(np.mean(times["clicks"])),
            "click_ms_max": 1000 * float(np.max(times["clicks"])),
            "stroke_ms_mean": 1000 * float(np.mean(times["strokes"])),
            "stroke_ms_max": 1000 * float(np.max(times["strokes"])), "box_ms": box_ms,
            "box_then_click_ms_mean": 1000 * float(np.mean(times["box"]))}


def to_1024(image: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    scale = 1024 / max(height, width)
    size = (round(width * scale), round(height * scale))
    return (cv2.resize(image, size, interpolation=cv2.INTER_CUBIC),
            cv2.resize(gt, size, interpolation=cv2.INTER_NEAREST))


PROMPTS = ("clicks", "clicks_plain", "box", "strokes")


def detector_or_none():
    """The boxes of the page's quiet detection, or None where no detector is at hand."""
    from virtart.cli.eval_clicks import prior_detector

    return prior_detector()


def run_prompts(segmenter, samples: list, prompts: list[str], max_clicks: int, curves: bool, detect) -> dict:
    """One summary per prompt over the same samples."""
    report = {}
    for prompt in prompts:
        prior = detect if prompt == "clicks" else None
        if prompt == "clicks" and prior is None:
            report[prompt] = "skipped: no detector here (see clicks_plain)"
            continue
        results = click_protocol.evaluate(segmenter, samples, max_clicks, prompt=prompt.removesuffix("_plain"),
                                          detect=prior)
        report[prompt] = click_protocol.summarize(results, max_clicks, curves=curves)
    return report


def subset(samples, which: str | None) -> list:
    samples = list(samples)
    return samples[0::2] if which == "even" else samples[1::2] if which == "odd" else samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="offline")
    parser.add_argument("--max-images", type=int, default=None, help="GrabCut images (default: all 50; 0 skips)")
    parser.add_argument("--cluttered", type=int, default=50, help="cluttered COCO scenes (default: 50; 0 skips)")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--prompts", default=",".join(PROMPTS), help=f"comma-separated, of: {', '.join(PROMPTS)}")
    parser.add_argument("--subset", choices=("even", "odd"), help="every other image of each set")
    parser.add_argument("--speed-images", type=int, default=3, help="images timed at 1024 px (0 skips)")
    parser.add_argument("--curves", action="store_true", help="include per-image IoU curves")
    args = parser.parse_args()
    prompts = [p.strip() for p in args.prompts.split(",") if p.strip()]
    unknown = [p for p in prompts if p not in PROMPTS]
    if unknown:
        parser.error(f"unknown prompt(s) {', '.join(unknown)}; choose from {', '.join(PROMPTS)}")
    settings.apply_offline_defaults()
    shared = settings.shared_dir()
    report: dict = {"backend": args.backend, "machine": f"{os.cpu_count()} CPU cores", "max_clicks": args.max_clicks,
                    "subset": args.subset or "all"}
    segmenter = make_segmenter(args.backend)
    report["backend"] = segmenter.name
    detect = detector_or_none() if "clicks" in prompts else None
    grabcut = shared / "eval" / "grabcut" if shared else None
    if grabcut is None or not grabcut.is_dir():
        report["grabcut"] = "skipped: ../shared/eval/grabcut is absent"
    elif args.max_images == 0:
        report["grabcut"] = "skipped: --max-images 0"
    else:
        samples = subset(grabcut_samples(grabcut, args.max_images), args.subset)
        report["grabcut"] = run_prompts(segmenter, samples, prompts, args.max_clicks, args.curves, detect)
        report["grabcut_box_prompt"] = box_prompt_miou(segmenter, samples)
    coco = shared / "eval" / "coco128-seg" if shared else None
    if args.cluttered <= 0:
        report["cluttered"] = "skipped: --cluttered 0"
    elif coco is None or not coco.is_dir():
        report["cluttered"] = "skipped: ../shared/eval/coco128-seg is absent"
    else:
        samples = subset(cluttered_samples(coco, args.cluttered), args.subset)
        report["cluttered"] = run_prompts(segmenter, samples, prompts, args.max_clicks, args.curves, detect)
    if args.speed_images > 0 and grabcut is not None and grabcut.is_dir():
        timings = [speed(make_segmenter(args.backend), *to_1024(image, gt))
                   for _, image, gt in grabcut_samples(grabcut, args.speed_images)]
        report["speed_1024px"] = {"images": len(timings),
                                  **{key: float(np.median([t[key] for t in timings])) for key in timings[0]
                                     if not key.endswith("_max")},
                                  **{key: float(np.max([t[key] for t in timings])) for key in timings[0]
                                     if key.endswith("_max")}}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
