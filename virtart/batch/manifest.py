"""The manifest: one JSON line per finished input, beside the outputs (``OUT/manifest.jsonl``).

A row is ``{"input", "output", "recipe", "seconds", "regions", "error"}``: ``recipe`` is the
recipe's digest, ``regions`` what each recipe region found, ``error`` None or the one-line
reason the input failed. Only the driver appends, one flushed line per input, so a run
stopped at any moment leaves whole rows (a torn last line is ignored when read). An input
is done when its latest row has the same recipe digest, no error and its output exists;
everything else is redone by the next run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

NAME = "manifest.jsonl"
PARTIAL_SUFFIX = ".part"  # virtart.imageio.atomic_write's and virtart.video.io's temporaries


def read(out_dir: str | os.PathLike) -> dict[str, dict]:
    """The latest row per input."""
    path = Path(out_dir) / NAME
    rows: dict[str, dict] = {}
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write
            if isinstance(row, dict) and isinstance(row.get("input"), str):
                rows[row["input"]] = row
    return rows


def is_done(row: dict | None, digest: str, out_dir: str | os.PathLike) -> bool:
    return (row is not None and row.get("recipe") == digest and not row.get("error")
            and isinstance(row.get("output"), str) and (Path(out_dir) / row["output"]).is_file())


class Writer:
    """Appends rows to the manifest, each flushed and synced before the next."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        self.handle = (Path(out_dir) / NAME).open("a", encoding="utf-8")

    def append(self, row: dict) -> None:
        self.handle.write(json.dumps(row, sort_keys=True) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def sweep_partials(out_dir: str | os.PathLike) -> int:
    """Delete the temporary files (``.NAME.XXXX.part``) a killed worker left; returns how many."""
    removed = 0
    for path in Path(out_dir).rglob(f".*{PARTIAL_SUFFIX}"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
