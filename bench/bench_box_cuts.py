"""Detected boxes cut by the offline segmenter under several settings, on coco_mval_dev; prints JSON.

For each object of a half of ``../shared/eval/coco_mval_dev`` (people and animals by default,
whose legs, trunks, tails and arms a box cut tends to lose), the detector's box best matching
the labelled object (box IoU >= 0.5; objects it misses are left out) is cut as
:func:`virtart.segmentation.detect.detect_objects` cuts it (:func:`~virtart.segmentation.detect.
segment_box`), once per variant; the IoU with the labelled mask is reported per object and on
average. The boxes are kept in ``--detect-cache`` between runs.

    python bench/bench_box_cuts.py --subset even 'default={}' 'zoom512={"box_zoom_size": 512}'
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart import settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help='NAME=JSON overrides of OfflineSettings, e.g. default={}')
    parser.add_argument("--subset", choices=("even", "odd"), default="even")
    parser.add_argument("--all-classes", action="store_true", help="every class, not only people and animals")
    parser.add_argument("--detect-cache", help="JSON file keeping the detector's boxes between runs")
    args = parser.parse_args()
    settings.apply_offline_defaults()
    shared = settings.shared_dir()
    root = shared / "eval" / "coco_mval_dev" if shared else None
    if root is None or not root.is_dir():
        print(json.dumps({"skipped": "../shared/eval/coco_mval_dev is absent"}))
        return 0
    from virtart.evaluation.click_protocol import find_pairs
    from virtart.evaluation.detect_eval import class_from_name
    from virtart.geometry import Box
    from virtart.imageio import load_image
    from virtart.segmentation.detect import PEOPLE_AND_ANIMALS, box_iou, get_detector, segment_box
    from virtart.segmentation.offline import OfflineSegmenter

    variants = {name: json.loads(text) for name, _, text in (v.partition("=") for v in args.variants)}
    segmenters = {name: OfflineSegmenter(**overrides) for name, overrides in variants.items()}
    pairs = find_pairs(root / "images", root / "gt")[{"even": 0, "odd": 1}[args.subset]::2]
    pairs = [p for p in pairs if args.all_classes or class_from_name(p[0]) in PEOPLE_AND_ANIMALS]
    cache = Path(args.detect_cache) if args.detect_cache else None
    store = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    rows = {}
    for name, image_path, mask_path in pairs:
        image = load_image(image_path)
        truth = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) >= 128
        if name not in store:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                store[name] = [list(found.box) for found in get_detector().detect(image)]
            if cache:
                cache.write_text(json.dumps(store))
        truth_box = tuple(Box.around(truth.astype(np.float32)))
        boxes = [tuple(b) for b in store[name] if box_iou(tuple(b), truth_box) >= 0.5]
        if not boxes:
            continue
        box = max(boxes, key=lambda b: box_iou(b, truth_box))
        rows[name] = {}
        for variant, segmenter in segmenters.items():
            mask = segment_box(segmenter, segmenter.set_image(image), box) >= 0.5
            rows[name][variant] = round(float((mask & truth).sum() / max((mask | truth).sum(), 1)), 4)
        print(json.dumps({name: rows[name]}), file=sys.stderr, flush=True)
    report = {"subset": args.subset, "objects": len(rows), "variants": variants,
              "mean_iou": {v: round(float(np.mean([r[v] for r in rows.values()])), 4) if rows else None
                           for v in variants},
              "per_object": rows}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
