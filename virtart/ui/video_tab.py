"""The Video tab and the ``/stylize_video`` endpoint (``gradio_client``).

A visitor uploads a clip, clicks what to repaint on its keyframe (or names classes to
detect, or takes everything else), picks a painting and gets an MP4 back; previews stream
while it works and Stop cancels the event, which closes the video generator (no output is
left behind). Files travel as files; coordinates are in the upright keyframe's pixels.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np

from virtart import styles
from virtart.engines.composite import DEFAULT_FEATHER
from virtart.errors import VirtArtError
from virtart.imageio import Photo
from virtart.request import parse_softness
from virtart.segmentation.detect import parse_classes
from virtart.segmentation.prompts import Prompt, parse_box, points_from_json
from virtart.styles import DEFAULT_STYLE
from virtart.ui import photo_handlers, region_handlers, render
from virtart.ui.limits import DISPLAY_MAX_SIDE
from virtart.ui.messages import user_facing
from virtart.ui.page import KEEP, PageUpdate
from virtart.ui.photo_handlers import BOX, EXCLUDE, INCLUDE
from virtart.ui.region_handlers import regions_update
from virtart.ui.state import NEXT_REGION, Session, new_session, shown_mask
from virtart.ui.time_left import describe
from virtart.video.pipeline import VideoOptions, open_video, stylize_video
from virtart.video.selection import region_requests

VIDEO_TYPES = [".mp4", ".webm", ".mov", ".mkv", ".gif", ".avi", ".m4v"]
KEEP_OUTPUTS = 16
_folder_lock = threading.Lock()


def output_path(stem: str) -> Path:
    """A fresh MP4 path in the app's video folder (only the newest ``KEEP_OUTPUTS`` are kept)."""
    folder = Path(tempfile.gettempdir()) / f"virtart-videos-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock:
        videos = sorted(folder.glob("*.mp4"), key=lambda p: p.stat().st_mtime)
        for old in videos[: max(0, len(videos) - KEEP_OUTPUTS + 1)]:
            old.unlink(missing_ok=True)
    return folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.mp4"


def _everything_else(value) -> bool | str | None:
    text = str(value or "").strip()
    if text.lower() in ("", "false", "0", "no", "off"):
        return None
    return True if text.lower() in ("true", "1", "yes", "on") else text


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VirtArtError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise VirtArtError(f"{name} must be a finite number, got {value!r}")
    return number


def run_video(video: str | None, style: str, strength, keyframe, feather, prompt: Prompt | None = None,
              **chosen) -> Iterator[tuple[np.ndarray | None, str | None, dict]]:
    """``(preview, None, progress)`` while working, then ``(preview, MP4 path, progress + report)``.
    ``prompt`` and ``chosen`` (detect, masks, everything_else): see :func:`region_requests`."""
    if not video:
        raise VirtArtError("no video was given")
    clip = VideoOptions(keyframe=int(_number(keyframe, "keyframe")))
    opened = open_video(video, clip)
    requests, labels = region_requests(opened[1], style or "starry_night", _number(strength, "strength"), prompt,
                                       **chosen)
    out = output_path(Path(video).stem[:40] or "video")
    run = stylize_video(video, requests, out, video=clip, opened=opened, labels=labels,
                        feather=parse_softness(feather))
    try:
        for progress in run:
            state = {"frame": progress.frame, "total": progress.total, "final": progress.final,
                     "seconds_left": progress.seconds_left}
            if progress.final:
                yield progress.image, str(out), {**state, "report": progress.report}
            elif progress.image is not None:
                yield progress.image, None, state
    finally:
        run.close()


@user_facing
def stylize_video_api(video: str, points: str = "", box: str = "", detect: str = "", mask: str | None = None,
                      style: str = "starry_night", strength: float = 1.0, everything_else: str = "",
                      keyframe: float = 0, feather: float | str = DEFAULT_FEATHER) -> Iterator[tuple[np.ndarray | None, str | None, dict]]:
    """Repaint regions of a clip. ``points``: JSON ``[[x, y, label], ...]``; ``box``: ``"x0,y0,x1,y1"``;
    ``detect``: classes such as ``"person,dog"``; ``mask``: a mask PNG of the keyframe; none of
    them: the whole frame. ``everything_else``: "" (off), "true" (everything outside the
    selection instead) or a style id (also everything else, in that style)."""
    prompt = Prompt(tuple(points_from_json(points)), parse_box(box, "box") if str(box or "").strip() else None)
    yield from run_video(video, style, strength, keyframe, feather, prompt, detect=parse_classes(detect) or (),
                         masks=[mask] if mask else [], everything_else=_everything_else(everything_else))


def show_keyframe(video: str | None, keyframe, session: Session) -> PageUpdate:
    """The clip's keyframe becomes the tab's photo: the photo tab's clicks, box, undo, grow and
    regions then work on it (each region's mask travels to the clip as a keyframe mask)."""
    if not video:
        return PageUpdate(status="Upload a clip.")
    info, frame = open_video(video, VideoOptions(keyframe=int(_number(keyframe, "keyframe"))))
    display, scale = render.fit_display(frame, DISPLAY_MAX_SIDE)
    session.reset_photo(Photo(frame, None, Path(video).stem[:40]), display, scale)
    update = regions_update(session)
    update.status = (f"Clip {info.size[0]}x{info.size[1]}, {info.seconds:.1f} s at {float(info.fps):.3g} frames/s. "
                     "Click what to repaint on the keyframe and *Add selection* (no region: the whole frame).")
    return update


def stylize_from_tab(video, keyframe, session: Session, detect, rest, style, strength):
    """The tab's Stylize button: previews with frames done and the time left, then the MP4 beside
    the original. The regions made on the keyframe go as keyframe masks (one painting for the
    clip: the video path takes one style today)."""
    masks = [shown_mask(region) for region in session.regions]
    if not masks and session.mask is not None:
        masks = [session.mask]
    started = time.perf_counter()
    for preview, path, state in run_video(video, style, strength, keyframe, DEFAULT_FEATHER, masks=masks,
                                          detect=parse_classes(detect) or (), everything_else=True if rest else None):
        done, total = state["frame"], state["total"]
        elapsed = time.perf_counter() - started
        left = describe(elapsed / done * (total - done)) if done else ""
        text = f"Frame {done} of {total}" + (f", {left}" if left else "") + "."
        if path:
            report = state["report"]
            text = (f"Done: {report['frames']} frames in {report['seconds']:.1f} s "
                    f"({report['frames_per_second']} frames/s).")
        yield PageUpdate(result=preview, download=path, run_status=text, notice=KEEP)


VIDEO_FIELDS = ("session", "photo", "status", "notice", "thumbs", "picker", "caption", "strength", "preserve",
                "feather")


def build_tab(concurrency: dict, wire) -> None:
    """The "Video" tab; ``concurrency``: the heavy events' group settings; ``wire(trigger,
    handler, inputs, names, ui, **options)``: app.py's event wiring, so the keyframe reuses the
    photo tab's handlers (clicks, box, undo, regions) on the tab's own session."""
    with gr.Tab("Video", elem_id="video-tab"):
        ui: dict = {"session": gr.State(new_session())}
        with gr.Row():
            with gr.Column(scale=3):
                clip = gr.File(label="Clip (MP4, WebM, MOV, GIF; up to 60 s, 1920 px)", file_types=VIDEO_TYPES,
                               type="filepath", elem_id="video-in")
                keyframe = gr.Number(0, label="Keyframe (frame number the regions are chosen on)", precision=0,
                                     minimum=0, elem_id="video-keyframe-number")
                ui["photo"] = gr.Image(label="Keyframe: click what to repaint", interactive=False, type="numpy",
                                       elem_id="video-keyframe", height=360)
                with gr.Row():
                    mode = gr.Radio([INCLUDE, EXCLUDE, BOX], value=INCLUDE, show_label=False, container=False,
                                    elem_id="video-click-mode", scale=3)
                    undo = gr.Button("Undo", size="sm", min_width=50)
                    clear = gr.Button("Clear clicks", size="sm", min_width=50)
                    add = gr.Button("Add selection", size="sm", min_width=50, elem_id="video-add-region")
                ui["status"] = gr.Markdown("Upload a clip.", elem_id="video-keyframe-status")
                ui["notice"] = gr.Markdown("", elem_id="video-notice")
                ui["thumbs"] = gr.Gallery(show_label=False, columns=6, height=90, allow_preview=False,
                                          object_fit="contain", elem_id="video-regions")
                ui["picker"] = gr.Dropdown([("New regions (default)", NEXT_REGION)], value=NEXT_REGION,
                                           visible=False)
                ui["caption"], ui["preserve"], ui["feather"] = gr.State(), gr.State(), gr.State()
            with gr.Column(scale=2):
                detect = gr.Textbox("", label="Or detect objects (classes, e.g. person,dog)", elem_id="video-detect")
                rest = gr.Checkbox(False, label="Repaint everything else instead", elem_id="video-rest")
                style = gr.Dropdown([(f"{p.title} ({p.painter})", p.id) for p in styles.CATALOGUE],
                                    value=DEFAULT_STYLE, label="Painting", elem_id="video-style")
                ui["strength"] = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength", elem_id="video-strength")
                with gr.Row():
                    run = gr.Button("Stylize video", variant="primary", elem_id="video-run")
                    stop = gr.Button("Stop", variant="stop", elem_id="video-stop")
                out = {"run_status": gr.Markdown("", elem_id="video-status"),
                       "result": gr.Image(label="Preview", interactive=False, elem_id="video-preview", height=240),
                       "download": gr.Video(label="Result", interactive=False, elem_id="video-result", height=240)}
        session = ui["session"]
        for event in (clip.upload, keyframe.submit):
            wire(event, show_keyframe, [clip, keyframe, session], VIDEO_FIELDS, ui)
        wire(ui["photo"].select, photo_handlers.click_photo, [session, mode], VIDEO_FIELDS[:4], ui,
             show_progress="hidden", **concurrency)
        wire(undo.click, photo_handlers.undo_click, [session], VIDEO_FIELDS[:4], ui, show_progress="hidden")
        wire(clear.click, photo_handlers.clear_clicks, [session], VIDEO_FIELDS[:4], ui, show_progress="hidden")
        wire(add.click, region_handlers.add_click_region, [session], VIDEO_FIELDS, ui, show_progress="hidden")
        names = ("result", "download", "run_status", "notice")
        running = wire(run.click, stylize_from_tab, [clip, keyframe, session, detect, rest, style, ui["strength"]],
                       names, {**ui, **out}, show_progress="hidden", also=("run_status",), **concurrency)
        stop.click(None, None, None, cancels=[running], api_visibility="private").then(
            lambda: "Stopped: no clip is kept yet (the video path writes the clip only when it completes).",
            None, out["run_status"], api_visibility="private")


def wire_api(concurrency: dict) -> None:
    """Hidden components behind ``/stylize_video``."""
    inputs = [gr.File(label="video", type="filepath"), gr.Textbox("", label="points"), gr.Textbox("", label="box"),
              gr.Textbox("", label="detect"), gr.File(label="mask", type="filepath"),
              gr.Textbox("starry_night", label="style"), gr.Number(1.0, label="strength"),
              gr.Textbox("", label="everything_else"), gr.Number(0, label="keyframe"), gr.Textbox(DEFAULT_FEATHER, label="feather")]
    outputs = [gr.Image(label="preview", format="png", type="numpy"), gr.File(label="mp4"), gr.JSON(label="progress")]
    gr.Button("stylize_video").click(stylize_video_api, inputs, outputs, api_name="stylize_video", **concurrency)
