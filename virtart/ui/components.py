"""Gradio components tuned for the app."""

from __future__ import annotations

import types

import gradio as gr
from gradio.data_classes import ImageData


def _path_of_upload(self: gr.Image, payload: ImageData | None) -> str | None:
    if payload is None:
        return None
    if payload.path is None:  # a data: URL (clipboard paste): the stock decoding is fine
        return gr.Image.preprocess(self, payload)
    return str(payload.path)


def photo_image(**kwargs) -> gr.Image:
    """A ``gr.Image`` (same look, clicks and uploads) whose upload reaches the handler as the
    uploaded file's path, undecoded.

    The stock component opens the file with Pillow and converts it to RGB before the
    handler runs, so a non-image or a decompression bomb ends as a bare "Error" and a
    16-bit or transparent photo arrives flattened. Here decoding, limits and messages are
    left to :func:`virtart.imageio.load_photo`. (An instance override rather than a
    subclass: Gradio writes a ``.pyi`` stub beside any module defining a component class.)
    """
    image = gr.Image(type="filepath", **kwargs)
    image.preprocess = types.MethodType(_path_of_upload, image)
    return image


# (scale, min width) of a tab's columns: the picture, the regions and paintings, the result.
COLUMNS = ((5, 320), (3, 300), (5, 320))


def tab_columns(ui: dict, *builders) -> None:
    """A tab's three columns, the same on the photo tab and the Video tab; each builder
    ``build(ui)`` adds its components to ``ui``."""
    with gr.Row(equal_height=False):
        for build, (scale, width) in zip(builders, COLUMNS, strict=True):
            with gr.Column(scale=scale, min_width=width):
                build(ui)


def painting_controls(ui: dict, prefix: str = "", picture: str = "photo") -> None:
    """A tab's painting controls for the picked region: the caption, the gallery, strength, and
    folded away the soft edge (automatic or px) and colours. ``prefix`` starts every elem_id
    (the Video tab's "video-"); ``picture`` names what the tab shows ("photo", "clip")."""
    from virtart.ui import region_handlers, render
    from virtart.ui.state import Session, new_look

    ui["caption"] = gr.Markdown(render.look_caption(Session()), elem_id=f"{prefix}style-caption")
    ui["gallery"] = gr.Gallery(render.style_gallery(), show_label=False, columns=5, height=130,
                               allow_preview=False, elem_id=f"{prefix}styles")
    look = new_look()
    edge = region_handlers.edge_controls(Session(), look.feather)
    ui["strength"] = gr.Slider(0, 1, value=look.strength, step=0.05, label="Strength", elem_id=f"{prefix}strength")
    with gr.Accordion("Edge and colours", open=False, elem_id=f"{prefix}edge-panel"), gr.Row():
        ui["feather"] = gr.Slider(0, region_handlers.FEATHER_MAX, value=edge["feather"]["value"], step=1,
                                  label="Soft edge (px)", interactive=edge["feather"]["interactive"],
                                  elem_id=f"{prefix}feather", min_width=120)
        with gr.Column(min_width=120):
            ui["edge_auto"] = gr.Checkbox(edge["edge_auto"], label=f"Automatic edge (follows the {picture})",
                                          elem_id=f"{prefix}edge-auto", container=False)
            ui["preserve"] = gr.Checkbox(look.preserve_color, label=f"Keep the {picture}'s colours",
                                         elem_id=f"{prefix}preserve", container=False)
