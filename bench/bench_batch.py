"""``virtart batch`` throughput and driver memory, printed as JSON.

An album is made from the shared COCO photos (``../shared/eval/coco128-seg``, cycled and copied
as ``photoNNNN.jpg``), each with a mask of its labelled objects (``masks/photoNNNN.png``, drawn
from the set's polygons); the recipe has two regions: that mask per input (Starry Night) and
everything else (The Great Wave, 0.7), the fast engine at its default working size. Measured,
each as wall time of a fresh process (model loading included):

* ``batch``: ``virtart batch`` with 1 and 2 workers (a local Ray);
* ``in_process``: the same worker code (:class:`~virtart.batch.worker.AlbumWorker`) in a plain
  loop, no Ray: the floor Ray's overhead is measured against;
* ``shell_loop``: one ``virtart stylize`` process per photo, over the first ``--shell`` photos
  (per-photo cost: it loads its models every time);
* ``driver_memory``: the driver's peak RSS (``ru_maxrss``) on albums of ``--memory`` sizes of
  small photos with a trivial engine (``NegativeEngine``; what the driver holds does not depend
  on the engine or the photos' size: it never sees pixels).

Run quietly for figures (the CPU here is shared): ``nice -n 5 python bench/bench_batch.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COCO = REPO.parent / "shared" / "eval" / "coco128-seg"
RECIPE = {"version": 1, "engine": "fast",
          "regions": [{"mask": "masks/{stem}.png", "style": "starry_night", "strength": 1.0},
                      {"invert": True, "style": "great_wave", "strength": 0.7}]}


def labelled_photos() -> list[tuple[Path, Path]]:
    pairs = []
    for image in sorted((COCO / "images" / "train2017").glob("*.jpg")):
        label = COCO / "labels" / "train2017" / f"{image.stem}.txt"
        if label.is_file() and label.read_text().strip():
            pairs.append((image, label))
    return pairs


def objects_mask(label: Path, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    for line in label.read_text().splitlines():
        values = [float(v) for v in line.split()[1:]]
        polygon = np.array(values, np.float32).reshape(-1, 2) * (width, height)
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    return mask


def make_album(folder: Path, count: int, long_side: int | None = None) -> Path:
    """``count`` photos cycled from the labelled COCO photos, with their masks and the recipe."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    pairs = labelled_photos()
    for index in range(count):
        image, label = pairs[index % len(pairs)]
        name = f"photo{index:04d}"
        bgr = cv2.imread(str(image))
        if long_side:
            scale = long_side / max(bgr.shape[:2])
            bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / "photos" / f"{name}.jpg"), bgr)
        else:
            shutil.copyfile(image, folder / "photos" / f"{name}.jpg")
        cv2.imwrite(str(folder / "masks" / f"{name}.png"), objects_mask(label, (bgr.shape[1], bgr.shape[0])))
    (folder / "recipe.json").write_text(json.dumps(RECIPE, indent=2))
    return folder


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def run_batch_cli(album: Path, out: Path, workers: int) -> float:
    return timed([sys.executable, "-m", "virtart", "batch", str(album / "recipe.json"), str(album / "photos"),
                  "--out", str(out), "--workers", str(workers)])


def run_shell_loop(album: Path, out: Path, count: int) -> float:
    out.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for photo in sorted((album / "photos").glob("*.jpg"))[:count]:
        mask = album / "masks" / f"{photo.stem}.png"
        total += timed([sys.executable, "-m", "virtart", "stylize", str(photo), "--engine", "fast",
                        "--region", f"{mask}=starry_night@1.0", "--style", "great_wave", "--strength", "0.7",
                        "--mask", str(mask), "--invert-mask", "--out", str(out / f"{photo.stem}.png")])
    return total


def in_process(album: str, out: str) -> None:
    """The plain loop (run in its own process by ``--mode in-process``): prints its seconds."""
    started = time.perf_counter()
    from virtart.batch.inputs import collect
    from virtart.batch.recipe import load_recipe
    from virtart.batch.worker import AlbumWorker

    recipe = load_recipe(Path(album) / "recipe.json")
    worker = AlbumWorker(recipe.source, recipe.base_dir, out)
    failed = [item.path for item in collect([str(Path(album) / "photos")], out)
              if worker.process(item.path, item.output, item.kind)["error"]]
    print(json.dumps({"seconds": time.perf_counter() - started, "failed": failed}))


def driver_memory(count: int) -> None:
    """Peak RSS of a driver over ``count`` small photos, the negative engine (``--mode memory``)."""
    from tests.support.tiny_models import negative_engine
    from virtart.batch.recipe import parse_recipe
    from virtart.batch.run import run_batch

    work = Path(tempfile.mkdtemp(prefix="virtart-bench-memory-"))
    try:
        album = make_album(work / "album", count, long_side=96)
        recipe = parse_recipe(RECIPE, album)
        started = time.perf_counter()
        summary = run_batch(recipe, [str(album / "photos")], work / "out", workers=1, device="cpu",
                            engine_factory=negative_engine, progress=False)
        print(json.dumps({"photos": count, "done": summary.done, "failed": summary.failed,
                          "seconds": round(time.perf_counter() - started, 1),
                          "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--album", type=int, default=200, help="photos in the throughput album")
    parser.add_argument("--long-side", type=int, default=None,
                        help="shrink the album's photos to this long side in px (default: as they are, 640)")
    parser.add_argument("--shell", type=int, default=20, help="photos the shell loop of `virtart stylize` runs on")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--memory", default="100,1000", help="album sizes for the driver's memory")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: batch,in_process,shell,memory")
    parser.add_argument("--mode", choices=["in-process", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "in-process":
        return in_process(*args.args)
    if args.mode == "memory":
        return driver_memory(int(args.args[0]))
    skip = set(filter(None, args.skip.split(",")))
    work = Path(tempfile.mkdtemp(prefix="virtart-bench-batch-"))
    figures: dict = {"album": args.album, "long_side": args.long_side or "as shared (640)", "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    try:
        album = make_album(work / "album", args.album, long_side=args.long_side)
        if "in_process" not in skip:
            result = subprocess.run([sys.executable, __file__, "--mode", "in-process", str(album), str(work / "plain")],
                                    check=True, capture_output=True, text=True, env=_env(), cwd=REPO)
            seconds = json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
            figures["in_process"] = {"seconds": round(seconds, 1), "photos_per_second": round(args.album / seconds, 3)}
        if "batch" not in skip:
            for workers in [int(w) for w in args.workers.split(",")]:
                seconds = run_batch_cli(album, work / f"batch{workers}", workers)
                figures[f"batch_{workers}_workers"] = {"seconds": round(seconds, 1),
                                                       "photos_per_second": round(args.album / seconds, 3)}
        if "shell" not in skip:
            seconds = run_shell_loop(album, work / "shell", args.shell)
            figures["shell_loop"] = {"photos": args.shell, "seconds": round(seconds, 1),
                                     "photos_per_second": round(args.shell / seconds, 3)}
        rate = {key: value["photos_per_second"] for key, value in figures.items()
                if isinstance(value, dict) and "photos_per_second" in value}
        if "batch_1_workers" in rate and "shell_loop" in rate:
            figures["batch_vs_shell_loop"] = round(rate["batch_1_workers"] / rate["shell_loop"], 2)
        if "batch_1_workers" in rate and "in_process" in rate:
            figures["batch_vs_in_process"] = round(rate["batch_1_workers"] / rate["in_process"], 3)
        if "batch_2_workers" in rate and "batch_1_workers" in rate:
            figures["2_vs_1_workers"] = round(rate["batch_2_workers"] / rate["batch_1_workers"], 3)
        if "memory" not in skip:
            peaks = {}
            for count in [int(c) for c in args.memory.split(",")]:
                result = subprocess.run([sys.executable, __file__, "--mode", "memory", str(count)], check=True,
                                        capture_output=True, text=True, env=_env(), cwd=REPO)
                peaks[count] = json.loads(result.stdout.strip().splitlines()[-1])
            figures["driver_memory"] = peaks
            sizes = sorted(peaks)
            if len(sizes) >= 2:
                figures["driver_memory_ratio"] = round(peaks[sizes[-1]]["driver_peak_rss_mb"]
                                                       / peaks[sizes[0]]["driver_peak_rss_mb"], 3)
        figures["load_average_at_end"] = os.getloadavg()
        print(json.dumps(figures, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
