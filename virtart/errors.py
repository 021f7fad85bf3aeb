"""User-facing errors and warnings.

Anything a user can cause (a bad file, an empty region, an unknown style) raises
:class:`VirtArtError` with a one-line message; the CLI prints it and exits non-zero,
the app shows it as a toast. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class VirtArtError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class CheckpointError(VirtArtError):
    """A model file is missing, unreachable or fails its checksum."""


class VirtArtWarning(UserWarning):
    """Something was adjusted on the user's behalf (a mask resized, a frame dropped)."""


_collector: ContextVar[list[str] | None] = ContextVar("virtart_warnings", default=None)


def warn(message: str, detail: str = "") -> None:
    """Emit a :class:`VirtArtWarning`: to the innermost :func:`collect_warnings` of this thread
    (the app's toasts), else through :mod:`warnings` (the CLI prints it). ``detail`` is for
    whoever runs the models (file paths, checksums, how to fix): the CLI prints it after the
    message; a visitor's toast shows the message alone and the server's log gets both."""
    collected = _collector.get()
    if collected is not None:
        collected.append(message)
        if detail:
            logging.getLogger("virtart").warning("%s: %s", message, detail)
        return
    warnings.warn(f"{message}: {detail}" if detail else message, VirtArtWarning, stacklevel=2)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Gather the :func:`warn` messages of this thread (and context) instead of emitting them;
    no process-wide state changes, so concurrent requests never see each other's."""
    collected: list[str] = []
    token = _collector.set(collected)
    try:
        yield collected
    finally:
        _collector.reset(token)
