"""VirtArt, the Gradio app: repaint chosen regions of a photo in the style of a painting.

UI wiring only: the handlers live in :mod:`virtart.ui`, the models in the library.
Run ``python app.py`` (env: ``PORT``, ``GRADIO_SERVER_NAME``, ``VIRTART_SHARE=1`` for a
public share link). The public API for ``gradio_client`` is described in docs/api.md.
"""

from __future__ import annotations

import os
import sys

from virtart import settings, warmup
from virtart.ui import heap

settings.apply_offline_defaults()
heap.bound_heap()  # before any worker thread: the server's memory stays flat (virtart/ui/heap.py)

import gradio as gr  # noqa: E402

from virtart.engines import registry  # noqa: E402
from virtart.engines.composite import DEFAULT_FEATHER  # noqa: E402
from virtart.ui import (  # noqa: E402
    api,
    brush_handlers,
    health,
    limits,
    mcp_tools,
    page,
    photo_handlers,
    request_guard,
    stylize_handlers,
    tab_events,
    video_tab,
)
from virtart.ui.brush_handlers import BRUSH_EXCLUDE, BRUSH_INCLUDE  # noqa: E402
from virtart.ui.components import painting_controls, photo_image, tab_columns  # noqa: E402
from virtart.ui.examples import example_photos  # noqa: E402
from virtart.ui.photo_handlers import BOX, EXCLUDE, GROW_STEP, INCLUDE  # noqa: E402
from virtart.ui.state import NEXT_REGION, Session, new_session  # noqa: E402
from virtart.ui.tab_events import REGIONS, VIEW  # noqa: E402
from virtart.ui.tempfiles import start_sweeper  # noqa: E402

INTRO = ("**VirtArt** repaints parts of a photo in a painting's style. <span class='steps'>"
         "**1** Upload a photo or pick an example. **2** Click what to repaint (or *Box*, *Brush*, *Detect*), "
         "*Add selection*. **3** Pick a painting. **4** *Stylize*. Pixels outside your regions stay exactly as they "
         "were.</span>")
HELP = """Clicks: green dots include, red exclude; *Box* takes two corner clicks; the *Brush* panel paints
include (green) and exclude (red) strokes. *Grow*/*Shrink* move the outline; *Undo*/*Redo* step back and
forth. Pick a region in the list to give it its own painting, strength, colours and feather (they apply at
once); with *New regions* picked they set what the next region gets. *Edit* brings a region's clicks, box
or detected outline back to refine it."""
CSS = """
#notice:empty, #notice .prose:empty, #video-notice:empty, #video-notice .prose:empty { display: none; }
#notice, #notice *, #video-notice, #video-notice * { color: var(--error-text-color, #b91c1c); }
#status, #run-status, #model-status { font-size: var(--text-sm); }
@media (max-width: 640px) {
  /* a phone: tighter gaps, one row of small thumbnails per gallery, the click tools on two lines;
     the photo and the result stay big */
  #page-tabs { --layout-gap: 6px; --block-padding: 4px 8px; }
  #photo, #result { height: 300px !important; max-height: 300px; }
  #styles, #examples, #regions { height: 62px !important; }
  #styles .grid-container { --grid-cols: 7 !important; }
  #styles .grid-container, #examples .grid-container, #regions .grid-container {
    grid-template-columns: repeat(var(--grid-cols), minmax(36px, 1fr)); grid-template-rows: none;
    grid-auto-rows: 48px; gap: 4px; }
  #styles .caption-label, #regions .caption-label { display: none; }
  #click-mode { min-width: 100% !important; }
  #undo, #redo, #grow, #shrink, #clear, #edit-region, #invert-region, #delete-region, #own-painting {
    white-space: nowrap; padding-left: 4px; padding-right: 4px; }
  #examples [data-testid="block-label"] { display: none; }
  #intro .steps { display: none; }
}
"""


def load_example(session: Session, evt: gr.SelectData):
    """An example thumbnail was clicked: load it like an upload."""
    photos = example_photos()
    index = getattr(evt, "index", None)
    return photo_handlers.upload_photo(str(photos[index]) if isinstance(index, int) and 0 <= index < len(photos)
                                       else None, session)


def _heavy() -> dict:
    return {"concurrency_id": limits.HEAVY_GROUP, "concurrency_limit": limits.heavy_concurrency()}


def _segment() -> dict:
    return {"concurrency_id": limits.SEGMENT_GROUP, "concurrency_limit": limits.segment_concurrency()}


PRIVATE = {"api_visibility": "private"}
SHOW_RESULT = "() => document.getElementById('result')?.scrollIntoView({behavior: 'smooth', block: 'nearest'})"
# What each kind of event may change (fields of virtart.ui.page.PageUpdate).
LOADED = (*REGIONS, "detected", "brush", "result", "run_status", "download", "plot")
RUN = ("session", "notice", "result", "run_status", "download", "plot")


def _build_editor(ui: dict) -> None:
    """Photo, click tools, the status and notice lines, the brush, the examples."""
    ui["photo"] = photo_image(label="Photo: click to select", sources=["upload", "clipboard"],
                              elem_id="photo", height=480, buttons=["fullscreen"])
    with gr.Row():
        ui["mode"] = gr.Radio([INCLUDE, EXCLUDE, BOX], value=INCLUDE, show_label=False, elem_id="click-mode",
                              scale=4, min_width=240, container=False)
        for key, label in (("undo", "Undo"), ("redo", "Redo"), ("grow", f"Grow {GROW_STEP} px"),
                           ("shrink", f"Shrink {GROW_STEP} px"), ("clear", "Clear")):
            ui[key] = gr.Button(label, elem_id=key, size="sm", scale=1, min_width=56)
    ui["status"] = gr.Markdown("Upload a photo or pick an example.", elem_id="status")
    ui["notice"] = gr.Markdown("", elem_id="notice")
    with gr.Accordion("Brush (green: include, red: exclude)", open=False, elem_id="brush-panel"):
        ui["brush"] = gr.ImageEditor(type="numpy", sources=(), transforms=(), layers=False, label="Brush",
                                     brush=gr.Brush(colors=[BRUSH_INCLUDE, BRUSH_EXCLUDE], default_color=BRUSH_INCLUDE,
                                                    color_mode="fixed", default_size=12),
                                     eraser=False, height=420, elem_id="brush")
        ui["apply_brush"] = gr.Button("Apply strokes", elem_id="apply-brush", size="sm")
    ui["examples"] = gr.Gallery([str(p) for p in example_photos()], label="Examples (public domain)", columns=6,
                                height=90, allow_preview=False, object_fit="cover", elem_id="examples")


def _build_regions(ui: dict) -> None:
    """Making regions, the region list, and the painting controls that act on the picked region."""
    with gr.Row():
        ui["add"] = gr.Button("Add selection", variant="secondary", elem_id="add-region", size="sm", min_width=80)
        ui["rest"] = gr.Button("Everything else", elem_id="everything-else", size="sm", min_width=80)
        ui["detect"] = gr.Button("Detect objects", elem_id="detect", size="sm", min_width=80)
    with gr.Row(equal_height=False):
        ui["detected"] = gr.Dropdown([], value=[], multiselect=True, label="Detected objects", elem_id="detected",
                                     scale=3, min_width=160, container=False)
        ui["add_detected"] = gr.Button("Add ticked", elem_id="add-detected", size="sm", scale=1, min_width=60)
    ui["thumbs"] = gr.Gallery(label="Regions", columns=5, height=110, allow_preview=False, object_fit="contain",
                              fit_columns=False, elem_id="regions", show_label=False)
    ui["picker"] = gr.Dropdown([("New regions (default)", NEXT_REGION)], value=NEXT_REGION, label="Painting for",
                               type="value", elem_id="region-picker", container=False)
    with gr.Row():
        ui["edit"] = gr.Button("Edit", size="sm", elem_id="edit-region", min_width=40)
        ui["invert"] = gr.Button("Invert", size="sm", elem_id="invert-region", min_width=40)
        ui["delete"] = gr.Button("Delete", variant="stop", size="sm", elem_id="delete-region", min_width=40)
        ui["upload"] = gr.UploadButton("Own painting", file_types=["image"], type="filepath", size="sm",
                                       elem_id="own-painting", min_width=40)
    painting_controls(ui)


def _build_settings(ui: dict) -> None:
    device = registry.resolve_device()
    ui["engine"] = gr.Radio([spec.label for spec in registry.ENGINES.values()],
                            value=registry.engine_spec("auto", device).label, label="Engine", elem_id="engine",
                            info="one pass takes seconds on a CPU; the optimisation takes longer and refines")
    ui["auto_steps"] = gr.Checkbox(True, label="Optimisation: stop when the picture has converged", elem_id="auto-steps")
    ui["steps"] = gr.Slider(1, 2000, value=150, step=1, label="Steps (when not automatic)", elem_id="steps")
    ui["max_size"] = gr.Slider(0, 4096, value=0, step=64, label="Working size (px; 0 = the engine's default)",
                               elem_id="working-size",
                               info=", ".join(f"{spec.label} {spec.default_max_size(device)} px"
                                              for spec in registry.ENGINES.values()) + " here")
    ui["output_size"] = gr.Dropdown(list(stylize_handlers.OUTPUT_SIZES), value="Full resolution",
                                    label="Output size", elem_id="output-size")


def _build_results(ui: dict) -> None:
    with gr.Row():
        ui["run"] = gr.Button("Stylize", variant="primary", elem_id="stylize", min_width=100, scale=3)
        ui["stop"] = gr.Button("Stop", variant="stop", elem_id="stop", min_width=60, scale=1)
    ui["result"] = gr.ImageSlider(label="Before / after", format="png", interactive=False, elem_id="result",
                                  height=480, type="numpy")
    ui["run_status"] = gr.Markdown("", elem_id="run-status")
    ui["download"] = gr.DownloadButton(stylize_handlers.DOWNLOAD_LABEL, elem_id="download", size="sm")
    with gr.Accordion("Loss curves", open=False, elem_id="plot-panel"):
        ui["plot"] = gr.Plot(show_label=False, elem_id="plot", visible=False)


def _wire_api() -> None:
    """Hidden components behind the public endpoints (gradio_client needs no browser)."""
    with gr.Column(visible=False):
        image, points = gr.File(label="image", type="filepath"), gr.Textbox("", label="points")
        mask_out, info = gr.Image(label="mask", format="png", type="numpy"), gr.JSON(label="info")
        box, strokes, prompt = gr.Textbox("", label="box"), gr.Textbox("", label="strokes"), gr.Textbox("", label="prompt")
        gr.Button("segment").click(api.segment_api, [image, points, box, strokes, prompt], [mask_out, info],
                                   api_name="segment",
                                   **_segment())
        classes, min_score = gr.Textbox("", label="classes"), gr.Number(0.25, label="min_score")
        objects, masks_out = gr.JSON(label="objects"), gr.Gallery(label="masks", format="png")
        gr.Button("detect").click(api.detect_api, [image, classes, min_score], [objects, masks_out],
                                  api_name="detect", **_heavy())
        inputs = [image, gr.Textbox("", label="regions"), gr.File(label="masks", file_count="multiple", type="filepath"),
                  gr.File(label="style_images", file_count="multiple", type="filepath"),
                  gr.File(label="mask", type="filepath"), gr.Textbox("starry_night", label="style"),
                  gr.Number(1.0, label="strength"), gr.Checkbox(False, label="invert"),
                  gr.Textbox("auto", label="engine"), gr.Textbox("", label="steps"), gr.Number(0, label="max_size"),
                  gr.Checkbox(False, label="preserve_color"), gr.Textbox(DEFAULT_FEATHER, label="feather"),
                  gr.Number(0, label="seed"), gr.Textbox("", label="request")]
        outputs = [gr.Image(label="image", format="png", type="numpy"), gr.File(label="png"), gr.JSON(label="progress")]
        gr.Button("stylize").click(api.stylize_api, inputs, outputs, api_name="stylize", **_heavy())
        catalogue = gr.JSON(label="catalogue")
        gr.Button("styles").click(api.styles_api, None, catalogue, api_name="styles")
        video_tab.wire_api(_heavy())


def _wire(trigger, handler, inputs, names, ui: dict, **options):
    """``handler`` (returning a PageUpdate) on ``trigger``, its fields ``names`` shown by ``ui[name]``."""
    return trigger(page.event(handler, names, options.pop("also", ())), inputs, [ui[n] for n in names],
                   **PRIVATE, **options)


def _wire_photo_tab(ui: dict) -> None:
    """Every photo-tab event: a handler returning a PageUpdate, wired to the fields it may change."""

    def on(trigger, handler, inputs, names, **options):
        return _wire(trigger, handler, inputs, names, ui, **options)

    session = ui["session"]
    for trigger, handler, inputs in ((ui["photo"].upload, photo_handlers.upload_photo, [ui["photo"], session]),
                                     (ui["examples"].select, load_example, [session])):
        on(trigger, handler, inputs, LOADED).then(photo_handlers.warm_segmenter, session, None, **PRIVATE,
                                                   **_segment())
    on(ui["photo"].clear, photo_handlers.clear_photo, [session], LOADED)
    on(ui["apply_brush"].click, brush_handlers.apply_brush, [session, ui["brush"]], (*VIEW, "brush"), **_segment())

    tab_events.wire(on, ui, {"segment": _segment(), "heavy": _heavy()})

    knobs = [ui[k] for k in ("engine", "auto_steps", "steps", "max_size", "output_size")]
    # Progress is the status line's job: Gradio marks a cancelled event's outputs "Error" unless hidden.
    run_event = on(ui["run"].click, stylize_handlers.queued, None, ("notice", "run_status"), queue=False).then(
        page.event(stylize_handlers.stylize, RUN, also=("run_status",)), [session, *knobs], [ui[n] for n in RUN],
        show_progress="hidden", **PRIVATE, **_heavy())
    ui["run"].click(None, None, None, js=SHOW_RESULT, **PRIVATE)
    ui["stop"].click(None, None, None, cancels=[run_event], **PRIVATE).then(
        page.event(stylize_handlers.stopped, RUN), session, [ui[n] for n in RUN], **PRIVATE)


def build_app() -> gr.Blocks:
    """The whole page; each visitor gets their own :class:`~virtart.ui.state.Session`."""
    with gr.Blocks(title="VirtArt") as demo:  # temp files: start_sweeper, not delete_cache
        _wire_api()  # first, so the public endpoints own their names
        mcp_tools.register(_heavy(), _segment())  # typed endpoints, the MCP tools (--mcp)
        ui: dict = {"session": gr.State(new_session(), time_to_live=7200)}
        with gr.Sidebar(open=False, label="Settings", elem_id="sidebar"):
            _build_settings(ui)
            gr.Markdown(HELP)
        gr.Markdown(INTRO, elem_id="intro")
        model_status = gr.Markdown(health.status_markdown, elem_id="model-status")
        status_timer = gr.Timer(5)  # ticks while models download at start-up (health.refresh stops it)
        status_timer.tick(health.refresh, None, [model_status, status_timer], **PRIVATE)
        with gr.Tabs(elem_id="page-tabs"):
            with gr.Tab("Photo", elem_id="photo-tab"):
                tab_columns(ui, _build_editor, _build_regions, _build_results)
            video_tab.build_tab(_heavy(), _wire, _segment())
        _wire_photo_tab(ui)
    return demo


def launch_options() -> dict:
    """``launch()`` keyword arguments shared by ``python app.py``, the tests and the benchmark."""
    return {"max_file_size": limits.max_file_size(), "state_session_capacity": limits.max_sessions(),
            "footer_links": ["api", "gradio"], "app_kwargs": request_guard.app_kwargs(), "css": CSS}


def queue(app: gr.Blocks) -> gr.Blocks:
    """The queue with explicit limits (full queue: visitors are told to try again)."""
    return app.queue(max_size=limits.queue_size(), default_concurrency_limit=limits.default_concurrency())


demo = queue(build_app())

if __name__ == "__main__":
    share = os.environ.get("VIRTART_SHARE", "") == "1"
    warmup.start()  # downloads SAM, VGG-19, YOLO11n-seg in the background; requests never wait on them
    start_sweeper(*limits.cache_policy(), blocks=demo)
    heap.start_trimmer()
    _, local_url, share_url = demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860))),
        share=share, prevent_thread_lock=True, mcp_server=True if "--mcp" in sys.argv else None, **launch_options())
    if share and not share_url:
        print(f"VirtArt: the share server could not be reached, so there is no public link; "
              f"still serving locally at {local_url}", flush=True)
    demo.block_thread()
