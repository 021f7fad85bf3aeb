"""``virtart video``: repaint regions of a clip; regions are chosen on one frame and follow their objects.

Examples::

    virtart video clip.mp4 --region sky.png=starry_night --region road.png=great_wave@0.6 --out two.mp4
    virtart video clip.mp4 --point 320,240 --style starry_night --out painted.mp4
    virtart video clip.mp4 --detect person,dog --style great_wave --out painted.mp4 --masks-out masks/
    virtart video clip.mp4 --box 10,20,300,240 --everything-else --style udnie --out rest.mp4
    virtart video clip.mp4 --detect person --style udnie --everything-else the_scream --out two.mp4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from virtart.cli.stylize import _check_output
from virtart.engines.base import StyleOptions
from virtart.engines.composite import DEFAULT_FEATHER
from virtart.engines.registry import AUTO, ENGINES
from virtart.errors import VirtArtError
from virtart.imageio import Photo, atomic_write
from virtart.pipeline import RegionRequest
from virtart.request import load_request_file, parse_region
from virtart.segmentation import BACKENDS
from virtart.segmentation.detect import parse_classes
from virtart.segmentation.prompts import Prompt, parse_box, parse_point
from virtart.video import io
from virtart.video.pipeline import (
    WORKING_SIZE,
    VideoOptions,
    VideoRequest,
    check_outputs,
    open_video,
    stylize_video,
    video_engine,
)
from virtart.video.selection import region_requests


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video", help="repaint regions of a video; the regions follow their objects",
        description="Choose regions on one frame (clicks, a box, detected objects, a mask, everything else); "
                    "they are tracked through the clip and repainted in every frame. Coordinates are in the "
                    "upright frame's pixels (x right, y down). Without a selection the whole frame is repainted.")
    parser.add_argument("video", help="the clip (MP4, WebM, MOV, animated GIF...)")
    parser.add_argument("--request", metavar="FILE.json",
                        help="a JSON request for the keyframe (regions with prompts or masks, paintings, engine, "
                             "options; the form of `virtart stylize --request`), instead of the region flags")
    parser.add_argument("--point", action="append", default=[], metavar="X,Y[,LABEL]",
                        help="a click on the keyframe; LABEL 1 includes (default), 0 excludes; repeatable")
    parser.add_argument("--box", metavar="X0,Y0,X1,Y1", help="a box around the object on the keyframe")
    parser.add_argument("--detect", metavar="CLASSES",
                        help="detected objects of these COCO classes (e.g. person,dog), each one a region")
    parser.add_argument("--mask", help="a mask PNG of the keyframe, white = region")
    parser.add_argument("--everything-else", nargs="?", const=True, default=None, metavar="STYLE",
                        help="alone: repaint everything outside the selection instead; with a STYLE: also "
                             "repaint everything else, in that style")
    parser.add_argument("--style", help="gallery id (see `virtart styles`) or an image file, for the selection")
    parser.add_argument("--region", action="append", default=[], metavar="KEYFRAME_MASK.png=STYLE[@STRENGTH]",
                        help="a region drawn as a mask of the keyframe, with its own style and strength "
                             "(repeatable; as for `virtart stylize`)")
    parser.add_argument("--strength", type=float, default=1.0, help="0 keeps the video, 1 is the full style")
    parser.add_argument("--keyframe", type=int, default=0, help="the frame (from 0) the regions are chosen on")
    parser.add_argument("--backend", default="auto", choices=BACKENDS, help="segmenter for --point/--box")
    parser.add_argument("--min-score", type=float, default=0.25, help="detector confidence for --detect")
    parser.add_argument("--feather", default=DEFAULT_FEATHER,
                        help="the edge's softness: 'auto' (follows the picture; the default) or px")
    parser.add_argument("--preserve-color", nargs="?", const="luminance", default=False,
                        choices=["luminance", "histogram"], help="keep the clip's colours")
    parser.add_argument("--working-size", type=int, default=WORKING_SIZE,
                        help="long side in px at which each region's box is painted (default %(default)s)")
    parser.add_argument("--refresh-every", type=int, default=VideoOptions.refresh_every,
                        help="paint anew every N frames; the flow carries the paint in between")
    parser.add_argument("--engine", choices=[*ENGINES, AUTO], default=AUTO,
                        help="auto: the default one-pass engine; an engine that optimises paints clips of up "
                             "to 10 s on a CUDA GPU")
    parser.add_argument("--recut", action="store_true",
                        help="re-cut each carried mask with GrabCut (sharper moving objects, ~3x tracking time)")
    parser.add_argument("--max-seconds", type=float, default=io.MAX_SECONDS, help="longer clips are refused")
    parser.add_argument("--max-side", type=int, default=io.MAX_SIDE, help="larger frames are refused (long side px)")
    parser.add_argument("--downscale", action="store_true", help="shrink larger frames to --max-side instead")
    parser.add_argument("--crf", type=int, default=VideoOptions.crf, help="H.264 quality, lower is better")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", required=True, help="output MP4 (H.264, the source's audio)")
    parser.add_argument("--lossless", metavar="OUT.mkv", help="also write a lossless FFV1 copy")
    parser.add_argument("--masks-out", metavar="DIR", help="a new folder for one mask PNG per frame")
    parser.add_argument("--report", help="write a JSON report here")
    parser.set_defaults(handler=run)


def build_requests(args: argparse.Namespace, keyframe: np.ndarray) -> tuple[list[RegionRequest], list[str | None]]:
    """Regions for :func:`stylize_video` from the flags (the selection painted in ``--style``,
    then each ``--region``), and the classes of detected ones."""
    regions = [parse_region(text) for text in args.region]
    chosen = args.point or args.box or args.detect or args.mask or args.everything_else is not None
    if not args.style:
        if chosen:
            raise VirtArtError("--point, --box, --detect, --mask and --everything-else need --style")
        if not regions:
            raise VirtArtError("give --style (with an optional selection) or at least one --region")
        return regions, [None] * len(regions)
    prompt = Prompt(tuple(parse_point(text) for text in args.point), parse_box(args.box) if args.box else None)
    requests, labels = region_requests(keyframe, args.style, args.strength, prompt,
                                       detect=parse_classes(args.detect) or (), masks=[args.mask] if args.mask else [],
                                       everything_else=args.everything_else, backend=args.backend,
                                       min_score=args.min_score)
    return requests + regions, labels + [None] * len(regions)


def request_file_job(args: argparse.Namespace, info: io.VideoInfo, keyframe: np.ndarray,
                     video: VideoOptions) -> VideoRequest:
    """The job of ``--request FILE.json``: the request read with the keyframe as its photo; what
    it leaves out comes from the flags (engine, working size, device, colour, feather)."""
    chosen = args.point or args.box or args.detect or args.mask or args.everything_else is not None
    if args.style or args.region or chosen:
        raise VirtArtError("--request gives the regions; leave out --style, --region and the selection flags")
    defaults = {"engine": video_engine(args.engine, args.device), "max_size": args.working_size,
                "device": args.device, "preserve_color": args.preserve_color, "feather": args.feather}
    keyframe_request = load_request_file(args.request, Photo(keyframe), defaults)
    try:
        items = json.loads(Path(args.request).read_text(encoding="utf-8")).get("regions") or []
        inverted = [bool(item.get("invert")) for item in (items if isinstance(items, list) else [items])]
    except (OSError, ValueError, AttributeError):  # read and checked above; only the invert flags are wanted
        inverted = None
    return VideoRequest.from_keyframe(keyframe_request, info, video, inverted=inverted)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    check_outputs(args.video, args.out, args.lossless, args.masks_out)
    if args.report:
        _check_output(args.report, [args.video], ".json", "--report")
    video = VideoOptions(max_seconds=args.max_seconds, max_side=args.max_side, downscale=args.downscale,
                         keyframe=args.keyframe, refresh_every=args.refresh_every, crf=args.crf, recut=args.recut)
    options = StyleOptions(max_size=args.working_size, device=args.device)
    info, keyframe = open_video(args.video, video)
    if args.request:
        source = request_file_job(args, info, keyframe, video)
        requests, labels = (), None
    else:
        source = args.video
        requests, labels = build_requests(args, keyframe)
    final = None
    run = stylize_video(source, requests, args.out, engine=args.engine, options=options, video=video,
                        lossless=args.lossless, masks_dir=args.masks_out, opened=(info, keyframe), labels=labels,
                        preserve_color=args.preserve_color, feather=args.feather)
    with tqdm(total=info.frame_count, desc="video", unit="frame", disable=None) as bar:
        for progress in run:
            bar.total = max(bar.total, progress.total_steps)
            bar.update(progress.step - bar.n)
            if progress.final:
                final = progress
    if final is None:
        raise VirtArtError("the video stopped before it was finished")
    report = final.result.report
    if args.report:
        atomic_write(args.report, (json.dumps(report, indent=2) + "\n").encode())
    print(f"wrote {args.out} ({report['frames']} frames, {report['output_size'][0]}x{report['output_size'][1]}) "
          f"in {report['seconds']:.1f} s ({report['frames_per_second']} frames/s); "
          f"outside_changed_pixels={report['outside_changed_pixels']}")
    return 0
