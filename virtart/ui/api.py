"""The public API for ``gradio_client`` (stable names: /segment, /detect, /stylize, /styles).

Images travel as files (``gradio_client.handle_file(path)``); coordinates are in the
original image's pixels; masks are 8-bit PNGs, white = region. Every function is
stateless: nothing of one call is kept for the next, so clients cannot see each other.
"""

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from virtart import styles
from virtart.engines.composite import DEFAULT_FEATHER
from virtart.engines.registry import AUTO
from virtart.errors import VirtArtError
from virtart.imageio import Photo, load_mask, load_photo, mask_to_uint8
from virtart.json_limits import load_json
from virtart.request import StylizeRequest, parse_softness, prompt_from_json, request_from_json
from virtart.segmentation.detect import parse_classes
from virtart.segmentation.prompts import Prompt, box_from_json, cut, points_from_json, strokes_from_json
from virtart.styles import DEFAULT_STYLE
from virtart.ui.limits import MIN_PHOTO_SIDE
from virtart.ui.messages import user_facing
from virtart.ui.photo_handlers import app_max_pixels, segmenter
from virtart.ui.runner import PREVIEW_INTERVAL, RESULTS, Throttle, run_stylize


def _photo(path: str | None) -> Photo:
    if not path:
        raise VirtArtError("no image was given")
    photo = load_photo(path, label="the image", max_pixels=app_max_pixels())
    if min(photo.size) < MIN_PHOTO_SIDE:
        raise VirtArtError(f"the image is too small ({photo.size[0]}x{photo.size[1]}); at least "
                           f"{MIN_PHOTO_SIDE}x{MIN_PHOTO_SIDE} pixels")
    return photo


def segment_prompt(points: str = "", box: str = "", strokes: str = "", prompt: str = "") -> Prompt:
    """The one prompt: ``prompt`` in :class:`Prompt`'s JSON form, else the older separate
    ``points``, ``box`` and ``strokes`` JSON values (the same keys, one string each)."""
    # Sizes and depths are checked before any JSON is parsed (virtart/json_limits.py).
    if str(prompt or "").strip():
        return prompt_from_json(load_json(prompt, "prompt"))
    return Prompt(tuple(points_from_json(load_json(points, "points"))), box_from_json(load_json(box, "box")),
                  strokes_from_json(load_json(strokes, "strokes")))


@user_facing
def segment_api(image: str, points: str = "", box: str = "", strokes: str = "",
                prompt: str = "") -> tuple[np.ndarray, dict]:
    """Mask (8-bit PNG, white = region) for a prompt ``{"points": [[x, y, label], ...], "box":
    [x0, y0, x1, y1], "strokes": [{"points": [[x, y], ...], "label": 1}], "previous": DATA_URL,
    "grow": 0}`` (at least clicks, a box or a stroke), and info ``{"backend", "score",
    "area_fraction", "size"}``. The older separate ``points``/``box``/``strokes`` still work."""
    request = segment_prompt(points, box, strokes, prompt)
    photo = _photo(image)
    request.check(photo.size)
    if request.previous is not None:
        request = replace(request, previous=load_mask(request.previous, photo.size, label="the previous mask"))
    model = segmenter()
    prediction = cut(model, photo.rgb, request)
    mask = prediction.mask
    info = {"backend": prediction.backend, "score": round(float(prediction.score), 4),
            "area_fraction": round(float((mask >= 0.5).mean()), 4), "size": list(photo.size)}
    return mask_to_uint8(mask), info


@user_facing
def detect_api(image: str, classes: str = "", min_score: float = 0.25) -> tuple[list[dict], list]:
    """Objects found (``[{"label", "score", "box": [x0, y0, x1, y1]}]``, largest first) and one
    mask PNG per object, in the same order."""
    photo = _photo(image)
    from virtart.segmentation.detect import detect_objects  # imports ultralytics: only when asked

    found = detect_objects(photo.rgb, classes=parse_classes(classes), min_score=float(min_score))
    listing = [{"label": o.label, "score": round(float(o.score), 4), "box": [round(float(v), 1) for v in o.box]}
               for o in found]
    masks = [(mask_to_uint8(o.mask), f"{i}: {o.label}") for i, o in enumerate(found)]
    return listing, masks


def stylize_request(photo: Photo, regions: str = "", masks: list[str] | None = None,
                    style_images: list[str] | None = None, mask: str | None = None, style: str = DEFAULT_STYLE,
                    strength: float = 1.0, invert: bool = False, engine: str = AUTO, steps: str | float = "",
                    max_size: float = 0, preserve_color: bool = False, feather: float | str = DEFAULT_FEATHER,
                    request: str = "") -> StylizeRequest:
    """The checked request of one ``/stylize`` call: ``request`` (the JSON form), else a
    ``regions`` list in that form, else the single-mask form; the separate parameters serve as
    defaults for what the JSON leaves out."""
    defaults = {"engine": engine or AUTO, "steps": steps, "max_size": max_size, "preserve_color": preserve_color,
                "feather": parse_softness(feather), "style": style or (0 if style_images else DEFAULT_STYLE), "preview_every": 1}
    uploads = {"masks": masks or [], "style_images": style_images or []}
    if str(request or "").strip():
        data = load_json(request, "request")
        if isinstance(data, dict) and isinstance(data.get("options"), dict) and "device" in data["options"]:
            raise VirtArtError("options.device is the server's to choose; leave it out of the request")
        return request_from_json(data, photo, **uploads, defaults=defaults)
    if str(regions or "").strip():
        return request_from_json({"regions": regions_json(regions)}, photo, **uploads, defaults=defaults)
    if not mask:
        raise VirtArtError("no region to repaint: give a 'request' or 'regions' JSON, or a 'mask' image")
    single = {"mask": 0, "strength": strength, "invert": bool(invert)}
    return request_from_json({"regions": [single]}, photo, masks=[mask], style_images=uploads["style_images"],
                             defaults=defaults)


def regions_json(text: str):
    """The ``regions`` parameter's JSON text -> its value (limits checked before parsing)."""
    return load_json(text, "regions")


@user_facing
def stylize_api(image: str, regions: str = "", masks: list[str] | None = None, style_images: list[str] | None = None,
                mask: str | None = None, style: str = DEFAULT_STYLE, strength: float = 1.0, invert: bool = False,
                engine: str = AUTO, steps: str | float = "", max_size: float = 0, preserve_color: bool = False,
                feather: float | str = DEFAULT_FEATHER, seed: float = 0,
                request: str = "") -> Iterator[tuple[np.ndarray, str | None, dict]]:
    """Stream ``(preview, None, progress)`` while the engine works, then
    ``(final image at the photo's full size, PNG file, report)``. ``request``: the JSON form of
    :mod:`virtart.request` (regions with prompts or masks, engine, options); masks and paintings
    it names by index are the uploaded ``masks`` and ``style_images``. ``engine`` "auto",
    ``steps`` "" and ``max_size`` 0 take the engine's registry defaults for the server's device.

    ``seed`` is accepted and ignored, so that existing clients' calls still work: no engine
    draws a random number (the Gatys optimisation starts from the photo), so there is nothing
    for a seed to drive."""
    photo = _photo(image)
    checked = stylize_request(photo, regions, masks, style_images, mask, style, strength, invert, engine, steps,
                              max_size, preserve_color, feather, request)
    throttle = Throttle(PREVIEW_INTERVAL)
    for preview in run_stylize(checked):
        progress = {"step": preview.step, "total_steps": preview.total_steps, "elapsed": round(preview.elapsed, 3),
                    "final": preview.final, "stage": preview.stage}
        if preview.result is None:
            if preview.step == 0 or throttle.ready():  # the starting image always; then a few a second
                yield preview.image, None, progress
            continue
        result = preview.result
        path = RESULTS.save(result.image, result.alpha, stem=photo.name or "virtart")
        yield result.image, path, {**progress, "report": result.report}


def styles_api() -> list[dict]:
    """The gallery: ``[{"id", "title", "painter", "year", "license", "source", "available"}]``."""
    return styles.catalogue_json()
