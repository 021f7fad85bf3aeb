"""User-facing errors and warnings.

Anything a user can cause (a bad file, an empty region, an unknown style) raises
:class:`VirtArtError` with a one-line message; the CLI prints it and exits non-zero,
the app shows it as a toast. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

import warnings


class VirtArtError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class CheckpointError(VirtArtError):
    """A model file is missing, unreachable or fails its checksum."""


class VirtArtWarning(UserWarning):
    """Something was adjusted on the user's behalf (a mask resized, a frame dropped)."""


def warn(message: str) -> None:
    """Emit a :class:`VirtArtWarning`; the CLI prints it, the app shows it as a toast."""
    warnings.warn(message, VirtArtWarning, stacklevel=2)
