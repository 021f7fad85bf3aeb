"""The public API for ``gradio_client`` (stable names: /segment, /detect, /stylize, /styles).

Images travel as files (``gradio_client.handle_file(path)``); coordinates are in the
original image's pixels; masks are 8-bit PNGs, white = region. Every function is
stateless: nothing of one call is kept for the next, so clients cannot see each other.
"""

import base64
from collections.abc import Iterator

import numpy as np

from virtart import styles
from virtart.errors import VirtArtError
from virtart.imageio import Photo, load_image, load_photo, mask_to_uint8
from virtart.json_limits import load_json
from virtart.request import RegionRequest, StylizeRequest, parse_options
from virtart.segmentation.base import Box, Stroke, check_prompts
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


def _json(text: str | None, what: str):
    return load_json(text, what)  # size and depth checked before parsing: virtart/json_limits.py


def parse_points(text: str | None, required: bool = True) -> list[tuple[float, float, int]]:
    """``[[x, y, label], ...]`` (label 1 include, 0 exclude; default 1) -> list of tuples
    (empty or absent allowed when not ``required``)."""
    value = _json(text, "points")
    if not required and (value is None or value == []):
        return []
    if not isinstance(value, list) or not value:
        raise VirtArtError('points must be a JSON list like [[x, y, 1], [x, y, 0]] (at least one point)')
    points = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise VirtArtError(f"each point is [x, y] or [x, y, label], got {item!r}")
        try:
            points.append((float(item[0]), float(item[1]), int(item[2]) if len(item) == 3 else 1))
        except (TypeError, ValueError):
            raise VirtArtError(f"a point's x, y and label must be numbers, got {item!r}") from None
    return points


def parse_box(text: str | None) -> Box | None:
    """``[x0, y0, x1, y1]`` -> a box (absent or empty: None)."""
    value = _json(text, "box")
    if value is None or value == []:
        return None
    try:
        if not isinstance(value, list) or len(value) != 4:
            raise TypeError
        return tuple(float(v) for v in value)  # type: ignore[return-value]
    except (TypeError, ValueError):
        raise VirtArtError(f"box must be a JSON list [x0, y0, x1, y1], got {text!r}") from None


def parse_strokes(text: str | None) -> tuple[Stroke, ...]:
    """``[{"points": [[x, y], ...], "label": 1}, ...]`` (label 1 include, 0 exclude; default 1)."""
    value = _json(text, "strokes")
    if value is None or value == []:
        return ()
    example = 'strokes must be a JSON list like [{"points": [[10, 20], [40, 25]], "label": 1}]'
    if not isinstance(value, list):
        raise VirtArtError(example)
    strokes = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("points"), list):
            raise VirtArtError(example)
        try:
            xy = tuple((float(p[0]), float(p[1])) for p in item["points"] if len(p) == 2)
            if len(xy) != len(item["points"]):
                raise TypeError
            strokes.append(Stroke(xy, int(item.get("label", 1))))
        except (TypeError, ValueError, KeyError):
            raise VirtArtError(f"a stroke's points are [x, y] pairs of numbers, got {item['points']!r}") from None
    return tuple(strokes)


@user_facing
def segment_api(image: str, points: str = "", box: str = "", strokes: str = "") -> tuple[np.ndarray, dict]:
    """Mask (8-bit PNG, white = region) for clicks ``[[x, y, label], ...]``, a box
    ``[x0, y0, x1, y1]`` and/or brush strokes ``[{"points": [[x, y], ...], "label": 1}]``
    (at least one of them), and info ``{"backend", "score", "area_fraction", "size"}``."""
    box_prompt, stroke_prompts = parse_box(box), parse_strokes(strokes)
    clicks = parse_points(points, required=box_prompt is None and not stroke_prompts)
    photo = _photo(image)
    check_prompts(photo.size, clicks, box_prompt, stroke_prompts)
    model = segmenter()
    prediction = model.predict(model.set_image(photo.rgb), points=clicks, box=box_prompt, strokes=stroke_prompts)
    mask = np.asarray(prediction.mask, np.float32)
    info = {"backend": prediction.backend or model.name, "score": round(float(prediction.score), 4),
            "area_fraction": round(float((mask >= 0.5).mean()), 4), "size": list(photo.size)}
    return mask_to_uint8(mask), info


@user_facing
def detect_api(image: str, classes: str = "", min_score: float = 0.25) -> tuple[list[dict], list]:
    """Objects found (``[{"label", "score", "box": [x0, y0, x1, y1]}]``, largest first) and one
    mask PNG per object, in the same order."""
    photo = _photo(image)
    from virtart.segmentation.detect import detect_objects  # imports ultralytics: only when asked

    wanted = [c.strip() for c in (classes or "").split(",") if c.strip()] or None
    found = detect_objects(photo.rgb, classes=wanted, min_score=float(min_score))
    listing = [{"label": o.label, "score": round(float(o.score), 4), "box": [round(float(v), 1) for v in o.box]}
               for o in found]
    masks = [(mask_to_uint8(o.mask), f"{i}: {o.label}") for i, o in enumerate(found)]
    return listing, masks


def _data_url(text: str) -> bytes:
    try:
        return base64.b64decode(text.split(",", 1)[1], validate=True)
    except Exception:  # noqa: BLE001 - any malformed data URL is the caller's mistake
        raise VirtArtError("a data: URL in regions is not valid base64") from None


def _region_mask(spec, masks: list[str], index: int):
    if isinstance(spec, bool) or spec is None:
        raise VirtArtError(f"region {index}: 'mask' must be an index into the uploaded masks or a data: URL")
    if isinstance(spec, int):
        if not 0 <= spec < len(masks):
            raise VirtArtError(f"region {index}: mask index {spec} but {len(masks)} mask(s) were uploaded")
        return masks[spec]
    if isinstance(spec, str) and spec.startswith("data:"):
        return _data_url(spec)
    raise VirtArtError(f"region {index}: 'mask' must be an index into the uploaded masks or a data: URL")


def _region_style(spec, uploads: list[str], index: int):
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    if isinstance(spec, int) and not isinstance(spec, bool):
        if not 0 <= spec < len(uploads):
            raise VirtArtError(f"region {index}: style index {spec} but {len(uploads)} style image(s) were uploaded")
        return load_image(uploads[spec], label=f"region {index} style image")
    if isinstance(spec, str) and spec.startswith("data:"):
        return load_image(_data_url(spec), label=f"region {index} style image")
    if isinstance(spec, str) and spec in styles.BY_ID:
        return spec
    valid = ", ".join(p.id for p in styles.available())
    raise VirtArtError(f"region {index}: style {spec!r} is not a gallery id ({valid}) nor an upload index")


def parse_regions(regions: str | None, masks: list[str], uploads: list[str],
                  mask: str | None, style: str, strength: float, invert: bool) -> list[RegionRequest]:
    """The ``regions`` JSON list, or else the single-mask form (``mask``, ``style``, ...).

    Masks stay as the uploaded files here: :class:`StylizeRequest` loads and checks them once."""
    value = _json(regions, "regions")
    if isinstance(value, dict):
        value = [value]
    if value is None:
        if not mask:
            raise VirtArtError("no region to repaint: give 'regions' JSON or a 'mask' image")
        value = [{"mask": 0, "style": style or (0 if uploads else "starry_night"), "strength": strength,
                  "invert": invert}]
        masks = [mask]
    if not isinstance(value, list) or not value:
        raise VirtArtError('regions must be a JSON list like [{"mask": 0, "style": "starry_night", "strength": 1}]')
    requests = []
    for index, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise VirtArtError(f"region {index} must be a JSON object with 'mask' and 'style'")
        source = _region_mask(item.get("mask"), masks or [], index)
        strength = item.get("strength", 1.0)
        if isinstance(strength, bool) or not isinstance(strength, (int, float)):
            raise VirtArtError(f"region {index}: strength must be a number between 0 and 1, got {strength!r}")
        requests.append(RegionRequest(source, _region_style(item.get("style", "starry_night"), uploads or [], index),
                                      float(strength), bool(item.get("invert", False))))
    return requests


@user_facing
def stylize_api(image: str, regions: str = "", masks: list[str] | None = None, style_images: list[str] | None = None,
                mask: str | None = None, style: str = "starry_night", strength: float = 1.0, invert: bool = False,
                engine: str = "auto", steps: float = 100, max_size: float = 0, preserve_color: bool = False,
                feather: float = 4.0, seed: float = 0) -> Iterator[tuple[np.ndarray, str | None, dict]]:
    """Stream ``(preview, None, progress)`` while the engine works, then
    ``(final image at the photo's full size, PNG file, report)``. ``engine`` "auto" and
    ``max_size`` 0 take the registry's defaults for the server's device.

    ``seed`` is accepted and ignored, so that existing clients' calls still work: no engine
    draws a random number (the Gatys optimisation starts from the photo), so there is nothing
    for a seed to drive."""
    photo = _photo(image)
    requests = parse_regions(regions, masks or [], style_images or [], mask, style, strength, invert)
    request = StylizeRequest.create(photo, requests, engine,
                                    parse_options(steps, max_size, preserve_color, feather, preview_every=1))
    throttle = Throttle(PREVIEW_INTERVAL)
    for preview in run_stylize(request):
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
