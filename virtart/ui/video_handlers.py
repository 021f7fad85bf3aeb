"""The Video tab's handlers: the clip's keyframe as the tab's photo, the clip painted with
every region in its own painting, and Stop that keeps what was done.

The keyframe becomes the tab's :class:`~virtart.ui.state.Session` photo, so the photo tab's
click, box, undo and region handlers (:mod:`~virtart.ui.photo_handlers`,
:mod:`~virtart.ui.region_handlers`) work on it unchanged, and the regions go to the clip as
the photo tab sends them to a photo (:func:`~virtart.ui.stylize_handlers.region_requests`:
each region's mask, painting, strength, colour rule and soft edge). :func:`stylize_clip`
streams the painted keyframe first (a preview before the clip is done), then frames done and
the time left, then the MP4. :func:`stop_clip` asks the run to end after the frame in hand;
the run then writes the frames done as a playable, shorter clip, which both the stream and
the Stop event show. Coordinates are in the upright keyframe's pixels.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from virtart.engines.base import Engine
from virtart.engines.registry import AUTO
from virtart.errors import VirtArtError
from virtart.imageio import Photo
from virtart.request import RegionRequest
from virtart.ui import render
from virtart.ui.limits import DISPLAY_MAX_SIDE
from virtart.ui.page import KEEP, PageUpdate
from virtart.ui.region_handlers import regions_update
from virtart.ui.state import Session
from virtart.ui.stylize_handlers import region_requests
from virtart.ui.time_left import describe
from virtart.video.pipeline import VideoOptions, VideoRun, open_video, stylize_video

KEEP_OUTPUTS = 16
PLAYABLE = (".mp4", ".webm", ".m4v")  # containers a browser's <video> plays as uploaded
STOP_WAIT_SECONDS = 10.0  # Stop waits this long for the frame in hand and the clip's last bytes
# The engine for clips: the registry's choice ("auto"); tests put a tiny engine object here.
ENGINE: str | Engine = AUTO
_folder_lock = threading.Lock()


@dataclass
class VideoJob:
    """One visitor's clip, held in the tab's ``gr.State`` so Stop reaches it: ``run`` while it
    paints; ``waiting`` from the press of Stylize until a worker takes it (the queue), and
    ``cancelled`` when Stop was pressed in that time (the run then ends before it starts)."""

    run: VideoRun | None = None
    waiting: bool = False
    cancelled: bool = False


NOT_STARTED = "Stopped before it started: nothing was painted. Press *Stylize video* to run."


def queued_clip(job: VideoJob) -> PageUpdate:
    """Shown at once when Stylize is pressed, until a worker takes the run."""
    job.waiting, job.cancelled = True, False
    return PageUpdate(run_status="Waiting for a free worker... *Stop* cancels.", notice=KEEP)


def output_path(stem: str) -> Path:
    """A fresh MP4 path in the app's video folder (only the newest ``KEEP_OUTPUTS`` are kept)."""
    folder = Path(tempfile.gettempdir()) / f"virtart-videos-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock:
        videos = sorted(folder.glob("*.mp4"), key=lambda p: p.stat().st_mtime)
        for old in videos[: max(0, len(videos) - KEEP_OUTPUTS + 1)]:
            old.unlink(missing_ok=True)
    return folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.mp4"


def number(value, name: str) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise VirtArtError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(result):
        raise VirtArtError(f"{name} must be a finite number, got {value!r}")
    return result


def _options(keyframe) -> VideoOptions:
    return VideoOptions(keyframe=int(number(keyframe, "the keyframe")))


def show_keyframe(video: str | None, keyframe, session: Session) -> PageUpdate:
    """The clip's keyframe becomes the tab's photo (regions start afresh), the clip plays in
    the original's player and the last clip's result goes."""
    if not video:
        return PageUpdate(status="Upload a clip.")
    info, frame = open_video(video, _options(keyframe))
    display, scale = render.fit_display(frame, DISPLAY_MAX_SIDE)
    session.reset_photo(Photo(frame, None, Path(video).stem[:40]), display, scale)
    update = regions_update(session)
    update.original = video if Path(video).suffix.lower() in PLAYABLE else None
    update.result, update.download, update.run_status = None, None, ""
    update.status = (f"Clip {info.size[0]}x{info.size[1]}, {info.seconds:.1f} s at {float(info.fps):.3g} frames/s. "
                     "Click what to repaint on the keyframe (or *Box*, *Everything else*), *Add selection*, "
                     "then pick its painting.")
    return update


def clip_regions(session: Session) -> list[RegionRequest]:
    """The tab's regions as the photo tab sends them, except that an "everything else" region
    follows the objects it leaves out: their mask is tracked through the clip and inverted
    on every frame (the rest of the frame itself has no motion of its own to follow)."""
    requests = region_requests(session)
    if not session.regions:
        return requests
    return [replace(request, mask=1.0 - np.asarray(request.mask, np.float32), invert=not request.invert)
            if region.prompt is None else request for region, request in zip(session.regions, requests, strict=True)]


def detected_labels(session: Session) -> list[str | None]:
    """Each region's COCO class where it was made from a detected object (its prompt keeps
    that object's box, through later clicks), else None: a detected object that leaves the
    frame is looked for again by its class, as ``virtart video --detect`` does."""
    return [next((found.label for found in session.detections if region.prompt is not None
                  and region.prompt.box == found.box), None) for region in session.regions]


def finished(run: VideoRun, path: str) -> PageUpdate:
    """What the page shows once ``run`` has ended (done, or stopped with the frames done)."""
    report = run.report
    frames, total = report["frames"], max(run.request.clip.frame_count, report["frames"])
    if not report["stopped"]:
        return PageUpdate(download=path, notice=KEEP,
                          run_status=f"Done: {frames} frames in {report['seconds']:.1f} s "
                                     f"({report['frames_per_second']} frames/s). The result plays beside the original.")
    if not report["output"]:
        return PageUpdate(notice=KEEP, run_status="Stopped before the first frame was done: no clip is kept. "
                                                  "Press *Stylize video* to run again.")
    seconds = frames / report["fps"] if report["fps"] else 0.0
    return PageUpdate(download=path, notice=KEEP,
                      run_status=f"Stopped: the clip holds {frames} of {total} frames ({seconds:.1f} s); "
                                 "it plays beside the original. Press *Stylize video* to paint the whole clip.")


def stylize_clip(video: str | None, keyframe, session: Session, job: VideoJob) -> Iterator[PageUpdate]:
    """The tab's Stylize button: the painted keyframe (the preview), frames done with the time
    left, then the MP4 in the result's player. The last result stays until a new one is made."""
    cancelled, job.waiting, job.cancelled = job.cancelled, False, False
    if cancelled:
        yield PageUpdate(notice=KEEP, run_status=NOT_STARTED)
        return
    if not video or session.photo is None:
        raise VirtArtError("upload a clip first, then choose the regions on its keyframe")
    requests = clip_regions(session)
    clip = _options(keyframe)
    opened = open_video(video, clip)
    if not np.array_equal(opened[1], session.photo.rgb):
        raise VirtArtError("the keyframe number changed after the regions were chosen: press Enter in it to show "
                           "that frame, then choose the regions again (or set the number back)")
    out = output_path(Path(video).stem[:40] or "video")
    labels = detected_labels(session) if session.regions else None
    run = job.run = stylize_video(video, requests, out, engine=ENGINE, video=clip, opened=opened,
                                  labels=labels if labels and any(labels) else None)
    total = opened[0].frame_count
    yield PageUpdate(run_status=f"Painting the keyframe with {len(requests)} region(s)...", notice=KEEP)
    try:
        for progress in run:
            if progress.final:
                yield replace(finished(run, str(out)), result=progress.image)
            elif progress.stage == "keyframe":
                yield PageUpdate(result=progress.image, notice=KEEP,
                                 run_status=f"Keyframe painted (the preview shows how the clip will look); "
                                            f"painting {total} frames...")
            else:
                left = describe(progress.seconds_left)
                yield PageUpdate(result=KEEP if progress.image is None else progress.image, notice=KEEP,
                                 run_status=f"Frame {progress.step} of {progress.total_steps}" + (f", {left}" if left else "")
                                            + ". *Stop* keeps the frames done as a clip.")
    finally:
        run.close()
        if job.run is run:
            job.run = None


def stop_clip(job: VideoJob) -> PageUpdate:
    """Stop: the run ends after the frame in hand and keeps the frames done as a playable clip.
    Waits (at most :data:`STOP_WAIT_SECONDS`) for that clip, then shows what the stream shows
    for it, so the page says the same whichever of the two updates arrives last."""
    run = job.run
    if run is None:
        if not job.waiting:
            return PageUpdate(notice=KEEP)
        job.cancelled = True  # the run, once a worker takes it, ends at once
        return PageUpdate(notice=KEEP, run_status=NOT_STARTED)
    run.stop()
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while run.report is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if run.report is None:
        return PageUpdate(notice=KEEP, run_status="Stopping after the frame in hand...")
    return finished(run, os.fspath(run.out))
