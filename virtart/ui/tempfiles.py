"""Keep the app's temp folder bounded.

Gradio's ``delete_cache`` (see :func:`virtart.ui.limits.cache_policy`) removes the files it
made once they are older than the TTL, but Gradio 6.31's upload route also leaves an empty
``tmpXXXXXXXX`` file in its upload folder for every uploaded file, which nothing removes.
:func:`start_sweeper` deletes those leftovers once they are older than the same TTL.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path


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


def start_sweeper(frequency: float, max_age: float, folder: Path | None = None) -> threading.Thread:
    """Run :func:`sweep` every ``frequency`` seconds in a daemon thread."""
    target = folder or upload_folder()

    def loop() -> None:
        while True:
            time.sleep(frequency)
            sweep(target, max_age)

    thread = threading.Thread(target=loop, name="virtart-temp-sweeper", daemon=True)
    thread.start()
    return thread
