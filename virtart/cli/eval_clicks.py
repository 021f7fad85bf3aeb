"""``virtart eval-clicks``: the standard interactive-segmentation benchmark (NoC@85/90, mIoU).

Example::

    virtart eval-clicks --images ../shared/eval/grabcut/images --masks ../shared/eval/grabcut/masks \\
        --backend offline --report grabcut.json

Masks are matched to images by file stem; 0 is background, 255 object, 128 ignored.
"""

from __future__ import annotations

import argparse
import json
import sys

from virtart.evaluation import click_protocol
from virtart.imageio import atomic_write, load_image, load_mask
from virtart.segmentation import BACKENDS, get_segmenter


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-clicks", help="measure a click segmenter with the standard NoC protocol",
        description="Simulated clicks on every image with a ground-truth mask; reports NoC@85/90, "
                    "1- and 5-click mIoU, per-image IoU curves and seconds per click.")
    parser.add_argument("--images", required=True, help="folder of images")
    parser.add_argument("--masks", required=True, help="folder of masks (same file stems; 0/128/255)")
    parser.add_argument("--backend", default="auto", choices=BACKENDS, help="segmenter (default: auto)")
    parser.add_argument("--max-clicks", type=int, default=20, help="clicks per image (default: 20)")
    parser.add_argument("--max-images", type=int, default=None, help="evaluate only the first N images")
    parser.add_argument("--report", help="write the full JSON report (with per-image curves) here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from virtart.errors import VirtArtError

    if args.max_clicks < 1:
        raise VirtArtError(f"--max-clicks must be at least 1, got {args.max_clicks}")
    pairs = click_protocol.find_pairs(args.images, args.masks)
    if args.max_images is not None:
        if args.max_images < 1:
            raise VirtArtError(f"--max-images must be at least 1, got {args.max_images}")
        pairs = pairs[: args.max_images]
    segmenter = get_segmenter(args.backend)
    print(f"backend: {segmenter.name}; {len(pairs)} images, {args.max_clicks} clicks each", file=sys.stderr)

    def samples():
        for name, image_path, mask_path in pairs:
            image = load_image(image_path)
            gt = (load_mask(mask_path, label=str(mask_path)) * 255.0).round().astype("uint8")
            yield name, image, gt

    def progress(result: click_protocol.ImageResult) -> None:
        print(f"{result.name}: 1-click IoU {result.iou_at(1):.3f}, "
              f"NoC@90 {result.noc(0.90, args.max_clicks)}", file=sys.stderr)

    results = click_protocol.evaluate(segmenter, samples(), args.max_clicks, progress)
    report = {"backend": segmenter.name, **click_protocol.summarize(results, args.max_clicks)}
    summary = {k: v for k, v in report.items() if k != "per_image"}
    print(json.dumps(summary, indent=2))
    if args.report:
        atomic_write(args.report, (json.dumps(report, indent=2) + "\n").encode())
    return 0
