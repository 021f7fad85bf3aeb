"""Keep the app's temp folder bounded.

The app deletes what it serves once it is older than ``VIRTART_CACHE_TTL``, with one
daemon thread of its own instead of Gradio's ``Blocks(delete_cache=...)``, for two
reasons found under load (``bench/load_app.py``), both in Gradio 6.31:

* its scheduled cleaner walks each live set of tracked files while the upload route adds
  to it; the first ``RuntimeError: Set changed size during iteration`` ends the scheduled
  task for the life of the server, and the temp folder then grows without bound
  (reproduced: after a few bursts of 40 concurrent visitors, nothing was deleted again);
* its upload route leaves an empty ``tmpXXXXXXXX`` file in the upload folder for every
  upload, which nothing tracks.

:func:`sweep_tracked` deletes the tracked files from snapshots, :func:`sweep` the empty
leftovers; :func:`start_sweeper` runs both every ``frequency`` seconds and survives errors.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def sweep(folder: Path, max_age: float) -> int:
    """Delete Gradio's empty upload leftovers (``tmp*`` files directly in ``folder``) older
    than ``max_age`` seconds; return how many went."""
    removed, cutoff = 0, time.time() - max_age
    if not folder.is_dir():
        return 0
    for path in folder.glob("tmp*"):
        try:
            stat = path.stat()
            if path.is_file() and stat.st_size == 0 and stat.st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def sweep_tracked(blocks: Any, max_age: float) -> int:
    """Delete the files Gradio tracked for ``blocks`` (uploads, results) whose status changed
    more than ``max_age`` seconds ago, except those its components keep (examples, gallery);
    return how many went.

    Gradio's own cleaner does the same, but iterating the live sets; ``list(a_set)`` copies
    in one step under the GIL, so uploads arriving meanwhile cannot break the walk.
    """
    keep: set[str] = set()
    for component in list(blocks.blocks.values()):
        keep.update(getattr(component, "keep_in_cache", ()))
    removed, cutoff = 0, time.time() - max_age
    for tracked in list(blocks.temp_file_sets):
        for file in list(tracked):
            if file in keep:
                continue
            try:
                if os.lstat(file).st_ctime < cutoff:  # ctime: Gradio touches a copy it hands out again
                    os.remove(file)
                    removed += 1
                else:
                    continue
            except FileNotFoundError:
                pass
            tracked.discard(file)
    return removed


def start_sweeper(frequency: float, max_age: float, blocks: Any | None = None,
                  folder: Path | None = None) -> threading.Thread:
    """Every ``frequency`` seconds: :func:`sweep_tracked` (when ``blocks`` is given) and
    :func:`sweep`, in a daemon thread that logs a failed pass and goes on."""
    target = folder or upload_folder()
    passes: list[Callable[[], int]] = [lambda: sweep(target, max_age)]
    if blocks is not None:
        passes.insert(0, lambda: sweep_tracked(blocks, max_age))

    def loop() -> None:
        while True:
            time.sleep(frequency)
            for one_pass in passes:
                try:
                    one_pass()
                except Exception:  # noqa: BLE001 - a bounded temp folder outlives any single failure
                    log.exception("temp-file sweep failed; trying again in %s s", frequency)

    thread = threading.Thread(target=loop, name="virtart-temp-sweeper", daemon=True)
    thread.start()
    return thread
