"""Stylize regions of a video: the photo path, frame after frame.

A video job (:class:`VideoRequest`) is a stylize request on one keyframe (the same
:class:`~virtart.request.StylizeRequest`, regions and checks as a photo: each region with
its painting, strength, and the request's feather, colour and working size), plus the clip
and how to track and write it (:class:`VideoOptions`). The regions are carried through the
clip (:mod:`virtart.video.tracking`); every frame's masks go through the compositor's
stages (:mod:`virtart.engines.composite`: alphas, the engine's crop, the paste) with the
request's engine, the paint carried along the flow between refreshes so it does not flicker
(:mod:`virtart.video.temporal`), and the frames are written as an H.264 MP4 with the
source's audio and timing (:mod:`virtart.video.io`).

:func:`stylize_video` returns a :class:`VideoRun`: iterate it for the photo path's progress
type, :class:`~virtart.engines.base.Preview`, counting frames (see :func:`frame_progress`):
the first carries the painted keyframe, then frames done, total and the seconds left, now and
then a picture, ending with one whose ``final`` is True and whose ``result`` holds the last
frame and the report of the run. :meth:`VideoRun.close` (or ``stop``) ends it early and keeps what was
done as a playable, shorter clip; its report (``run.report``) says how many frames it
holds. An error leaves no output behind.

Pixels outside every region's alpha are copied from the decoded input frame, so the
lossless copy equals the input there and the MP4 differs only by the codec.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart import pipeline
from virtart.engines import composite
from virtart.engines.base import Engine, Preview, Region, StyleOptions
from virtart.engines.composite import DEFAULT_FEATHER
from virtart.engines.registry import (
    AUTO,
    ENGINES,
    default_video_engine,
    engine_spec,
    resolve_device,
    shared_engine,
)
from virtart.errors import VirtArtError
from virtart.geometry import Box
from virtart.imageio import Photo, encode_png, mask_to_uint8
from virtart.request import RegionRequest, StylizeRequest
from virtart.video import io
from virtart.video.flow import FLOW_LONG_SIDE, FlowEstimator, Flows, flow_image
from virtart.video.temporal import KEEP, Painter, RegionCanvas
from virtart.video.tracking import MaskTracker, grabcut_recut

PREVIEW_LONG_SIDE = 480
# The long side (px) each region's box is painted at on a frame when the request names none:
# a frame's paint is refreshed every few frames, so it is painted smaller than a photo.
WORKING_SIZE = 256
# A detected object that has left the frame is looked for again (same class) every this many
# frames, with YOLO at this size and no test-time augmentation (~0.1-0.2 s on a CPU).
REFIND_EVERY = 15
REFIND_IMAGE_SIZE = 640
# An engine that optimises (tens of steps per refreshed box) takes seconds per frame even on a
# GPU: it paints clips of at most this length, and only on a GPU.
OPTIMISER_MAX_SECONDS = 10.0


@dataclass
class VideoOptions:
    """How a clip is read, tracked and written (how it is painted is the request's
    :class:`~virtart.engines.base.StyleOptions`).

    ``max_seconds`` / ``max_side``: limits (``downscale`` shrinks a larger video instead of
    refusing it). ``keyframe``: the frame (from 0) the regions were drawn on.
    ``refresh_every``: the engine paints every n-th frame (and whenever a region gains
    unpainted area); the flow carries the paint in between. ``keep``: share of carried paint
    kept on a refresh. ``crf``: H.264 quality. ``recut``: re-cut each carried mask with
    GrabCut (:func:`~virtart.video.tracking.grabcut_recut`). ``preview_seconds``: at most one
    preview picture this often.
    """

    max_seconds: float = io.MAX_SECONDS
    max_side: int = io.MAX_SIDE
    downscale: bool = False
    keyframe: int = 0
    refresh_every: int = 2
    keep: float = KEEP
    crf: int = 16
    flow_long_side: int = FLOW_LONG_SIDE
    preview_seconds: float = 1.0
    recut: bool = False


def frame_progress(done: int, total: int, elapsed: float, *, seconds_left: float | None = None,
                   image: np.ndarray | None = None, stage: str = "frames",
                   result: pipeline.StylizeResult | None = None) -> Preview:
    """One progress item of a clip, in the photo's progress type.

    ``step`` = ``done`` frames of ``total_steps`` = ``total`` (an estimate until the end);
    ``seconds_left``: estimated (None until a frame is done). ``image``: ``(h, w, 3) uint8``
    (long side at most 480 px), the last painted frame, or the painted keyframe on the first
    item (``stage == "keyframe"``); None on items without a picture. ``stage``: "keyframe",
    "frames" or "final". ``result`` (the last item only, then ``final``): the last painted frame
    at the clip's size and the run's report (:attr:`VideoRun.report`).
    """
    progress = Preview(done, total, [], elapsed, final=result is not None, stage=stage, seconds_left=seconds_left)
    progress.image, progress.result = image, result
    return progress


def check_options(options: VideoOptions) -> None:
    """Raise :class:`VirtArtError` for clip settings out of range."""
    if not 0 < options.max_seconds < float("inf"):
        raise VirtArtError(f"the duration limit must be a positive number of seconds, got {options.max_seconds}")
    if not 16 <= options.max_side <= 8192:
        raise VirtArtError(f"the size limit must be between 16 and 8192 px, got {options.max_side}")
    if options.keyframe < 0:
        raise VirtArtError(f"the keyframe must be 0 or more, got {options.keyframe}")
    if not 1 <= options.refresh_every <= 30:
        raise VirtArtError(f"refresh every must be between 1 and 30 frames, got {options.refresh_every}")
    if not 0.0 <= options.keep < 1.0:
        raise VirtArtError(f"keep must be at least 0 and under 1, got {options.keep}")
    if not 0 <= options.crf <= 51:
        raise VirtArtError(f"crf must be between 0 and 51, got {options.crf}")


def open_video(path: str | os.PathLike, options: VideoOptions | None = None) -> tuple[io.VideoInfo, np.ndarray]:
    """Probe ``path`` within the limits and return it with its keyframe (``(H, W, 3) uint8``),
    the frame regions are chosen on."""
    options = options or VideoOptions()
    check_options(options)
    info = io.probe(path, max_seconds=options.max_seconds, max_side=options.max_side, downscale=options.downscale)
    return info, io.read_frame(info, options.keyframe)


@dataclass(frozen=True)
class VideoRequest:
    """A checked video job: ``keyframe`` is the stylize request on the keyframe (masks at its
    size, styles loaded, options checked and resolved as for a photo); ``clip`` the probed
    source; ``video`` the clip settings; per region, ``inverted`` (an "everything else"
    region: the mask it leaves out is tracked) and ``labels`` (the COCO class of a detected
    object, which is looked for again once it has left the frame; None otherwise)."""

    keyframe: StylizeRequest
    clip: io.VideoInfo
    video: VideoOptions
    inverted: tuple[bool, ...]
    labels: tuple[str | None, ...]

    @classmethod
    def create(cls, source: str | os.PathLike, regions: Sequence[RegionRequest | Region], engine: str = AUTO,
               options: StyleOptions | None = None, video: VideoOptions | None = None, *,
               opened: tuple[io.VideoInfo, np.ndarray] | None = None,
               labels: Sequence[str | None] | None = None, preserve_color: bool | str = False,
               feather: float = DEFAULT_FEATHER) -> VideoRequest:
        """Probe the clip and check everything before any work; ``opened``: what
        :func:`open_video` returned for ``source`` with these settings, if the caller has it.
        ``preserve_color``, ``feather``: for the regions that name none (as for a photo)."""
        video = video or VideoOptions()
        info, keyframe = opened or open_video(source, video)
        options = options or StyleOptions()
        if options.max_size is None:
            options = replace(options, max_size=WORKING_SIZE)
        request = StylizeRequest.create(Photo(keyframe), regions, video_engine(engine, options.device), options,
                                        preserve_color=preserve_color, feather=feather)
        inverted = [bool(getattr(region, "invert", False)) for region in regions]
        return cls.from_keyframe(request, info, video, inverted=inverted, labels=labels)

    @classmethod
    def from_keyframe(cls, keyframe: StylizeRequest, clip: io.VideoInfo, video: VideoOptions | None = None, *,
                      inverted: Sequence[bool] | None = None,
                      labels: Sequence[str | None] | None = None) -> VideoRequest:
        """A job from a request already checked on the clip's keyframe (say one read with
        :func:`~virtart.request.load_request_file`, the keyframe as its photo)."""
        video = video or VideoOptions()
        check_options(video)
        if keyframe.photo.size != clip.size:
            raise VirtArtError(f"the request's photo is {keyframe.photo.size[0]}x{keyframe.photo.size[1]}, the clip's "
                               f"frames {clip.size[0]}x{clip.size[1]}")
        count = len(keyframe.regions)
        labels = tuple(labels) if labels else (None,) * count
        inverted = tuple(inverted) if inverted else (False,) * count
        if len(labels) != count or len(inverted) != count:
            raise VirtArtError(f"{len(labels)} labels and {len(inverted)} invert flags for {count} regions")
        return cls(keyframe, clip, video, inverted, labels)


def video_engine(name: str, device: str = "auto") -> str:
    """The engine a video gets for ``name``: "auto" is the device's default unless that one
    optimises (seconds per frame), then the registry's video default."""
    if name == AUTO and engine_spec(AUTO, resolve_device(device)).optimises:
        return default_video_engine()
    return name


def check_engine(request: VideoRequest) -> None:
    """An engine that optimises paints video only on a GPU, and only short clips."""
    if not engine_spec(request.keyframe.engine).optimises:
        return
    if not request.keyframe.options.device.startswith("cuda"):
        raise VirtArtError(f"the {engine_spec(request.keyframe.engine).label} engine paints video only on a CUDA GPU "
                           "(minutes per second of clip on a CPU): use a one-pass engine")
    if request.clip.seconds > OPTIMISER_MAX_SECONDS:
        raise VirtArtError(f"the {engine_spec(request.keyframe.engine).label} engine paints clips of at most "
                           f"{OPTIMISER_MAX_SECONDS:g} s (this one is {request.clip.seconds:.1f} s): use a one-pass "
                           "engine, or cut the clip")


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


def _shrunk(rgb: np.ndarray) -> np.ndarray:
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


def region_painter(engine: Engine, region: Region, options: StyleOptions) -> Painter:
    """The photo path on one box of a frame: the compositor's crop of the box at the working
    size, the engine, and its layer mapped back to the box's pixels (before the fade and
    colour, which the paste applies)."""

    def paint(frame: np.ndarray, box: Box) -> np.ndarray | None:
        area = np.zeros(frame.shape[:2], np.float32)
        box.of(area)[:] = 1.0
        last = deque(pipeline.paint(frame, [replace(region, mask=area)], [area], engine, options), maxlen=1)
        if not last or not last[0][0].layers:
            return None
        preview, crop = last[0]
        return composite.map_layer(preview.layers[0], preview.frame, crop.box, box)

    return paint


def paste_frame(frame: np.ndarray, canvases: list[RegionCanvas], alphas: list[np.ndarray],
                regions: Sequence[Region]) -> np.ndarray:
    """``frame`` with every region's carried paint pasted through its alpha (the compositor's paste)."""
    layers = []
    for index, (canvas, alpha) in enumerate(zip(canvases, alphas, strict=True)):
        box = Box.around(alpha, threshold=0)
        pixels = None if box is None else canvas.pixels(box)
        if pixels is not None:
            layers.append(composite.Layer(box, pixels, (index,)))
    size = (frame.shape[1], frame.shape[0])
    return composite.composite(frame, Box.whole(frame.shape), layers, size, alphas, regions)


class VideoRun:
    """A running video job: an iterator of progress items (:func:`frame_progress`).

    :meth:`close` (from the consumer, or from another thread while a frame is painted) ends
    the run and keeps the frames done as a playable clip: the MP4 (and lossless copy) then
    hold those frames and :attr:`report` says how many (``"stopped": True``). The run is also
    closed when the iterator is collected. ``report``: set once the run has ended (finished
    or stopped), None before.
    """

    def __init__(self, request: VideoRequest, out: str | os.PathLike, engine: Engine, *,
                 lossless: str | os.PathLike | None, masks_dir: str | os.PathLike | None) -> None:
        self.request, self.out, self.lossless, self.masks_dir = request, out, lossless, masks_dir
        self.report: dict | None = None
        self._stop = threading.Event()
        self._generator = self._frames(engine)

    def __iter__(self) -> VideoRun:
        return self

    def __next__(self) -> Preview:
        return next(self._generator)

    def stop(self) -> None:
        """Ask the run to end after the frame in hand (thread-safe); the next item is the final one."""
        self._stop.set()

    def close(self) -> None:
        """End the run now, keeping the frames done as a shorter clip (see the class docstring)."""
        self._stop.set()
        with contextlib.suppress(ValueError):  # running in another thread: it stops after the frame in hand
            self._generator.close()

    def __del__(self) -> None:
        generator = getattr(self, "_generator", None)
        if generator is not None:
            generator.close()

    def _frames(self, engine: Engine) -> Iterator[Preview]:
        request, video = self.request, self.request.video
        info, options = request.clip, request.keyframe.options
        keyframe = request.keyframe.photo.rgb
        started = time.perf_counter()
        key_result = None
        for preview in pipeline.run(request.keyframe, engine):  # the keyframe as a photo: a preview at once
            key_result = preview.result
        regions = composite.styles_for(keyframe, request.keyframe.regions)
        # "Everything else" follows the objects it leaves out: their mask is tracked, then inverted.
        key_masks = [1.0 - region.mask if flip else region.mask
                     for region, flip in zip(regions, request.inverted, strict=True)]
        before = track_back(info, video.keyframe, key_masks, video.flow_long_side) if video.keyframe else {}
        seconds = {"decode": 0.0, "track": time.perf_counter() - started, "stylize": 0.0, "encode": 0.0}
        canvases = [RegionCanvas(region_painter(engine, region, options), video.keep) for region in regions]
        masks_tmp = None
        if self.masks_dir is not None:
            Path(self.masks_dir).parent.mkdir(parents=True, exist_ok=True)
            masks_tmp = Path(tempfile.mkdtemp(prefix=f".{Path(self.masks_dir).name}.",
                                              dir=Path(self.masks_dir).parent))
        writer, frames = None, None
        tracker = MaskTracker(key_masks, refine=grabcut_recut if video.recut else None)
        estimator = FlowEstimator()
        present_frames = [0] * len(regions)
        outside_changed, last_preview, count = 0, time.perf_counter(), 0
        previous: np.ndarray | None = None  # the last frame's flow_image
        painted, closing, exhausted = keyframe, False, False
        try:
            writer = io.VideoWriter(self.out, info.size, info.fps, audio_from=info, lossless_path=self.lossless,
                                    crf=video.crf)
            yield frame_progress(0, info.frame_count, time.perf_counter() - started, image=_shrunk(key_result.image),
                                 stage="keyframe")
            frames = io.read_frames(info)
            while not self._stop.is_set():
                tick = time.perf_counter()
                frame = next(frames, None)
                seconds["decode"] += time.perf_counter() - tick
                if frame is None:
                    exhausted = True
                    break
                tick = time.perf_counter()
                grey = flow_image(frame.rgb, video.flow_long_side)
                flows: Flows | None = None
                if previous is not None:
                    flows = estimator.between(previous, grey, info.size)
                if frame.index < video.keyframe:
                    masks = _unpack(before.get(frame.index, [None] * len(regions)), keyframe.shape[:2])
                elif frame.index == video.keyframe or flows is None:
                    masks = list(tracker.masks)
                else:
                    masks = tracker.step(flows, frame.rgb)
                    if any(request.labels) and frame.index % REFIND_EVERY == 0:
                        for index in refind(frame.rgb, tracker, list(request.labels)):
                            canvases[index].forget()
                        masks = list(tracker.masks)
                masks = shown_masks(masks, list(request.inverted), frame.rgb.shape[:2])
                seconds["track"] += time.perf_counter() - tick

                tick = time.perf_counter()
                empty = np.zeros(frame.rgb.shape[:2], np.float32)
                alphas = composite.region_alphas(frame.rgb, [empty if mask is None else mask for mask in masks],
                                                 [region.feather for region in regions], quick=True)
                refresh = (frame.index - video.keyframe) % video.refresh_every == 0
                for index, (canvas, alpha) in enumerate(zip(canvases, alphas, strict=True)):
                    if masks[index] is None:
                        continue
                    present_frames[index] += 1
                    if flows is not None:
                        canvas.carry(flows)
                    if refresh or canvas.needs_paint(alpha):
                        canvas.paint(frame.rgb, alpha)
                painted = paste_frame(frame.rgb, canvases, alphas, regions)
                outside_changed += composite.outside_changed_pixels(frame.rgb, painted, alphas)
                seconds["stylize"] += time.perf_counter() - tick

                tick = time.perf_counter()
                writer.write(painted, frame.time)
                if masks_tmp is not None:
                    union = np.maximum.reduce([empty, *[mask for mask in masks if mask is not None]])
                    (masks_tmp / f"{frame.index:06d}.png").write_bytes(encode_png(mask_to_uint8(union)))
                seconds["encode"] += time.perf_counter() - tick
                previous, count = grey, count + 1
                now = time.perf_counter()
                total = max(info.frame_count, count)
                left = (now - started) / count * (total - count)
                picture = None
                if now - last_preview >= video.preview_seconds:
                    last_preview, picture = now, _shrunk(painted)
                yield frame_progress(count, total, now - started, seconds_left=round(left, 1), image=picture)
        except GeneratorExit:  # closed by the consumer: the frames done make a shorter clip
            closing = True
        except BaseException:
            if writer is not None:
                writer.abort()
            if masks_tmp is not None:
                shutil.rmtree(masks_tmp, ignore_errors=True)
            raise
        finally:
            if frames is not None:
                frames.close()  # the input file is closed now, not when collected
        try:
            written = self._finish(writer, count, masks_tmp)
        finally:
            if masks_tmp is not None and masks_tmp.exists():
                shutil.rmtree(masks_tmp, ignore_errors=True)
        total = sum(seconds.values())
        self.report = {
            "input": os.fspath(info.path), "output": os.fspath(written[0]) if written else None,
            "lossless": os.fspath(written[1]) if written and self.lossless else None,
            "masks": os.fspath(self.masks_dir) if written and self.masks_dir else None,
            "frames": count, "stopped": not exhausted,
            "fps": round(float(info.fps), 3), "size": list(info.size),
            "output_size": list(io.even_size(info.size)), "rotation": info.rotation, "downscale": info.scale,
            "audio": None if not info.audio_codec else {
                "source_codec": info.audio_codec,
                "output": "copied" if info.audio_codec in io.MP4_AUDIO_CODECS else "re-encoded to AAC"},
            "keyframe": video.keyframe, "engine": request.keyframe.engine, "seconds": round(total, 3),
            "frames_per_second": round(count / total, 2) if total else None,
            "share": {name: round(value / total, 3) if total else 0.0 for name, value in seconds.items()},
            "regions": [{"style": region.style_name, "strength": region.strength, "feather": region.feather,
                         "preserve_color": region.preserve_color,
                         "keyframe_area_fraction": round(float((region.mask >= 0.5).mean()), 4),
                         "frames_present": present_frames[index]} for index, region in enumerate(regions)],
            "options": {"working_size": options.max_size, "refresh_every": video.refresh_every,
                        "keep": video.keep, "crf": video.crf, "recut": video.recut},
            "keyframe_report": key_result.report,
            "outside_changed_pixels": outside_changed,
        }
        if closing:
            return
        yield frame_progress(count, count, time.perf_counter() - started, seconds_left=0.0, image=_shrunk(painted),
                             stage="final", result=pipeline.StylizeResult(painted, None, self.report))

    def _finish(self, writer: io.VideoWriter | None, count: int, masks_tmp: Path | None) -> list[Path] | None:
        """Close the outputs (frames done so far) and move the masks folder into place."""
        if writer is None:
            return None
        if count == 0:
            writer.abort()
            if self._stop.is_set():
                return None
            raise VirtArtError(f"{self.request.clip.path}: the video has no frames")
        written = writer.close()
        if masks_tmp is not None:
            target = Path(self.masks_dir)
            if target.exists():
                target.rmdir()  # checked empty at the start
            os.replace(masks_tmp, target)
        return written


def stylize_video(source: str | os.PathLike | VideoRequest, regions: Sequence[RegionRequest | Region] = (),
                  out: str | os.PathLike | None = None, *, engine: str | Engine = AUTO,
                  options: StyleOptions | None = None, video: VideoOptions | None = None,
                  lossless: str | os.PathLike | None = None, masks_dir: str | os.PathLike | None = None,
                  opened: tuple[io.VideoInfo, np.ndarray] | None = None,
                  labels: Sequence[str | None] | None = None, preserve_color: bool | str = False,
                  feather: float = DEFAULT_FEATHER) -> VideoRun:
    """Paint ``regions`` (chosen on the keyframe) through the clip ``source`` into ``out`` (MP4).

    ``source``: a path, or a :class:`VideoRequest` (then ``regions`` and the options are its
    own). ``engine``: a registry name, "auto", or an engine object (tests inject tiny ones), as
    for :func:`virtart.pipeline.stylize`. ``options``: the painting options, checked as for a
    photo (``max_size`` None: :data:`WORKING_SIZE`). ``video``: the clip settings.
    ``lossless``: also write an FFV1 ``.mkv`` (RGB, bit-exact frames). ``masks_dir``: a new or
    empty folder that receives ``000000.png``... (white = repainted, the union of the regions).
    ``opened``, ``labels``, ``preserve_color``, ``feather``: see :meth:`VideoRequest.create`. Everything is checked before this
    returns; the work starts on the first ``next()``.
    """
    if out is None:
        raise VirtArtError("no output path was given for the video")
    name = engine if isinstance(engine, str) else engine.name if engine.name in ENGINES else AUTO
    request = source if isinstance(source, VideoRequest) else VideoRequest.create(
        source, regions, name, options, video, opened=opened, labels=labels, preserve_color=preserve_color,
        feather=feather)
    check_outputs(request.clip.path, out, lossless, masks_dir)
    if isinstance(engine, str):
        check_engine(request)
        engine = shared_engine(request.keyframe.engine, request.keyframe.options.device)
    return VideoRun(request, out, engine, lossless=lossless, masks_dir=masks_dir)
