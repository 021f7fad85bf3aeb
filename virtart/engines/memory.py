"""Refuse working sizes that cannot fit in memory, with a clear message (never downscale silently)."""

from __future__ import annotations

import torch

from virtart.errors import VirtArtError

# Bytes per working pixel for VGG features kept for the backward pass plus their gradients,
# measured on CPU with the VGG16/19 stacks (relu1 at full resolution dominates).
BYTES_PER_PIXEL = 3600


def estimate_bytes(long_side: int, crop_size: tuple[int, int], regions: int) -> int:
    """Rough peak memory of one optimisation step at ``long_side`` for a crop of ``(w, h)``."""
    width, height = crop_size
    scale = long_side / max(width, height)
    pixels = width * scale * height * scale
    return int(pixels * (BYTES_PER_PIXEL + 64 * regions))


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device``: CUDA's free memory, or the host's available RAM."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits(long_side: int, crop_size: tuple[int, int], device: torch.device, regions: int) -> None:
    """Raise :class:`VirtArtError` when a stage at ``long_side`` px would not fit in memory."""
    need = estimate_bytes(long_side, crop_size, regions)
    have = available_bytes(device)
    if need > 0.85 * have:
        fits = long_side
        while fits > 64 and estimate_bytes(fits, crop_size, regions) > 0.85 * have:
            fits = int(fits * 0.8)
        raise VirtArtError(
            f"a working size of {long_side} px needs about {need / 2**30:.1f} GB but {have / 2**30:.1f} GB is free "
            f"on {device.type}; use a max size of {fits} px or less"
        )
