"""The server gives freed image-sized memory back (virtart/ui/heap.py, issue 24's flat memory).

Each check runs in a fresh interpreter: glibc's settings are per process. The pattern is the
server's: once a decoded frame of 16 MB was freed, glibc's default (a dynamic mmap threshold)
serves the next 1 MB arrays from its heap, and with small blocks kept between them it never
returns those pages; ``bench/fuzz_api.py`` saw RSS grow by a fifth that way.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import REPO_DIR
from virtart.ui import heap

PATTERN = """
import sys
import numpy as np
import psutil
{setup}
rss = lambda: psutil.Process().memory_info().rss / 2**20
frame = np.ones(16 << 20, np.uint8)
del frame
before, arrays, kept = rss(), [], []
for _ in range(100):
    arrays.append(np.ones(1 << 20, np.uint8))
    kept.append(np.ones(200))  # a small block after each array: the heap cannot shrink from its top
del arrays
print(round(rss() - before))
"""

glibc_only = pytest.mark.skipif(heap._glibc() is None, reason="the allocator settings are glibc's")


def retained_mb(setup: str) -> int:
    """MB still held after 100 freed 1 MB arrays, in a fresh interpreter that first runs ``setup``."""
    done = subprocess.run([sys.executable, "-c", PATTERN.format(setup=setup)], cwd=REPO_DIR, capture_output=True,
                          text=True, timeout=240, check=True)
    return int(done.stdout.split()[-1])


@glibc_only
def test_bound_heap_gives_freed_arrays_back():
    assert retained_mb("from virtart.ui import heap; assert heap.bound_heap()") < 30
    assert heap.trim() in (True, False)


@glibc_only
@pytest.mark.server
def test_the_app_bounds_its_heap_when_it_starts():
    assert retained_mb("import app") < 30
