"""Queue, concurrency and size limits of the app, each overridable by an environment variable.

| variable | default | meaning |
| --- | --- | --- |
| ``VIRTART_QUEUE_SIZE`` | 32 | events waiting in the queue before visitors get "queue is full" |
| ``VIRTART_CONCURRENCY`` | 4 | default concurrency of light events (drawing, lists) |
| ``VIRTART_HEAVY_CONCURRENCY`` | 1 | stylizations and detections running at once (shared group) |
| ``VIRTART_SEGMENT_CONCURRENCY`` | 2 | click-to-mask predictions running at once |
| ``VIRTART_MAX_SESSIONS`` | 256 | sessions whose state is kept (the oldest are dropped first) |
| ``VIRTART_CACHE_TTL`` | 3600 | seconds Gradio keeps uploaded and produced files (temp folder bound) |
| ``VIRTART_MAX_FILE_MB`` | 50 | uploads above this are refused by the server (see :mod:`virtart.settings`) |
| ``VIRTART_MAX_PIXELS`` | 50 M | images above this are refused before decoding |
"""

from __future__ import annotations

import os

from virtart import settings

HEAVY_GROUP = "virtart-heavy"
SEGMENT_GROUP = "virtart-segment"

# The photo is shown at most this large; clicks are mapped back to the original's pixels.
DISPLAY_MAX_SIDE = 1024
# Smaller photos cannot be segmented meaningfully on the page.
MIN_PHOTO_SIDE = 16


def _int_env(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def queue_size() -> int:
    return _int_env("VIRTART_QUEUE_SIZE", 32)


def default_concurrency() -> int:
    return _int_env("VIRTART_CONCURRENCY", 4)


def heavy_concurrency() -> int:
    return _int_env("VIRTART_HEAVY_CONCURRENCY", 1)


def segment_concurrency() -> int:
    return _int_env("VIRTART_SEGMENT_CONCURRENCY", 2)


def max_sessions() -> int:
    return _int_env("VIRTART_MAX_SESSIONS", 256)


def max_file_size() -> int:
    """Upload limit in bytes, passed to ``launch(max_file_size=...)``."""
    return settings.max_file_bytes()


def cache_policy() -> tuple[int, int]:
    """``(frequency, age)`` of :func:`virtart.ui.tempfiles.start_sweeper`: files older than the
    TTL are deleted every TTL/6 s, so the temp folder holds at most one TTL's worth of traffic."""
    ttl = _int_env("VIRTART_CACHE_TTL", 3600)
    return max(5, ttl // 6), ttl
