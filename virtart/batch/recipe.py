"""A batch recipe: one stylize request whose regions are prompts that need no clicks.

A recipe is JSON::

    {"engine": "fast", "options": {"max_size": 1024, "feather": 4},
     "regions": [{"prompt": {"detect": ["person"]}, "style": "starry_night", "strength": 1.0},
                 {"prompt": "everything else", "style": "great_wave", "strength": 0.6}]}

Each region's ``prompt`` is one of

* ``{"detect": ["person", "dog"], "min_score": 0.25}``: every detected object of those COCO
  classes (one region: the union of their masks);
* ``"everything else"``: what no other region of the recipe covers on that photo;
* ``"whole"``: the whole picture;
* ``{"mask": "masks/{stem}.png"}``: a mask file per input, ``{stem}`` replaced by the input's
  file name without its extension; relative paths start at the recipe's folder.

:func:`parse_recipe` checks the JSON once, with one clear message; :meth:`Recipe.regions_for`
turns the prompts into :class:`~virtart.request.RegionRequest` masks on one photo (or a clip's
keyframe). A detected prompt that finds nothing on a photo is dropped there (the manifest
says so); a photo where every region is empty is an error row, not an unchanged copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from virtart import masks as mask_ops
from virtart.engines.base import StyleOptions
from virtart.errors import VirtArtError
from virtart.imageio import load_mask
from virtart.request import MAX_REGIONS, RegionRequest, parse_options

WHOLE = "whole"
EVERYTHING_ELSE = "everything else"
PROMPT_WORDS = {WHOLE: WHOLE, "whole picture": WHOLE, "the whole picture": WHOLE, "all": WHOLE,
                EVERYTHING_ELSE: EVERYTHING_ELSE, "everything_else": EVERYTHING_ELSE, "rest": EVERYTHING_ELSE}
OPTION_KEYS = ("steps", "max_size", "preserve_color", "feather")
EXACT_OPTION_KEYS = ("init", "optimizer", "style_weight", "content_weight", "style_scale", "precision")

# detect(rgb, classes, min_score) -> objects with ``.label`` and ``.mask`` ((H, W) float32)
Detect = Callable[[np.ndarray, list[str], float], list]

EXAMPLE = {
    "engine": "fast",
    "options": {"max_size": 1024, "feather": 4},
    "regions": [
        {"prompt": {"detect": ["person"], "min_score": 0.25}, "style": "starry_night", "strength": 1.0},
        {"prompt": EVERYTHING_ELSE, "style": "great_wave", "strength": 0.7},
    ],
}


@dataclass(frozen=True)
class Prompt:
    """A click-free region: ``kind`` is "detect" (``classes``, ``min_score``), "everything else",
    "whole" or "mask" (``mask`` a path pattern with ``{stem}``)."""

    kind: str
    classes: tuple[str, ...] = ()
    min_score: float = 0.25
    mask: str = ""

    def describe(self) -> str:
        if self.kind == "detect":
            return ",".join(self.classes)
        return self.mask if self.kind == "mask" else self.kind


@dataclass(frozen=True)
class RecipeRegion:
    prompt: Prompt
    style: str
    strength: float = 1.0


@dataclass(frozen=True)
class Recipe:
    """A checked recipe. ``source``: the JSON as given (its digest names the recipe in the
    manifest); ``base_dir``: where relative mask and style paths start."""

    regions: tuple[RecipeRegion, ...]
    engine: str = "fast"
    options: StyleOptions = field(default_factory=StyleOptions)
    source: dict = field(default_factory=dict)
    base_dir: str = "."

    @property
    def digest(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON (sorted keys)."""
        canonical = json.dumps(self.source, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def detect_classes(self) -> bool:
        return any(region.prompt.kind == "detect" for region in self.regions)

    def regions_for(self, rgb: np.ndarray, source: str | os.PathLike,
                    detect: Detect | None) -> tuple[list[RegionRequest], list[dict], list[str | None]]:
        """The regions on one ``(H, W, 3) uint8`` photo (or keyframe) read from ``source``.

        Returns the requests (empty regions dropped), what each recipe region found
        (``{"prompt", "objects", "area_fraction"}``, in recipe order) and, per request, the
        COCO class of a detected region (None otherwise: what video tracking re-finds by).
        """
        size = (rgb.shape[1], rgb.shape[0])
        masks: list[np.ndarray | None] = []
        found: list[dict] = []
        for index, region in enumerate(self.regions, start=1):
            mask, objects = self._mask(region.prompt, rgb, size, Path(source), detect, index)
            masks.append(mask)
            found.append({"prompt": region.prompt.describe(), "objects": objects})
        covered = [mask for mask, region in zip(masks, self.regions, strict=True)
                   if mask is not None and region.prompt.kind != EVERYTHING_ELSE]
        rest = mask_ops.invert(mask_ops.union(*covered)) if covered else np.ones(rgb.shape[:2], np.float32)
        requests, labels = [], []
        for mask, region, summary in zip(masks, self.regions, found, strict=True):
            if region.prompt.kind == EVERYTHING_ELSE:
                mask = rest
            area = 0.0 if mask is None else float((mask >= 0.5).mean())
            summary["area_fraction"] = round(area, 4)
            if area == 0.0:
                continue
            requests.append(RegionRequest(mask, self._style(region.style), region.strength))
            labels.append(region.prompt.classes[0] if region.prompt.kind == "detect" else None)
        if not requests:
            wanted = [r.prompt.describe() for r in self.regions if r.prompt.kind == "detect"]
            raise VirtArtError(f"nothing to repaint: no {' or '.join(wanted) or 'region'} found")
        return requests, found, labels

    def _mask(self, prompt: Prompt, rgb: np.ndarray, size: tuple[int, int], source: Path,
              detect: Detect | None, index: int) -> tuple[np.ndarray | None, int]:
        if prompt.kind == WHOLE:
            return np.ones(rgb.shape[:2], np.float32), 1
        if prompt.kind == EVERYTHING_ELSE:
            return None, 0
        if prompt.kind == "mask":
            path = Path(self.base_dir, prompt.mask.replace("{stem}", source.stem))
            if not path.is_file():
                raise VirtArtError(f"region {index}: no mask {path.name} for {source.name} "
                                   f"(the recipe asks for {prompt.mask})")
            return load_mask(str(path), size, label=f"region {index} mask {path.name}"), 1
        objects = [found for found in detect(rgb, list(prompt.classes), prompt.min_score)
                   if found.mask is not None]
        if not objects:
            return None, 0
        return mask_ops.union(*[found.mask for found in objects]).astype(np.float32), len(objects)

    def _style(self, style: str) -> str:
        """A gallery id as it is; a file path relative to the recipe's folder."""
        candidate = Path(self.base_dir, style)
        return str(candidate) if not Path(style).is_absolute() and candidate.is_file() else style


def _prompt(value, index: int) -> Prompt:
    if isinstance(value, str):
        word = PROMPT_WORDS.get(value.strip().lower())
        if word is None:
            raise VirtArtError(f"region {index}: prompt {value!r} is not one of \"whole\", \"everything else\", "
                               'a {"detect": [classes]} or a {"mask": "masks/{stem}.png"}')
        return Prompt(word)
    if isinstance(value, dict) and "detect" in value:
        classes = value["detect"]
        if isinstance(classes, str):
            classes = [part.strip() for part in classes.split(",") if part.strip()]
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes):
            raise VirtArtError(f'region {index}: "detect" takes COCO class names, e.g. ["person", "dog"]')
        score = value.get("min_score", 0.25)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise VirtArtError(f"region {index}: min_score must be a number between 0 and 1, got {score!r}")
        return Prompt("detect", tuple(classes), float(score))
    if isinstance(value, dict) and isinstance(value.get("mask"), str) and value["mask"]:
        return Prompt("mask", mask=value["mask"])
    raise VirtArtError(f'region {index}: "prompt" must be "whole", "everything else", {{"detect": [...]}} '
                       f'or {{"mask": "masks/{{stem}}.png"}}, got {value!r}')


def parse_recipe(value: dict | str, base_dir: str | os.PathLike = ".") -> Recipe:
    """Check a recipe (a dict or JSON text); raise :class:`VirtArtError` naming the first problem."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise VirtArtError(f"the recipe is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise VirtArtError('the recipe must be a JSON object with "regions" (see `virtart batch --example`)')
    unknown = sorted(set(value) - {"engine", "options", "regions"})
    if unknown:
        raise VirtArtError(f"the recipe has unknown keys {', '.join(unknown)}: use engine, options, regions")
    items = value.get("regions")
    if not isinstance(items, list) or not items:
        raise VirtArtError('the recipe needs "regions": a list like [{"prompt": "whole", "style": "starry_night"}]')
    if len(items) > MAX_REGIONS:
        raise VirtArtError(f"at most {MAX_REGIONS} regions, the recipe has {len(items)}")
    regions = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise VirtArtError(f'region {index} must be an object with "prompt" and "style"')
        style, strength = item.get("style"), item.get("strength", 1.0)
        if not isinstance(style, str) or not style:
            raise VirtArtError(f"region {index}: style must be a gallery id or an image file name")
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
            raise VirtArtError(f"region {index}: strength must be a number between 0 and 1, got {strength!r}")
        regions.append(RecipeRegion(_prompt(item.get("prompt"), index), style, float(strength)))
    if all(region.prompt.kind == EVERYTHING_ELSE for region in regions):
        raise VirtArtError('"everything else" needs another region to be the rest of')
    options = value.get("options", {}) or {}
    if not isinstance(options, dict):
        raise VirtArtError('recipe "options" must be an object like {"max_size": 1024}')
    unknown = sorted(set(options) - set(OPTION_KEYS) - set(EXACT_OPTION_KEYS))
    if unknown:
        raise VirtArtError(f"unknown option {', '.join(unknown)}; known: {', '.join(OPTION_KEYS + EXACT_OPTION_KEYS)}")
    exact = {key: options[key] for key in EXACT_OPTION_KEYS if key in options}
    style_options = parse_options(**{key: options[key] for key in OPTION_KEYS if key in options}, **exact)
    engine = value.get("engine", "fast")
    if not isinstance(engine, str):
        raise VirtArtError(f"engine must be a name such as \"fast\", got {engine!r}")
    return Recipe(tuple(regions), engine, style_options, value, os.fspath(base_dir))


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
