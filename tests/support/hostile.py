"""Hostile inputs, generated in memory by the project itself (no fixture files from elsewhere).

Each :class:`HostileCase` is the bytes of one file a visitor might send, the name it
arrives under, whether it is a photo or a mask, and what must happen to it when it is
decoded (``load_photo`` for photos, ``load_mask`` against :data:`MASK_PHOTO_SIZE` for masks):

* ``ACCEPT``: decoded without complaint (``check`` then verifies the pixels);
* ``WARN``: decoded, with a :class:`~virtart.errors.VirtArtWarning` matching ``message``;
* ``REFUSE``: a :class:`~virtart.errors.VirtArtError` whose one line matches ``message``.

``stylize_refuses`` is set when decoding succeeds but a stylization must still refuse
(an empty mask, a photo smaller than the engines accept). ``write_cases(folder)`` puts
every case on disk (file names may hold bytes that are not UTF-8).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.forge import (
    animated,
    complete_png_bomb,
    encode,
    gif_bomb,
    jpeg_bomb,
    oriented,
    pattern,
    png_bomb,
    png_chunk,
    raw_png,
    tiff_broken_frame,
    truncated,
    with_orientation,
)

ACCEPT, WARN, REFUSE = "accept", "warn", "refuse"

# The photo every mask case belongs to, (width, height).
MASK_PHOTO_SIZE = (64, 48)

Check = Callable[[object], str | None]  # decoded Photo or mask -> None when right, else what is wrong


@dataclass(frozen=True)
class HostileCase:
    """One hostile file and what must become of it."""

    name: str
    role: str  # "photo" | "mask"
    filename: str  # may contain surrogate escapes (non-UTF-8 bytes on disk)
    data: bytes
    expect: str  # ACCEPT | WARN | REFUSE
    message: str = ""  # regex, case-insensitive: the warning's or the error's text
    check: Check | None = None
    stylize_refuses: str = ""  # regex: stylizing with this input must refuse with this message

    @property
    def fs_name(self) -> bytes:
        """The file name as the bytes stored on disk."""
        return os.fsencode(self.filename)


# ---------------------------------------------------------------- checks on decoded results


def _rgb(decoded) -> np.ndarray:
    return decoded.rgb if hasattr(decoded, "rgb") else np.asarray(decoded)


def exact(expected: np.ndarray) -> Check:
    def check(decoded) -> str | None:
        rgb = _rgb(decoded)
        if rgb.shape != expected.shape:
            return f"shape {rgb.shape}, expected {expected.shape}"
        if not np.array_equal(rgb, expected):
            return f"{int(np.count_nonzero((rgb != expected).any(axis=-1)))} pixels differ"
        return None

    return check


def close(expected: np.ndarray, tolerance: float = 12.0) -> Check:
    def check(decoded) -> str | None:
        rgb = _rgb(decoded)
        if rgb.shape != expected.shape:
            return f"shape {rgb.shape}, expected {expected.shape}"
        error = float(np.abs(rgb.astype(np.float32) - expected).mean())
        return None if error <= tolerance else f"mean error {error:.1f} > {tolerance}"

    return check


def has_shape(width: int, height: int) -> Check:
    def check(decoded) -> str | None:
        shape = _rgb(decoded).shape[:2]
        return None if shape == (height, width) else f"shape {shape}, expected {(height, width)}"

    return check


def has_alpha(decoded) -> str | None:
    alpha = getattr(decoded, "alpha", None)
    if alpha is None:
        return "the transparency was lost"
    return None if alpha.min() == 0 and alpha.max() == 255 else "alpha is not 0 and 255 where it should be"


def mask_range(low: float, high: float) -> Check:
    """A mask of :data:`MASK_PHOTO_SIZE` with values in ``[0, 1]`` spanning ``low..high``."""

    def check(mask) -> str | None:
        mask = np.asarray(mask)
        width, height = MASK_PHOTO_SIZE
        if mask.shape != (height, width) or mask.dtype != np.float32:
            return f"mask is {mask.shape} {mask.dtype}, expected {(height, width)} float32"
        if abs(float(mask.min()) - low) > 0.02 or abs(float(mask.max()) - high) > 0.02:
            return f"mask spans {mask.min():.3f}..{mask.max():.3f}, expected {low}..{high}"
        return None

    return check


# ---------------------------------------------------------------- the cases


def photo_cases() -> list[HostileCase]:
    base = pattern(64, 48)
    jpeg, png = encode(Image.fromarray(base), "JPEG", quality=90), encode(Image.fromarray(base), "PNG")
    grey16 = (np.arange(64, dtype=np.uint32)[None, :].repeat(48, 0) * 1040).astype(np.uint16)
    rgb16 = np.repeat(grey16[:, :, None], 3, axis=2).astype(">u2")  # big-endian, as PNG stores it
    rows16 = b"".join(b"\x00" + rgb16[y].tobytes() for y in range(48))
    palette = Image.new("P", (32, 32), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (0, 0, 16, 32))
    exif = Image.Exif()
    exif[0x010E] = "A" * 60_000  # ImageDescription: just under the 64 KB a JPEG segment holds
    huge_exif_png = Image.Exif()
    huge_exif_png[0x010E] = "B" * 8_000_000
    garbage_icc = os.urandom(1 << 20)
    iccp = png_chunk(b"iCCP", b"huge\x00\x00" + zlib.compress(b"\x00" * (4 << 20)))
    cmyk = Image.fromarray(base).convert("CMYK")
    script = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><script>alert(1)</script>' \
             b'<rect width="64" height="64" fill="red"/></svg>'
    not_image = "not an image"
    corrupt = "truncated|corrupt|cannot read"
    cases = [
        HostileCase("truncated_jpeg", "photo", "truncated.jpg", truncated(jpeg), REFUSE, corrupt),
        HostileCase("truncated_png", "photo", "truncated.png", truncated(png), REFUSE, corrupt),
        HostileCase("png_header_only", "photo", "header.png", png[:40], REFUSE, corrupt + "|" + not_image),
        HostileCase("empty_jpg", "photo", "empty.jpg", b"", REFUSE, "empty"),
        HostileCase("empty_png", "photo", "empty.png", b"", REFUSE, "empty"),
        HostileCase("text_as_jpg", "photo", "notes.jpg", b"just some text, not a picture\n" * 20, REFUSE, not_image),
        HostileCase("html_as_jpg", "photo", "page.jpg",
                    b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>",
                    REFUSE, not_image),
        HostileCase("svg_with_script", "photo", "drawing.svg", script, REFUSE, not_image),
        HostileCase("svg_as_png", "photo", "drawing.png", script, REFUSE, not_image),
        HostileCase("png_bomb", "photo", "bomb.png", png_bomb(), REFUSE, "megapixels, over the limit"),
        HostileCase("png_bomb_complete", "photo", "bomb-full.png", complete_png_bomb(), REFUSE,
                    "megapixels, over the limit"),
        HostileCase("gif_bomb", "photo", "bomb.gif", gif_bomb(), REFUSE, "megapixels, over the limit"),
        HostileCase("jpeg_bomb", "photo", "bomb.jpg", jpeg_bomb(), REFUSE, "megapixels, over the limit"),
        HostileCase("tiff_broken_second_frame", "photo", "frames.tif", tiff_broken_frame(), REFUSE, corrupt),
        HostileCase("animated_gif", "photo", "anim.gif", animated("GIF"), WARN, "animated",
                    close(pattern(40, 30), 40.0)),
        HostileCase("animated_png", "photo", "anim.png", animated("PNG"), WARN, "animated", exact(pattern(40, 30))),
        HostileCase("animated_webp", "photo", "anim.webp", animated("WEBP"), WARN, "animated",
                    exact(pattern(40, 30))),
        HostileCase("cmyk_jpeg", "photo", "cmyk.jpg", encode(cmyk, "JPEG", quality=95), ACCEPT, "",
                    close(np.asarray(cmyk.convert("RGB")), 6.0)),
        HostileCase("cmyk_jpeg_broken_icc", "photo", "cmyk-icc.jpg",
                    encode(cmyk, "JPEG", quality=95, icc_profile=b"not a profile" * 50), ACCEPT, "",
                    close(np.asarray(cmyk.convert("RGB")), 6.0)),
        HostileCase("grey_16bit_png", "photo", "grey16.png", encode(Image.fromarray(grey16), "PNG"), ACCEPT, "",
                    close(np.repeat(np.round(grey16 / 257.0).astype(np.uint8)[:, :, None], 3, 2), 1.0)),
        HostileCase("rgb_16bit_png", "photo", "rgb16.png", raw_png(64, 48, 16, 2, rows16), ACCEPT, "",
                    close(np.repeat(np.round(grey16 / 257.0).astype(np.uint8)[:, :, None], 3, 2), 1.0)),
        HostileCase("palette_transparency", "photo", "palette.png", encode(palette, "PNG", transparency=0), ACCEPT, "",
                    has_alpha),
        HostileCase("one_pixel", "photo", "dot.png", encode(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG"), ACCEPT,
                    "", has_shape(1, 1), stylize_refuses="too small"),
        HostileCase("one_by_10000", "photo", "thread.png", encode(Image.fromarray(pattern(1, 10_000)), "PNG"),
                    ACCEPT, "", has_shape(1, 10_000), stylize_refuses="too small"),
        HostileCase("huge_exif_jpeg", "photo", "exif.jpg",
                    encode(Image.fromarray(base), "JPEG", quality=90, exif=exif.tobytes()), ACCEPT, "",
                    close(base, 6.0)),
        HostileCase("huge_exif_png", "photo", "exif.png", encode(Image.fromarray(base), "PNG", exif=huge_exif_png),
                    ACCEPT, "", exact(base)),
        HostileCase("huge_icc_jpeg", "photo", "icc.jpg",
                    encode(Image.fromarray(base), "JPEG", quality=90, icc_profile=garbage_icc), ACCEPT, "",
                    close(base, 6.0)),
        HostileCase("huge_icc_png", "photo", "icc.png", raw_png(4, 4, 8, 0, b"\x00\x00\x00\x00\x00" * 4, iccp),
                    REFUSE, "cannot read|too large"),
        HostileCase("non_utf8_name", "photo", os.fsdecode(b"photo-\xff\xfe-\xe9t\xe9.png"), png, ACCEPT, "",
                    exact(base)),
    ]
    for orientation in range(1, 9):
        cases.append(HostileCase(f"exif_orientation_{orientation}", "photo", f"orient{orientation}.png",
                                 with_orientation(base, orientation), ACCEPT, "",
                                 exact(np.ascontiguousarray(oriented(base, orientation)))))
    return cases


def mask_cases() -> list[HostileCase]:
    width, height = MASK_PHOTO_SIZE
    half = np.zeros((height, width), np.uint8)
    half[:, : width // 2] = 255
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[:, : width // 2, 3] = 255
    palette = Image.fromarray((half > 0).astype(np.uint8), "P")
    palette.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    sixteen = (half.astype(np.uint16) * 257)
    resized = "resized"
    return [
        HostileCase("mask_wrong_size", "mask", "small-mask.png", encode(Image.fromarray(half[::2, ::2]), "PNG"),
                    WARN, resized, mask_range(0.0, 1.0)),
        HostileCase("mask_wrong_aspect", "mask", "thin-mask.png",
                    encode(Image.fromarray(np.full((1000, 10), 255, np.uint8)), "PNG"), WARN, resized,
                    mask_range(1.0, 1.0)),
        HostileCase("mask_rgba", "mask", "mask-rgba.png", encode(Image.fromarray(rgba, "RGBA"), "PNG"), ACCEPT, "",
                    mask_range(0.0, 1.0)),
        HostileCase("mask_palette", "mask", "mask-p.png", encode(palette, "PNG"), ACCEPT, "", mask_range(0.0, 1.0)),
        HostileCase("mask_1bit", "mask", "mask-1.png", encode(Image.fromarray(half).convert("1"), "PNG"), ACCEPT, "",
                    mask_range(0.0, 1.0)),
        HostileCase("mask_16bit", "mask", "mask-16.png", encode(Image.fromarray(sixteen), "PNG"), ACCEPT, "",
                    mask_range(0.0, 1.0)),
        HostileCase("mask_float_tiff", "mask", "mask-f.tif",
                    encode(Image.fromarray(half.astype(np.float32) / 255.0, "F"), "TIFF"), ACCEPT, "",
                    mask_range(0.0, 1.0)),
        HostileCase("mask_animated", "mask", "mask-anim.gif", animated("GIF", size=MASK_PHOTO_SIZE), WARN,
                    "animated"),
        HostileCase("mask_all_black", "mask", "mask-empty.png", encode(Image.new("L", MASK_PHOTO_SIZE), "PNG"),
                    ACCEPT, "", mask_range(0.0, 0.0), stylize_refuses="empty"),
        HostileCase("mask_truncated", "mask", "mask-cut.png", truncated(encode(Image.fromarray(half), "PNG"), 0.6),
                    REFUSE, "truncated|corrupt|cannot read"),
        HostileCase("mask_text", "mask", "mask.png", b"0,0,1,1\n1,1,0,0\n", REFUSE, "not an image"),
        HostileCase("mask_empty_file", "mask", "mask-0.png", b"", REFUSE, "empty"),
        HostileCase("mask_bomb", "mask", "mask-bomb.png", png_bomb(), REFUSE, "megapixels, over the limit"),
    ]


def cases() -> list[HostileCase]:
    """Every hostile case, photos first."""
    return photo_cases() + mask_cases()


def good_photo() -> bytes:
    """PNG of the ordinary photo the mask cases belong to (:data:`MASK_PHOTO_SIZE`)."""
    return encode(Image.fromarray(pattern(*MASK_PHOTO_SIZE)), "PNG")


def good_style() -> bytes:
    """PNG of a small synthetic 'painting' (stripes), for runs that must not need the gallery."""
    y, x = np.mgrid[0:96, 0:96]
    stripes = np.stack([(np.sin(x / 3.0) + 1) * 120, (np.cos(y / 5.0) + 1) * 110, (x ^ y) % 256], axis=2)
    return encode(Image.fromarray(stripes.astype(np.uint8)), "PNG")


def write_cases(folder: str | os.PathLike, selected: list[HostileCase] | None = None) -> list[tuple[HostileCase, Path]]:
    """Write each case into ``folder`` (each in its own sub-folder, so names never collide)."""
    folder = Path(folder)
    written = []
    for case in selected if selected is not None else cases():
        path = folder / case.name / case.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
        written.append((case, path))
    return written
