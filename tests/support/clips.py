"""Small test clips written with PyAV: a textured scene with a bright square moving 2 px a frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.support.hostile_video import encode_frames

SIZE = (96, 64)


def scene(index: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A textured background with a bright square moving 2 px right per frame."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([x * 1.5 + y, x + 60, y * 3], axis=2).astype(np.uint8)  # smooth, like a photo
    frame[16:40, 10 + 2 * index : 34 + 2 * index] = (250, 230, 40)
    return frame


def make_clip(path: Path, *, fmt: str | None = None, frames: int = 8, size: tuple[int, int] = SIZE,
              audio: str | None = None, times_ms: list[int] | None = None, rotation: int = 0,
              video: bool = True) -> Path:
    """Write a small clip with PyAV: H.264 (GIF for .gif, FFV1 for .mkv), optional audio codec, custom times."""
    container = av.open(str(path), "w", format=fmt)
    stream = None
    if video:
        codec, pixels = {".gif": ("gif", "rgb8"), ".mkv": ("ffv1", "yuv444p"),
                         ".webm": ("libvpx", "yuv420p")}.get(path.suffix, ("libx264", "yuv420p"))
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = pixels
        if times_ms:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
    sound = container.add_stream(audio, rate=8000, layout="mono") if audio else None
    if stream is not None:
        encode_frames(container, stream, [scene(index, size) for index in range(frames)], times_ms)
    if sound is not None:
        samples = (np.sin(np.arange(800 * frames) / 4.0) * 6000).astype(np.int16)[None]
        chunk = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        chunk.sample_rate, chunk.pts = 8000, 0
        container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
    container.start_encoding()  # writes the header even when no frame was given
    container.close()
    return path
