"""VirtArt, the Gradio app: repaint chosen regions of a photo in the style of a painting.

UI wiring only: the handlers live in :mod:`virtart.ui`, the models in the library.
Run ``python app.py`` (env: ``PORT``, ``GRADIO_SERVER_NAME``, ``VIRTART_SHARE=1`` for a
public share link). The public API for ``gradio_client`` is described in docs/api.md.
"""

from __future__ import annotations

import os

from virtart import settings, warmup

settings.apply_offline_defaults()

import gradio as gr  # noqa: E402

from virtart.engines import registry  # noqa: E402
from virtart.engines.composite import DEFAULT_FEATHER  # noqa: E402
from virtart.ui import (  # noqa: E402
    api,
    brush_handlers,
    health,
    limits,
    photo_handlers,
    region_handlers,
    render,
    request_guard,
    stylize_handlers,
    video_tab,
)
from virtart.ui.brush_handlers import BRUSH_EXCLUDE, BRUSH_INCLUDE  # noqa: E402
from virtart.ui.components import photo_image  # noqa: E402
from virtart.ui.examples import example_photos  # noqa: E402
from virtart.ui.photo_handlers import BOX, EXCLUDE, GROW_STEP, INCLUDE  # noqa: E402
from virtart.ui.state import Session, new_session  # noqa: E402
from virtart.ui.tempfiles import start_sweeper  # noqa: E402

INTRO = """# VirtArt
**1.** Upload a photo (or pick an example). **2.** Click on what you want to repaint (green dots
include, red exclude), or draw a *Box* around it (two corner clicks) and fix it with clicks or the
*Brush*; then *Add selection as region* (pick a region and *Edit* to change it later); or *Detect
objects*; or take *Everything else*.
**3.** Pick a painting for each region. **4.** *Stylize*. Pixels outside your regions stay exactly as they were.
"""


def load_example(session: Session, evt: gr.SelectData):
    """An example thumbnail was clicked: load it like an upload."""
    return photo_handlers.upload_photo(str(example_photos()[evt.index]), session)


def _heavy() -> dict:
    return {"concurrency_id": limits.HEAVY_GROUP, "concurrency_limit": limits.heavy_concurrency()}


def _segment() -> dict:
    return {"concurrency_id": limits.SEGMENT_GROUP, "concurrency_limit": limits.segment_concurrency()}


PRIVATE = {"api_visibility": "private"}
SHOW_RESULT = "() => document.getElementById('preview')?.scrollIntoView({behavior: 'smooth', block: 'end'})"


def _build_editor() -> dict:
    """Photo, clicks and examples."""
    ui: dict = {}
    ui["photo"] = photo_image(label="Photo: click to select", sources=["upload", "clipboard"],
                              elem_id="photo", height=540, buttons=["fullscreen"])
    with gr.Row():
        ui["mode"] = gr.Radio([INCLUDE, EXCLUDE, BOX], value=INCLUDE, label="Clicks", elem_id="click-mode", scale=4)
        ui["undo"] = gr.Button("Undo", elem_id="undo", size="sm", scale=1, min_width=60)
        ui["redo"] = gr.Button("Redo", elem_id="redo", size="sm", scale=1, min_width=60)
        ui["grow"] = gr.Button(f"Grow {GROW_STEP} px", elem_id="grow", size="sm", scale=1, min_width=60)
        ui["shrink"] = gr.Button(f"Shrink {GROW_STEP} px", elem_id="shrink", size="sm", scale=1, min_width=60)
        ui["clear"] = gr.Button("Clear", elem_id="clear", size="sm", scale=1, min_width=60)
    ui["status"] = gr.Markdown("Upload a photo or pick an example.", elem_id="status")
    with gr.Accordion("Brush: paint include (green) and exclude (red) strokes", open=False, elem_id="brush-panel"):
        ui["brush"] = gr.ImageEditor(type="numpy", sources=(), transforms=(), layers=False, label="Brush",
                                     brush=gr.Brush(colors=[BRUSH_INCLUDE, BRUSH_EXCLUDE], default_color=BRUSH_INCLUDE,
                                                    color_mode="fixed", default_size=12),
                                     eraser=False, height=420, elem_id="brush")
        ui["apply_brush"] = gr.Button("Apply strokes", elem_id="apply-brush", size="sm")
    ui["examples"] = gr.Gallery([str(p) for p in example_photos()], label="Examples (public domain)",
                                columns=4, height=150, allow_preview=False, object_fit="cover", elem_id="examples")
    return ui


def _build_regions() -> dict:
    ui: dict = {}
    with gr.Row():
        ui["add"] = gr.Button("Add selection as region", variant="secondary", elem_id="add-region", size="sm")
        ui["rest"] = gr.Button("Everything else", elem_id="everything-else", size="sm")
    with gr.Row():
        ui["detect"] = gr.Button("Detect objects", elem_id="detect", size="sm")
        ui["add_detected"] = gr.Button("Add ticked objects", elem_id="add-detected", size="sm")
    ui["detected"] = gr.CheckboxGroup([], type="value", label="Detected objects", elem_id="detected")
    ui["thumbs"] = gr.Gallery(label="Regions", columns=4, height=170, allow_preview=False, object_fit="contain",
                                  fit_columns=False, elem_id="regions")
    with gr.Row():
        ui["picker"] = gr.Dropdown([], label="Region", type="value", elem_id="region-picker", scale=2)
        ui["edit"] = gr.Button("Edit", size="sm", scale=1, elem_id="edit-region")
        ui["restyle"] = gr.Button("Apply style & strength", size="sm", scale=1)
        ui["invert"] = gr.Button("Invert", size="sm", scale=1)
        ui["delete"] = gr.Button("Delete", variant="stop", size="sm", scale=1)
    return ui


def _build_styles() -> dict:
    ui: dict = {}
    ui["gallery"] = gr.Gallery(render.style_gallery(), label="Paintings (click one)", columns=4, height=230,
                               allow_preview=False, elem_id="styles")
    with gr.Row():
        ui["caption"] = gr.Markdown("Style: **The Starry Night**, Vincent van Gogh (1889)", elem_id="style-caption")
        ui["upload"] = gr.UploadButton("Use my own painting", file_types=["image"], type="filepath", size="sm")
    return ui


def _build_settings() -> dict:
    ui: dict = {}
    with gr.Accordion("Settings", open=False, elem_id="settings"):
        device = registry.resolve_device()
        ui["engine"] = gr.Radio([spec.label for spec in registry.ENGINES.values()],
                                value=registry.engine_spec("auto", device).label, label="Engine", elem_id="engine",
                                info="Fast: one pass, seconds on a CPU. Quality: optimisation.")
        ui["auto_steps"] = gr.Checkbox(True, label="Quality engine: stop when the picture has converged",
                                       elem_id="auto-steps")
        ui["steps"] = gr.Slider(1, 2000, value=150, step=1, label="Steps (Quality engine, when not automatic)",
                                elem_id="steps")
        ui["strength"] = gr.Slider(0, 1, value=1.0, step=0.05, label="Strength of new regions", elem_id="strength")
        ui["preserve"] = gr.Checkbox(False, label="Preserve the photo's colours", elem_id="preserve")
        ui["feather"] = gr.Slider(0, 50, value=4, step=1, label="Feather (soft edge, px)", elem_id="feather")
        ui["max_size"] = gr.Slider(0, 4096, value=0, step=64, label="Working size (px; 0 = the engine's default)",
                                   elem_id="working-size",
                                   info=", ".join(f"{spec.label} {spec.default_max_size(device)} px"
                                                  for spec in registry.ENGINES.values()) + " here")
        ui["output_size"] = gr.Dropdown(list(stylize_handlers.OUTPUT_SIZES), value="Full resolution",
                                        label="Output size", elem_id="output-size")
    return ui


def _build_results() -> dict:
    ui: dict = {}
    with gr.Row():
        ui["preview"] = gr.Image(label="Preview", format="png", interactive=False, elem_id="preview", height=420)
        ui["slider"] = gr.ImageSlider(label="Before / after", format="png", interactive=False, elem_id="slider")
    with gr.Row():
        ui["download"] = gr.File(label="Full-resolution PNG", interactive=False, elem_id="download")
        ui["plot"] = gr.Plot(label="Loss curves", elem_id="plot", visible=False)
    return ui


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
                  gr.Checkbox(False, label="preserve_color"), gr.Number(DEFAULT_FEATHER, label="feather"),
                  gr.Number(0, label="seed"), gr.Textbox("", label="request")]
        outputs = [gr.Image(label="image", format="png", type="numpy"), gr.File(label="png"), gr.JSON(label="progress")]
        gr.Button("stylize").click(api.stylize_api, inputs, outputs, api_name="stylize", **_heavy())
        catalogue = gr.JSON(label="catalogue")
        gr.Button("styles").click(api.styles_api, None, catalogue, api_name="styles")
        video_tab.wire_api(_heavy())


def build_app() -> gr.Blocks:
    """The whole page; each visitor gets their own :class:`~virtart.ui.state.Session`."""
    with gr.Blocks(title="VirtArt") as demo:  # temp files: start_sweeper, not delete_cache
        _wire_api()  # first, so the public endpoints own their names
        session = gr.State(new_session(), time_to_live=7200)
        gr.Markdown(INTRO)
        model_status = gr.Markdown(health.status_markdown, elem_id="model-status")
        status_timer = gr.Timer(5)  # ticks while models download at start-up (health.refresh stops it)
        status_timer.tick(health.refresh, None, [model_status, status_timer], **PRIVATE)
        with gr.Tabs():
            with gr.Tab("Photo", elem_id="photo-tab"):
                with gr.Row():
                    with gr.Column(scale=3):
                        editor = _build_editor()
                    with gr.Column(scale=2):
                        regions = _build_regions()
                        style = _build_styles()
                        settings_ui = _build_settings()
                        with gr.Row():
                            run = gr.Button("Stylize", variant="primary", elem_id="stylize")
                            stop = gr.Button("Stop", variant="stop", elem_id="stop")
                        run_status = gr.Markdown("", elem_id="run-status")
                results = _build_results()
            video_tab.build_tab(_heavy())

        photo, status, thumbs, picker = editor["photo"], editor["status"], regions["thumbs"], regions["picker"]
        brush, view = editor["brush"], [session, photo, status]
        loaded = [session, photo, thumbs, status]
        photo.upload(photo_handlers.upload_photo, [photo, session], loaded, **PRIVATE).then(
            brush_handlers.brush_canvas, session, brush, **PRIVATE).then(
            photo_handlers.warm_segmenter, session, None, **PRIVATE, **_segment())
        photo.clear(photo_handlers.clear_photo, session, [session, thumbs, status], **PRIVATE)
        editor["examples"].select(load_example, session, loaded, **PRIVATE).then(
            brush_handlers.brush_canvas, session, brush, **PRIVATE).then(
            photo_handlers.warm_segmenter, session, None, **PRIVATE, **_segment())
        photo.select(photo_handlers.click_photo, [session, editor["mode"]], view,
                     show_progress="hidden", **PRIVATE, **_segment())
        editor["undo"].click(photo_handlers.undo_click, session, view, **PRIVATE, **_segment())
        editor["redo"].click(photo_handlers.redo_click, session, view, **PRIVATE, **_segment())
        editor["grow"].click(lambda s: photo_handlers.grow_selection(s, GROW_STEP), session, view, **PRIVATE)
        editor["shrink"].click(lambda s: photo_handlers.grow_selection(s, -GROW_STEP), session, view, **PRIVATE)
        editor["clear"].click(photo_handlers.clear_clicks, session, view, **PRIVATE)
        editor["apply_brush"].click(brush_handlers.apply_brush, [session, brush], [*view, brush],
                                    **PRIVATE, **_segment())

        strength = settings_ui["strength"]
        changed = [session, photo, thumbs, picker, status]
        regions["add"].click(region_handlers.add_click_region, [session, strength], changed, **PRIVATE)
        regions["rest"].click(region_handlers.add_everything_else, [session, strength], changed, **PRIVATE)
        regions["invert"].click(region_handlers.invert_region, [session, picker], changed, **PRIVATE)
        regions["delete"].click(region_handlers.delete_region, [session, picker], changed, **PRIVATE)
        regions["edit"].click(region_handlers.edit_region, [session, picker], changed, **PRIVATE)
        regions["restyle"].click(region_handlers.restyle_region, [session, picker, strength], changed, **PRIVATE)
        regions["detect"].click(region_handlers.detect, session, [session, regions["detected"]], **PRIVATE, **_heavy())
        regions["add_detected"].click(region_handlers.add_detected, [session, regions["detected"], strength],
                                      changed, **PRIVATE)
        style["gallery"].select(region_handlers.select_style, session, [session, style["caption"]], **PRIVATE)
        style["upload"].upload(region_handlers.upload_style, [session, style["upload"]], [session, style["caption"]],
                               **PRIVATE)

        knobs = [settings_ui[k] for k in ("engine", "auto_steps", "steps", "max_size", "preserve", "feather", "output_size")]
        # Progress is the status line's job: Gradio marks a cancelled event's outputs "Error" unless hidden.
        run_event = run.click(stylize_handlers.queued, None, run_status, queue=False, **PRIVATE).then(
            stylize_handlers.stylize, [session, *knobs],
            [session, results["preview"], run_status, results["slider"], results["download"], results["plot"]],
            show_progress="hidden", **PRIVATE, **_heavy())
        # The result appears under the photo: bring it into view as the run starts.
        run.click(None, None, None, js=SHOW_RESULT, **PRIVATE)
        stop.click(None, None, None, cancels=[run_event], **PRIVATE).then(
            stylize_handlers.stopped, None, run_status, **PRIVATE)
    return demo


def launch_options() -> dict:
    """``launch()`` keyword arguments shared by ``python app.py``, the tests and the benchmark."""
    return {"max_file_size": limits.max_file_size(), "state_session_capacity": limits.max_sessions(),
            "footer_links": ["api", "gradio"], "app_kwargs": request_guard.app_kwargs()}


def queue(app: gr.Blocks) -> gr.Blocks:
    """The queue with explicit limits (full queue: visitors are told to try again)."""
    return app.queue(max_size=limits.queue_size(), default_concurrency_limit=limits.default_concurrency())


demo = queue(build_app())

if __name__ == "__main__":
    share = os.environ.get("VIRTART_SHARE", "") == "1"
    warmup.start()  # downloads SAM, VGG-19, YOLO11n-seg in the background; requests never wait on them
    start_sweeper(*limits.cache_policy(), blocks=demo)
    _, local_url, share_url = demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860))),
        share=share, prevent_thread_lock=True, **launch_options())
    if share and not share_url:
        print(f"VirtArt: the share server could not be reached, so there is no public link; "
              f"still serving locally at {local_url}", flush=True)
    demo.block_thread()
