"""Hostile video clips, written with PyAV by the project itself (tiny, so the tests stay fast).

Each :class:`ClipCase` writes one file (:meth:`ClipCase.write`) and says what must become of
it: ``ACCEPT`` (it is painted: every frame at the probed size) or ``REFUSE`` (one clear line
matching ``message``). Shapes the decoder accepts but the app does not (a 1 px wide clip, a
1:200 strip, 10,000 frames of 2x2) are refused by :func:`virtart.video.io.probe`'s limits.
Sizes are ``(width, height)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

ACCEPT, REFUSE = "accept", "refuse"


def frame_pattern(index: int, size: tuple[int, int]) -> np.ndarray:
    """A smooth ``(H, W, 3) uint8`` picture with a bright block moving right one pixel a frame."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 3 + y) % 256, (x + 60) % 256, (y * 5) % 256], axis=2).astype(np.uint8)
    block = max(1, min(width, height) // 2)
    left = index % max(1, width - block + 1)
    rgb[: block, left : left + block] = (250, 230, 40)
    return rgb


def write_clip(path: Path, sizes: list[tuple[int, int]], *, fps: int = 10, codec: str | None = None,
               times_ms: list[int] | None = None, rotation: int = 0) -> Path:
    """One clip of ``len(sizes)`` frames (all of ``sizes[0]``): H.264 in MP4/MOV/TS (even sides),
    FFV1 in MKV (any size from 2 px), or ``codec`` ("mjpeg" takes 1 px); ``times_ms``: presentation times (variable frame rate)."""
    import av

    size = sizes[0]
    codec = codec or ("ffv1" if path.suffix == ".mkv" else "libx264")
    with av.open(str(path), "w", format="mpegts" if path.suffix == ".ts" else None) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = {"ffv1": "yuv444p", "mjpeg": "yuvj444p"}.get(codec, "yuv420p")
        if times_ms:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        encode_frames(container, stream, [frame_pattern(index, size) for index in range(len(sizes))], times_ms)
    return path


def encode_frames(container, stream, frames: list[np.ndarray], times_ms: list[int] | None = None) -> None:
    """Encode ``(H, W, 3) uint8`` frames into a PyAV ``stream`` of ``container`` and flush it;
    ``times_ms``: each frame's presentation time in ms (else frame numbers)."""
    import av

    for index, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if times_ms:
            frame.pts, frame.time_base = times_ms[index], Fraction(1, 1000)
        else:
            frame.pts = index
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def size_change(path: Path) -> Path:
    """An MPEG-TS clip whose frames change size half-way (two streams' bytes one after the other,
    as a broadcast switching resolution sends them)."""
    first, second = path.with_name(path.stem + "-a.ts"), path.with_name(path.stem + "-b.ts")
    write_clip(first, [(64, 48)] * 4)
    write_clip(second, [(96, 64)] * 4)
    path.write_bytes(first.read_bytes() + second.read_bytes())
    first.unlink()
    second.unlink()
    return path


def truncated(path: Path) -> Path:
    write_clip(path, [(64, 48)] * 12)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


@dataclass(frozen=True)
class ClipCase:
    name: str
    filename: str
    build: Callable[[Path], Path]
    expect: str
    message: str = ""  # regex (case-insensitive) of the refusal
    max_side: int | None = None  # probed with this long-side limit instead of the app's

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return self.build(folder / self.filename)


def clip_cases() -> list[ClipCase]:
    side = "each side must be at least"
    return [
        ClipCase("one_px_wide", "thread.mkv", lambda p: write_clip(p, [(1, 64)] * 4, codec="mjpeg"), REFUSE, side),
        ClipCase("sixteen_px_tall", "strip.mp4", lambda p: write_clip(p, [(320, 16)] * 4), ACCEPT),
        ClipCase("thin_1800x16", "thin.mp4", lambda p: write_clip(p, [(1800, 16)] * 3), ACCEPT),
        ClipCase("aspect_1_to_200", "ribbon.mkv", lambda p: write_clip(p, [(1600, 8)] * 3), REFUSE, side),
        ClipCase("aspect_1_to_150", "band.mkv", lambda p: write_clip(p, [(2400, 16)] * 2), REFUSE,
                 "px limit on the long side"),
        ClipCase("aspect_1_to_150_large_limit", "band.mkv", lambda p: write_clip(p, [(2400, 16)] * 2), REFUSE,
                 "more elongated than the 1:120 limit", max_side=4096),
        ClipCase("aspect_1_to_119", "band.mp4", lambda p: write_clip(p, [(1904, 16)] * 2), ACCEPT),
        ClipCase("odd_size", "odd.mkv", lambda p: write_clip(p, [(33, 17)] * 4), ACCEPT),
        ClipCase("one_frame", "single.mp4", lambda p: write_clip(p, [(64, 48)]), ACCEPT),
        ClipCase("ten_thousand_2x2", "dots.mkv", lambda p: write_clip(p, [(2, 2)] * 10_000, fps=1000), REFUSE, side),
        ClipCase("too_many_frames", "flood.mkv", lambda p: write_clip(p, [(16, 16)] * 4000, fps=100), REFUSE,
                 "frame limit"),
        ClipCase("variable_rate", "vfr.mov", lambda p: write_clip(p, [(64, 48)] * 6,
                                                                  times_ms=[0, 40, 300, 320, 900, 1000]), ACCEPT),
        ClipCase("rotated_90", "phone.mov", lambda p: write_clip(p, [(64, 32)] * 4, rotation=90), ACCEPT),
        ClipCase("truncated", "cut.mp4", truncated, REFUSE, "not a video|cannot be decoded|no video stream"),
        ClipCase("size_changes", "switch.ts", size_change, ACCEPT),
        ClipCase("not_a_video", "notes.mp4", lambda p: (p.write_bytes(b"not a video\n" * 50), p)[1], REFUSE,
                 "not a video"),
        ClipCase("empty", "empty.mp4", lambda p: (p.write_bytes(b""), p)[1], REFUSE, "empty"),
    ]


def write_all(folder: Path) -> list[tuple[ClipCase, Path]]:
    return [(case, case.write(folder / case.name)) for case in clip_cases()]


def fuzz_clip(path: Path, rng: np.random.Generator) -> Path:
    """A random small clip for the API fuzzer: random sizes (some too thin), frame counts,
    codecs, and now and then broken bytes."""
    width, height = int(rng.integers(1, 80)), int(rng.integers(1, 80))
    frames = int(rng.integers(1, 6))
    if path.suffix != ".mkv":
        width, height = max(2, width - width % 2), max(2, height - height % 2)
    write_clip(path, [(width, height)] * frames, fps=int(rng.integers(1, 60)))
    if rng.random() < 0.25:
        data = bytearray(path.read_bytes())
        for _ in range(int(rng.integers(1, 20))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data[: int(len(data) * rng.uniform(0.3, 1.0))]))
    os.utime(path)
    return path
