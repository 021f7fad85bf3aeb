"""One stylization request, its one JSON form, and the parsers each edge turns its input with.

The CLI (arguments or ``--request FILE.json``), the page (the session), the API (JSON) and the
video and batch paths each turn what they were given into a :class:`StylizeRequest`, with
:meth:`StylizeRequest.create` (Python values) or :func:`request_from_json` (the JSON form);
the rules live only here (one clear :class:`~virtart.errors.VirtArtError` for the first one
broken). Engines then only assert invariants. Options are read and checked by the engine's registry entry
(:func:`~virtart.engines.registry.parse_options`).

The JSON form (``version`` 1)::

    {"version": 1,
     "photo": "photo.jpg",                  # optional; a path (request files only)
     "engine": "auto",                      # a registry name or "auto"
     "segmenter": "auto",                   # for regions given by a prompt
     "options": {"steps": "auto", "max_size": null},
     "regions": [
        {"prompt": {"points": [[120, 80, 1]], "box": [10, 20, 300, 240]},
         "style": "starry_night", "strength": 1.0, "preserve_color": false, "feather": 4},
        {"mask": "sky.png", "style": "my_painting.jpg", "strength": 0.6},
        {"invert": true, "style": "great_wave"}]}    # everything else

A region's mask comes from ``prompt`` (:class:`~virtart.segmentation.prompts.Prompt`'s JSON
form) or ``mask`` (a file path, a ``data:`` URL, an index into uploaded masks, or an array);
``invert`` turns it into everything outside it, and ``invert`` alone is everything outside
the other regions. Paths are only read for a request file (``base_dir`` given), relative to it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import Region, StyleOptions
from virtart.engines.composite import DEFAULT_FEATHER
from virtart.engines.options import check_options, finite_number
from virtart.engines.registry import AUTO, engine_spec, parse_options, resolve_device
from virtart.errors import VirtArtError
from virtart.imageio import ImageSource, Photo, encode_png, load_image, load_mask, load_photo, mask_to_uint8
from virtart.segmentation.prompts import Prompt
from virtart.styles import BY_ID, load_style

JSON_VERSION = 1
MAX_REGIONS = 8
MIN_PHOTO_SIDE = 8
MAX_FEATHER = 200
REGION_KEYS = ("prompt", "mask", "style", "strength", "preserve_color", "feather", "invert")
REQUEST_KEYS = ("version", "photo", "engine", "segmenter", "options", "regions")
REQUEST_DEFAULTS = ("engine", "segmenter", "style", "preserve_color", "feather")  # defaults that are no option

Style = str | os.PathLike | np.ndarray


@dataclass
class RegionRequest:
    """A region as a user states it.

    ``mask``: an array or image (white = region), or None when ``prompt`` gives it, or for
    "everything else" (``invert`` with neither: everything outside the other regions).
    ``style``: a gallery id, a path or an ``(h, w, 3) uint8`` array. ``strength`` in ``[0, 1]``.
    ``invert``: the region is everything outside its mask. ``prompt``: clicks, a box or strokes
    the mask is cut from. ``preserve_color`` and ``feather``: None takes the request's default.
    ``name``: a label for the page's list and for reports (not part of the JSON form).
    """

    mask: ImageSource | None
    style: Style
    strength: float = 1.0
    invert: bool = False
    prompt: Prompt | None = field(default=None, kw_only=True)
    preserve_color: bool | str | None = field(default=None, kw_only=True)
    feather: float | str | None = field(default=None, kw_only=True)
    name: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class StylizeRequest:
    """A checked request.

    ``photo``: the decoded photo. ``regions``: masks ``(H, W) float32`` at the photo's size
    (inverted where asked, never empty) with their styles loaded and each one's strength,
    feather and colour rule. ``engine``: a registry name ("auto" resolved for the device).
    ``options``: of the engine's own options type (its registry entry's), with ``max_size``
    resolved from the engine's default for the device and ``device`` resolved ("cpu",
    "cuda", "cuda:N").
    """

    photo: Photo
    regions: tuple[Region, ...]
    engine: str
    options: StyleOptions

    @classmethod
    def create(cls, photo: Photo | ImageSource, regions: Sequence[RegionRequest | Region], engine: str = AUTO,
               options: StyleOptions | None = None, *, preserve_color: bool | str = False,
               feather: float | str = DEFAULT_FEATHER, segmenter: str = "auto") -> StylizeRequest:
        """Parse and validate; raise :class:`VirtArtError` naming the first problem.

        ``options``: the engine's options, or common or another engine's ones (the fields the
        engine shares are kept, the rest take its defaults). ``preserve_color`` and ``feather``:
        for the regions that name none. ``segmenter``: the backend that cuts the regions given
        by a prompt."""
        options = options or StyleOptions()
        if not isinstance(photo, Photo):
            photo = load_photo(photo)
        device = resolve_device(options.device)
        spec = engine_spec(engine, device)
        if type(options) is not spec.options:
            options = spec.make_options(options)
        if options.max_size is None:
            options = replace(options, max_size=spec.default_max_size(device))
        options = replace(options, device=device)
        check_photo(photo)
        check_options(options)
        defaults = {"preserve_color": parse_preserve_color(preserve_color), "feather": parse_softness(feather)}
        prepared = tuple(prepare_regions(photo, regions, defaults, segmenter))
        return cls(photo, prepared, spec.name, options)

    def to_json(self, photo: str | None = None) -> dict:
        """This request in the JSON form: masks and own paintings as PNG ``data:`` URLs, gallery
        paintings by id; ``photo``: the photo's path to record, if any.
        ``request_from_json(request.to_json(), photo=request.photo)`` makes the same request
        (soft mask edges at 8 bits)."""
        data: dict = {"version": JSON_VERSION}
        if photo is not None:
            data["photo"] = str(photo)
        data["engine"] = self.engine
        data["options"] = {f.name: getattr(self.options, f.name) for f in fields(self.options)}
        data["regions"] = [
            {"mask": data_url(encode_png(np.repeat(mask_to_uint8(region.mask)[:, :, None], 3, axis=2))),
             "style": region.style_name if region.style_name in BY_ID else data_url(encode_png(region.style)),
             "strength": float(region.strength), "preserve_color": region.preserve_color,
             "feather": region.feather if region.feather == "auto" else float(region.feather)}
            for region in self.regions
        ]
        return data


def check_photo(photo: Photo) -> None:
    rgb = photo.rgb
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise VirtArtError("the photo must be an (H, W, 3) uint8 RGB array")
    if min(rgb.shape[:2]) < MIN_PHOTO_SIDE:
        raise VirtArtError(f"the photo is too small ({rgb.shape[1]}x{rgb.shape[0]}); at least "
                           f"{MIN_PHOTO_SIDE}x{MIN_PHOTO_SIDE} pixels")


def prepare_regions(photo: Photo, requests: Sequence[RegionRequest | Region], defaults: Mapping | None = None,
                    segmenter: str = "auto") -> list[Region]:
    """Each request's mask at the photo's size (loaded and resized with a warning, or cut from its
    prompt; "everything else" last, once the other regions are known) and its style loaded;
    :class:`Region` objects are checked as they are. ``defaults``: ``preserve_color`` and
    ``feather`` for the requests that name none."""
    if not requests:
        raise VirtArtError("no region to repaint: choose at least one region")
    if len(requests) > MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions, got {len(requests)}")
    defaults = {"preserve_color": False, "feather": DEFAULT_FEATHER, **(defaults or {})}
    masks: dict[int, np.ndarray] = {}
    for index, request in enumerate(requests, start=1):
        if isinstance(request, RegionRequest) and not _is_everything_else(request):
            masks[index] = _region_mask(photo, request, index, segmenter)
    regions = []
    for index, request in enumerate(requests, start=1):
        if isinstance(request, Region):
            region = request
            if region.mask.shape != photo.rgb.shape[:2]:
                raise VirtArtError(f"region {index}: mask is {region.mask.shape[1]}x{region.mask.shape[0]}, "
                                   f"the photo {photo.size[0]}x{photo.size[1]}")
        else:
            if _is_everything_else(request):
                others = [r.mask for r in requests if isinstance(r, Region)] + list(masks.values())
                if not others:
                    raise VirtArtError(f"region {index}: everything else needs another region first")
                mask = mask_ops.invert(mask_ops.union(*others))
            else:
                mask = masks[index]
            style, style_name = load_style(request.style)
            colour = defaults["preserve_color"] if request.preserve_color is None else request.preserve_color
            feather = defaults["feather"] if request.feather is None else request.feather
            region = Region(mask=mask, style=style, strength=request.strength, style_name=style_name,
                            feather=parse_softness(feather, f"region {index}: feather"),
                            preserve_color=parse_preserve_color(colour))
        check_region(region, index)
        regions.append(region)
    return regions


def _is_everything_else(request: RegionRequest) -> bool:
    return request.invert and request.mask is None and request.prompt is None


def _region_mask(photo: Photo, request: RegionRequest, index: int, segmenter: str) -> np.ndarray:
    """The ``(H, W) float32`` mask of one region: loaded, or cut from its prompt; inverted if asked."""
    if request.prompt is not None:
        if request.mask is not None:
            raise VirtArtError(f"region {index}: give either a mask or a prompt, not both")
        from virtart.segmentation import get_segmenter
        from virtart.segmentation.prompts import cut

        prompt = request.prompt
        if prompt.previous is not None:
            prompt = replace(prompt, previous=load_mask(prompt.previous, photo.size,
                                                        label=f"region {index} previous mask"))
        try:
            prompt.check(photo.size)
        except VirtArtError as exc:
            raise VirtArtError(f"region {index}: {exc}") from None
        mask = cut(get_segmenter(segmenter), photo.rgb, prompt).mask
    elif request.mask is None:
        raise VirtArtError(f"region {index}: give a mask or a prompt (or invert alone for everything else)")
    else:
        mask = load_mask(request.mask, photo.size, label=f"region {index} mask")
    return mask_ops.invert(mask) if request.invert else mask


def check_region(region: Region, index: int) -> None:
    if not np.any(region.mask >= 0.5):
        raise VirtArtError(f"region {index}: the region is empty")
    style = region.style
    if not isinstance(style, np.ndarray) or style.ndim != 3 or style.shape[2] != 3 or min(style.shape[:2]) < 8:
        raise VirtArtError(f"region {index}: the style image must be an RGB image of at least 8x8 pixels")
    if not 0.0 <= float(region.strength) <= 1.0:  # written this way so NaN is refused too
        raise VirtArtError(f"region {index}: strength must be between 0 and 1, got {region.strength}")
    if region.feather != "auto" and (isinstance(region.feather, (bool, str)) or not 0 <= region.feather <= MAX_FEATHER):
        raise VirtArtError(f"region {index}: feather must be 'auto' or between 0 and {MAX_FEATHER} px "
                           f"(the edge's softness), got {region.feather!r}")
    if region.preserve_color not in (False, "luminance", "histogram"):
        raise VirtArtError(f"region {index}: preserve colours must be off, 'luminance' or 'histogram'")


def parse_softness(value, name: str = "feather") -> float | str:
    """The edge's softness from a form, JSON or command-line value: "auto" (any case, or empty)
    or a number of pixels (text holding one is read as that number; the range, NaN and
    infinity are refused where the region is checked)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return "auto"
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise VirtArtError(f"{name} must be 'auto' or a number of px (the edge's softness), got {value!r}") from None
    return finite_number(name, value)


def parse_preserve_color(value) -> bool | str:
    """A checkbox (True), the CLI's/API's words, or off -> False, "luminance" or "histogram"."""
    if value in (True, "true", "True", "luminance"):
        return "luminance"
    if value == "histogram":
        return "histogram"
    if value in (False, None, "", "false", "False", "off"):
        return False
    raise VirtArtError(f"preserve colours must be off, 'luminance' or 'histogram', got {value!r}")


def parse_region(text: str) -> RegionRequest:
    """The command line's ``MASK.png=STYLE[@STRENGTH]`` -> :class:`RegionRequest`."""
    if "=" not in text:
        raise VirtArtError(f"--region '{text}': expected MASK.png=STYLE[@STRENGTH]")
    mask, style = text.split("=", 1)
    strength = 1.0
    if "@" in style:
        style, _, value = style.rpartition("@")
        try:
            strength = float(value)
        except ValueError:
            raise VirtArtError(f"--region '{text}': strength '{value}' is not a number") from None
    return RegionRequest(mask=mask, style=style, strength=strength)


def data_url(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URL, as the JSON form carries images."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _decode_data_url(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.split(",", 1)[1], validate=True)
    except Exception:  # noqa: BLE001 - any malformed data URL is the caller's mistake
        raise VirtArtError(f"{what}: the data: URL is not valid base64") from None


@dataclass(frozen=True)
class _Sources:
    """Where the names in a JSON request point: a request file's folder (None: no paths are
    read, as for the API) and the uploaded masks and paintings that indices refer to."""

    base_dir: Path | None
    masks: Sequence[ImageSource]
    style_images: Sequence[ImageSource]

    def path(self, text: str, what: str) -> Path:
        if self.base_dir is None:
            raise VirtArtError(f"{what}: file names are read only from a request file; upload the file instead "
                               f"and give its index, or a data: URL")
        return self.base_dir / text

    def mask(self, value: Any, what: str) -> ImageSource:
        if isinstance(value, np.ndarray):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self.masks):
                raise VirtArtError(f"{what}: mask index {value} but {len(self.masks)} mask(s) were uploaded")
            return self.masks[value]
        if isinstance(value, str) and value.startswith("data:"):
            return _decode_data_url(value, what)
        if isinstance(value, str) and value.strip():
            return self.path(value, what)
        raise VirtArtError(f"{what}: 'mask' must be a file name, a data: URL or an index into the uploaded masks")

    def style(self, value: Any, what: str) -> Style:
        if isinstance(value, np.ndarray):
            return value
        if isinstance(value, str) and value.strip().isdigit() and self.style_images:
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self.style_images):
                raise VirtArtError(f"{what}: style index {value} but {len(self.style_images)} style image(s) "
                                   "were uploaded")
            return load_image(self.style_images[value], label=f"{what} style image")
        if isinstance(value, str) and value.startswith("data:"):
            return load_image(_decode_data_url(value, what), label=f"{what} style image")
        if isinstance(value, str) and value in BY_ID:
            return value
        if isinstance(value, str) and value.strip() and self.base_dir is not None:
            return self.base_dir / value
        valid = ", ".join(BY_ID)
        raise VirtArtError(f"{what}: style {value!r} is not a gallery id ({valid}), an uploaded painting's index "
                           "or a data: URL")


def _as_json(data: Any, what: str = "the request") -> Any:
    if isinstance(data, (str, bytes)):
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise VirtArtError(f"{what} is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return data


def prompt_from_json(data: Any, base_dir: str | os.PathLike | None = None, *, masks: Sequence[ImageSource] = (),
                     what: str = "prompt") -> Prompt:
    """:meth:`Prompt.from_json` with its ``previous`` mask resolved as a region's ``mask`` is (a
    data: URL, an upload's index, or a file name for a request file); not yet loaded."""
    prompt = Prompt.from_json(data, what)
    if prompt.previous is None:
        return prompt
    sources = _Sources(Path(base_dir) if base_dir is not None else None, masks, ())
    return replace(prompt, previous=sources.mask(prompt.previous, f"{what} previous mask"))


def regions_from_json(items: Any, base_dir: str | os.PathLike | None = None, *, masks: Sequence[ImageSource] = (),
                      style_images: Sequence[ImageSource] = (), default_style: Style | None = None
                      ) -> list[RegionRequest]:
    """The JSON form's ``regions`` list (or its text) -> :class:`RegionRequest` items, unchecked
    until :meth:`StylizeRequest.create`. See the module docstring for the keys; ``default_style``
    serves regions that name no ``style``."""
    sources = _Sources(Path(base_dir) if base_dir is not None else None, masks, style_images)
    items = _as_json(items, "regions")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise VirtArtError('regions must be a JSON list like [{"mask": 0, "style": "starry_night", "strength": 1}]')
    if len(items) > MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions, got {len(items)}")
    requests = []
    for index, item in enumerate(items, start=1):
        what = f"region {index}"
        if not isinstance(item, dict):
            raise VirtArtError(f"{what} must be a JSON object with 'mask' or 'prompt', and 'style'")
        unknown = sorted(set(item) - set(REGION_KEYS))
        if unknown:
            raise VirtArtError(f"{what}: unknown key {unknown[0]!r}; use {', '.join(REGION_KEYS)}")
        if "style" not in item and default_style is None:
            raise VirtArtError(f"{what}: no 'style' (a gallery id such as starry_night)")
        invert = item.get("invert", False)
        if not isinstance(invert, bool):
            raise VirtArtError(f"{what}: invert must be true or false, got {invert!r}")
        prompt = None
        if item.get("prompt") is not None:
            prompt = prompt_from_json(item["prompt"], base_dir, masks=masks, what=f"{what} prompt")
        has_mask = item.get("mask") is not None
        mask = sources.mask(item["mask"], what) if has_mask else None
        strength = finite_number(f"{what}: strength", item.get("strength", 1.0))
        feather = parse_softness(item["feather"], f"{what}: feather") if item.get("feather") is not None else None
        colour = parse_preserve_color(item["preserve_color"]) if "preserve_color" in item else None
        style = sources.style(item.get("style", default_style), what)
        requests.append(RegionRequest(mask, style, strength, invert, prompt=prompt,
                                      preserve_color=colour, feather=feather))
    return requests


def request_from_json(data: Any, photo: Photo | ImageSource | None = None, base_dir: str | os.PathLike | None = None,
                      *, masks: Sequence[ImageSource] = (), style_images: Sequence[ImageSource] = (),
                      defaults: Mapping | None = None) -> StylizeRequest:
    """A checked :class:`StylizeRequest` from the JSON form (a dict or its text).

    ``photo``: the photo (or a video's keyframe), taking the place of the JSON's ``photo``.
    ``base_dir``: the request file's folder; file names (the photo, masks, paintings) are read
    relative to it, and refused when it is None (the API). ``masks``/``style_images``: the
    uploads that integer indices refer to. ``defaults``: values for what the JSON leaves out
    (``engine``, ``segmenter``, ``style``, ``preserve_color``, ``feather`` and any option)."""
    data = _as_json(data)
    if not isinstance(data, dict):
        raise VirtArtError('a request must be a JSON object like {"version": 1, "regions": [...]}')
    version = data.get("version", JSON_VERSION)
    if version != JSON_VERSION:
        raise VirtArtError(f"request version {version!r} is not known; this VirtArt reads version {JSON_VERSION}")
    unknown = sorted(set(data) - set(REQUEST_KEYS))
    if unknown:
        raise VirtArtError(f"the request has an unknown key {unknown[0]!r}; use {', '.join(REQUEST_KEYS)}")
    defaults = dict(defaults or {})
    if photo is None:
        if not data.get("photo"):
            raise VirtArtError("no photo: give one in the request's 'photo' or on the command line")
        photo = _Sources(Path(base_dir) if base_dir is not None else None, (), ()).path(str(data["photo"]), "photo")
        photo = load_photo(photo, label=str(data["photo"]))
    regions = regions_from_json(data.get("regions"), base_dir, masks=masks, style_images=style_images,
                                default_style=defaults.get("style"))
    given = data.get("options") or {}
    if not isinstance(given, dict):
        raise VirtArtError('options must be a JSON object like {"steps": "auto", "max_size": 512}')
    option_values = {k: v for k, v in defaults.items() if k not in REQUEST_DEFAULTS}
    engine = str(data.get("engine", defaults.get("engine", AUTO)))
    options = parse_options(engine, {**option_values, **given})
    return StylizeRequest.create(photo, regions, engine, options,
                                 preserve_color=defaults.get("preserve_color", False),
                                 feather=defaults.get("feather", DEFAULT_FEATHER),
                                 segmenter=str(data.get("segmenter", defaults.get("segmenter", "auto"))))


def load_request_file(path: str | os.PathLike, photo: Photo | ImageSource | None = None,
                      defaults: Mapping | None = None) -> StylizeRequest:
    """:func:`request_from_json` of a request file, names read relative to its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VirtArtError(f"cannot read the request {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return request_from_json(_as_json(text, f"the request {path}"), photo, path.parent, defaults=defaults)


EXAMPLE_REQUEST = {
    "version": JSON_VERSION,
    "photo": "photo.jpg",
    "engine": AUTO,
    "options": {"steps": "auto"},
    "regions": [
        {"prompt": {"points": [[320, 240, 1], [40, 60, 0]]}, "style": "starry_night", "strength": 1.0,
         "preserve_color": False, "feather": DEFAULT_FEATHER},
        {"mask": "sky.png", "style": "great_wave", "strength": 0.6},
        {"invert": True, "style": "the_scream", "strength": 0.5},
    ],
}
