"""The GPU check: every figure the GPU targets speak of, from one run, as one JSON file.

Run through ``bench/gpu_check.sh`` (which brings missing wheels along). ``--mode gpu`` uses
full-size, random-weight networks (VGG-19, SAM ViT-B: their timings do not depend on the
weights, and real weights do not travel to the GPU machine); ``--mode cpu`` runs the same code
at tiny sizes, with a thinned VGG-19 and a two-block SAM, so CI keeps it working.

Sections (each records its own error instead of stopping the others):

* ``gatys``: our engine, 300 steps at 512 and 1024 px, beside the PyTorch tutorial recipe
  (fp32, L-BFGS, 300 evaluations, same layers) in the same run: seconds, the ratio, peak GPU
  memory; then both again with snapshots, every snapshot scored by the one shared loss (the
  recipe's own, :class:`bench_gatys.TutorialLoss`), to give the time each needs to reach the
  recipe's final loss (None: not reached within the steps).
* ``bf16_vs_fp32``: our engine from the same start in bf16 autocast and in fp32 (on CUDA both
  run channels_last): the mean absolute pixel difference of the results, in grey levels.
* ``sam``: SAM ``set_image`` (distinct photos, so no cached embedding) and per-click latency.
* ``fast``: the fast engine on a 1024 and a 2048 px photo (half of it a region).
* ``pytest_gpu``: ``pytest -m gpu tests/test_gpu.py`` (they skip without CUDA).
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_gatys import TutorialLoss, image_tensor, tutorial_recipe  # noqa: E402

from tests.support.tiny_models import random_vgg19  # noqa: E402
from virtart.engines.base import MAX_WORKING_SIZE, Region, StyleOptions  # noqa: E402
from virtart.engines.gatys import GatysEngine  # noqa: E402
from virtart.engines.registry import GatysOptions  # noqa: E402
from virtart.pipeline import stylize  # noqa: E402

MODES = {
    "gpu": {"device": "cuda", "gatys_sizes": [512, 1024], "steps": 300, "snapshot_every": 25, "warmup_steps": 10,
            "bf16_size": 512, "bf16_steps": 300, "vgg_width_divisor": 1, "sam": "vit_b", "sam_photos": 6,
            "clicks": 20, "fast_sizes": [1024, 2048], "fast_repeats": 3, "budget_s": 300},
    "cpu": {"device": "cpu", "gatys_sizes": [32, 48], "steps": 4, "snapshot_every": 2, "warmup_steps": 1,
            "bf16_size": 32, "bf16_steps": 2, "vgg_width_divisor": 8, "sam": "tiny", "sam_photos": 2,
            "clicks": 3, "fast_sizes": [64, 128], "fast_repeats": 1, "budget_s": 60},
}
# The H100 targets, recorded beside the figures as targets: this script claims nothing.
TARGETS = {
    "gatys_512px_300_steps_s": "<= 0.5",
    "gatys_512px_speedup_vs_recipe": ">= 8",
    "gatys_1024px_300_steps_s": "<= 1.2",
    "peak_gpu_gb": "<= 4",
    "bf16_vs_fp32_mean_abs_diff_grey_levels": "<= 2 (stated tolerance)",
    "sam_vit_b_set_image_ms": "<= 30",
    "sam_vit_b_click_ms": "<= 10",
}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_gb(device: str) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 3) if device.startswith("cuda") else None


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def sample(size: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's astronaut (the photo) and coffee (the painting), both ``size`` x ``size``."""
    from skimage import data

    def square(image):
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)

    return square(data.astronaut()), square(data.coffee())


def run_ours(engine: GatysEngine, photo, style, steps: int, precision: str = "auto",
             preview_every: int | None = None) -> tuple[float, list[tuple[float, np.ndarray]]]:
    """Seconds for ``steps`` steps over the whole photo, and ``(seconds, image)`` per preview."""
    mask = np.ones(photo.shape[:2], np.float32)
    options = GatysOptions(steps=steps, max_size=MAX_WORKING_SIZE, preview_every=preview_every or steps,
                           precision=precision)
    snapshots = []
    sync(str(engine.device))
    started = time.perf_counter()
    for preview in stylize(photo, [Region(mask, style)], engine=engine, options=options):
        if preview_every or preview.final:
            snapshots.append((time.perf_counter() - started, preview.image))
    sync(str(engine.device))
    return time.perf_counter() - started, snapshots


def time_to_reach(objective: TutorialLoss, snapshots, target: float, device: str) -> tuple[float | None, float]:
    """Seconds of the first snapshot whose shared loss is at most ``target``, and the last one's loss."""
    reached, loss = None, float("nan")
    with torch.no_grad():
        for seconds, image in snapshots:
            loss = float(objective(image_tensor(image, device)))
            if reached is None and loss <= target * (1 + 1e-6):
                reached = seconds
    return (None if reached is None else round(reached, 3)), loss


def gatys_section(engine: GatysEngine, config: dict) -> list[dict]:
    device, steps, every = config["device"], config["steps"], config["snapshot_every"]
    features = engine.network.features
    rows = []
    for size in config["gatys_sizes"]:
        photo, style = sample(size)
        run_ours(engine, photo, style, config["warmup_steps"])  # kernels chosen, memory pools filled
        tutorial_recipe(features, photo, style, config["warmup_steps"], torch.device(device))
        reset_peak(device)
        ours_s, _ = run_ours(engine, photo, style, steps)
        ours_peak = peak_gb(device)
        reset_peak(device)
        recipe_s = tutorial_recipe(features, photo, style, steps, torch.device(device))
        recipe_peak = peak_gb(device)
        # The same runs again with snapshots (a copy each), scored afterwards by the shared loss.
        _, ours_snapshots = run_ours(engine, photo, style, steps, preview_every=every)
        recipe_snapshots: list = []
        tutorial_recipe(features, photo, style, steps, torch.device(device), recipe_snapshots, every)
        objective = TutorialLoss(features, photo, style, device)
        recipe_final = float(objective(image_tensor(recipe_snapshots[-1][1], device)).detach())
        recipe_reach, _ = time_to_reach(objective, recipe_snapshots, recipe_final, device)
        ours_reach, ours_final = time_to_reach(objective, ours_snapshots, recipe_final, device)
        rows.append({
            "size": size, "steps": steps, "ours_s": round(ours_s, 3), "recipe_s": round(recipe_s, 3),
            "speedup_vs_recipe": round(recipe_s / ours_s, 2), "peak_gpu_gb_ours": ours_peak,
            "peak_gpu_gb_recipe": recipe_peak,
            "shared_loss": {"recipe_final": recipe_final, "ours_final": ours_final,
                            "snapshot_every": every,
                            "recipe_s_to_recipe_final": recipe_reach, "ours_s_to_recipe_final": ours_reach},
        })
    return rows


def bf16_section(engine: GatysEngine, config: dict) -> dict:
    photo, style = sample(config["bf16_size"])
    results = {precision: run_ours(engine, photo, style, config["bf16_steps"], precision)[1][-1][1]
               for precision in ("fp32", "bf16")}
    difference = np.abs(results["bf16"].astype(np.float32) - results["fp32"].astype(np.float32))
    return {"size": config["bf16_size"], "steps": config["bf16_steps"],
            "channels_last": config["device"].startswith("cuda"),
            "mean_abs_diff_grey_levels": round(float(difference.mean()), 3),
            "p99_abs_diff_grey_levels": round(float(np.percentile(difference, 99)), 3)}


def sam_section(config: dict) -> dict:
    from tests.support.tiny_models import tiny_sam
    from virtart.segmentation.sam import SamSegmenter, build_segment_anything

    device = config["device"]
    model = build_segment_anything("vit_b") if config["sam"] == "vit_b" else tiny_sam()
    segmenter = SamSegmenter(model, name="sam-vit-b", device=device, cache_size=2)
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8) for _ in range(config["sam_photos"] + 2)]
    encode_ms, state = [], None
    for index, photo in enumerate(photos):  # distinct photos: no cached embedding
        sync(device)
        started = time.perf_counter()
        state = segmenter.set_image(photo)
        sync(device)
        if index >= 2:  # the first two warm up
            encode_ms.append((time.perf_counter() - started) * 1000)
    click_ms = []
    for index in range(config["clicks"] + 2):
        point = (float(rng.integers(0, 1024)), float(rng.integers(0, 768)), 1)
        started = time.perf_counter()
        segmenter.predict(state, [point])  # returns a numpy mask: the device is done
        if index >= 2:
            click_ms.append((time.perf_counter() - started) * 1000)
    return {"model": "sam vit_b (random weights)" if config["sam"] == "vit_b" else "tiny sam (2 blocks, random)",
            "photo": "1024x768", "set_image_ms": round(float(np.median(encode_ms)), 2),
            "click_ms": round(float(np.median(click_ms)), 2)}


def fast_section(config: dict) -> list[dict]:
    from skimage import data

    from virtart.engines.fast import FastEngine

    engine = FastEngine.from_registry(device=config["device"])
    rows = []
    for size in config["fast_sizes"]:
        photo = cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)
        mask = np.zeros(photo.shape[:2], np.float32)
        mask[:, : size // 2] = 1
        options = StyleOptions(max_size=MAX_WORKING_SIZE, device=config["device"])
        list(stylize(photo, [Region(mask, data.coffee())], engine=engine, options=options))  # warm-up
        times = []
        for _ in range(config["fast_repeats"]):
            started = time.perf_counter()
            list(stylize(photo, [Region(mask, data.coffee())], engine=engine, options=options))
            times.append(time.perf_counter() - started)
        rows.append({"size": size, "region": "half", "seconds": round(float(np.median(times)), 3),
                     "onnxruntime_device": engine.stylizer.device})
    return rows


class Tally:
    """A pytest plugin that counts outcomes and keeps the first line of each failure."""

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {}
        self.failures: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[report.outcome] = self.outcomes.get(report.outcome, 0) + 1
        if report.failed:
            self.failures.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1][:300]}")


def pytest_section() -> dict:
    """``pytest -m gpu tests/test_gpu.py`` in this process (its imports are already paid for)."""
    import pytest

    tally = Tally()
    arguments = ["-m", "gpu", str(REPO / "tests" / "test_gpu.py"), "-q", "-p", "no:cacheprovider",
                 "--rootdir", str(REPO)]
    command = "pytest -m gpu tests/test_gpu.py"
    code = pytest.main(arguments, plugins=[tally])  # (pytest adds its addopts to the list)
    return {"command": command, "returncode": int(code),
            "outcomes": tally.outcomes, "failures": tally.failures}


def machine(device: str) -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "device": device}
    if device.startswith("cuda"):
        info.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                    cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                    matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="gpu")
    parser.add_argument("--out", type=Path, required=True, help="where to write gpu_check.json")
    args = parser.parse_args()
    config = MODES[args.mode]
    device = config["device"]
    if device == "cuda" and not torch.cuda.is_available():
        print("error: --mode gpu needs a CUDA GPU (use --cpu for the tiny CPU run)", file=sys.stderr)
        return 2
    if device == "cpu":
        torch.set_num_threads(1)  # a shared 2-core CI machine: two spin-waiting threads run far slower
    torch.manual_seed(0)  # random-weight networks; a benchmark process, never a request
    started = time.perf_counter()
    result: dict = {"mode": args.mode, "machine": machine(device), "config": config, "targets": TARGETS}
    engine = GatysEngine(random_vgg19(device, config["vgg_width_divisor"]), device)
    result["perceptual_net"] = engine.network.name
    sections = {"gatys": lambda: gatys_section(engine, config), "bf16_vs_fp32": lambda: bf16_section(engine, config),
                "sam": lambda: sam_section(config), "fast": lambda: fast_section(config), "pytest_gpu": pytest_section}
    for name, section in sections.items():
        if time.perf_counter() - started > config["budget_s"]:
            result[name] = {"error": f"skipped: the {config['budget_s']} s budget was spent"}
            continue
        try:
            result[name] = section()
        except Exception as exc:  # noqa: BLE001 - one section's failure is a figure too
            result[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        print(f"gpu_check: {name} done at {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    result["seconds_total"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
