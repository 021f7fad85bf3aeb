"""Keep a long-running server's memory flat: how glibc's allocator is told to give memory back.

Found with ``bench/fuzz_api.py`` (issue 24): over 3000 API calls the server's RSS grew by a
fifth while its Python objects stayed flat (``gc`` counts, the caches bounded): the growth
was the C allocator keeping freed memory. Two of glibc's defaults do it for a server that
decodes photos and clips on many worker threads:

* one malloc arena per thread, up to eight per core; every worker thread's arena keeps its
  own high-water mark and fragments on its own;
* a dynamic mmap threshold: once a large block (a decoded frame, an image array) is freed,
  blocks up to that size come from the arenas instead of their own mappings, so freeing them
  no longer returns the pages.

:func:`bound_heap` sets two arenas and a fixed 128 KiB mmap threshold (large arrays are
mapped and unmapped whole) before any worker thread starts; :func:`trim` hands the free pages
at the top of each arena back. Both do nothing where the C library is not glibc.
``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` in the environment win over these values.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from functools import cache

ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # bytes: glibc's own starting value, kept fixed
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt parameters (malloc.h)


@cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only
        libc.mallopt, libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def bound_heap() -> bool:
    """Set the arenas and the mmap threshold (unless the environment does); whether it applied."""
    libc = _glibc()
    if libc is None:
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(_M_ARENA_MAX, ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return True


def trim() -> bool:
    """Give the allocator's free pages back to the system; whether any were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def start_trimmer(every: float = 30.0) -> threading.Thread:
    """:func:`trim` every ``every`` seconds in a daemon thread (a no-op thread off glibc)."""

    def loop() -> None:
        while True:
            time.sleep(every)
            trim()

    thread = threading.Thread(target=loop, name="virtart-heap-trim", daemon=True)
    thread.start()
    return thread
