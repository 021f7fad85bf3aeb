"""``virtart eval-clicks``: the standard interactive-segmentation benchmark (NoC@85/90, mIoU).

Example::

    virtart eval-clicks --images ../shared/eval/grabcut/images --masks ../shared/eval/grabcut/masks \\
        --backend offline --report grabcut.json
    virtart eval-clicks ... --prompt box      # the object's box first, then corrective clicks
    virtart eval-clicks ... --prompt strokes  # a stroke along the object, then corrective strokes

``--prompt clicks`` answers clicks as the page does: with the detector prior (a click inside a
detected object's box leans on that box) where the detector is at hand;
``--no-detector-prior`` gives the plain segmenter. Masks are matched to images by file stem; 0 is background, 255 object, 128 ignored.
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
    parser.add_argument("--prompt", default="clicks", choices=click_protocol.PROMPTS,
                        help="first interaction: clicks (default), the object's box, or brush strokes")
    parser.add_argument("--detector-prior", action=argparse.BooleanOptionalAction, default=True,
                        help="clicks inside a detected object's box lean on it, as on the page (default: on)")
    parser.add_argument("--preset", default=None,
                        help="offline segmenter settings preset: default, local, colour or fast (offline backend only)")
    parser.add_argument("--max-clicks", type=int, default=20, help="interactions per image (default: 20)")
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
    if args.preset is not None:
        if segmenter.name != "offline":
            raise VirtArtError(f"--preset applies to the offline segmenter, not {segmenter.name}; add --backend offline")
        from virtart.segmentation.offline import OfflineSegmenter

        segmenter = OfflineSegmenter(args.preset)
    detect = prior_detector() if args.detector_prior and args.prompt == "clicks" else None
    print(f"backend: {segmenter.name}; prompt: {args.prompt}{' with the detector prior' if detect else ''}; "
          f"{len(pairs)} images, {args.max_clicks} interactions each", file=sys.stderr)

    def samples():
        for name, image_path, mask_path in pairs:
            image = load_image(image_path)
            gt = (load_mask(mask_path, label=str(mask_path)) * 255.0).round().astype("uint8")
            yield name, image, gt

    def progress(result: click_protocol.ImageResult) -> None:
        print(f"{result.name}: 1-click IoU {result.iou_at(1):.3f}, "
              f"NoC@90 {result.noc(0.90, args.max_clicks)}", file=sys.stderr)

    results = click_protocol.evaluate(segmenter, samples(), args.max_clicks, progress, args.prompt, detect)
    report = {"backend": segmenter.name, "preset": args.preset, "prompt": args.prompt,
              "detector_prior": detect is not None,
              **click_protocol.summarize(results, args.max_clicks)}
    summary = {k: v for k, v in report.items() if k != "per_image"}
    print(json.dumps(summary, indent=2))
    if args.report:
        atomic_write(args.report, (json.dumps(report, indent=2) + "\n").encode())
    return 0


def prior_detector():
    """The boxes of the page's quiet detection, or None (with a warning) when no detector is here."""
    from virtart.errors import CheckpointError, warn
    from virtart.segmentation.detect import get_detector, object_boxes

    try:
        get_detector()
    except CheckpointError as exc:
        warn(f"no detector ({exc}): clicks without the detector prior")
        return None
    return object_boxes
