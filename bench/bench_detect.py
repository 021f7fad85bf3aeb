"""Auto-detected masks on coco128-seg or coco_mval_dev: mean best IoU overall, per class and over people and animals.

Target (issue 3): mean best IoU >= 0.75 over people and animals. For every labelled
object, the best IoU among the masks ``detect_objects`` returns for its image (YOLO11n
boxes, each prompting the segmenter). Reads ``../shared/eval/coco128-seg`` in place; skips
with a message when it is absent. Prints one JSON object.

    python bench/bench_detect.py [--backend auto|offline|sam] [--subset even|odd] [--max-images N]
                                 [--min-score S] [--image-size PX] [--no-augment] [--report full.json]
                                 [--data coco_mval_dev] [--every N] [--preset P] [--set FIELD=VALUE]

``--data coco_mval_dev`` scores its one labelled object per image (``gt/`` masks; ``precision``
then only counts that object); ``--preset`` and ``--set`` pick the offline segmenter's
settings (as in ``bench/bench_clicks.py``), for tuning how boxes are cut.

The defaults are the ones ``virtart detect`` and the app use; the JSON says which settings gave
the figure. ``precision`` (returned objects matching a labelled box) shows what a lower
``--min-score`` costs, since best IoU alone rewards returning more objects.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart import settings  # noqa: E402

TARGET = 0.75


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--min-score", type=float, default=0.25)
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--subset", choices=("even", "odd"), help="every other image (tune on one, check the other)")
    parser.add_argument("--image-size", type=int, default=None, help="YOLO inference size (default: detect.py's)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                        help="YOLO test-time augmentation (default: detect.py's AUGMENT)")
    parser.add_argument("--report", help="also write the full report (per image, per class) here")
    parser.add_argument("--data", choices=("coco128-seg", "coco_mval_dev"), default="coco128-seg")
    parser.add_argument("--every", type=int, default=1, help="every N-th image of the half (lean runs)")
    parser.add_argument("--preset", help="offline segmenter preset (offline.PRESETS); implies --backend offline")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override one OfflineSettings field (repeatable); implies --backend offline")
    args = parser.parse_args()

    settings.apply_offline_defaults()
    shared = settings.shared_dir()
    root = shared / "eval" / args.data if shared else None
    if root is None or not (root / "images").is_dir():
        print(json.dumps({"skipped": f"../shared/eval/{args.data} is absent"}))
        return 0
    if args.data == "coco128-seg":
        images, labels = root / "images" / "train2017", root / "labels" / "train2017"
    else:
        images, labels = root / "images", root / "gt"

    import torch

    from virtart.evaluation.detect_eval import evaluate_detection
    from virtart.imageio import atomic_write
    from virtart.segmentation import get_segmenter
    from virtart.segmentation.detect import AUGMENT, IMAGE_SIZE

    if args.preset or args.set:
        from bench.bench_clicks import make_segmenter, setting_override

        segmenter = make_segmenter("offline", args.preset or "default", dict(map(setting_override, args.set)))
    else:
        segmenter = get_segmenter(args.backend)
    report = evaluate_detection(images, labels, segmenter=segmenter, min_score=args.min_score, limit=args.max_images,
                                subset=args.subset, every=args.every,
                                image_size=args.image_size or IMAGE_SIZE,
                                augment=AUGMENT if args.augment is None else args.augment)
    if args.report:
        atomic_write(args.report, (json.dumps(report, indent=2) + "\n").encode())
    people_animals = report["people_and_animals"]["mean_best_iou"]
    summary = {
        "benchmark": f"{args.data} auto-detected masks",
        "segmenter_settings": {"preset": args.preset, "overrides": args.set},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                   + (torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"),
        "every": args.every,
        **{key: report[key] for key in ("images", "subset", "objects", "detector", "backend", "min_score", "image_size", "augment",
                                        "mean_best_iou", "detected_fraction", "mean_best_iou_when_detected",
                                        "precision", "objects_per_image",
                                        "people_and_animals", "people_and_animals_over_1pct",
                                        "seconds_per_image")},
        "per_class": {name: row["mean_best_iou"] for name, row in report["per_class"].items()},
        "target_people_and_animals": TARGET,
        "meets_target": people_animals is not None and people_animals >= TARGET,
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
