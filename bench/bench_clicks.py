"""Benchmark a click segmenter with the standard protocol; prints JSON.

Figures (issue 3, section 6; issue 14 for the prompts), each data set under each ``--prompts``:
``clicks`` (with the detector prior, as the page answers clicks, where the detector is at
hand), ``clicks_plain`` (the plain segmenter), ``box`` (the object's box, then corrective
clicks) and ``strokes`` (a stroke along the object, then corrective strokes); per prompt
NoC@85/90 (within ``--max-clicks`` and within 10), NoF@90, ``miou_1click`` (after the first
interaction), ``miou_5click``, and the robustness figures of issue 21 (the mean IoU after every
click, the harmful-click rate and the worst single drop; ``click_protocol.robustness``):

* ``grabcut``: GrabCut-50 (``../shared/eval/grabcut``);
* ``grabcut_box_prompt``: mIoU on GrabCut-50 when prompted by a box alone (the object's
  bounding box grown by 5 px), as a detector's box prompts it;
* ``cluttered``: the same on cluttered COCO scenes, a DAVIS-like held-out check built from
  ``../shared/eval/coco128-seg`` polygon labels: per image, the largest object covering
  5-50 % of the frame, rasterised to a mask; a 2-px band along the polygon outline is
  marked "ignore" (128) because COCO polygons only approximate the true outline;
* ``coco_mval_dev``: ``../shared/eval/coco_mval_dev``, 240 COCO objects of 80 classes, one
  per image, with per-class mIoU;
* ``speed``: ``set_image`` seconds (cache miss) and milliseconds per click, per stroke and
  per box at 1024 px.

``--subset even|odd`` keeps every other image of each set (tune on even, confirm on odd);
``--every N`` then keeps every N-th of those, for lean exploration runs.
The data sets are read in place and never copied; a missing one is reported as skipped.

    python bench/bench_clicks.py --backend offline [--max-images 10] [--max-clicks 20] \
        [--prompts clicks,clicks_plain,box,strokes] [--subset even] [--every 2] \
        [--detect-cache /tmp/boxes.json] [--preset default] [--set far_change=0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart import settings  # noqa: E402
from virtart.evaluation import click_protocol  # noqa: E402
from virtart.evaluation.click_protocol import split_ground_truth  # noqa: E402
from virtart.evaluation.detect_eval import class_from_name  # noqa: E402
from virtart.imageio import load_image  # noqa: E402


def make_segmenter(backend: str, preset: str = "default", overrides: dict | None = None):
    from virtart.cli.eval_clicks import get_segmenter

    if backend == "offline":  # a fresh one, so set_image timings are cache misses
        from virtart.segmentation.offline import OfflineSegmenter

        return OfflineSegmenter(preset, **(overrides or {}))
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


def run_prompts(segmenter, samples: list, prompts: list[str], max_clicks: int, curves: bool, detect,
                classes=None) -> dict:
    """One summary per prompt over the same samples, each image run under every prompt in turn
    (so its superpixel graph is built once). ``classes``: a sample name's class, for per-class
    mIoU (coco_mval_dev)."""
    results: dict[str, list] = {prompt: [] for prompt in prompts}
    for name, image, gt in samples:
        boxes = detect(name, image) if detect is not None and "clicks" in prompts else None
        for prompt in prompts:
            if prompt == "clicks" and boxes is None:
                continue
            results[prompt].append(click_protocol.run_image(
                segmenter, image, gt, max_clicks, name, prompt=prompt.removesuffix("_plain"),
                prior_boxes=boxes if prompt == "clicks" else None))
    report = {}
    for prompt in prompts:
        if not results[prompt]:
            report[prompt] = "skipped: no detector here (see clicks_plain)"
            continue
        report[prompt] = click_protocol.summarize(results[prompt], max_clicks, curves=curves)
        if classes is not None:
            report[prompt]["per_class"] = per_class(results[prompt], classes)
    return report


def per_class(results: list, classes) -> dict:
    """Per class: objects, mIoU after the first and the fifth interaction."""
    grouped: dict[str, list] = {}
    for result in results:
        grouped.setdefault(classes(result.name), []).append(result)
    return {name: {"objects": len(group), "miou_1click": round(float(np.mean([r.iou_at(1) for r in group])), 4),
                   "miou_5click": round(float(np.mean([r.iou_at(5) for r in group])), 4)}
            for name, group in sorted(grouped.items())}


def mval_samples(root: Path, limit: int | None):
    """``../shared/eval/coco_mval_dev``: one COCO object per image (``gt/`` 0/255 masks)."""
    for name, image_path, mask_path in click_protocol.find_pairs(root / "images", root / "gt")[:limit]:
        yield name, load_image(image_path), cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)


def cached_detector(detect, path: str | None):
    """``detect(name, image)``: the detector's boxes, kept in a JSON file at ``path`` across runs
    (the boxes do not change while the segmenter is tuned)."""
    if detect is None:
        return None
    store = json.loads(Path(path).read_text()) if path and Path(path).is_file() else {}

    def boxes(name: str, image: np.ndarray) -> list:
        key = f"{name}/{image.shape[1]}x{image.shape[0]}"
        if key not in store:
            store[key] = [list(map(float, b)) for b in detect(image)]
            if path:
                Path(path).write_text(json.dumps(store))
        return [tuple(b) for b in store[key]]

    return boxes


def subset(samples, which: str | None, every: int = 1) -> list:
    samples = list(samples)
    samples = samples[0::2] if which == "even" else samples[1::2] if which == "odd" else samples
    return samples[::every]


def setting_override(text: str) -> tuple[str, float | int | bool]:
    """``"far_change=0.1"`` -> ``("far_change", 0.1)`` (``true``/``false`` for switches)."""
    name, _, value = text.partition("=")
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    return name.strip(), int(value) if re.fullmatch(r"-?\d+", value.strip()) else float(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="offline")
    parser.add_argument("--max-images", type=int, default=None, help="GrabCut images (default: all 50; 0 skips)")
    parser.add_argument("--cluttered", type=int, default=50, help="cluttered COCO scenes (default: 50; 0 skips)")
    parser.add_argument("--mval", type=int, default=240, help="coco_mval_dev objects (default: all 240; 0 skips)")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--prompts", default=",".join(PROMPTS), help=f"comma-separated, of: {', '.join(PROMPTS)}")
    parser.add_argument("--subset", choices=("even", "odd"), help="every other image of each set")
    parser.add_argument("--every", type=int, default=1, help="then every N-th of those (lean exploration runs)")
    parser.add_argument("--mval-every", type=int, default=None, help="--every for coco_mval_dev (default: --every)")
    parser.add_argument("--speed-images", type=int, default=3, help="images timed at 1024 px (0 skips)")
    parser.add_argument("--detect-cache", help="JSON file keeping the detector's boxes between runs")
    parser.add_argument("--preset", default="default", help="offline segmenter preset (offline.PRESETS)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override one OfflineSettings field of the preset (repeatable), e.g. far_change=0.1")
    parser.add_argument("--curves", action="store_true", help="include per-image IoU curves")
    args = parser.parse_args()
    prompts = [p.strip() for p in args.prompts.split(",") if p.strip()]
    unknown = [p for p in prompts if p not in PROMPTS]
    if unknown:
        parser.error(f"unknown prompt(s) {', '.join(unknown)}; choose from {', '.join(PROMPTS)}")
    overrides = dict(setting_override(text) for text in args.set)
    settings.apply_offline_defaults()
    shared = settings.shared_dir()
    report: dict = {"backend": args.backend, "machine": f"{os.cpu_count()} CPU cores", "max_clicks": args.max_clicks,
                    "subset": args.subset or "all", "every": args.every}
    segmenter = make_segmenter(args.backend, args.preset, overrides)
    report["backend"] = segmenter.name
    report["preset"], report["overrides"] = args.preset, overrides
    detect = cached_detector(detector_or_none() if "clicks" in prompts else None, args.detect_cache)
    sets = {
        "grabcut": ("grabcut", args.max_images, lambda root, n: grabcut_samples(root, n), None),
        "cluttered": ("coco128-seg", args.cluttered, lambda root, n: cluttered_samples(root, n), None),
        "coco_mval_dev": ("coco_mval_dev", args.mval, lambda root, n: mval_samples(root, n), class_from_name),
    }
    for key, (folder, limit, load, classes) in sets.items():
        root = shared / "eval" / folder if shared else None
        if limit is not None and limit <= 0:
            report[key] = "skipped: 0 images asked for"
        elif root is None or not root.is_dir():
            report[key] = f"skipped: ../shared/eval/{folder} is absent"
        else:
            every = args.mval_every if key == "coco_mval_dev" and args.mval_every else args.every
            samples = subset(load(root, limit), args.subset, every)
            report[key] = run_prompts(segmenter, samples, prompts, args.max_clicks, args.curves, detect, classes)
            print(json.dumps({key: report[key]}), file=sys.stderr, flush=True)  # a partial report, set by set
            if key == "grabcut":
                report["grabcut_box_prompt"] = box_prompt_miou(segmenter, samples)
    grabcut = shared / "eval" / "grabcut" if shared else None
    if args.speed_images > 0 and grabcut is not None and grabcut.is_dir():
        timings = [speed(make_segmenter(args.backend, args.preset, overrides), *to_1024(image, gt))
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
