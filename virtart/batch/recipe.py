"""A batch recipe: the stylize request's JSON form (:mod:`virtart.request`) with prompts that
need no clicks, applied to every input.

A recipe is that JSON form without a ``photo`` (the inputs are the photos)::

    {"version": 1, "engine": "fast", "options": {"max_size": 1024},
     "regions": [{"prompt": {"detect": ["person"], "min_score": 0.25}, "style": "starry_night"},
                 {"invert": true, "style": "great_wave", "strength": 0.7, "feather": 8}]}

Besides everything a request's region takes (a ``mask``, a ``prompt`` of points or a box,
``invert`` alone for everything else, each region's ``style``, ``strength``,
``preserve_color`` and ``feather``), a recipe's region may have

* ``"prompt": {"detect": ["person", "dog"], "min_score": 0.25}``: the detected objects of
  those COCO classes, one region (the union of their masks);
* ``"prompt": "whole"``: the whole picture;
* ``"mask": "masks/{stem}.png"``: a mask file per input, ``{stem}`` being the input's file
  name without its extension; names are relative to the recipe's folder.

Per photo, :meth:`Recipe.request_for` turns those into masks and hands the whole recipe to
:func:`virtart.request.request_from_json`, the one parser of the form. A detected region that
finds nothing on a photo is left out there (the manifest says so; "everything else" is then
the whole picture); a photo where no region is left is an error row, not an unchanged copy.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from virtart import masks as mask_ops
from virtart.errors import VirtArtError, collect_warnings
from virtart.imageio import Photo
from virtart.request import (
    JSON_VERSION,
    MIN_PHOTO_SIDE,
    REQUEST_KEYS,
    RegionRequest,
    StylizeRequest,
    regions_from_json,
    request_from_json,
)

WHOLE = "whole"
STEM = "{stem}"
RECIPE_KEYS = tuple(key for key in REQUEST_KEYS if key != "photo")

# detect(rgb, classes, min_score) -> objects with ``.label`` and ``.mask`` ((H, W) float32)
Detect = Callable[[np.ndarray, list[str], float], list]

EXAMPLE = {
    "version": JSON_VERSION,
    "engine": "fast",
    "options": {"max_size": 1024},
    "regions": [
        {"prompt": {"detect": ["person"], "min_score": 0.25}, "style": "starry_night", "strength": 1.0,
         "feather": 4},
        {"invert": True, "style": "great_wave", "strength": 0.7, "feather": 4},
    ],
}


@dataclass(frozen=True)
class Detected:
    """A region's click-free prompt: ``classes`` to detect (empty: the whole picture)."""

    classes: tuple[str, ...] = ()
    min_score: float = 0.25

    def describe(self) -> str:
        return ",".join(self.classes) or WHOLE


def _click_free(prompt: Any, what: str) -> Detected | None:
    """The click-free prompt in a region's ``prompt``, or None for a request's own prompt."""
    if isinstance(prompt, str) and prompt.strip().lower() in (WHOLE, "whole picture", "the whole picture"):
        return Detected()
    if not isinstance(prompt, dict) or "detect" not in prompt:
        return None
    unknown = sorted(set(prompt) - {"detect", "min_score"})
    if unknown:
        raise VirtArtError(f"{what}: a detect prompt takes detect and min_score, not {unknown[0]!r}")
    classes = prompt["detect"]
    if isinstance(classes, str):
        classes = [part.strip() for part in classes.split(",") if part.strip()]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c.strip() for c in classes):
        raise VirtArtError(f'{what}: "detect" takes COCO class names, e.g. ["person", "dog"]')
    score = prompt.get("min_score", 0.25)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise VirtArtError(f"{what}: min_score must be a number between 0 and 1, got {score!r}")
    return Detected(tuple(c.strip() for c in classes), float(score))


def _is_everything_else(item: dict) -> bool:
    return bool(item.get("invert")) and item.get("mask") is None and item.get("prompt") is None


@dataclass(frozen=True)
class Recipe:
    """A checked recipe: ``source`` the JSON as given (its digest names the recipe in the
    manifest), ``base_dir`` where its file names start, ``prompts`` each region's click-free
    prompt (None where the request form's own mask or prompt gives the region)."""

    source: dict
    base_dir: str
    prompts: tuple[Detected | None, ...]

    @property
    def digest(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON (sorted keys)."""
        canonical = json.dumps(self.source, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def engine(self) -> str:
        return str(self.source.get("engine", "auto"))

    @property
    def detects(self) -> bool:
        return any(prompt is not None and prompt.classes for prompt in self.prompts)

    def regions_json(self, rgb: np.ndarray, source: str | os.PathLike,
                     detect: Detect | None) -> tuple[list[dict], list[dict], list[str | None], list[dict]]:
        """The recipe's regions for one ``(H, W, 3) uint8`` photo (or a clip's keyframe) read
        from ``source``, in the request JSON form (click-free prompts now masks, regions that
        found nothing left out); what each recipe region found (``{"prompt", "objects",
        "area_fraction"}``); per kept region, the COCO class of a detected one (else None) and
        its entry in what was found (for :meth:`request_for` to complete)."""
        items, found, labels = [], [], []
        for index, (item, prompt) in enumerate(zip(self.source["regions"], self.prompts, strict=True), start=1):
            item = dict(item)
            summary: dict = {"prompt": prompt.describe() if prompt else _describe(item)}
            if prompt is not None:
                item.pop("prompt")
                item["mask"], summary["objects"] = self._detected(prompt, rgb, detect)
            elif isinstance(item.get("mask"), str) and STEM in item["mask"]:
                name = item["mask"].replace(STEM, Path(source).stem)
                if not Path(self.base_dir, name).is_file():
                    raise VirtArtError(f"region {index}: no mask {Path(name).name} for {Path(source).name} "
                                       f"(the recipe asks for {item['mask']})")
                item["mask"] = name
            if isinstance(item.get("mask"), np.ndarray):
                summary["area_fraction"] = round(float((item["mask"] >= 0.5).mean()), 4)
                if not summary["area_fraction"]:
                    found.append(summary)
                    continue
            items.append({**item, "_summary": summary})
            found.append(summary)
            labels.append(prompt.classes[0] if prompt is not None and prompt.classes else None)
        if items and all(_is_everything_else(item) for item in items):
            items = [{**item, "mask": np.ones(rgb.shape[:2], np.float32), "invert": False} for item in items]
        if not items:
            wanted = [prompt.describe() for prompt in self.prompts if prompt is not None]
            raise VirtArtError(f"nothing to repaint: no {' or '.join(wanted) or 'region'} found")
        kept = [item.pop("_summary") for item in items]
        return items, found, labels, kept

    def request_for(self, photo: Photo, source: str | os.PathLike,
                    detect: Detect | None) -> tuple[StylizeRequest, list[dict]]:
        """The checked request for one photo, and what each recipe region found there."""
        items, found, _, kept = self.regions_json(photo.rgb, source, detect)
        request = request_from_json({**self.source, "regions": items}, photo, self.base_dir)
        for summary, region in zip(kept, request.regions, strict=True):
            summary["area_fraction"] = round(float((region.mask >= 0.5).mean()), 4)
        return request, found

    def clip_regions(self, keyframe: np.ndarray, source: str | os.PathLike,
                     detect: Detect | None) -> tuple[list[RegionRequest], list[dict], list[str | None]]:
        """The regions for a clip's keyframe, for :func:`virtart.video.pipeline.stylize_video`."""
        items, found, labels, _ = self.regions_json(keyframe, source, detect)
        return regions_from_json(items, self.base_dir), found, labels

    def _detected(self, prompt: Detected, rgb: np.ndarray, detect: Detect | None) -> tuple[np.ndarray, int]:
        if not prompt.classes:
            return np.ones(rgb.shape[:2], np.float32), 1
        objects = [obj for obj in detect(rgb, list(prompt.classes), prompt.min_score) if obj.mask is not None]
        if not objects:
            return np.zeros(rgb.shape[:2], np.float32), 0
        return mask_ops.union(*[obj.mask for obj in objects]).astype(np.float32), len(objects)


def _describe(item: dict) -> str:
    if _is_everything_else(item):
        return "everything else"
    return "mask" if item.get("mask") is not None else "prompt"


def parse_recipe(value: dict | str, base_dir: str | os.PathLike = ".") -> Recipe:
    """Check a recipe (a dict or its JSON text) as far as it can be without a photo: keys, the
    click-free prompts, and every region, option and the engine through the request parser."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise VirtArtError(f"the recipe is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise VirtArtError('a recipe is a JSON object with "regions" (see `virtart batch --example`)')
    unknown = sorted(set(value) - set(RECIPE_KEYS))
    if unknown:
        hint = ": the inputs are the photos" if "photo" in unknown else ""
        raise VirtArtError(f"the recipe has an unknown key {unknown[0]!r}{hint}; use {', '.join(RECIPE_KEYS)}")
    items = value.get("regions")
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise VirtArtError('the recipe needs "regions": a list like [{"prompt": "whole", "style": "starry_night"}]')
    value = copy.deepcopy(value)
    prompts = tuple(_click_free(item.get("prompt"), f"region {index}") for index, item in enumerate(items, start=1))
    if all(_is_everything_else(item) for item in items):
        raise VirtArtError("everything else (invert alone) needs another region to be the rest of")
    # The rest is checked by the request parser: first as written (keys, prompts, file names),
    # then as a request on a placeholder photo, each region's mask a placeholder (the rules).
    placeholder = np.zeros((MIN_PHOTO_SIDE, MIN_PHOTO_SIDE), np.float32)
    placeholder[:, : MIN_PHOTO_SIDE // 2] = 1.0
    written, checked = [], []
    for item, prompt in zip(items, prompts, strict=True):
        item = dict(item)
        if prompt is not None:
            item.pop("prompt")
            item["mask"] = placeholder
        elif isinstance(item.get("mask"), str) and STEM in item["mask"]:
            item["mask"] = placeholder
        written.append(item)
        checked.append(item if _is_everything_else(item) else
                       {**{k: v for k, v in item.items() if k != "prompt"}, "mask": placeholder, "invert": False})
    regions_from_json(written, base_dir)
    options = value.get("options") or {}
    if not isinstance(options, dict):
        raise VirtArtError('recipe "options" must be an object like {"max_size": 1024}')
    with collect_warnings():
        request_from_json({**value, "regions": checked}, Photo(np.zeros((MIN_PHOTO_SIDE, MIN_PHOTO_SIDE, 3), np.uint8)),
                          base_dir)
    return Recipe(value, os.fspath(Path(base_dir).resolve()), prompts)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and check a recipe file."""
    path = Path(path)
    if not path.is_file():
        raise VirtArtError(f"recipe {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VirtArtError(f"recipe {path}: cannot be read as UTF-8 text ({exc})") from None
    return parse_recipe(text, path.parent)


def example_json() -> str:
    return json.dumps(EXAMPLE, indent=2)
