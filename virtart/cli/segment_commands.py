"""``virtart segment``, ``virtart detect`` and ``virtart eval-detect``.

Examples::

    virtart segment photo.jpg --point 320,240 --point 40,60,0 --out mask.png --report r.json
    virtart segment photo.jpg --box 100,80,420,400 --backend offline --out mask.png
    virtart segment photo.jpg --box 100,80,420,400 --stroke 150,300,220,310,260,330:0 --out mask.png
    virtart detect photo.jpg --classes person,dog --out-dir objects/
    virtart eval-detect --images ../shared/eval/coco128-seg/images/train2017 \\
        --labels ../shared/eval/coco128-seg/labels/train2017 --report detect.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from virtart.errors import VirtArtError
from virtart.imageio import atomic_write, load_image, save_mask
from virtart.segmentation import BACKENDS
from virtart.segmentation.base import check_prompts
from virtart.segmentation.detect import parse_classes
from virtart.segmentation.prompts import parse_box, parse_point, parse_stroke


def register(subparsers: argparse._SubParsersAction) -> None:
    segment = subparsers.add_parser(
        "segment", help="click-to-mask: segment an object from clicks and/or a box",
        description="Clicks and boxes are in the photo's pixels (x right, y down).")
    segment.add_argument("photo", help="the photo")
    segment.add_argument("--point", action="append", default=[], metavar="X,Y[,LABEL]",
                         help="a click; LABEL 1 includes (default), 0 excludes; repeat for more clicks")
    segment.add_argument("--box", metavar="X0,Y0,X1,Y1", help="a box around the object")
    segment.add_argument("--stroke", action="append", default=[], metavar="X0,Y0,X1,Y1,...[:LABEL]",
                         help="a brush stroke (a polyline of two or more points); LABEL 1 includes (default), "
                              "0 excludes; repeat for more strokes")
    segment.add_argument("--backend", default="auto", choices=BACKENDS,
                         help="segmenter (default: auto = SAM ViT-B if its checkpoint is here, else offline)")
    segment.add_argument("--out", required=True, help="mask PNG to write (white = object)")
    segment.add_argument("--report", help="JSON report: backend, seconds in set_image and predict")
    segment.set_defaults(handler=run_segment)

    detect = subparsers.add_parser(
        "detect", help="find objects (YOLO11n, or YOLO11n-seg where available) and segment each one",
        description="Writes one mask PNG per object, largest first, and objects.json.")
    detect.add_argument("photo", help="the photo")
    detect.add_argument("--classes", help="comma-separated COCO class names to keep, e.g. person,dog")
    detect.add_argument("--min-score", type=float, default=0.25, help="detector confidence (default 0.25)")
    detect.add_argument("--backend", default="auto", choices=BACKENDS, help="segmenter for the masks")
    _add_detector_options(detect)
    detect.add_argument("--out-dir", required=True, help="folder for the masks and objects.json")
    detect.add_argument("--report", help="JSON report: backend, objects, seconds")
    detect.set_defaults(handler=run_detect)

    evaluate = subparsers.add_parser(
        "eval-detect", help="mean best IoU of detected masks against YOLO polygon labels",
        description="For every labelled object, the best IoU among the detected masks; "
                    "mean per class, overall and over people and animals.")
    evaluate.add_argument("--images", required=True, help="folder of images")
    evaluate.add_argument("--labels", required=True, help="folder of YOLO polygon .txt labels (same stems)")
    evaluate.add_argument("--min-score", type=float, default=0.25, help="detector confidence (default 0.25)")
    evaluate.add_argument("--backend", default="auto", choices=BACKENDS, help="segmenter for the masks")
    _add_detector_options(evaluate)
    evaluate.add_argument("--max-images", type=int, help="evaluate only the first N images")
    evaluate.add_argument("--subset", choices=("even", "odd"), help="every other image (before --max-images)")
    evaluate.add_argument("--report", help="write the full JSON report here")
    evaluate.set_defaults(handler=run_eval_detect)


def _add_detector_options(parser: argparse.ArgumentParser) -> None:
    """YOLO settings shared by ``detect`` and ``eval-detect``; None means detect.py's default."""
    parser.add_argument("--image-size", type=int, metavar="PX",
                        help="YOLO inference size in pixels (default 960)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction,
                        help="YOLO test-time augmentation: rescaled and flipped copies (default on)")


def _detector_settings(args: argparse.Namespace) -> dict:
    """``image_size`` and ``augment`` for :func:`detect_objects`, defaults filled in."""
    from virtart.segmentation.detect import AUGMENT, IMAGE_SIZE

    if args.image_size is not None and not 32 <= args.image_size <= 4096:
        raise VirtArtError(f"--image-size must be between 32 and 4096, got {args.image_size}")
    return {"image_size": args.image_size or IMAGE_SIZE,
            "augment": AUGMENT if args.augment is None else args.augment}


def _write_json(path: str | Path, data: object) -> None:
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())


def run_segment(args: argparse.Namespace) -> int:
    from virtart.segmentation import get_segmenter

    points = [parse_point(text) for text in args.point]
    box = parse_box(args.box) if args.box else None
    strokes = tuple(parse_stroke(text) for text in args.stroke)
    image = load_image(args.photo)
    check_prompts((image.shape[1], image.shape[0]), points, box, strokes)  # before any model is loaded
    segmenter = get_segmenter(args.backend)
    started = time.perf_counter()
    state = segmenter.set_image(image)
    set_image_seconds = time.perf_counter() - started
    started = time.perf_counter()
    prediction = segmenter.predict(state, points, box, strokes=strokes)
    predict_seconds = time.perf_counter() - started
    save_mask(args.out, prediction.mask)
    area = float((prediction.mask >= 0.5).mean())
    print(f"{args.out}: {segmenter.name} mask covering {area:.1%} of the photo")
    if args.report:
        _write_json(args.report, {
            "backend": segmenter.name, "photo": str(args.photo), "size": list(state.size),
            "points": [list(p) for p in points], "box": list(box) if box else None,
            "strokes": [{"points": [list(xy) for xy in s.points], "label": s.label} for s in strokes],
            "set_image_seconds": round(set_image_seconds, 4), "predict_seconds": round(predict_seconds, 4),
            "score": round(float(prediction.score), 4), "mask_fraction": round(area, 6), "mask": str(args.out),
        })
    return 0


def run_detect(args: argparse.Namespace) -> int:
    from virtart.segmentation import get_segmenter
    from virtart.segmentation.detect import detect_objects, get_detector

    detector_settings = _detector_settings(args)
    image = load_image(args.photo)
    segmenter = get_segmenter(args.backend)
    started = time.perf_counter()
    objects = detect_objects(image, classes=parse_classes(args.classes), min_score=args.min_score,
                             segmenter=segmenter, **detector_settings)
    seconds = time.perf_counter() - started
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = []
    for index, obj in enumerate(objects):
        filename = f"{index:02d}_{re.sub(r'[^a-z0-9]+', '-', obj.label.lower())}.png"
        save_mask(out_dir / filename, obj.mask)
        listing.append({"index": index, **obj.describe(), "mask": filename})
    _write_json(out_dir / "objects.json", listing)
    for row in listing:
        print(f"{row['mask']}: {row['label']} (score {row['score']:.2f}, {row['area']} px)")
    sources = ", ".join(sorted({obj.mask_source for obj in objects})) or segmenter.name
    print(f"{len(listing)} objects in {out_dir} ({sources} masks, {seconds:.2f} s)")
    if args.report:
        _write_json(args.report, {"backend": segmenter.name, "detector": get_detector().model_name,
                                  "photo": str(args.photo),
                                  "min_score": args.min_score, **detector_settings,
                                  "seconds": round(seconds, 3),
                                  "objects": listing})
    return 0


def run_eval_detect(args: argparse.Namespace) -> int:
    from virtart.evaluation.detect_eval import evaluate_detection
    from virtart.segmentation import get_segmenter

    if args.max_images is not None and args.max_images < 1:
        raise VirtArtError(f"--max-images must be at least 1, got {args.max_images}")
    detector_settings = _detector_settings(args)
    segmenter = get_segmenter(args.backend)

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} images", end="", file=sys.stderr, flush=True)

    report = evaluate_detection(Path(args.images), Path(args.labels), segmenter=segmenter,
                                min_score=args.min_score, limit=args.max_images, subset=args.subset,
                                progress=progress, **detector_settings)
    print(file=sys.stderr)
    summary = {key: value for key, value in report.items() if key not in ("per_image", "per_class")}
    print(json.dumps(summary, indent=2))
    if args.report:
        _write_json(args.report, report)
    return 0
