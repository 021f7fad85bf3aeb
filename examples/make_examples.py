"""Write scikit-image's public-domain sample photos to examples/photos/ as PNG."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skimage import data  # noqa: E402

from virtart.imageio import save_png  # noqa: E402

PHOTOS = {"astronaut": data.astronaut, "cat": data.chelsea, "coffee": data.coffee, "rocket": data.rocket}


def main() -> None:
    folder = Path(__file__).resolve().parent / "photos"
    for name, load in PHOTOS.items():
        print(save_png(folder / f"{name}.png", load()))


if __name__ == "__main__":
    main()
