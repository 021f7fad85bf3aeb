"""Reading and writing video with PyAV (FFmpeg shipped in its wheel; no system ffmpeg).

Frames are ``(H, W, 3) uint8`` RGB, row 0 at the top, already turned upright when the
file carries rotation metadata (phone videos), so pixel coordinates ``(x, y)`` are those
a viewer sees. Each frame keeps its presentation time in seconds, so variable frame rates
and GIF delays survive a round trip.

:func:`probe` checks a file before any work (readable, a video stream, not empty, within
the duration and size limits); :func:`read_frames` decodes it; :class:`VideoWriter` encodes
H.264 MP4 (even dimensions, ``yuv420p``) with the source's audio (copied when MP4 can carry
its codec, else re-encoded to AAC), optionally a lossless FFV1 copy, always through a
temporary file renamed at the end, so no half-written output is ever seen.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from virtart.errors import VirtArtError, warn

MAX_SECONDS = 60.0
MAX_SIDE = 1920
MIN_SIDE = 16  # the short side, upright and after any downscale: below it nothing can be selected
MAX_ASPECT = 120  # long side / short side: an 1800x16 strip is served, a 1:200 one is refused
MAX_FRAMES = 3600  # 60 s at 60 frames/s; a clip of more (however small) is refused
# Audio codecs the MP4 muxer takes as they are; anything else (PCM, Vorbis, FLAC...) becomes AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
OUTPUT_TIME_BASE = Fraction(1, 90_000)
# Frames a writer holds for its encoding thread: enough to smooth a slow frame, few enough
# that finishing after a Stop stays quick.
ENCODE_QUEUE = 3


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learnt: upright ``size`` ``(width, height)`` after the optional
    downscale ``scale`` (1 = none), ``source_size`` as decoded, ``rotation`` in degrees
    (counter-clockwise, applied while reading), ``fps`` (average), ``seconds``, an estimated
    ``frame_count`` and the first audio stream's codec (None when silent)."""

    path: str
    size: tuple[int, int]
    source_size: tuple[int, int]
    rotation: int
    fps: Fraction
    seconds: float
    frame_count: int
    audio_codec: str | None
    scale: float = 1.0
    start: float = 0.0  # the first frame's time in the file: output times (and audio) start from 0 there


def _open(path: str | os.PathLike, label: str):
    import av

    if not Path(path).is_file():
        raise VirtArtError(f"{label}: no such file")
    if Path(path).stat().st_size == 0:
        raise VirtArtError(f"{label}: the file is empty (0 bytes)")
    try:
        return av.open(os.fspath(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise VirtArtError(f"{label}: not a video that can be read; upload an MP4, WebM, MOV or GIF clip",
                           detail=_reason(exc)) from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def _rotation(stream, first_frame) -> int:
    """Counter-clockwise degrees to turn decoded frames upright (0, 90, 180 or 270)."""
    degrees = getattr(first_frame, "rotation", 0) if first_frame is not None else 0
    if not degrees:
        try:
            degrees = -int(float(stream.metadata.get("rotate", 0)))  # older muxers: clockwise tag
        except ValueError:
            degrees = 0
    return int(round(degrees / 90.0)) * 90 % 360


def probe(path: str | os.PathLike, *, max_seconds: float = MAX_SECONDS, max_side: int = MAX_SIDE,
          downscale: bool = False, label: str | None = None) -> VideoInfo:
    """Check ``path`` and describe it; raise :class:`VirtArtError` with one clear line if unusable.

    Longer than ``max_seconds`` is refused. A long side above ``max_side`` is refused unless
    ``downscale``, which shrinks frames to fit instead.
    """
    import av

    label = label or os.fspath(path)
    with _open(path, label) as container:
        if not container.streams.video:
            raise VirtArtError(f"{label}: the file has no video stream")
        stream = container.streams.video[0]
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except (av.FFmpegError, ValueError) as exc:
            raise VirtArtError(f"{label}: the video data cannot be decoded; the file may be damaged: export it again",
                           detail=_reason(exc)) from None
        if first is None:
            raise VirtArtError(f"{label}: the video has no frames")
        rotation = _rotation(stream, first)
        start = float(first.time) if first.time is not None else 0.0
        width, height = first.width, first.height
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        seconds = _duration(container, stream)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        frames = stream.frames or max(1, round(seconds * float(fps)))
    upright = (height, width) if rotation in (90, 270) else (width, height)
    if seconds > max_seconds:
        raise VirtArtError(f"{label}: the video lasts {seconds:.1f} s, over the {max_seconds:g} s limit; "
                           "trim it first")
    scale = 1.0
    if max(upright) > max_side:
        if not downscale:
            raise VirtArtError(f"{label}: {upright[0]}x{upright[1]} is over the {max_side} px limit on the long "
                               "side; ask for a downscale or resize it first")
        scale = max_side / max(upright)
        warn(f"{label}: {upright[0]}x{upright[1]} shrunk to fit {max_side} px on the long side")
    size = (max(1, round(upright[0] * scale)), max(1, round(upright[1] * scale)))
    check_shape(size, upright, frames, label)
    return VideoInfo(os.fspath(path), size, (width, height), rotation, Fraction(fps), seconds, int(frames),
                     audio, scale, start)


def check_shape(size: tuple[int, int], source: tuple[int, int], frames: int, label: str) -> None:
    """Refuse, with one line, a clip whose working ``size`` (upright ``source`` after a downscale)
    is too thin or too elongated, or that holds more than :data:`MAX_FRAMES` frames."""
    shown = f"{source[0]}x{source[1]}" if source == size else f"{source[0]}x{source[1]} (shrunk to {size[0]}x{size[1]})"
    if min(size) < MIN_SIDE:
        raise VirtArtError(f"{label}: the video is {shown} pixels; each side must be at least {MIN_SIDE} px")
    if max(size) > MAX_ASPECT * min(size):
        raise VirtArtError(f"{label}: the video is {shown} pixels, more elongated than the 1:{MAX_ASPECT} limit; "
                           "crop it first")
    if frames > MAX_FRAMES:
        raise VirtArtError(f"{label}: the video has {frames} frames, over the {MAX_FRAMES} frame limit; "
                           "trim it or lower its frame rate first")


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000.0
    return 0.0


@dataclass
class Frame:
    """One decoded frame: ``index`` from 0, presentation ``time`` in seconds, upright ``rgb``."""

    index: int
    time: float
    rgb: np.ndarray


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a decoded frame by ``rotation`` degrees counter-clockwise."""
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def read_frames(info: VideoInfo, *, label: str | None = None) -> Iterator[Frame]:
    """Decode every frame of a probed video, upright and at ``info.size``.

    A file that breaks off (truncated) ends with a warning after its last good frame.
    Times are made strictly increasing (duplicate or missing timestamps are spread at the
    average frame rate).
    """
    import av

    label = label or info.path
    step = 1.0 / float(info.fps)
    previous = -math.inf
    index = 0
    with _open(info.path, label) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for decoded in container.decode(stream):
                if index >= MAX_FRAMES:  # the container's count was wrong (or missing)
                    raise VirtArtError(f"{label}: the video has more than {MAX_FRAMES} frames, over the limit; "
                                       "trim it or lower its frame rate first")
                time = float(decoded.time) - info.start if decoded.time is not None else previous + step
                if time <= previous:
                    time = previous + step
                previous = time
                rgb = upright(decoded.to_ndarray(format="rgb24"), info.rotation)
                if (rgb.shape[1], rgb.shape[0]) != info.size:
                    rgb = cv2.resize(rgb, info.size, interpolation=cv2.INTER_AREA)
                yield Frame(index, time, rgb)
                index += 1
        except (av.FFmpegError, ValueError) as exc:
            if index == 0:
                raise VirtArtError(f"{label}: the video data cannot be decoded; the file may be damaged: export it again",
                           detail=_reason(exc)) from None
            warn(f"{label}: the video breaks off after frame {index}; the rest is dropped", detail=_reason(exc))


def read_frame(info: VideoInfo, index: int) -> np.ndarray:
    """The upright RGB frame number ``index`` (from 0); a clear error past the end."""
    for frame in read_frames(info):
        if frame.index == index:
            return frame.rgb
    raise VirtArtError(f"frame {index} is past the end of the video")


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """H.264 in 4:2:0 needs even sides: odd ones grow by one pixel (edge copied)."""
    return size[0] + size[0] % 2, size[1] + size[1] % 2


def pad_even(rgb: np.ndarray) -> np.ndarray:
    """Copy the last row/column once where the height/width is odd."""
    height, width = rgb.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".part", dir=path.parent)
    os.close(fd)
    return Path(name)


class VideoWriter:
    """Encode frames to ``path`` (H.264 MP4) and optionally ``lossless_path`` (FFV1 MKV, RGB).

    ``audio_from``: a probed video whose first audio stream is carried over (copied, or
    re-encoded to AAC when MP4 cannot hold its codec). Frames go in with :meth:`write`;
    :meth:`close` finishes the files and renames them into place; :meth:`abort` (or an
    exception inside ``with``) deletes them. ``crf``: x264 quality (lower is better).

    Encoding runs on a thread of the writer's own (FFmpeg releases the GIL), so a caller's
    next frame is computed while this one is encoded; an encoding error is raised by the
    next :meth:`write` or by :meth:`close`. One caller thread at a time.
    """

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], fps: Fraction, *,
                 audio_from: VideoInfo | None = None, lossless_path: str | os.PathLike | None = None,
                 crf: int = 16, preset: str = "veryfast"):
        import av

        self.targets = [Path(path)] + ([Path(lossless_path)] if lossless_path else [])
        self.temporaries = [_temporary(target) for target in self.targets]
        self.size, self.fps = even_size(size), Fraction(fps).limit_denominator(100_000)
        self.outputs = []
        self._audio_input = None
        self._audio_pending = None
        try:
            mp4 = av.open(str(self.temporaries[0]), "w", format="mp4")
            self.outputs.append(mp4)
            video = mp4.add_stream("libx264", rate=self.fps)
            video.width, video.height, video.pix_fmt = *self.size, "yuv420p"
            video.time_base = video.codec_context.time_base = OUTPUT_TIME_BASE  # exact times: VFR, GIF delays
            video.options = {"crf": str(crf), "preset": preset}
            video.codec_context.color_range = 1  # MPEG (limited) range, what players expect
            self.streams = [video]
            if lossless_path:
                mkv = av.open(str(self.temporaries[1]), "w", format="matroska")
                self.outputs.append(mkv)
                copy = mkv.add_stream("ffv1", rate=self.fps)
                copy.width, copy.height, copy.pix_fmt = size[0], size[1], "bgr0"
                copy.time_base = copy.codec_context.time_base = OUTPUT_TIME_BASE
                self.streams.append(copy)
            if audio_from is not None and audio_from.audio_codec:
                self._open_audio(audio_from)
        except BaseException:
            self.abort()
            raise
        self._frames: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(ENCODE_QUEUE)
        self._failure: BaseException | None = None
        self._cancelled = threading.Event()
        self._encoder = threading.Thread(target=self._encode_queued, name="virtart-encode", daemon=True)
        self._encoder.start()

    def _open_audio(self, source: VideoInfo) -> None:
        import av

        self._audio_input = av.open(source.path, metadata_errors="ignore")
        self._audio_start = source.start  # audio keeps its place against the video's first frame
        audio_in = self._audio_input.streams.audio[0]
        mp4 = self.outputs[0]
        self._audio_copy = audio_in.codec_context.name in MP4_AUDIO_CODECS
        if self._audio_copy:
            self._audio_out = mp4.add_stream_from_template(audio_in)
        else:
            rate = audio_in.codec_context.sample_rate or 44_100
            layout = "stereo" if (audio_in.codec_context.channels or 2) > 1 else "mono"
            self._audio_out = mp4.add_stream("aac", rate=rate, layout=layout)
        self._audio_packets = self._audio_input.demux(audio_in)

    def _carry_audio(self, until: float) -> None:
        """Move source audio up to ``until`` seconds into the MP4 (the muxer interleaves)."""
        import av

        if self._audio_input is None:
            return
        mp4 = self.outputs[0]
        while True:
            packet = self._audio_pending
            self._audio_pending = None
            if packet is None:
                try:
                    packet = next(self._audio_packets)
                except (StopIteration, av.FFmpegError, ValueError):
                    self._finish_audio()
                    return
            if packet.dts is None:  # the demuxer's end-of-stream flush packet
                continue
            if packet.time_base and float(packet.dts * packet.time_base) - self._audio_start > until:
                self._audio_pending = packet
                return
            if self._audio_copy:
                shift = round(self._audio_start / packet.time_base) if packet.time_base else 0
                packet.pts = None if packet.pts is None else packet.pts - shift
                packet.dts -= shift
                packet.stream = self._audio_out
                mp4.mux(packet)
            else:
                try:
                    frames = packet.decode()
                except (av.FFmpegError, ValueError):
                    continue  # a damaged audio packet is skipped, the video goes on
                for frame in frames:
                    frame.pts = None
                    mp4.mux(self._audio_out.encode(frame))

    def _finish_audio(self) -> None:
        if self._audio_input is None:
            return
        if not self._audio_copy:
            self.outputs[0].mux(self._audio_out.encode(None))
        self._audio_input.close()
        self._audio_input = None

    def write(self, rgb: np.ndarray, time: float) -> None:
        """Add one ``(H, W, 3) uint8`` frame shown from ``time`` seconds (copied: the caller may
        reuse its array)."""
        self._raise_failure()
        self._frames.put((np.array(rgb, dtype=np.uint8, copy=True), time))

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self.abort()
            raise failure

    def _encode_queued(self) -> None:
        while (item := self._frames.get()) is not None:
            if self._cancelled.is_set() or self._failure is not None:
                continue  # drained without encoding: the files are being deleted
            try:
                self._encode(*item)
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                self._failure = error

    def _encode(self, rgb: np.ndarray, time: float) -> None:
        import av

        pts = round(time / OUTPUT_TIME_BASE)
        for output, stream, image in zip(self.outputs, self.streams, (pad_even(rgb), rgb), strict=False):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = pts, OUTPUT_TIME_BASE
            output.mux(stream.encode(frame))
        self._carry_audio(time)

    def _join_encoder(self) -> None:
        """Let the encoding thread finish the frames it holds (all of them unless cancelled)."""
        encoder = getattr(self, "_encoder", None)
        if encoder is not None and encoder.is_alive():
            self._frames.put(None)
            encoder.join()

    def close(self) -> list[Path]:
        """Encode the frames still queued, flush the encoders, finish the audio and rename the
        files into place."""
        self._join_encoder()
        self._raise_failure()
        try:
            for output, stream in zip(self.outputs, self.streams, strict=True):
                output.mux(stream.encode(None))
            self._carry_audio(math.inf)
            for output in self.outputs:
                output.close()
            self.outputs = []
        except BaseException:
            self.abort()
            raise
        umask = os.umask(0)
        os.umask(umask)
        for temporary, target in zip(self.temporaries, self.targets, strict=True):
            os.chmod(temporary, 0o666 & ~umask)  # mkstemp made it private
            os.replace(temporary, target)
        return self.targets

    def abort(self) -> None:
        """Stop and delete the temporary files; the targets are left as they were."""
        cancelled = getattr(self, "_cancelled", None)
        if cancelled is not None:
            cancelled.set()
            self._join_encoder()
        for output in self.outputs + ([self._audio_input] if self._audio_input else []):
            with contextlib.suppress(Exception):  # a broken file: it is deleted next anyway
                output.close()
        self.outputs, self._audio_input = [], None
        for temporary in self.temporaries:
            temporary.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
