"""The style gallery: a catalogue of public-domain paintings, read from a styles folder.

The images themselves are never committed: they are read from ``VIRTART_STYLES`` (by
default ``../shared/styles`` beside the checkout). A user's own image is always accepted
as a style wherever a gallery id is.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from virtart import settings
from virtart.errors import VirtArtError
from virtart.imageio import load_image


@dataclass(frozen=True)
class Painting:
    """One gallery entry; ``filename`` is looked up in the styles folder."""

    id: str
    title: str
    painter: str
    year: str
    filename: str
    license: str = "public domain"
    source: str = ""


def _commons(title: str) -> str:
    return "https://commons.wikimedia.org/w/index.php?search=" + title.replace(" ", "+")


CATALOGUE: tuple[Painting, ...] = (
    Painting("starry_night", "The Starry Night", "Vincent van Gogh", "1889", "starry_night.jpg",
             source=_commons("The Starry Night")),
    Painting("the_scream", "The Scream", "Edvard Munch", "1893", "the_scream.jpg", source=_commons("The Scream")),
    Painting("great_wave", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831", "great_wave.jpg",
             source=_commons("The Great Wave off Kanagawa")),
    Painting("shipwreck_of_the_minotaur", "The Shipwreck of the Minotaur", "J. M. W. Turner", "c. 1810",
             "shipwreck_of_the_minotaur.jpg", source=_commons("The Shipwreck of the Minotaur")),
    Painting("udnie", "Udnie (Young American Girl, The Dance)", "Francis Picabia", "1913", "udnie.jpg",
             source=_commons("Udnie Picabia")),
    Painting("woman_with_a_hat", "Woman with a Hat", "Henri Matisse", "1905", "woman_with_a_hat.jpg",
             source=_commons("Woman with a Hat")),
    Painting("mondrian_composition", "Composition (1913 period)", "Piet Mondrian", "c. 1913",
             "mondrian_composition.jpg", source=_commons("Mondrian Composition 1913")),
)
BY_ID = {painting.id: painting for painting in CATALOGUE}
DEFAULT_STYLE = "starry_night"  # the painting a request or the page starts with


def painting_path(painting: Painting) -> Path | None:
    """Where the painting's image is, or None when the styles folder lacks it."""
    folder = settings.styles_dir()
    if folder is None:
        return None
    path = folder / painting.filename
    return path if path.is_file() else None


def available() -> list[Painting]:
    """Catalogue entries whose image is present in the styles folder."""
    return [painting for painting in CATALOGUE if painting_path(painting) is not None]


def catalogue_json() -> list[dict]:
    """The gallery as plain dicts (id, title, painter, year, licence, source, available)."""
    return [dict(asdict(p), available=painting_path(p) is not None) for p in CATALOGUE]


def load_style(style: str | os.PathLike | np.ndarray) -> tuple[np.ndarray, str]:
    """Resolve a gallery id, an image path or an array to ``((h, w, 3) uint8, name)``."""
    if isinstance(style, np.ndarray):
        return load_image(style, label="the style image"), "custom"
    text = os.fspath(style)
    if text in BY_ID:
        path = painting_path(BY_ID[text])
        if path is None:
            raise VirtArtError(f"style '{text}' is in the catalogue but this server lacks its image; pick another "
                               "style or upload the painting",
                               detail=f"set VIRTART_STYLES to a folder holding {BY_ID[text].filename}")
        return load_image(path, label=f"style '{text}'"), text
    if Path(text).is_file():
        return load_image(text, label=f"style image {text}"), Path(text).stem
    valid = ", ".join(p.id for p in available()) or "(none: the styles folder is missing)"
    raise VirtArtError(f"unknown style '{text}': not a gallery id or an image file. Gallery ids: {valid}")
