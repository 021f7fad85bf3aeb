"""VirtArt as tools for assistants: typed ``gr.api`` endpoints that Gradio's MCP server serves.

Launch the app with ``GRADIO_MCP_SERVER=True`` (or ``python app.py --mcp``); the tools are then
at ``http://HOST:PORT/gradio_api/mcp/`` (streamable HTTP). Each tool here is a thin, typed
front of the public API in :mod:`virtart.ui.api` and :mod:`virtart.ui.video_tab` (the same
checks, limits and messages); the docstrings are what the assistant reads. Images travel as
files: Gradio's MCP server turns a URL or base64 string into an upload, and an image a tool
returns comes back as image content plus its URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from virtart.engines.registry import QUICK_ENGINE
from virtart.ui import api, video_tab
from virtart.ui.runner import RESULTS


def _path(file: FileData | dict | str | None) -> str | None:
    if file is None or isinstance(file, str):
        return file
    return file["path"] if isinstance(file, dict) else file.path


def _file(path: str, mime_type: str) -> FileData:
    return FileData(path=str(path), mime_type=mime_type, orig_name=Path(path).name)


def list_paintings() -> list[dict]:
    """List the paintings a region can be repainted in.

    Returns:
        one entry per painting: {"id": the name to pass as a region's "style", "title",
        "painter", "year", "license", "available": whether its image is installed here}.
    """
    return api.styles_api()


def segment(image: FileData, points: list[list[float]] | None = None, box: list[float] | None = None) -> FileData:
    """Cut one object out of a photo from clicks and/or a box around it.

    Args:
        image: the photo (PNG, JPEG, WebP; a URL or a file).
        points: clicks as [[x, y, label], ...] in the photo's pixels (x to the right, y down,
            origin at the top-left corner); label 1 = on the object, 0 = not on it. May be
            empty if a box is given.
        box: [x0, y0, x1, y1] around the object, in the same pixels (x0 < x1, y0 < y1).
    Returns:
        the mask: a greyscale PNG of the photo's size, white (255) = the object, black = the rest.
    """
    prompt = json.dumps({**({"points": points} if points else {}), **({"box": box} if box else {})})
    mask, _ = api.segment_api(_path(image), prompt=prompt)
    return _file(RESULTS.save(mask, stem="mask"), "image/png")


def detect(image: FileData, classes: list[str] | None = None, min_score: float = 0.25) -> list[dict]:
    """Find objects of the given kinds in a photo, each with its mask.

    Args:
        image: the photo (a URL or a file).
        classes: COCO class names to look for, e.g. ["person", "dog"]; empty or null = all 80 classes.
        min_score: the detector's confidence, 0 to 1, below which objects are ignored (default 0.25).
    Returns:
        the objects, largest first: [{"label", "score" (0-1), "box": [x0, y0, x1, y1] in the
        photo's pixels (x right, y down), "mask": a data:image/png;base64 URL of a mask of the
        photo's size, white = the object}]. Pass a mask as a region's "mask" to stylize it.
    """
    from virtart.imageio import encode_png
    from virtart.request import data_url

    listing, masks = api.detect_api(_path(image), ",".join(classes or []), float(min_score))
    return [{**item, "mask": data_url(encode_png(mask))} for item, (mask, _) in zip(listing, masks, strict=True)]


def stylize(image: FileData, regions: list[dict], engine: str = QUICK_ENGINE, max_size: int = 0) -> FileData:
    """Repaint regions of a photo in the style of paintings; every pixel outside the regions
    stays exactly as it was.

    Args:
        image: the photo (a URL or a file).
        regions: one object per region, later ones on top:
            {"prompt": {"points": [[x, y, 1]], "box": [x0, y0, x1, y1]}} (cut from clicks/a box,
            pixels as in segment) or {"mask": "data:image/png;base64,..."} (white = region, e.g.
            from detect) or {"invert": true} alone (everything outside the other regions); each
            with "style" (a painting id from list_paintings), "strength" (0 = the photo, 1 =
            the full style; default 1), "feather" (soft edge: "auto", following the photo, the default; or px) and
            "preserve_color" (false, "luminance" or "histogram").
        engine: "fast" (one pass, seconds on a CPU; default), "gatys" (the slower Quality
            optimisation) or "auto" (the server's choice for its device).
        max_size: long side in px at which the regions are painted; 0 = the engine's default.
    Returns:
        the repainted photo as a PNG at the photo's full size.
    """
    final = None
    for _, path, _ in api.stylize_api(_path(image), regions=json.dumps(regions), engine=engine,
                                      max_size=float(max_size)):
        final = path or final
    return _file(final, "image/png")


def stylize_clip(video: FileData, style: str, detect: list[str] | None = None, everything_else: str = "",
                 strength: float = 1.0) -> FileData:
    """Repaint a video clip: the regions are found on its first frame and follow their objects.

    Args:
        video: the clip (MP4, WebM, MOV or GIF; at most 60 s and 1920 px; a URL or a file).
        style: the painting id (from list_paintings) for the detected objects, or for the whole
            frame when detect is empty.
        detect: COCO classes whose objects are repainted, e.g. ["person"]; empty = the whole frame.
        everything_else: "" (off), "true" (repaint everything except the detected objects,
            in style), or a painting id to also repaint the rest in that painting.
        strength: 0 = the clip as it is, 1 = the full style.
    Returns:
        the repainted clip as an H.264 MP4 with the source's sound and timing.
    """
    final = None
    for _, path, _ in video_tab.stylize_video_api(_path(video), detect=",".join(detect or []), style=style,
                                                  strength=float(strength), everything_else=everything_else):
        final = path or final
    return _file(final, "video/mp4")


TOOLS = (list_paintings, segment, detect, stylize, stylize_clip)


def register(heavy: dict, segment_limits: dict) -> None:
    """The tools as typed endpoints (not on the page), inside the app's ``gr.Blocks``."""
    gr.api(list_paintings, api_name="mcp_list_paintings")
    gr.api(segment, api_name="mcp_segment", **segment_limits)
    gr.api(detect, api_name="mcp_detect", **heavy)
    gr.api(stylize, api_name="mcp_stylize", **heavy)
    gr.api(stylize_clip, api_name="mcp_stylize_clip", **heavy)
