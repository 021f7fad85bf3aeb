"""Video benchmark: throughput, tracking IoU, flicker (warping error) and untouched pixels.

    .venv/bin/python bench/bench_video.py --report video.json [--clips 16] [--skip throughput,...] [--sizes 480p]

* throughput: 60-frame clips at 480p (854x480) and 720p (1280x720), a camera pan over a
  coco128-seg photo, one region covering about half of each frame, through the whole
  ``stylize_video`` (decode, track, stylize, encode); frames per second and the share of
  each stage.
* stop: the same 480p clip; after 10 frames the run is closed: seconds the close takes (it
  finishes the partial MP4; wall and CPU time, as the machine is shared), and whether that MP4
  plays with the frames the report says.
* page_stop: the Video tab's Stop as the page runs it (``virtart.ui.video_handlers``): the same
  480p clip with two regions (the frame's left and right halves) in two paintings; the tab's
  stream in this thread, Stop's handler in another after 10 frames; seconds from Stop to the
  stream's "Stopped" update and to Stop's own answer, and the frames the kept clip holds.
* tracking: clips made from coco128-seg (bench/video_clips.py: an object moving over another
  photo, and a camera panning/zooming over a photo), the true mask given on frame 0; mean IoU
  of the carried masks over frames 1..59. Even-indexed photos were used for tuning, odd ones
  confirm.
* flicker: warping error (Lai et al. 2018) inside the region: mean absolute difference between
  an output frame and the previous output frame moved along the flow of the *input* frames
  (DIS "medium" at full resolution, not the tracker's flow), over non-occluded pixels; ours
  against painting every frame on its own (refresh every frame, nothing kept).
* untouched: pixels farther than feather + 16 px from every region: mean absolute difference
  of output and input, on the MP4 and on the lossless copy.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from video_clips import camera_clip, coco_objects, object_clip  # noqa: E402

from virtart import (
    edges,  # noqa: E402
    settings,  # noqa: E402
)
from virtart import masks as mask_ops  # noqa: E402
from virtart.engines.composite import DEFAULT_FEATHER  # noqa: E402
from virtart.engines.registry import shared_engine  # noqa: E402
from virtart.imageio import load_mask  # noqa: E402
from virtart.pipeline import RegionRequest  # noqa: E402
from virtart.video import io  # noqa: E402
from virtart.video.flow import FlowEstimator, consistent, flow_image, warp  # noqa: E402
from virtart.video.pipeline import VideoOptions, stylize_video  # noqa: E402
from virtart.video.tracking import MaskTracker, grabcut_recut  # noqa: E402

FRAMES = 60
TRACK_SIZE = (640, 360)
MARGIN = 16


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    with io.VideoWriter(path, (frames[0].shape[1], frames[0].shape[0]), fps, crf=12) as writer:
        for index, frame in enumerate(frames):
            writer.write(frame, index / fps)
    return path


def run_video(clip: Path, mask: np.ndarray, style: str, out: Path, **kwargs) -> dict:
    final = None
    for progress in stylize_video(clip, [RegionRequest(mask, style)], out, engine="fast", **kwargs):
        final = progress
    return final.result.report


def half_frame_mask(size: tuple[int, int]) -> np.ndarray:
    """An ellipse covering about half of the frame."""
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (int(width * 0.4), int(height * 0.4)), 0, 0, 360, 1, -1)
    return mask.astype(np.float32)


def throughput(objects, style: str, work: Path, sizes: set[str]) -> dict:
    """Frames per second of the default path (MP4 only); CPU seconds per frame as well, since the
    machine is shared (wall time then depends on the other jobs). The untouched-pixel check runs
    a second time with the lossless copy and the masks written."""
    name, rgb, mask = objects[0]
    results = {}
    for label, size in (("480p", (854, 480)), ("720p", (1280, 720))):
        if label not in sizes:
            continue
        frames, _ = camera_clip(rgb, mask, size, frames=FRAMES, seed=1)
        clip = write_clip(work / f"{label}.mp4", frames)
        region = half_frame_mask(size)
        shared_engine("fast")  # loaded before the CPU clock starts, as the app does at start-up
        edges.load_matting()
        cpu = time.process_time()
        report = run_video(clip, region, style, work / f"{label}-out.mp4")
        cpu = time.process_time() - cpu
        out, lossless, masks = work / f"{label}-out2.mp4", work / f"{label}-out.mkv", work / f"{label}-masks"
        run_video(clip, region, style, out, lossless=lossless, masks_dir=masks)
        results[label] = {"frames_per_second": report["frames_per_second"], "share": report["share"],
                          "cpu_seconds_per_frame": round(cpu / report["frames"], 4),
                          "region_fraction": report["regions"][0]["keyframe_area_fraction"],
                          "untouched": untouched(clip, out, lossless, masks, feather=DEFAULT_FEATHER)}
        print(label, json.dumps(results[label]), flush=True)
    return results


def stop_latency(objects, style: str, work: Path, after: int = 10) -> dict:
    """Seconds ``close()`` takes after ``after`` frames of a 480p clip, and the partial clip's frames."""
    name, rgb, mask = objects[0]
    frames, _ = camera_clip(rgb, mask, (854, 480), frames=FRAMES, seed=1)
    clip = write_clip(work / "stop.mp4", frames)
    out = work / "stop-out.mp4"
    run = stylize_video(clip, [RegionRequest(half_frame_mask((854, 480)), style)], out, engine="fast",
                        lossless=work / "stop-out.mkv")
    for progress in run:
        if progress.step >= after:
            break
    started, cpu = time.perf_counter(), time.process_time()
    run.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    written = sum(1 for _ in io.read_frames(io.probe(out)))
    result = {"close_seconds": round(seconds, 3), "close_cpu_seconds": round(cpu, 3), "report_frames": run.report["frames"],
              "stopped": run.report["stopped"], "mp4_frames": written,
              "lossless_frames": sum(1 for _ in io.read_frames(io.probe(work / "stop-out.mkv")))}
    print("stop", json.dumps(result), flush=True)
    return result


def page_stop_latency(objects, style: str, work: Path, after: int = 10) -> dict:
    """Seconds from the Video tab's Stop to the page's "Stopped" update, two regions, 480p."""
    import threading

    import gradio as gr

    from virtart import styles
    from virtart.ui import region_handlers, video_handlers
    from virtart.ui.state import new_session

    name, rgb, mask = objects[0]
    size = (854, 480)
    frames, _ = camera_clip(rgb, mask, size, frames=FRAMES, seed=1)
    clip = str(write_clip(work / "page-stop.mp4", frames))
    session = new_session()
    video_handlers.show_keyframe(clip, 0, session)
    ellipse, half = half_frame_mask(size), size[0] // 2
    paintings = [painting.id for painting in styles.available()]
    for index, columns in enumerate((slice(0, half), slice(half, None))):
        session.mask = np.zeros_like(ellipse)
        session.mask[:, columns] = ellipse[:, columns]
        region_handlers.add_click_region(session)
        chosen = paintings.index(style) if index == 0 and style in paintings else index + 1
        region_handlers.select_style(session, gr.SelectData(None, {"index": chosen, "value": None}))
    shared_engine("fast")  # loaded before the clock starts
    job, answered = video_handlers.VideoJob(), {}

    def stop() -> None:
        answered["update"] = video_handlers.stop_clip(job)
        answered["seconds"] = time.perf_counter() - answered["pressed"]

    stopper = threading.Thread(target=stop)
    stream = video_handlers.stylize_clip(clip, 0, session, job)
    final = None
    for update in stream:
        if "pressed" not in answered and str(update.run_status).startswith(f"Frame {after} "):
            answered["pressed"] = time.perf_counter()
            stopper.start()
        if str(update.run_status).startswith("Stopped"):
            final, shown = update, time.perf_counter() - answered["pressed"]
    stopper.join()
    held = sum(1 for _ in io.read_frames(io.probe(final.download)))
    result = {"stop_to_stream_update_seconds": round(shown, 3), "stop_answer_seconds": round(answered["seconds"], 3),
              "clip_frames": held, "message": final.run_status,
              "same_message": answered["update"].run_status == final.run_status}
    print("page_stop", json.dumps(result), flush=True)
    return result


def untouched(clip: Path, out: Path, lossless: Path, masks: Path, feather: float | str) -> dict:
    """Mean |output - input| far from every region (beyond the edge band + MARGIN px)."""
    lossy_diffs, lossless_max = [], 0
    for original, encoded, copy in zip(io.read_frames(io.probe(clip)), io.read_frames(io.probe(out)),
                                       io.read_frames(io.probe(lossless)), strict=True):
        region = load_mask(masks / f"{original.index:06d}.png")
        band = int(np.ceil(edges.band_radius(region.shape, feather)))
        far = ~mask_ops.binary(mask_ops.dilate(region, band + MARGIN))
        height, width = original.rgb.shape[:2]
        lossy_diffs.append(np.abs(encoded.rgb[:height, :width][far].astype(int) - original.rgb[far]).mean())
        lossless_max = max(lossless_max, int(np.abs(copy.rgb[far].astype(int) - original.rgb[far]).max()))
    return {"mp4_mean_abs_diff": round(float(np.mean(lossy_diffs)), 3), "lossless_max_abs_diff": lossless_max}


def track_clip(frames: list[np.ndarray], truths: list[np.ndarray], recut: bool = False) -> float:
    tracker, estimator = MaskTracker([truths[0]], refine=grabcut_recut if recut else None), FlowEstimator()
    size = (frames[0].shape[1], frames[0].shape[0])
    previous, ious = flow_image(frames[0]), []
    for frame, truth in zip(frames[1:], truths[1:], strict=True):
        grey = flow_image(frame)
        (mask,) = tracker.step(estimator.between(previous, grey, size), frame)
        previous = grey
        ious.append(mask_ops.iou(np.zeros_like(truth) if mask is None else mask, truth))
    return float(np.mean(ious))


def tracking(objects, count: int, recut: bool = False) -> dict:
    results = {}
    for half, start in (("even", 0), ("odd", 1)):
        scores = {"object": [], "camera": []}
        started = time.perf_counter()
        for index in range(start, min(len(objects), 2 * count), 2):
            _, rgb, mask = objects[index]
            background = objects[(index + 1) % len(objects)][1]
            scores["object"].append(track_clip(*object_clip(rgb, mask, background, TRACK_SIZE, FRAMES, seed=index),
                                               recut=recut))
            scores["camera"].append(track_clip(*camera_clip(rgb, mask, TRACK_SIZE, FRAMES, seed=index), recut=recut))
        everything = scores["object"] + scores["camera"]
        results[half] = {"clips": len(everything), "mean_iou": round(float(np.mean(everything)), 4),
                         **{f"{kind}_mean_iou": round(float(np.mean(v)), 4) for kind, v in scores.items()},
                         "worst_clip_iou": round(float(np.min(everything)), 4),
                         "seconds": round(time.perf_counter() - started, 1)}
        print("tracking", "recut" if recut else "", half, json.dumps(results[half]), flush=True)
    return results


def warping_error(frames: list[np.ndarray], outputs: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """Lai et al. 2018 warping error inside the true region, non-occluded pixels only."""
    estimator = FlowEstimator(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, finest_scale=0)
    size = (frames[0].shape[1], frames[0].shape[0])
    errors = []
    for t in range(1, len(frames)):
        long_side = max(size)
        flows = estimator.between(flow_image(frames[t - 1], long_side), flow_image(frames[t], long_side), size)
        valid = consistent(flows) & mask_ops.binary(mask_ops.erode(truths[t], 2))
        if not valid.any():
            continue
        moved = warp(outputs[t - 1], flows.backward)
        errors.append(np.abs(outputs[t].astype(np.float32) - moved)[valid].mean())
    return float(np.mean(errors))


def flicker(objects, style: str, work: Path, count: int, start: int = 0) -> dict:
    ours, independent = [], []
    for index in range(start, min(len(objects) - 1, start + 2 * count), 2):
        _, rgb, mask = objects[index]
        for kind, (frames, truths) in (
                ("camera", camera_clip(rgb, mask, TRACK_SIZE, 30, seed=index)),
                ("object", object_clip(rgb, mask, objects[index + 1][1], TRACK_SIZE, 30, seed=index))):
            clip = write_clip(work / f"flicker-{index}-{kind}.mp4", frames)
            decoded = [f.rgb for f in io.read_frames(io.probe(clip))]
            for target, video in ((ours, VideoOptions()), (independent, VideoOptions(refresh_every=1, keep=0.0))):
                copy = work / "flicker.mkv"
                run_video(clip, truths[0], style, work / "flicker.mp4", lossless=copy, video=video)
                outputs = [f.rgb for f in io.read_frames(io.probe(copy))]
                target.append(warping_error(decoded, outputs, truths))
        print("flicker", index, round(ours[-1], 2), round(independent[-1], 2), flush=True)
    return {"photos": "even" if start % 2 == 0 else "odd", "clips": len(ours), "ours": round(float(np.mean(ours)), 3),
            "independent": round(float(np.mean(independent)), 3),
            "ratio": round(float(np.mean(ours) / np.mean(independent)), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--coco", default=str((settings.shared_dir() or Path("../shared")) / "eval" / "coco128-seg"))
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--clips", type=int, default=16, help="photos per half (even/odd) for tracking")
    parser.add_argument("--flicker-clips", type=int, default=4, help="photos for the flicker comparison")
    parser.add_argument("--flicker-half", choices=("even", "odd"), default="even",
                        help="photos for the flicker comparison")
    parser.add_argument("--skip", default="", help="comma-separated: throughput,stop,page_stop,tracking,recut,flicker")
    parser.add_argument("--sizes", default="480p,720p", help="comma-separated throughput sizes: 480p,720p")
    parser.add_argument("--report", help="write the JSON report here")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    objects = coco_objects(Path(args.coco))
    report: dict = {"machine": "2-core CPU, shared with other jobs"}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "throughput" not in skip:
            report["throughput"] = throughput(objects, args.style, work, set(args.sizes.split(",")))
        if "stop" not in skip:
            report["stop"] = stop_latency(objects, args.style, work)
        if "page_stop" not in skip:
            report["page_stop"] = page_stop_latency(objects, args.style, work)
        if "tracking" not in skip:
            report["tracking"] = tracking(objects, args.clips)
        if "recut" not in skip:
            report["tracking_recut"] = tracking(objects, args.clips, recut=True)
        if "flicker" not in skip:
            report["flicker"] = flicker(objects, args.style, work, args.flicker_clips,
                                        start=0 if args.flicker_half == "even" else 1)
    print(json.dumps(report, indent=2))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
