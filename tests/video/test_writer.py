"""The video writer's own encoding thread: frames all arrive, failures reach the caller, nothing half-written stays."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("av")

from virtart.video import io  # noqa: E402


def frames(count: int) -> list[np.ndarray]:
    return [np.full((48, 64, 3), 10 * index, np.uint8) for index in range(count)]


def test_every_written_frame_is_in_the_file_and_the_caller_may_reuse_its_array(tmp_path):
    out = tmp_path / "out.mp4"
    with io.VideoWriter(out, (64, 48), 10, crf=0) as writer:
        buffer = np.zeros((48, 64, 3), np.uint8)
        for index in range(12):
            buffer[:] = 20 * index
            writer.write(buffer, index / 10)  # the same array, changed after each write
    decoded = [frame.rgb for frame in io.read_frames(io.probe(out))]
    assert len(decoded) == 12
    assert [int(round(frame.mean() / 20)) for frame in decoded] == list(range(12))
    assert not writer._encoder.is_alive()


def test_an_encoding_failure_reaches_the_caller_and_leaves_no_file(tmp_path, monkeypatch):
    out = tmp_path / "out.mp4"
    writer = io.VideoWriter(out, (64, 48), 10)

    def broken(rgb, time):
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_encode", broken)
    with pytest.raises(OSError, match="disk full"):
        for index, frame in enumerate(frames(20)):
            writer.write(frame, index / 10)
        writer.close()
    assert not out.exists() and not list(tmp_path.iterdir())
    assert not writer._encoder.is_alive()


def test_abort_with_frames_queued_deletes_the_temporaries_and_ends_the_thread(tmp_path):
    out = tmp_path / "out.mp4"
    writer = io.VideoWriter(out, (64, 48), 10, lossless_path=tmp_path / "out.mkv")
    for index, frame in enumerate(frames(6)):
        writer.write(frame, index / 10)
    writer.abort()
    assert not list(tmp_path.iterdir())
    assert not writer._encoder.is_alive()
