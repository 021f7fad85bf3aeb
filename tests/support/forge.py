"""Crafting image files byte by byte: patterns, encoders, hand-written PNG chunks, bombs, broken frames.

The pieces :mod:`tests.support.hostile` builds its cases from; nothing here reads a
fixture file. Sizes are ``(width, height)``; arrays are ``(height, width, 3) uint8``.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image

# Claimed size of the header-only decompression bombs: 2.5 gigapixels in a few hundred bytes.
BOMB_SIDE = 50_000


def pattern(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic, asymmetric ``(height, width, 3) uint8`` picture (orientation shows)."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 255) // max(1, width - 1), (y * 255) // max(1, height - 1),
                    ((x * 7 + y * 3 + seed * 41) % 256)], axis=2).astype(np.uint8)
    rgb[: max(1, height // 4), : max(1, width // 3)] = (250, 20, 20)  # a red corner, top left
    return rgb


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def raw_png(width: int, height: int, bit_depth: int, color_type: int, rows: bytes, extra: bytes = b"") -> bytes:
    """A PNG written by hand: ``rows`` are the filtered scanlines (each starts with its filter byte)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra
            + png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A valid PNG header claiming ``side x side`` 1-bit pixels, with a few rows of data: tiny on disk."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    return raw_png(side, side, 1, 0, row * 8)


@functools.lru_cache(maxsize=1)
def complete_png_bomb(side: int = 20_000) -> bytes:
    """A fully decodable 1-bit PNG of ``side x side`` zeros (400 megapixels in about 50 KB): whoever
    decodes it before checking its size pays seconds of CPU and gigabytes of memory."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    return raw_png(side, side, 1, 0, row * side)


def gif_bomb() -> bytes:
    """A GIF whose screen and frame claim 65535 x 65535 pixels."""
    data = bytearray(encode(Image.new("L", (4, 4)), "GIF"))
    struct.pack_into("<HH", data, 6, 65535, 65535)  # logical screen
    descriptor = data.index(b"\x2c")  # image descriptor: separator, left, top, width, height
    struct.pack_into("<HH", data, descriptor + 5, 65535, 65535)
    return bytes(data)


def jpeg_bomb() -> bytes:
    """A baseline JPEG whose frame header claims 65500 x 65500 pixels."""
    data = bytearray(encode(Image.fromarray(pattern(16, 16)), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 65500, 65500)  # height, width
    return bytes(data)


def tiff_broken_frame() -> bytes:
    """A two-frame TIFF whose second frame has lost its width and height tags (found by the fuzzer:
    counting the frames used to raise a TypeError)."""
    frames = [Image.fromarray(pattern(16, 12, seed=i)) for i in range(2)]
    data = bytearray(encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]))
    first = struct.unpack_from("<I", data, 4)[0]  # little-endian ("II"), as Pillow writes it here
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0])[0]
    for index in range(struct.unpack_from("<H", data, second)[0]):
        entry = second + 2 + 12 * index
        if struct.unpack_from("<H", data, entry)[0] in (256, 257):  # ImageWidth, ImageLength
            struct.pack_into("<H", data, entry, 65000 + index)
    return bytes(data)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(1, int(len(data) * keep))]


def animated(fmt: str, frames: int = 3, size: tuple[int, int] = (40, 30)) -> bytes:
    images = [Image.fromarray(pattern(*size, seed=i)) for i in range(frames)]
    params = {"save_all": True, "append_images": images[1:], "duration": 100, "loop": 0}
    if fmt == "WEBP":
        params["lossless"] = True
    return encode(images[0], fmt, **params)


def with_orientation(rgb: np.ndarray, orientation: int) -> bytes:
    """A PNG of ``rgb`` whose EXIF says it must be shown with ``orientation`` (1-8)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(Image.fromarray(rgb), "PNG", exif=exif)


def oriented(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """How a viewer shows ``rgb`` stored with EXIF ``orientation`` (computed with numpy, not Pillow)."""
    return {
        1: lambda a: a,
        2: np.fliplr,
        3: lambda a: np.rot90(a, 2),
        4: np.flipud,
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }[orientation](rgb)
