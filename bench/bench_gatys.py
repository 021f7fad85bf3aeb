"""Gatys engine speed: ms per step by working size and precision; and the PyTorch tutorial's
recipe (fp32, L-BFGS, same layers) with its loss, which ``bench/gpu_check.py`` runs beside our
engine for the 300-step comparison on a GPU.

Prints one JSON object. Usage:
    python bench/bench_gatys.py                 # CPU: 256, 512, 1024 px
    python bench/bench_gatys.py --sizes 512 --steps 5 --precisions fp32 bf16
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

from virtart.engines.base import Region  # noqa: E402
from virtart.engines.gatys import GatysEngine  # noqa: E402
from virtart.engines.registry import GatysOptions  # noqa: E402
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
    options = GatysOptions(steps=steps + 2, max_size=size, preview_every=1, precision=precision)
    stamps = []
    for preview in engine.run(photo, [Region(mask, style)], options):
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        if preview.final:
            break
    step_times = np.diff(stamps[2 : 2 + steps + 1])  # skip warm-up steps
    return {"size": size, "precision": precision, "ms_per_step": round(float(np.median(step_times)) * 1000, 1)}


def image_tensor(image: np.ndarray, device) -> torch.Tensor:
    """``(H, W, 3) uint8`` -> ``(1, 3, H, W)`` float in [0, 1], contiguous (L-BFGS views its gradient flat)."""
    return (torch.from_numpy(image).to(device).permute(2, 0, 1)[None].float() / 255).contiguous()


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


class TutorialLoss:
    """The PyTorch tutorial's objective: plain Grams on the style taps (weight 1e6) plus the
    content MSE at ``relu4_2``. It drives the recipe, and it is the one loss both engines'
    results are scored with (:mod:`bench.gpu_check`)."""

    def __init__(self, network, photo: np.ndarray, style: np.ndarray, device) -> None:
        self.network = network
        with torch.no_grad():
            self.content_target = network(normalize(image_tensor(photo, device)), (CONTENT_TAP,))[CONTENT_TAP]
            style_features = network(normalize(image_tensor(style, device)), STYLE_TAPS)
            self.style_targets = {k: self.gram(v) for k, v in style_features.items()}

    @staticmethod
    def gram(features: torch.Tensor) -> torch.Tensor:
        flat = features.reshape(features.shape[1], -1)
        return flat @ flat.t() / flat.numel()

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        mse = torch.nn.functional.mse_loss
        features = self.network(normalize(image), STYLE_TAPS + (CONTENT_TAP,))
        loss = 1e6 * sum(mse(self.gram(features[k]), self.style_targets[k]) for k in STYLE_TAPS)
        return loss + mse(features[CONTENT_TAP], self.content_target)


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def tutorial_recipe(network, photo: np.ndarray, style: np.ndarray, evaluations: int, device,
                    snapshots: list | None = None, snapshot_every: int = 0) -> float:
    """The PyTorch tutorial's recipe: fp32, L-BFGS on the image, plain Grams, same layers.

    Returns the seconds ``evaluations`` loss evaluations took. With ``snapshots`` (a list), it
    appends ``(seconds so far, (H, W, 3) uint8 image)`` every ``snapshot_every`` evaluations
    and at the end (snapshots cost a device sync and a copy each: time them apart).
    """
    objective = TutorialLoss(network, photo, style, device)
    image = image_tensor(photo, device).clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image])
    count = [0]
    _sync(device)
    started = time.perf_counter()

    def closure():
        with torch.no_grad():
            image.clamp_(0, 1)
        optimizer.zero_grad()
        loss = objective(image)
        loss.backward()
        count[0] += 1
        if snapshots is not None and snapshot_every and count[0] % snapshot_every == 0:
            _sync(device)
            snapshots.append((time.perf_counter() - started, to_uint8(image)))
        return loss

    while count[0] < evaluations:
        # the tutorial's loop, stopped at exactly ``evaluations`` (one per L-BFGS iteration, no line search)
        remaining = evaluations - count[0]
        optimizer.param_groups[0].update(max_iter=min(20, remaining), max_eval=min(25, remaining))
        optimizer.step(closure)
    _sync(device)
    seconds = time.perf_counter() - started
    if snapshots is not None:
        snapshots.append((seconds, to_uint8(image)))
    return seconds


def to_uint8(image: torch.Tensor) -> np.ndarray:
    return image.detach()[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per size (after 2 warm-up steps)")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
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
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
