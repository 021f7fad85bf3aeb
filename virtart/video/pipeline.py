"""Stylize regions of a video: the one generator the CLI, the app and the API consume.

``stylize_video(path, regions, out)`` takes regions chosen on one keyframe (masks at that
frame's size, as for a photo: :class:`virtart.pipeline.RegionRequest`), carries them through
the clip (:mod:`virtart.video.tracking`), paints them with the fast engine without flicker
(:mod:`virtart.video.temporal`) and writes an H.264 MP4 with the source's audio and timing
(:mod:`virtart.video.io`). It yields :class:`VideoProgress` items (a preview now and then)
and ends with one whose ``final`` is True and whose ``report`` describes the run. Closing
the generator stops the work and leaves no output behind; outputs appear only complete.

Pixels outside every region's feather band are copied from the decoded input frame, so the
lossless copy equals the input there and the MP4 differs only by the codec.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import StyleOptions
from virtart.engines.composite import composite, outside_changed_pixels, region_alphas
from virtart.engines.fast import pixel_weight
from virtart.engines.registry import resolve_device, shared_engine
from virtart.errors import VirtArtError
from virtart.geometry import Box
from virtart.imageio import Photo, encode_png, mask_to_uint8
from virtart.request import RegionRequest, prepare_regions
from virtart.video import io
from virtart.video.flow import FLOW_LONG_SIDE, FlowEstimator, Flows, flow_image
from virtart.video.temporal import KEEP, RegionCanvas, fast_painter, quality_painter
from virtart.video.tracking import MaskTracker, grabcut_recut

PREVIEW_LONG_SIDE = 480
# A detected object that has left the frame is looked for again (same class) every this many
# frames, with YOLO at this size and no test-time augmentation (~0.1-0.2 s on a CPU).
REFIND_EVERY = 15
REFIND_IMAGE_SIZE = 640
# The Quality engine optimises each refreshed box (tens of steps): seconds per frame even on a GPU.
QUALITY_MAX_SECONDS = 10.0


@dataclass
class VideoOptions:
    """How a video is read and painted.

    ``max_seconds`` / ``max_side``: limits (``downscale`` shrinks a larger video instead of
    refusing it). ``keyframe``: the frame (from 0) the regions were drawn on. ``feather``:
    soft-edge radius in pixels. ``working_size``: long side at which each region's box is
    painted (None: full resolution). ``refresh_every``: the stylizer runs on every n-th frame
    (and whenever a region gains unpainted area); the flow carries the paint in between.
    ``keep``: share of carried paint kept on a refresh. ``crf``: H.264 quality. ``recut``:
    re-cut each carried mask with GrabCut (:func:`~virtart.video.tracking.grabcut_recut`).
    ``engine``: "fast", or "gatys" (the Quality engine: clips up to ``QUALITY_MAX_SECONDS``
    on a CUDA GPU).
    """

    max_seconds: float = io.MAX_SECONDS
    max_side: int = io.MAX_SIDE
    downscale: bool = False
    keyframe: int = 0
    feather: float = 4.0
    working_size: int | None = 256
    refresh_every: int = 2
    keep: float = KEEP
    crf: int = 16
    flow_long_side: int = FLOW_LONG_SIDE
    preview_seconds: float = 1.0
    device: str = "auto"
    recut: bool = False
    engine: str = "fast"


@dataclass
class VideoProgress:
    """One report: ``frame`` frames done of about ``total``; ``preview`` ``(h, w, 3) uint8`` or None."""

    frame: int
    total: int
    preview: np.ndarray | None = None
    final: bool = False
    report: dict = field(default_factory=dict)


def check_options(options: VideoOptions) -> None:
    """Raise :class:`VirtArtError` for settings out of range."""
    if not 0 < options.max_seconds < float("inf"):
        raise VirtArtError(f"the duration limit must be a positive number of seconds, got {options.max_seconds}")
    if not 16 <= options.max_side <= 8192:
        raise VirtArtError(f"the size limit must be between 16 and 8192 px, got {options.max_side}")
    if options.keyframe < 0:
        raise VirtArtError(f"the keyframe must be 0 or more, got {options.keyframe}")
    if not 0 <= options.feather <= 200:
        raise VirtArtError(f"feather must be between 0 and 200 px, got {options.feather}")
    if options.working_size is not None and not 64 <= options.working_size <= 4096:
        raise VirtArtError(f"working size must be between 64 and 4096 px, got {options.working_size}")
    if not 1 <= options.refresh_every <= 30:
        raise VirtArtError(f"refresh every must be between 1 and 30 frames, got {options.refresh_every}")
    if not 0.0 <= options.keep < 1.0:
        raise VirtArtError(f"keep must be at least 0 and under 1, got {options.keep}")
    if options.engine not in ("fast", "gatys"):
        raise VirtArtError(f"unknown video engine '{options.engine}': use fast or gatys")
    if not 0 <= options.crf <= 51:
        raise VirtArtError(f"crf must be between 0 and 51, got {options.crf}")


def open_video(path: str | os.PathLike, options: VideoOptions | None = None) -> tuple[io.VideoInfo, np.ndarray]:
    """Probe ``path`` within the limits and return it with its keyframe (``(H, W, 3) uint8``),
    the frame regions are chosen on."""
    options = options or VideoOptions()
    check_options(options)
    info = io.probe(path, max_seconds=options.max_seconds, max_side=options.max_side, downscale=options.downscale)
    return info, io.read_frame(info, options.keyframe)


def check_outputs(source: str | os.PathLike, out: str | os.PathLike, lossless: str | os.PathLike | None,
                  masks_dir: str | os.PathLike | None) -> None:
    """Clear messages for outputs that cannot be written, before any work."""
    named = [(out, ".mp4", "the output")] + ([(lossless, ".mkv", "the lossless copy")] if lossless else [])
    for path, suffix, what in named:
        path = Path(path)
        if path.suffix.lower() != suffix:
            raise VirtArtError(f"{what} {path} must end in {suffix}")
        if path.is_dir():
            raise VirtArtError(f"{what} {path} is a folder")
        if path.exists() and Path(source).exists() and path.resolve() == Path(source).resolve():
            raise VirtArtError(f"{what} {path} would overwrite the input video; choose another name")
        parent = path.parent if str(path.parent) else Path(".")
        if parent.exists() and not os.access(parent, os.W_OK):
            raise VirtArtError(f"{what} {path}: the folder is not writable")
    if masks_dir is not None:
        folder = Path(masks_dir)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise VirtArtError(f"the masks folder {folder} exists and is not empty; choose a new folder")


def _preview(rgb: np.ndarray) -> np.ndarray:
    scale = PREVIEW_LONG_SIDE / max(rgb.shape[:2])
    if scale >= 1.0:
        return rgb.copy()
    return cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def track_back(info: io.VideoInfo, keyframe: int, masks: list[np.ndarray],
               long_side: int) -> dict[int, list[np.ndarray | None]]:
    """Masks of the frames before ``keyframe``, tracked backwards from it: ``{frame: masks}``
    (packed bits; unpack with :func:`_unpack`)."""
    greys = []
    for frame in io.read_frames(info):
        if frame.index > keyframe:
            break
        greys.append(flow_image(frame.rgb, long_side))
    tracker, estimator = MaskTracker(masks), FlowEstimator()
    packed: dict[int, list[np.ndarray | None]] = {}
    for index in range(len(greys) - 2, -1, -1):
        carried = tracker.step(estimator.between(greys[index + 1], greys[index], info.size))
        packed[index] = [None if mask is None else np.packbits(mask >= 0.5) for mask in carried]
    return packed


def _unpack(packed: list[np.ndarray | None], shape: tuple[int, int]) -> list[np.ndarray | None]:
    count = shape[0] * shape[1]
    return [None if bits is None else np.unpackbits(bits, count=count).reshape(shape).astype(np.float32)
            for bits in packed]


def shown_masks(tracked: list[np.ndarray | None], inverted: list[bool],
                shape: tuple[int, int]) -> list[np.ndarray | None]:
    """The regions' masks from the tracked ones: inverted regions are everything but what was
    tracked (all of the frame once it has left), the others as tracked (None once gone)."""
    shown = []
    for mask, flip in zip(tracked, inverted, strict=True):
        if flip:
            mask = np.ones(shape, np.float32) if mask is None else 1.0 - mask
        shown.append(mask)
    return shown


def refind(frame: np.ndarray, tracker: MaskTracker, labels: list[str | None]) -> list[int]:
    """Restart the dropped regions whose class the detector finds on ``frame`` in an object no
    live region overlaps (IoU under 0.3); returns the restarted regions' indices."""
    from virtart.segmentation.detect import get_detector

    wanted = sorted({label for label, mask in zip(labels, tracker.masks, strict=True) if label and mask is None})
    if not wanted:
        return []
    found = get_detector().detect(frame, wanted, image_size=REFIND_IMAGE_SIZE, augment=False)
    restarted = []
    for found_object in sorted(found, key=lambda d: d.score, reverse=True):
        mask = found_object.mask
        if mask is None:  # a plain detector: the segmenter cuts its box
            from virtart.segmentation import get_segmenter

            segmenter = get_segmenter("auto")
            mask = segmenter.predict(segmenter.set_image(frame), [], box=found_object.box).mask
        if not mask.any() or any(live is not None and mask_ops.iou(live, mask) >= 0.3 for live in tracker.masks):
            continue
        for index, (label, live) in enumerate(zip(labels, tracker.masks, strict=True)):
            if live is None and label == found_object.label:
                tracker.restart(index, mask)
                restarted.append(index)
                break
    return restarted


def compose(frame: np.ndarray, canvases: list[RegionCanvas], alphas: list[np.ndarray],
            weights: list[float]) -> np.ndarray:
    """``frame`` with every region's paint blended in through its alpha (zero alpha: frame's bytes)."""
    boxes = [Box.around(alpha, threshold=0) for alpha in alphas]
    present = [index for index, box in enumerate(boxes) if box is not None and weights[index] > 0]
    result = frame.copy()
    if not present:
        return result
    outer = boxes[present[0]].union(*[boxes[index] for index in present[1:]])
    rows, cols = slice(outer[1], outer[3]), slice(outer[0], outer[2])
    original = frame[rows, cols]
    layers = [(canvases[index].layer(original, outer, weights[index]), alphas[index][rows, cols])
              for index in present]
    result[rows, cols] = composite(original, layers)
    return result


def region_painters(info: io.VideoInfo, keyframe: np.ndarray, regions: list, options: VideoOptions) -> list:
    """One painter per region: the fast engine (its style vectors computed once), or the
    Quality engine, which only a GPU makes quick enough, and then for short clips."""
    if options.engine == "gatys":
        device = resolve_device(options.device)
        if not device.startswith("cuda"):
            raise VirtArtError("the Quality engine paints video only on a CUDA GPU (minutes per second of clip "
                               "on a CPU): use the fast engine")
        if info.seconds > QUALITY_MAX_SECONDS:
            raise VirtArtError(f"the Quality engine paints clips of at most {QUALITY_MAX_SECONDS:g} s "
                               f"(this one is {info.seconds:.1f} s): use the fast engine, or cut the clip")
        engine = shared_engine("gatys", device)
        return [quality_painter(engine, region.style) for region in regions]
    engine = shared_engine("fast", options.device)
    vectors = engine.style_vectors(keyframe, regions, StyleOptions())
    return [fast_painter(engine, vector) for vector in vectors]


def stylize_video(source: str | os.PathLike, regions: list[RegionRequest], out: str | os.PathLike, *,
                  options: VideoOptions | None = None, lossless: str | os.PathLike | None = None,
                  masks_dir: str | os.PathLike | None = None,
                  opened: tuple[io.VideoInfo, np.ndarray] | None = None,
                  labels: list[str | None] | None = None) -> Iterator[VideoProgress]:
    """Yield progress while painting ``regions`` through the video; see the module docstring.

    ``lossless``: also write an FFV1 ``.mkv`` (RGB, bit-exact frames). ``masks_dir``: a new or
    empty folder that receives ``000000.png``... (white = repainted, the union of the regions).
    ``opened``: what :func:`open_video` returned for ``source`` with these options, if the
    caller already has it (it chose the regions on that keyframe). ``labels``: per region, the
    COCO class of a detected object (None otherwise); such a region that left the frame is
    picked up again when the detector finds an object of its class that no region holds.
    """
    options = options or VideoOptions()
    check_outputs(source, out, lossless, masks_dir)
    info, keyframe = opened or open_video(source, options)
    prepared = prepare_regions(Photo(keyframe), regions)
    painters = region_painters(info, keyframe, prepared, options)
    # "Everything else" follows the objects it leaves out: their mask is tracked, then inverted.
    inverted = [bool(getattr(request, "invert", False)) for request in regions]
    key_masks = [1.0 - region.mask if flip else region.mask for region, flip in zip(prepared, inverted, strict=True)]
    started = time.perf_counter()
    before = track_back(info, options.keyframe, key_masks, options.flow_long_side) if options.keyframe else {}
    seconds = {"decode": 0.0, "track": time.perf_counter() - started, "stylize": 0.0, "encode": 0.0}
    canvases = [RegionCanvas(painter, options.working_size, options.keep) for painter in painters]
    weights = [pixel_weight(region.strength) for region in prepared]
    masks_tmp = None
    if masks_dir is not None:
        Path(masks_dir).parent.mkdir(parents=True, exist_ok=True)
        masks_tmp = Path(tempfile.mkdtemp(prefix=f".{Path(masks_dir).name}.", dir=Path(masks_dir).parent))
    writer, frames = None, None
    tracker = MaskTracker(key_masks, refine=grabcut_recut if options.recut else None)
    estimator = FlowEstimator()
    present_frames = [0] * len(prepared)
    outside_changed, last_preview, count = 0, float("-inf"), 0
    previous: np.ndarray | None = None  # the last frame's flow_image
    try:
        writer = io.VideoWriter(out, info.size, info.fps, audio_from=info, lossless_path=lossless, crf=options.crf)
        frames = io.read_frames(info)
        while True:
            tick = time.perf_counter()
            frame = next(frames, None)
            seconds["decode"] += time.perf_counter() - tick
            if frame is None:
                break
            tick = time.perf_counter()
            grey = flow_image(frame.rgb, options.flow_long_side)
            flows: Flows | None = None
            if previous is not None:
                flows = estimator.between(previous, grey, info.size)
            if frame.index < options.keyframe:
                masks = _unpack(before.get(frame.index, [None] * len(prepared)), keyframe.shape[:2])
            elif frame.index == options.keyframe or flows is None:
                masks = list(tracker.masks)
            else:
                masks = tracker.step(flows, frame.rgb)
                if labels and frame.index % REFIND_EVERY == 0:
                    for index in refind(frame.rgb, tracker, labels):
                        canvases[index].forget()
                    masks = list(tracker.masks)
            masks = shown_masks(masks, inverted, frame.rgb.shape[:2])
            seconds["track"] += time.perf_counter() - tick

            tick = time.perf_counter()
            empty = np.zeros(frame.rgb.shape[:2], np.float32)
            alphas = region_alphas([empty if mask is None else mask for mask in masks], options.feather)
            refresh = (frame.index - options.keyframe) % options.refresh_every == 0
            for index, (canvas, alpha) in enumerate(zip(canvases, alphas, strict=True)):
                if masks[index] is None:
                    continue
                present_frames[index] += 1
                if flows is not None:
                    canvas.carry(flows)
                if refresh or canvas.needs_paint(alpha):
                    canvas.paint(frame.rgb, alpha)
            painted = compose(frame.rgb, canvases, alphas, weights)
            outside_changed += outside_changed_pixels(frame.rgb, painted, alphas) if alphas else 0
            seconds["stylize"] += time.perf_counter() - tick

            tick = time.perf_counter()
            writer.write(painted, frame.time)
            if masks_tmp is not None:
                union = np.maximum.reduce([empty, *[mask for mask in masks if mask is not None]])
                (masks_tmp / f"{frame.index:06d}.png").write_bytes(encode_png(mask_to_uint8(union)))
            seconds["encode"] += time.perf_counter() - tick
            previous, count = grey, count + 1
            now = time.perf_counter()
            if now - last_preview >= options.preview_seconds:
                last_preview = now
                yield VideoProgress(count, max(info.frame_count, count), _preview(painted))
        if count == 0:
            raise VirtArtError(f"{source}: the video has no frames")
        tick = time.perf_counter()
        written = writer.close()
        if masks_tmp is not None:
            target = Path(masks_dir)
            if target.exists():
                target.rmdir()  # checked empty at the start
            os.replace(masks_tmp, target)
            masks_tmp = None
        seconds["encode"] += time.perf_counter() - tick
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if frames is not None:
            frames.close()  # the input file is closed now, not when collected
        if masks_tmp is not None:
            shutil.rmtree(masks_tmp, ignore_errors=True)
    total = sum(seconds.values())
    report = {
        "input": os.fspath(source), "output": os.fspath(written[0]),
        "lossless": os.fspath(written[1]) if lossless else None, "masks": os.fspath(masks_dir) if masks_dir else None,
        "frames": count, "fps": round(float(info.fps), 3), "size": list(info.size),
        "output_size": list(io.even_size(info.size)), "rotation": info.rotation, "downscale": info.scale,
        "audio": None if not info.audio_codec else {
            "source_codec": info.audio_codec,
            "output": "copied" if info.audio_codec in io.MP4_AUDIO_CODECS else "re-encoded to AAC"},
        "keyframe": options.keyframe, "seconds": round(total, 3),
        "frames_per_second": round(count / total, 2) if total else None,
        "share": {name: round(value / total, 3) if total else 0.0 for name, value in seconds.items()},
        "regions": [{"style": region.style_name, "strength": region.strength,
                     "keyframe_area_fraction": round(float((region.mask >= 0.5).mean()), 4),
                     "frames_present": present_frames[index]} for index, region in enumerate(prepared)],
        "options": {"feather": options.feather, "working_size": options.working_size,
                    "refresh_every": options.refresh_every, "keep": options.keep, "crf": options.crf,
                    "recut": options.recut},
        "outside_changed_pixels": outside_changed,
    }
    yield VideoProgress(count, count, _preview(painted), final=True, report=report)
