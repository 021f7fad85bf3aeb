"""Size, depth and length limits on JSON that arrives from outside (API fields, request files).

:func:`load_json` refuses, with one line naming the field and the limit, text longer than
the field's ``max_chars`` or nested deeper than its ``max_depth`` *before* parsing it (so a
``[[[[...`` bomb never reaches the recursive parser), then lists longer than ``max_items``
and structures of more than ``max_values`` values in all. Each JSON entry point calls it
once with its field's :class:`JsonLimits` from :data:`LIMITS`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from virtart.errors import VirtArtError


@dataclass(frozen=True)
class JsonLimits:
    """``max_chars`` of text; ``max_depth`` of nested lists/objects (``[1, 2]`` is 1 deep);
    ``max_items`` in any one list or object; ``max_values`` counted over the whole value."""

    max_chars: int
    max_depth: int
    max_items: int
    max_values: int


# Per field of the public API (docs/api.md states them).
LIMITS: dict[str, JsonLimits] = {
    "points": JsonLimits(max_chars=20_000, max_depth=2, max_items=200, max_values=1_000),
    "box": JsonLimits(max_chars=1_000, max_depth=1, max_items=4, max_values=8),
    "strokes": JsonLimits(max_chars=1_000_000, max_depth=4, max_items=10_000, max_values=60_000),
    # a prompt's strokes are the deepest part: {"strokes": [{"points": [[x, y], ...]}]}
    "prompt": JsonLimits(max_chars=1_000_000, max_depth=5, max_items=10_000, max_values=60_000),
    # a region's mask or painting may come as a data: URL, hence the room; a region may hold a prompt
    "regions": JsonLimits(max_chars=24_000_000, max_depth=7, max_items=10_000, max_values=70_000),
    "request": JsonLimits(max_chars=24_000_000, max_depth=8, max_items=10_000, max_values=70_000),
    "options": JsonLimits(max_chars=20_000, max_depth=3, max_items=64, max_values=1_000),
}

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def text_depth(text: str) -> int:
    """How deeply the brackets of JSON ``text`` nest (strings skipped), without parsing it."""
    skeleton = np.frombuffer(_STRING.sub("", text).encode("utf-8", "replace"), np.uint8)
    steps = np.isin(skeleton, _OPEN).astype(np.int32) - np.isin(skeleton, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _check_value(value, field: str, limits: JsonLimits) -> None:
    """Depth, list lengths and value count of an already-parsed ``value`` (iteratively)."""
    stack, count = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > limits.max_values:
            raise VirtArtError(f"{field} holds more than {limits.max_values} values, over the limit")
        if isinstance(item, (list, dict)):
            if depth + 1 > limits.max_depth:
                raise VirtArtError(f"{field} is nested more than {limits.max_depth} deep, over the limit")
            if len(item) > limits.max_items:
                raise VirtArtError(f"{field} has {len(item)} entries in one list, over the limit of "
                                   f"{limits.max_items}")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def load_json(text, field: str, limits: JsonLimits | None = None):
    """Parse ``text`` (a JSON string; an already-parsed list or dict is only checked) for
    ``field`` within ``limits`` (default: ``LIMITS[field]``); None for absent or blank text.
    Raises :class:`VirtArtError` naming ``field`` and the limit, or the JSON error's place."""
    limits = limits or LIMITS[field]
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, str):
        if len(text) > limits.max_chars:
            raise VirtArtError(f"{field} is {len(text):,} characters long, over the {limits.max_chars:,} limit")
        if text.count(",") + text.count("[") + text.count("{") > 2 * limits.max_values:  # cheap, before the scan
            if text_depth(text[:100_000]) > limits.max_depth:
                raise VirtArtError(f"{field} is nested more than {limits.max_depth} deep, over the limit")
            raise VirtArtError(f"{field} holds more than {limits.max_values} values, over the limit")
        if text_depth(text) > limits.max_depth:
            raise VirtArtError(f"{field} is nested more than {limits.max_depth} deep, over the limit")
        try:
            text = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VirtArtError(f"{field} is not valid JSON ({exc.msg} at character {exc.pos})") from None
        except ValueError:  # e.g. an integer of more digits than Python converts
            raise VirtArtError(f"{field} holds a number with too many digits to read; "
                               "send shorter numbers") from None
    _check_value(text, field, limits)
    return text
