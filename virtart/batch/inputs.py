"""What a batch works on: files, folders (recursive) and text files listing paths, as items.

Each :class:`Item` names an input and the output it becomes under the output folder: a
photo becomes ``NAME.png`` (lossless, so untouched pixels keep their values), a clip
``NAME.mp4``. Inside a folder given as input the sub-folders are kept; two inputs that would
share an output name get the first 8 hex digits of their path's digest appended.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from virtart.errors import VirtArtError

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic"}
CLIP_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"}
LIST_SUFFIXES = {".txt", ".lst"}


@dataclass(frozen=True)
class Item:
    """``path``: the input as an absolute path; ``output``: relative to the output folder;
    ``kind``: "photo" or "clip"."""

    path: str
    output: str
    kind: str


def _kind(path: Path) -> str:
    return "clip" if path.suffix.lower() in CLIP_SUFFIXES else "photo"


def _listed(path: Path) -> list[Path]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise VirtArtError(f"{path}: cannot read the list of paths ({exc})") from None
    entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return [Path(entry) if Path(entry).is_absolute() else path.parent / entry for entry in entries]


def collect(inputs: list[str], out_dir: str | os.PathLike) -> list[Item]:
    """The work items for ``inputs``, sorted by path (the same order on every run).

    A folder contributes its photos and clips (recursively, hidden files and the output
    folder skipped); a ``.txt`` file lists one path per line (``#`` comments); any other
    file is taken as it is: an unreadable one becomes a failed row later, not an error now.
    """
    out = Path(out_dir).resolve()
    found: dict[str, str] = {}  # absolute path -> output relative path without suffix
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                inside = child.relative_to(path)
                if (child.is_file() and not any(part.startswith(".") for part in inside.parts)
                        and child.suffix.lower() in PHOTO_SUFFIXES | CLIP_SUFFIXES
                        and out not in child.resolve().parents):
                    found.setdefault(str(child.resolve()), str(inside.with_suffix("")))
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            for entry in _listed(path):
                found.setdefault(str(entry.resolve()), entry.stem)
        elif path.exists() or path.suffix:
            found.setdefault(str(path.resolve()), path.stem)
        else:
            raise VirtArtError(f"{given}: no such file or folder")
    if not found:
        raise VirtArtError("no photos or clips found in the inputs given")
    items, taken = [], set()
    for absolute in sorted(found):
        stem = found[absolute]
        if stem in taken:
            stem = f"{stem}~{hashlib.sha256(absolute.encode()).hexdigest()[:8]}"
        taken.add(stem)
        kind = _kind(Path(absolute))
        items.append(Item(absolute, stem + (".mp4" if kind == "clip" else ".png"), kind))
    return items
