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

# Seconds per optimisation step on a ZeroGPU slice (H200 share), generous for 1024 px.
GATYS_SECONDS_PER_STEP = 0.03
FAST_SECONDS = 5.0
SETUP_SECONDS = 10.0
MAX_SECONDS = 120


def zero_gpu_available() -> bool:
    """True on a ZeroGPU Space with the ``spaces`` package installed."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true") and \
        importlib.util.find_spec("spaces") is not None


def stylize_duration(engine: str, steps: int, max_size: int | None) -> int:
    """Seconds of GPU a stylization needs: setup plus per-step time scaled by pixel count."""
    if engine == "fast":
        return int(SETUP_SECONDS + FAST_SECONDS)
    scale = ((max_size or 1024) / 512) ** 2
    return int(min(MAX_SECONDS, SETUP_SECONDS + steps * GATYS_SECONDS_PER_STEP * max(1.0, scale)))


def on_gpu(duration: Callable[..., int] | int = 60) -> Callable[[Callable], Callable]:
    """``spaces.GPU(duration=duration)`` on ZeroGPU, else the identity decorator.

    ``duration`` may be a function of the decorated function's own arguments (the
    ``spaces`` package calls it with them), so a short request books a short slot.
    """
    if not zero_gpu_available():
        return lambda fn: fn
    import spaces  # noqa: PLC0415 - only present on Hugging Face Spaces

    return spaces.GPU(duration=duration)
