"""Gatys engine speed: ms per step by working size and precision; on a GPU, 300-step runs
beside a plain PyTorch-tutorial recipe (fp32, L-BFGS, 300 evaluations, same layers).

Prints one JSON object. Usage:
    python bench/bench_gatys.py                 # CPU: 256, 512, 1024 px
    python bench/bench_gatys.py --sizes 512 --steps 5 --precisions fp32 bf16
On a CUDA machine it also runs the 300-step comparison (``--gpu-steps``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart.engines.base import Region, StyleOptions  # noqa: E402
from virtart.engines.gatys import GatysEngine  # noqa: E402
from virtart.models.vgg import CONTENT_TAP, STYLE_TAPS, normalize  # noqa: E402
from virtart.styles import load_style  # noqa: E402


def sample(size: int) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    photo = cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
    try:
        style, _ = load_style("starry_night")
    except Exception:  # noqa: BLE001 - no gallery: any texture times the same
        style = cv2.resize(data.coffee(), (size, size))
    return photo, style


def ms_per_step(engine: GatysEngine, size: int, steps: int, precision: str) -> dict:
    photo, style = sample(size)
    mask = np.ones(photo.shape[:2], np.float32)
    options = StyleOptions(steps=steps + 2, max_size=size, preview_every=1, precision=precision)
    stamps = []
    for preview in engine.run(photo, [Region(mask, style)], options):
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        if preview.final:
            break
    step_times = np.diff(stamps[2 : 2 + steps + 1])  # skip warm-up steps
    return {"size": size, "precision": precision, "ms_per_step": round(float(np.median(step_times)) * 1000, 1)}


def cpu_levers(engine: GatysEngine, size: int, repeats: int) -> list[dict]:
    """One step's work (forward to relu5_1 and backward) by threads, memory layout and precision:
    wall and CPU seconds, median of ``repeats`` after a warm-up."""
    rows, threads_before = [], torch.get_num_threads()
    image = torch.rand(1, 3, size, size)
    try:
        for threads in (1, threads_before) if threads_before > 1 else (1,):
            torch.set_num_threads(threads)
            for layout in ("contiguous", "channels_last"):
                for precision in ("fp32", "bf16"):
                    walls, cpus = [], []
                    for _ in range(repeats + 1):
                        x = image.clone().requires_grad_(True)
                        wall, cpu = time.perf_counter(), time.process_time()
                        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                            y = normalize(x)
                            if layout == "channels_last":
                                y = y.contiguous(memory_format=torch.channels_last)
                            features = engine.network.features(y, STYLE_TAPS + (CONTENT_TAP,))
                            loss = sum(f.float().pow(2).mean() for f in features.values())
                        loss.backward()
                        walls.append(time.perf_counter() - wall)
                        cpus.append(time.process_time() - cpu)
                    rows.append({"size": size, "threads": threads, "layout": layout, "precision": precision,
                                 "wall_s": round(float(np.median(walls[1:])), 3),
                                 "cpu_s": round(float(np.median(cpus[1:])), 3)})
    finally:
        torch.set_num_threads(threads_before)
    return rows


def tutorial_recipe(network, photo: np.ndarray, style: np.ndarray, evaluations: int, device) -> float:
    """The PyTorch tutorial's recipe: fp32, L-BFGS on the image, plain Grams, same layers."""
    def tensor(image):
        return torch.from_numpy(image).to(device).permute(2, 0, 1)[None].float() / 255

    def gram(f):
        c = f.shape[1]
        flat = f.reshape(c, -1)
        return flat @ flat.t() / flat.numel()

    content, style_t = tensor(photo), tensor(style)
    with torch.no_grad():
        content_target = network(normalize(content), (CONTENT_TAP,))[CONTENT_TAP]
        style_targets = {k: gram(v) for k, v in network(normalize(style_t), STYLE_TAPS).items()}
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image])
    count = [0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    while count[0] < evaluations:
        def closure():
            with torch.no_grad():
                image.clamp_(0, 1)
            optimizer.zero_grad()
            features = network(normalize(image), STYLE_TAPS + (CONTENT_TAP,))
            loss = 1e6 * sum(torch.nn.functional.mse_loss(gram(features[k]), style_targets[k]) for k in STYLE_TAPS)
            loss = loss + torch.nn.functional.mse_loss(features[CONTENT_TAP], content_target)
            loss.backward()
            count[0] += 1
            return loss
        optimizer.step(closure)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def gpu_comparison(engine: GatysEngine, sizes: list[int], steps: int) -> list[dict]:
    rows = []
    for size in sizes:
        photo, style = sample(size)
        mask = np.ones(photo.shape[:2], np.float32)
        options = StyleOptions(steps=steps, max_size=size, preview_every=steps)
        list(engine.run(photo, [Region(mask, style)], options))  # warm-up
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        started = time.perf_counter()
        list(engine.run(photo, [Region(mask, style)], options))
        torch.cuda.synchronize()
        ours = time.perf_counter() - started
        peak = torch.cuda.max_memory_allocated() / 2**30
        style_small = cv2.resize(style, (size, size))
        baseline = tutorial_recipe(engine.network.features, photo, style_small, steps, engine.device)
        rows.append({"size": size, "steps": steps, "ours_s": round(ours, 3), "tutorial_s": round(baseline, 3),
                     "speedup": round(baseline / ours, 2), "peak_gpu_gb": round(peak, 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per size (after 2 warm-up steps)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--gpu-steps", type=int, default=300)
    parser.add_argument("--network", default="auto")
    parser.add_argument("--levers", type=int, default=0, metavar="SIZE",
                        help="also time threads x channels_last x bf16 for one step's work at SIZE px")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    engine = GatysEngine.from_registry(device=device, prefer=args.network)
    result = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": device,
                    "gpu": torch.cuda.get_device_name() if device == "cuda" else None},
        "perceptual_net": engine.network.name,
        "ms_per_step": [ms_per_step(engine, size, args.steps, precision)
                        for size in args.sizes for precision in args.precisions],
    }
    if args.levers:
        result["cpu_levers"] = cpu_levers(engine, args.levers, repeats=3)
    if device == "cuda":
        result["gpu_300_steps"] = gpu_comparison(engine, [512, 1024], args.gpu_steps)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
