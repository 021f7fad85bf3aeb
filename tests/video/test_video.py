"""Video: decoding/encoding, tracking, flicker blending, Stop and bad input (tiny clips made with
PyAV here; painted with the tiny random engines: no weights needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from tests.support.clips import SIZE, make_clip, scene  # noqa: E402
from virtart.engines.base import Region, StyleOptions  # noqa: E402
from virtart.engines.registry import GatysOptions  # noqa: E402
from virtart.errors import VirtArtError  # noqa: E402
from virtart.pipeline import RegionRequest  # noqa: E402
from virtart.video import io  # noqa: E402
from virtart.video.flow import FlowEstimator, flow_image  # noqa: E402
from virtart.video.pipeline import VideoOptions, stylize_video  # noqa: E402
from virtart.video.tracking import MaskTracker, grabcut_recut  # noqa: E402


def square_region(style: np.ndarray, index: int = 0) -> RegionRequest:
    mask = np.zeros((SIZE[1], SIZE[0]), np.float32)
    mask[16:40, 10 + 2 * index : 34 + 2 * index] = 1.0
    return RegionRequest(mask, style)


@pytest.fixture(scope="module")
def style() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def engine(tiny_fast):
    """Every run of this module paints with the tiny random fast engine."""
    global ENGINE
    ENGINE = tiny_fast
    return tiny_fast


ENGINE = None


def run(*args, **kwargs) -> dict:
    kwargs.setdefault("engine", ENGINE)
    final = None
    progress_items = list(stylize_video(*args, **kwargs))
    assert progress_items[0].stage == "keyframe" and progress_items[0].image is not None
    final = progress_items[-1]
    assert final is not None and final.final and final.result.report["stopped"] is False
    return final.result.report


def read_all(path: Path) -> list[io.Frame]:
    return list(io.read_frames(io.probe(path)))


def test_round_trip_keeps_timing_audio_and_untouched_pixels(tmp_path, style):
    clip = make_clip(tmp_path / "in.mov", audio="pcm_s16le")  # PCM cannot go in MP4: re-encoded to AAC
    out, lossless, masks = tmp_path / "out.mp4", tmp_path / "copy.mkv", tmp_path / "masks"
    report = run(clip, [square_region(style)], out, lossless=lossless, masks_dir=masks,
                 feather=2.0)
    assert report["frames"] == 8 and report["outside_changed_pixels"] == 0
    assert report["audio"] == {"source_codec": "pcm_s16le", "output": "re-encoded to AAC"}
    written = io.probe(out)
    assert written.audio_codec == "aac" and written.fps == 10 and written.size == SIZE
    originals, copies, lossy = read_all(clip), read_all(lossless), read_all(out)
    assert [f.time for f in lossy] == pytest.approx([f.time for f in originals])
    assert sorted(p.name for p in masks.iterdir()) == [f"{i:06d}.png" for i in range(8)]
    for index, (original, copy, encoded) in enumerate(zip(originals, copies, lossy, strict=True)):
        far = np.ones(SIZE[::-1], bool)
        far[8:48, 2 + 2 * index : 42 + 2 * index] = False  # the square, its feather and a tracking margin
        assert np.array_equal(copy.rgb[far], original.rgb[far])
        assert np.abs(encoded.rgb[far].astype(int) - original.rgb[far]).mean() <= 2.0
        inside = copy.rgb[20:36, 16 + 2 * index : 28 + 2 * index].astype(int)
        assert np.abs(inside - original.rgb[20:36, 16 + 2 * index : 28 + 2 * index]).mean() > 10  # repainted
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("recut", [False, True])
def test_tracker_follows_a_moving_square(recut):
    frames = [scene(index) for index in range(8)]
    first = np.zeros(SIZE[::-1], np.float32)
    first[16:40, 10:34] = 1.0
    tracker, estimator = MaskTracker([first], refine=grabcut_recut if recut else None), FlowEstimator()
    previous = flow_image(frames[0])
    for index, frame in enumerate(frames[1:], start=1):
        grey = flow_image(frame)
        (mask,) = tracker.step(estimator.between(previous, grey, SIZE), frame)
        previous = grey
        truth = np.zeros_like(first)
        truth[16:40, 10 + 2 * index : 34 + 2 * index] = 1.0
        assert (mask * truth).sum() / np.maximum(mask, truth).sum() > 0.8


def test_stop_keeps_a_playable_partial_clip_and_says_how_many_frames(tmp_path, style, engine):
    import time

    clip = make_clip(tmp_path / "in.mp4", frames=8)
    out, lossless = tmp_path / "out.mp4", tmp_path / "out.mkv"
    run_ = stylize_video(clip, [square_region(style)], out, engine=engine, lossless=lossless,
                         masks_dir=tmp_path / "masks", video=VideoOptions(preview_seconds=0.0))
    first = next(run_)
    assert first.stage == "keyframe" and first.step == 0 and first.image.shape == (64, 96, 3)
    assert not np.array_equal(first.image, scene(0))  # the painted keyframe, before any frame
    items = [next(run_) for _ in range(3)]
    assert [item.step for item in items] == [1, 2, 3] and all(item.total_steps == 8 for item in items)
    assert all(item.seconds_left is not None and item.seconds_left >= 0 for item in items)
    started = time.perf_counter()
    run_.close()
    assert time.perf_counter() - started < 0.5
    assert run_.report["stopped"] is True and run_.report["frames"] == 3
    assert [f.index for f in read_all(out)] == [0, 1, 2] and len(read_all(lossless)) == 3  # playable
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == [f"{i:06d}.png" for i in range(3)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_stop_from_another_thread_ends_with_a_final_item(tmp_path, style, engine):
    clip = make_clip(tmp_path / "in.mp4", frames=8)
    run_ = stylize_video(clip, [square_region(style)], tmp_path / "out.mp4", engine=engine)
    next(run_), next(run_)
    run_.stop()
    rest = list(run_)
    assert rest[-1].final and rest[-1].result.report["stopped"] is True and rest[-1].result.report["frames"] == 1
    assert len(read_all(tmp_path / "out.mp4")) == 1


def test_an_error_leaves_no_output(tmp_path, style, engine):
    clip = make_clip(tmp_path / "in.mp4", frames=6)

    class Broken:
        name, context = "broken", 0

        def run(self, image, regions, options):
            raise RuntimeError("the engine broke")
            yield

    with pytest.raises(RuntimeError, match="broke"):
        run(clip, [square_region(style)], tmp_path / "out.mp4", engine=Broken())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_keyframe_in_the_middle_tracks_both_ways(tmp_path, style):
    clip = make_clip(tmp_path / "in.mp4", frames=6)
    report = run(clip, [square_region(style, index=3)], tmp_path / "out.mp4", masks_dir=tmp_path / "masks",
                 video=VideoOptions(keyframe=3))
    assert report["regions"][0]["frames_present"] == 6
    from virtart.imageio import load_mask

    first = load_mask(tmp_path / "masks" / "000000.png")
    assert first[28, 20] == 1.0 and first[28, 60] == 0.0  # the square's place on frame 0


@pytest.mark.parametrize("kind", ["gif", "odd", "vfr", "rotated", "aac", "webm"])
def test_unusual_but_valid_clips(tmp_path, style, kind):
    size = (95, 63) if kind == "odd" else SIZE
    times = [0, 100, 150, 400, 450, 700, 760, 900] if kind == "vfr" else None
    name = {"gif": "in.gif", "aac": "in.mp4", "odd": "in.mkv", "webm": "in.webm"}.get(kind, "in.mov")  # x264: even
    clip = make_clip(tmp_path / name, size=size, times_ms=times, rotation=90 if kind == "rotated" else 0,
                     audio={"aac": "aac", "webm": "libopus"}.get(kind))
    info = io.probe(clip)
    mask = np.zeros((info.size[1], info.size[0]), np.float32)
    mask[: info.size[1] // 2] = 1.0
    out = tmp_path / "out.mp4"
    report = run(clip, [RegionRequest(mask, style)], out)
    written = io.probe(out)
    assert written.size == io.even_size(info.size)
    if kind == "rotated":
        assert info.rotation == 90 and info.size == (SIZE[1], SIZE[0])
    if kind == "vfr":
        assert [round(f.time, 3) for f in read_all(out)] == [t / 1000 for t in times]
    if kind in ("aac", "webm"):  # AAC is copied; Opus (WebM) is re-encoded to AAC
        assert report["audio"]["output"] == ("copied" if kind == "aac" else "re-encoded to AAC")
        assert written.audio_codec == "aac"


def truncated(path: Path) -> Path:
    make_clip(path, frames=8)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


BAD = {
    "not a video": (lambda p: (p.write_text("hello, not a video"), p)[1], "not a video"),
    "empty file": (lambda p: (p.write_bytes(b""), p)[1], "empty"),
    "truncated": (truncated, "not a video"),
    "no video stream": (lambda p: make_clip(p, audio="aac", video=False), "no video stream"),
    "zero frames": (lambda p: make_clip(p, frames=0), "no frames|no video stream"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_one_clear_message_and_no_output(tmp_path, style, name):
    build, message = BAD[name]
    clip = build(tmp_path / "in.mp4")
    with pytest.raises(VirtArtError, match=message):
        run(clip, [square_region(style)], tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_limits_refuse_or_downscale(tmp_path, style):
    clip = make_clip(tmp_path / "in.mp4", frames=8)
    with pytest.raises(VirtArtError, match="over the 0.5 s limit"):
        run(clip, [square_region(style)], tmp_path / "a.mp4", video=VideoOptions(max_seconds=0.5))
    with pytest.raises(VirtArtError, match="over the 48 px limit"):
        run(clip, [square_region(style)], tmp_path / "a.mp4", video=VideoOptions(max_side=48))
    with pytest.warns(UserWarning, match="shrunk"):
        report = run(clip, [square_region(style)], tmp_path / "a.mp4",
                     video=VideoOptions(max_side=48, downscale=True))
    assert report["size"] == [48, 32]


def test_cli_bad_video_is_one_error_line(tmp_path, capsys):
    from virtart.cli.main import main

    (tmp_path / "in.mp4").write_text("not a video")
    code = main(["video", str(tmp_path / "in.mp4"), "--style", "starry_night", "--out", str(tmp_path / "o.mp4")])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(error) == 1 and error[0].startswith("error: ")


def test_cli_mask_everything_else_report_and_masks(tmp_path, style, engine, monkeypatch):
    import json

    monkeypatch.setattr("virtart.video.pipeline.shared_engine", lambda name, device="auto": engine)

    from virtart.cli.main import main
    from virtart.imageio import save_mask, save_png

    clip = make_clip(tmp_path / "in.mp4", frames=4)
    mask = np.zeros(SIZE[::-1], np.float32)
    mask[16:40, 10:34] = 1.0
    save_mask(tmp_path / "mask.png", mask)
    save_png(tmp_path / "style.png", style)
    code = main(["video", str(clip), "--mask", str(tmp_path / "mask.png"), "--everything-else",
                 "--style", str(tmp_path / "style.png"), "--out", str(tmp_path / "out.mp4"),
                 "--masks-out", str(tmp_path / "masks"), "--report", str(tmp_path / "r.json")])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["frames"] == 4 and report["regions"][0]["keyframe_area_fraction"] > 0.8
    from virtart.imageio import load_mask

    first = load_mask(tmp_path / "masks" / "000000.png")
    assert first[28, 20] == 0.0 and first[5, 80] == 1.0  # everything but the square is repainted
    last = load_mask(tmp_path / "masks" / "000003.png")  # the square moved 6 px right: the hole followed it
    assert last[28, 11] == 1.0 and last[28, 37] == 0.0


@pytest.mark.weights
def test_detected_object_leaves_and_is_found_again(tmp_path, style):
    """A person slides out of the frame (region dropped), then stands in it again (re-found by class)."""
    import cv2
    from skimage import data

    from virtart.imageio import load_mask
    from virtart.video.selection import region_requests

    person = cv2.resize(data.astronaut(), (112, 112), interpolation=cv2.INTER_AREA)

    def frame(x: int | None) -> np.ndarray:
        image = np.full((128, 160, 3), 90, np.uint8)
        if x is not None and x < 160:
            image[8:120, x : min(160, x + 112)] = person[:, : min(160, x + 112) - x]
        return image

    places = [*range(8, 170, 8), None, None, None, None, *[8] * 8]  # out by frame 18, back from frame 25
    clip = tmp_path / "person.mp4"
    with io.VideoWriter(clip, (160, 128), 10, crf=10) as writer:
        for index, x in enumerate(places):
            writer.write(frame(x), index / 10)
    requests, labels = region_requests(frame(8), style, detect=["person"])
    assert labels == ["person"]
    run(clip, requests, tmp_path / "out.mp4", labels=labels, masks_dir=tmp_path / "masks")
    area = [load_mask(tmp_path / "masks" / f"{index:06d}.png").mean() for index in range(len(places))]
    assert area[0] > 0.2 and area[22] == 0.0 and area[-1] > 0.2


def test_an_optimising_engine_paints_a_box_and_is_refused_where_it_would_take_minutes(tmp_path, style,
                                                                                       tiny_gatys):
    from virtart.geometry import Box
    from virtart.video.pipeline import region_painter
    from virtart.video.temporal import RegionCanvas

    frame = scene(0)
    region = Region(np.ones(frame.shape[:2], np.float32), style)
    canvas = RegionCanvas(region_painter(tiny_gatys, region, GatysOptions(steps="auto", max_size=64)))
    alpha = np.zeros(frame.shape[:2], np.float32)
    alpha[16:40, 10:34] = 1.0
    canvas.paint(frame, alpha)  # the Gatys engine on the region's box, from a fast start, auto stop
    box = Box.around(alpha, threshold=0).grown(24, frame.shape)
    assert canvas.known[box.y0 : box.y1, box.x0 : box.x1].all() and canvas.canvas.shape == (*frame.shape[:2], 3)
    assert not np.array_equal(np.round(box.of(canvas.canvas)).astype(np.uint8), box.of(frame))

    clip = make_clip(tmp_path / "in.mp4", frames=4)
    report = run(clip, [square_region(style)], tmp_path / "tiny.mp4", engine=tiny_gatys,
                 options=GatysOptions(steps=2, max_size=64, device="cpu"))
    assert report["frames"] == 4 and report["engine"] == "gatys" and report["outside_changed_pixels"] == 0
    with pytest.raises(VirtArtError, match="only on a CUDA GPU"):
        stylize_video(clip, [square_region(style)], tmp_path / "out.mp4", engine="gatys",
                      options=StyleOptions(device="cpu"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "tiny.mp4"]


def test_cli_two_regions_two_paintings_outside_untouched(tmp_path, style, engine, monkeypatch):
    """``virtart video CLIP --region A.png=STYLE --region B.png=STYLE@0.7``: two regions in two
    paintings; far from both, the lossless copy equals the input and the MP4 is within codec error."""
    import json

    from virtart.cli.main import main
    from virtart.imageio import save_mask, save_png

    monkeypatch.setattr("virtart.video.pipeline.shared_engine", lambda name, device="auto": engine)
    clip = make_clip(tmp_path / "in.mp4", frames=5)
    left, right = np.zeros(SIZE[::-1], np.float32), np.zeros(SIZE[::-1], np.float32)
    left[16:40, 10:34] = 1.0  # the moving square
    right[44:60, 60:90] = 1.0  # a still patch at the bottom right
    save_mask(tmp_path / "a.png", left)
    save_mask(tmp_path / "b.png", right)
    save_png(tmp_path / "one.png", style)
    save_png(tmp_path / "two.png", style[::-1, :, ::-1].copy())
    out, lossless = tmp_path / "out.mp4", tmp_path / "out.mkv"
    code = main(["video", str(clip), "--region", f"{tmp_path / 'a.png'}={tmp_path / 'one.png'}",
                 "--region", f"{tmp_path / 'b.png'}={tmp_path / 'two.png'}@0.7", "--feather", "2",
                 "--out", str(out), "--lossless", str(lossless), "--report", str(tmp_path / "r.json")])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["frames"] == 5 and report["outside_changed_pixels"] == 0
    assert [r["strength"] for r in report["regions"]] == [1.0, 0.7]
    originals, copies, lossy = read_all(clip), read_all(lossless), read_all(out)
    for index, (original, copy, encoded) in enumerate(zip(originals, copies, lossy, strict=True)):
        far = np.ones(SIZE[::-1], bool)
        far[8:48, 2 + 2 * index : 42 + 2 * index] = False  # the square, its feather and a tracking margin
        far[40:64, 56:96] = False  # the patch and its feather
        assert np.array_equal(copy.rgb[far], original.rgb[far])
        assert np.abs(encoded.rgb[far].astype(int) - original.rgb[far]).mean() <= 2.0
        for rows, cols in ((slice(20, 36), slice(16 + 2 * index, 28 + 2 * index)), (slice(48, 56), slice(64, 86))):
            assert np.abs(copy.rgb[rows, cols].astype(int) - original.rgb[rows, cols]).mean() > 5  # repainted

    # The same job as a JSON request file (the form of `virtart stylize --request`): the same frames.
    (tmp_path / "job.json").write_text(json.dumps({"version": 1, "regions": [
        {"mask": "a.png", "style": "one.png"}, {"mask": "b.png", "style": "two.png", "strength": 0.7}]}))
    again = tmp_path / "again.mkv"
    code = main(["video", str(clip), "--request", str(tmp_path / "job.json"), "--feather", "2",
                 "--out", str(tmp_path / "again.mp4"), "--lossless", str(again)])
    assert code == 0
    assert all(np.array_equal(first.rgb, second.rgb) for first, second in zip(copies, read_all(again), strict=True))
