"""ZeroGPU support: ``spaces.GPU`` with a duration computed from the request.

On a ZeroGPU Space a GPU is attached only while a function decorated with
``spaces.GPU`` runs, for at most ``duration`` seconds; asking for less than the default
puts the request earlier in the queue. Elsewhere (no ``spaces`` package, or not on
ZeroGPU) :func:`on_gpu` returns the function unchanged.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable


def zero_gpu_available() -> bool:
    """True on a ZeroGPU Space with the ``spaces`` package installed."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true") and \
        importlib.util.find_spec("spaces") is not None


def on_gpu(duration: Callable[..., int] | int = 60) -> Callable[[Callable], Callable]:
    """``spaces.GPU(duration=duration)`` on ZeroGPU, else the identity decorator.

    ``duration`` may be a function of the decorated function's own arguments (the
    ``spaces`` package calls it with them), so a short request books a short slot.
    """
    if not zero_gpu_available():
        return lambda fn: fn
    import spaces  # noqa: PLC0415 - only present on Hugging Face Spaces

    return spaces.GPU(duration=duration)
