"""The Video tab and the ``/stylize_video`` endpoint (``gradio_client``).

On the page a visitor uploads a clip and works on its keyframe with the photo tab's tools
(include and exclude clicks, box, undo, regions, each with its own painting, strength,
colours and soft edge, "everything else", detected objects): the tab wires the events both
tabs share (:mod:`virtart.ui.tab_events`) on its own components and session; the clip's
handlers are in :mod:`virtart.ui.video_handlers`. The endpoint takes the older one-painting form
(clicks, a box string, classes, a mask). Files travel as files; coordinates are in the
upright keyframe's pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np

from virtart.engines.composite import DEFAULT_FEATHER
from virtart.errors import VirtArtError
from virtart.request import parse_softness
from virtart.segmentation.detect import parse_classes
from virtart.segmentation.prompts import Prompt, parse_box, points_from_json
from virtart.ui import tab_events, video_handlers
from virtart.ui.components import painting_controls, tab_columns
from virtart.ui.messages import user_facing
from virtart.ui.photo_handlers import BOX, EXCLUDE, GROW_STEP, INCLUDE
from virtart.ui.state import NEXT_REGION, new_session
from virtart.ui.tab_events import REGIONS
from virtart.ui.video_handlers import VideoJob, number, output_path
from virtart.video.pipeline import VideoOptions, open_video, stylize_video
from virtart.video.selection import region_requests

VIDEO_TYPES = [".mp4", ".webm", ".mov", ".mkv", ".gif", ".avi", ".m4v"]
# What the clip's events may change (fields of virtart.ui.page.PageUpdate).
LOADED = (*REGIONS, "detected", "original", "result", "download", "run_status")
RUN = ("result", "download", "run_status", "notice")


def _everything_else(value) -> bool | str | None:
    text = str(value or "").strip()
    if text.lower() in ("", "false", "0", "no", "off"):
        return None
    return True if text.lower() in ("true", "1", "yes", "on") else text


def run_video(video: str | None, style: str, strength, keyframe, feather, prompt: Prompt | None = None,
              **chosen) -> Iterator[tuple[np.ndarray | None, str | None, dict]]:
    """``(preview, None, progress)`` while working, then ``(preview, MP4 path, progress + report)``.
    ``prompt`` and ``chosen`` (detect, masks, everything_else): see :func:`region_requests`."""
    if not video:
        raise VirtArtError("no video was given")
    clip = VideoOptions(keyframe=int(number(keyframe, "keyframe")))
    opened = open_video(video, clip)
    requests, labels = region_requests(opened[1], style or "starry_night", number(strength, "strength"), prompt,
                                       **chosen)
    out = output_path(Path(video).stem[:40] or "video")
    run = stylize_video(video, requests, out, video=clip, opened=opened, labels=labels,
                        feather=parse_softness(feather))
    try:
        for progress in run:
            state = {"frame": progress.step, "total": progress.total_steps, "final": progress.final,
                     "seconds_left": progress.seconds_left}
            if progress.final:
                yield progress.image, str(out), {**state, "report": progress.result.report}
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


def _button(label: str, elem_id: str, **options) -> gr.Button:
    return gr.Button(label, size="sm", min_width=48, elem_id=elem_id, **options)


def _build_keyframe(ui: dict) -> None:
    """The clip, the keyframe with the click tools, the status and notice lines."""
    ui["clip"] = gr.File(label="Clip (MP4, WebM, MOV, GIF; up to 60 s, 1920 px)", file_types=VIDEO_TYPES,
                         type="filepath", elem_id="video-in", height=90)
    ui["keyframe"] = gr.Number(0, label="Keyframe (the frame the regions are chosen on; Enter shows it)",
                               precision=0, minimum=0, elem_id="video-keyframe-number")
    ui["photo"] = gr.Image(label="Keyframe: click what to repaint", interactive=False, type="numpy",
                           elem_id="video-keyframe", height=360)
    with gr.Row():
        ui["mode"] = gr.Radio([INCLUDE, EXCLUDE, BOX], value=INCLUDE, show_label=False, container=False,
                              elem_id="video-click-mode", scale=4, min_width=220)
        ui.update({key: _button(label, f"video-{key}", scale=1) for key, label in (
            ("undo", "Undo"), ("redo", "Redo"), ("grow", f"Grow {GROW_STEP} px"), ("shrink", f"Shrink {GROW_STEP} px"),
            ("clear", "Clear"))})
    ui["status"] = gr.Markdown("Upload a clip.", elem_id="video-keyframe-status")
    ui["notice"] = gr.Markdown("", elem_id="video-notice")


def _build_regions(ui: dict) -> None:
    """Making regions, the region list, and the painting controls acting on the picked region."""
    with gr.Row():
        ui["add"] = _button("Add selection", "video-add-region", variant="secondary")
        ui["rest"] = _button("Everything else", "video-everything-else")
        ui["detect"] = _button("Detect objects", "video-detect")
    with gr.Row(equal_height=False):
        ui["detected"] = gr.Dropdown([], value=[], multiselect=True, label="Detected objects", scale=3,
                                     min_width=160, container=False, elem_id="video-detected")
        ui["add_detected"] = _button("Add ticked", "video-add-detected", scale=1)
    ui["thumbs"] = gr.Gallery(show_label=False, columns=5, height=100, allow_preview=False, object_fit="contain",
                              fit_columns=False, elem_id="video-regions")
    ui["picker"] = gr.Dropdown([("New regions (default)", NEXT_REGION)], value=NEXT_REGION, label="Painting for",
                               container=False, elem_id="video-region-picker")
    with gr.Row():
        for key, label in (("edit", "Edit"), ("invert", "Invert"), ("delete", "Delete")):
            ui[key] = _button(label, f"video-{key}-region", variant="stop" if key == "delete" else "secondary")
        ui["upload"] = gr.UploadButton("Own painting", file_types=["image"], type="filepath", size="sm",
                                       min_width=48, elem_id="video-own-painting")
    painting_controls(ui, "video-", "clip")


def _build_results(ui: dict) -> None:
    """Stylize and Stop, progress, the painted keyframe's preview, the original and the result."""
    with gr.Row():
        ui["run"] = gr.Button("Stylize video", variant="primary", elem_id="video-run", scale=3)
        ui["stop"] = gr.Button("Stop", variant="stop", elem_id="video-stop", scale=1)
    ui["run_status"] = gr.Markdown("", elem_id="video-status")
    ui["result"] = gr.Image(label="Preview (the painted keyframe, then the latest frame)", interactive=False,
                            elem_id="video-preview", height=220)
    with gr.Row(equal_height=True):
        ui["original"] = gr.Video(label="Original", interactive=False, elem_id="video-original", height=240)
        ui["download"] = gr.Video(label="Result", interactive=False, elem_id="video-result", height=240)


def _wire_tab(ui: dict, concurrency: dict, segment: dict, wire) -> None:
    """The photo tab's events on the tab's own session and components, and the clip's."""
    session = ui["session"]

    def on(trigger, handler, inputs, names, **options):
        return wire(trigger, handler, inputs, names, ui, **options)

    for trigger in (ui["clip"].upload, ui["keyframe"].submit):
        on(trigger, video_handlers.show_keyframe, [ui["clip"], ui["keyframe"], session], LOADED)
    tab_events.wire(on, ui, {"segment": segment, "heavy": concurrency})
    # Stop is not a cancel: the run ends after the frame in hand and the stream delivers the shorter clip.
    waiting = on(ui["run"].click, video_handlers.queued_clip, [ui["job"]], ("run_status", "notice"), queue=False)
    on(waiting.then, video_handlers.stylize_clip, [ui["clip"], ui["keyframe"], session, ui["job"]], RUN,
       show_progress="hidden", also=("run_status",), **concurrency)
    on(ui["stop"].click, video_handlers.stop_clip, [ui["job"]], RUN, queue=False)


def build_tab(concurrency: dict, wire, segment: dict | None = None) -> None:
    """The "Video" tab; ``concurrency``: the heavy events' group settings; ``segment``: the
    clicks' (default: the heavy ones); ``wire(trigger, handler, inputs, names, ui,
    **options)``: app.py's event wiring of a handler returning a PageUpdate."""
    with gr.Tab("Video", elem_id="video-tab"):
        ui: dict = {"session": gr.State(new_session()), "job": gr.State(VideoJob())}
        tab_columns(ui, _build_keyframe, _build_regions, _build_results)
        _wire_tab(ui, concurrency, segment or concurrency, wire)


def wire_api(concurrency: dict) -> None:
    """Hidden components behind ``/stylize_video``."""
    inputs = [gr.File(label="video", type="filepath"), gr.Textbox("", label="points"), gr.Textbox("", label="box"),
              gr.Textbox("", label="detect"), gr.File(label="mask", type="filepath"),
              gr.Textbox("starry_night", label="style"), gr.Number(1.0, label="strength"),
              gr.Textbox("", label="everything_else"), gr.Number(0, label="keyframe"), gr.Textbox(DEFAULT_FEATHER, label="feather")]
    outputs = [gr.Image(label="preview", format="png", type="numpy"), gr.File(label="mp4"), gr.JSON(label="progress")]
    gr.Button("stylize_video").click(stylize_video_api, inputs, outputs, api_name="stylize_video", **concurrency)
