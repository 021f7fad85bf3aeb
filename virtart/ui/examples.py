"""Example photos for the app: scikit-image's public-domain samples, written at startup
into ``cache_dir()/examples`` (never committed to the repository)."""

from __future__ import annotations

from pathlib import Path

from virtart import settings
from virtart.imageio import save_png

# scikit-image loader name -> file name shown in the app
SAMPLES = {"astronaut": "astronaut.png", "chelsea": "cat.png", "coffee": "coffee.png", "rocket": "rocket.png"}


def example_photos() -> list[Path]:
    """Paths of the example photos, written on first use; empty when scikit-image is absent."""
    try:
        from skimage import data
    except ImportError:
        return []
    folder = settings.cache_dir() / "examples"
    paths = []
    for loader, filename in SAMPLES.items():
        path = folder / filename
        if not path.is_file():
            save_png(path, getattr(data, loader)())
        paths.append(path)
    return paths
