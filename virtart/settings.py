"""Paths and limits, each overridable by an environment variable.

| variable | default | meaning |
| --- | --- | --- |
| ``VIRTART_CACHE`` | the per-user cache folder (``~/.cache/virtart`` on Linux) | downloads, converted weights, temp files |
| ``VIRTART_CHECKPOINTS`` | unset | a folder of model files, searched first |
| ``VIRTART_STYLES`` | ``../shared/styles`` when present | the gallery paintings |
| ``VIRTART_MAX_PIXELS`` | 50,000,000 | larger images are refused (decompression bombs) |
| ``VIRTART_MAX_FILE_MB`` | 50 | larger uploads are refused |
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

# Only read from, to find ``../shared`` beside a source checkout; nothing is ever written
# here, since in an installed package this is site-packages.
_CHECKOUT_DIR = Path(__file__).resolve().parent.parent


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Writable folder for downloads and converted weights (created on demand)."""
    path = _env_path("VIRTART_CACHE")
    if path is None:
        path = Path(platformdirs.user_cache_dir("virtart", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path | None:
    """The user's own folder of model files, if ``VIRTART_CHECKPOINTS`` names one."""
    return _env_path("VIRTART_CHECKPOINTS")


def styles_dir() -> Path | None:
    """Where gallery paintings are read from: ``VIRTART_STYLES``, else ``../shared/styles``."""
    path = _env_path("VIRTART_STYLES")
    if path is not None:
        return path
    for candidate in (_CHECKOUT_DIR.parent / "shared" / "styles", Path.cwd().parent / "shared" / "styles"):
        if candidate.is_dir():
            return candidate
    return None


def shared_dir() -> Path | None:
    """The ``../shared`` data folder beside the checkout (evaluation sets), if present."""
    path = _env_path("VIRTART_SHARED")
    if path is not None:
        return path
    candidate = _CHECKOUT_DIR.parent / "shared"
    return candidate if candidate.is_dir() else None


def max_pixels() -> int:
    """Images with more pixels than this are refused before decoding."""
    return int(os.environ.get("VIRTART_MAX_PIXELS", 50_000_000))


def max_file_bytes() -> int:
    """Files larger than this are refused before decoding."""
    return int(float(os.environ.get("VIRTART_MAX_FILE_MB", 50)) * 1024 * 1024)


def offline_environment() -> dict[str, str]:
    """Settings that keep third-party libraries from reaching the network when it is absent."""
    cache = cache_dir()
    return {
        "GRADIO_ANALYTICS_ENABLED": "False",
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "0",
        # ultralytics otherwise unpickles its checkpoints (weights_only=False); this loads them as tensors
        # plus an allow-list of its own layer classes (issue 6: weights only via safetensors/weights_only).
        "ULTRALYTICS_SAFE_LOAD": "1",
        "YOLO_CONFIG_DIR": str(cache / "ultralytics"),
        "MPLCONFIGDIR": str(cache / "matplotlib"),
    }


def apply_offline_defaults() -> None:
    """Set :func:`offline_environment` for keys the user has not set (call before importing them)."""
    for key, value in offline_environment().items():
        os.environ.setdefault(key, value)


def restore_pillow_open() -> None:
    """Put Pillow's own ``Image.open`` back after importing ultralytics (call after importing it).

    Importing ultralytics replaces ``PIL.Image.open`` process-wide with one that, on any file
    Pillow cannot identify, checks for and imports a HEIC plugin: every refused upload would then
    log a package warning and fail with an import error instead of Pillow's own. VirtArt reads
    no HEIC, so the original opener (which ultralytics keeps) is put back."""
    import sys

    from PIL import Image

    patches = sys.modules.get("ultralytics.utils.patches")
    original = getattr(patches, "_image_open", None)
    if original is not None and Image.open is not original:
        Image.open = original
