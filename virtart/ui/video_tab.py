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
from virtart.errors import VirtArtError
from virtart.segmentation.detect import parse_classes
from virtart.segmentation.prompts import parse_box, points_from_json
from virtart.ui.messages import user_facing
from virtart.ui.render import draw_points
from virtart.video.pipeline import VideoOptions, open_video, stylize_video
from virtart.video.selection import Selection, region_requests

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


def run_video(video: str | None, selection: Selection, style: str, strength, keyframe, feather
              ) -> Iterator[tuple[np.ndarray | None, str | None, dict]]:
    """``(preview, None, progress)`` while working, then ``(preview, MP4 path, progress + report)``."""
    if not video:
        raise VirtArtError("no video was given")
    options = VideoOptions(keyframe=int(_number(keyframe, "keyframe")), feather=_number(feather, "feather"))
    opened = open_video(video, options)
    requests, labels = region_requests(selection, opened[1], style or "starry_night", _number(strength, "strength"))
    out = output_path(Path(video).stem[:40] or "video")
    for progress in stylize_video(video, requests, out, options=options, opened=opened, labels=labels):
        state = {"frame": progress.frame, "total": progress.total, "final": progress.final}
        if progress.final:
            yield progress.preview, str(out), {**state, "report": progress.report}
        else:
            yield progress.preview, None, state


@user_facing
def stylize_video_api(video: str, points: str = "", box: str = "", detect: str = "", mask: str | None = None,
                      style: str = "starry_night", strength: float = 1.0, everything_else: str = "",
                      keyframe: float = 0, feather: float = 4.0) -> Iterator[tuple[np.ndarray | None, str | None, dict]]:
    """Repaint regions of a clip. ``points``: JSON ``[[x, y, label], ...]``; ``box``: ``"x0,y0,x1,y1"``;
    ``detect``: classes such as ``"person,dog"``; ``mask``: a mask PNG of the keyframe; none of
    them: the whole frame. ``everything_else``: "" (off), "true" (everything outside the
    selection instead) or a style id (also everything else, in that style)."""
    selection = Selection(points=points_from_json(points),
                          box=parse_box(box, "box") if str(box or "").strip() else None,
                          detect=parse_classes(detect),
                          masks=[mask] if mask else [], everything_else=_everything_else(everything_else))
    yield from run_video(video, selection, style, strength, keyframe, feather)


@user_facing
def show_keyframe(video: str | None, keyframe) -> tuple[np.ndarray | None, np.ndarray | None, list, str]:
    """``(shown, clean, points, status)``: the keyframe to click on, a clean copy kept server-side
    for drawing the dots (a keyframe deep in a long clip is slow to decode again); clicks start afresh."""
    if not video:
        return None, None, [], "Upload a clip."
    info, frame = open_video(video, VideoOptions(keyframe=int(_number(keyframe, "keyframe"))))
    return frame, frame, [], (f"{info.size[0]}x{info.size[1]}, {info.seconds:.1f} s at {float(info.fps):.3g} "
                              "frames/s. Click what to repaint (none: the whole frame).")


def click_keyframe(clean: np.ndarray | None, points: list, evt: gr.SelectData):
    """Add an include click at the clicked pixel and redraw the dots on the clean keyframe."""
    if clean is None or evt.index is None:
        return gr.skip(), points
    points = [*points, (float(evt.index[0]), float(evt.index[1]), 1)]
    return draw_points(clean, points, 1.0), points


def clear_clicks(clean: np.ndarray | None):
    """Forget the clicks and show the clean keyframe again."""
    return (gr.skip() if clean is None else clean), []


@user_facing
def stylize_from_tab(video, keyframe, points, detect, rest, style, strength):
    """The tab's Stylize button: stream previews, then the MP4."""
    selection = Selection(points=list(points or []), detect=parse_classes(detect),
                          everything_else=True if rest else None)
    for preview, path, state in run_video(video, selection, style, strength, keyframe, 4.0):
        text = f"Frame {state['frame']}/{state['total']}"
        if path:
            report = state["report"]
            text = (f"Done: {report['frames']} frames in {report['seconds']:.1f} s "
                    f"({report['frames_per_second']} frames/s).")
        yield preview, path, text


def build_tab(concurrency: dict) -> None:
    """The "Video" tab; ``concurrency``: the heavy events' group settings."""
    with gr.Tab("Video", elem_id="video-tab"):
        points = gr.State([])
        clean = gr.State(None)  # the keyframe without dots
        with gr.Row():
            with gr.Column(scale=3):
                clip = gr.File(label="Clip (MP4, WebM, MOV, GIF; up to 60 s, 1920 px)", file_types=VIDEO_TYPES,
                               type="filepath", elem_id="video-in")
                keyframe = gr.Number(0, label="Keyframe (frame number the regions are chosen on)", precision=0,
                                     minimum=0, elem_id="video-keyframe-number")
                frame = gr.Image(label="Keyframe: click what to repaint", interactive=False, type="numpy",
                                 elem_id="video-keyframe")
                clear = gr.Button("Clear clicks", size="sm")
            with gr.Column(scale=2):
                detect = gr.Textbox("", label="Or detect objects (classes, e.g. person,dog)", elem_id="video-detect")
                rest = gr.Checkbox(False, label="Repaint everything else instead", elem_id="video-rest")
                style = gr.Dropdown([p.id for p in styles.CATALOGUE], value="starry_night", label="Painting",
                                    elem_id="video-style")
                strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength", elem_id="video-strength")
                with gr.Row():
                    run = gr.Button("Stylize video", variant="primary", elem_id="video-run")
                    stop = gr.Button("Stop", variant="stop", elem_id="video-stop")
                status = gr.Markdown("", elem_id="video-status")
                preview = gr.Image(label="Preview", interactive=False, elem_id="video-preview")
                result = gr.File(label="Result (MP4)", interactive=False, elem_id="video-result")
        private = {"api_visibility": "private"}
        for event in (clip.upload, keyframe.submit):
            event(show_keyframe, [clip, keyframe], [frame, clean, points, status], **private)
        clear.click(clear_clicks, clean, [frame, points], **private)
        frame.select(click_keyframe, [clean, points], [frame, points], **private)
        running = run.click(stylize_from_tab, [clip, keyframe, points, detect, rest, style, strength],
                            [preview, result, status], show_progress="hidden", **private, **concurrency)
        stop.click(None, None, None, cancels=[running], **private)


def wire_api(concurrency: dict) -> None:
    """Hidden components behind ``/stylize_video``."""
    inputs = [gr.File(label="video", type="filepath"), gr.Textbox("", label="points"), gr.Textbox("", label="box"),
              gr.Textbox("", label="detect"), gr.File(label="mask", type="filepath"),
              gr.Textbox("starry_night", label="style"), gr.Number(1.0, label="strength"),
              gr.Textbox("", label="everything_else"), gr.Number(0, label="keyframe"), gr.Number(4.0, label="feather")]
    outputs = [gr.Image(label="preview", format="png", type="numpy"), gr.File(label="mp4"), gr.JSON(label="progress")]
    gr.Button("stylize_video").click(stylize_video_api, inputs, outputs, api_name="stylize_video", **concurrency)
