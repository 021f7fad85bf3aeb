"""Quality engine: how soon it reaches its converged result, and how good that result is.

For each case (a scikit-image photo with a fixed region, times a gallery painting) it runs,
in one process, the reference (the engine as it was: photo start, Adam, 150 steps) and the
new default (fast-engine start, ``steps="auto"``), plus any ``--variants``, and scores every
run with :mod:`virtart.evaluation.quality` (offline VGG-16, fixed definitions):

* ``seconds`` and ``cpu_seconds``: the run's wall and CPU time (the evaluator's own time is
  excluded; CPU time is the steadier figure on a shared machine), ``steps``, why it stopped;
* ``style`` / ``content``: the final result's style and content distance inside the region;
* ``t_within_2pct``: when the style distance came (and stayed) within 2 % of its final value,
  from the previews (one every ``--trace-every`` steps);
* per case and as medians: new / reference ratios of wall time and of style and content distance.

Usage:
    python bench/bench_quality.py                        # 9 cases at 512 px (long: ~1 s a step on 2 cores)
    python bench/bench_quality.py --size 256 --cases even --variants photo-auto fast-150 lbfgs
    python bench/bench_quality.py --cases 3 --size 512  # the first three cases
Cases are numbered photo-major (astronaut x 3 paintings, chelsea x 3, coffee x 3); tune on
``even``, confirm on ``odd``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart.engines import gatys  # noqa: E402
from virtart.engines.registry import GatysOptions  # noqa: E402
from virtart.evaluation.quality import QualityEvaluator, within_fraction  # noqa: E402
from virtart.pipeline import RegionRequest, stylize  # noqa: E402
from virtart.styles import load_style  # noqa: E402

PAINTINGS = ("starry_night", "the_scream", "great_wave")
# Each photo's region: an ellipse (centre x, y and half-axes, as fractions of width and height)
# around its subject, so the cases need no segmenter and never change.
REGIONS = {"astronaut": (0.42, 0.55, 0.30, 0.45), "chelsea": (0.55, 0.55, 0.35, 0.42),
           "coffee": (0.50, 0.45, 0.32, 0.36)}

REFERENCE = GatysOptions(steps=150, init="photo", optimizer="adam")
NEW_DEFAULT = GatysOptions()
VARIANTS = {
    "photo-auto": replace(NEW_DEFAULT, init="photo"),
    "fast-150": replace(NEW_DEFAULT, steps=150),
    "fast-lr-0.05-100": replace(NEW_DEFAULT, steps=100, learning_rate=0.05),
    "fast-lbfgs-60": replace(NEW_DEFAULT, steps=60, optimizer="lbfgs"),
    "photo-lbfgs-60": replace(NEW_DEFAULT, steps=60, optimizer="lbfgs", init="photo"),
    "lbfgs": replace(NEW_DEFAULT, optimizer="lbfgs"),
    "fp32": replace(NEW_DEFAULT, precision="fp32"),
    "style-scale-0.75": replace(NEW_DEFAULT, style_scale=0.75),
    "lr-0.03": replace(NEW_DEFAULT, learning_rate=0.03),
    "lr-0.01": replace(NEW_DEFAULT, learning_rate=0.01),
    "tol-0.05": replace(NEW_DEFAULT, auto_tolerance=0.05),
    "tol-0.02": replace(NEW_DEFAULT, auto_tolerance=0.02),
    "tol-0.07": replace(NEW_DEFAULT, auto_tolerance=0.07),
    "style-weight-5": replace(NEW_DEFAULT, style_weight=5.0),
    "coarse-to-fine": NEW_DEFAULT,  # run with the coarsest stage at half the working size
    "threads-1": NEW_DEFAULT,  # run with one torch thread
}


def case_list(size: int) -> list[dict]:
    from skimage import data

    cases = []
    for photo_name in REGIONS:
        photo = getattr(data, photo_name)()
        scale = size / max(photo.shape[:2])
        photo = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        height, width = photo.shape[:2]
        cx, cy, ax, ay = REGIONS[photo_name]
        mask = np.zeros((height, width), np.uint8)
        cv2.ellipse(mask, (round(cx * width), round(cy * height)), (round(ax * width), round(ay * height)),
                    0, 0, 360, 1, -1)
        for painting in PAINTINGS:
            cases.append({"photo_name": photo_name, "painting": painting, "photo": photo,
                          "mask": mask.astype(np.float32)})
    return cases


def select(cases: list[dict], spec: str) -> list[int]:
    if spec == "all":
        return list(range(len(cases)))
    if spec in ("even", "odd"):
        return list(range(0 if spec == "even" else 1, len(cases), 2))
    if "," in spec:
        return [int(i) for i in spec.split(",") if i.strip()]
    return list(range(min(int(spec), len(cases))))


def run_once(case: dict, options: GatysOptions, evaluator: QualityEvaluator, variant: str) -> dict:
    painting, _ = load_style(case["painting"])
    photo, mask = case["photo"], case["mask"]
    coarsest, threads = gatys.COARSEST_STAGE, torch.get_num_threads()
    if variant == "coarse-to-fine":
        gatys.COARSEST_STAGE = max(photo.shape[:2]) // 2
    if variant == "threads-1":
        torch.set_num_threads(1)
    trace, final, wall, cpu = [], None, 0.0, 0.0
    try:
        runner = stylize(photo, [RegionRequest(mask, painting)], engine="gatys", options=options)
        while True:  # the clocks run only inside the engine, not while a preview is scored
            wall_began, cpu_began = time.perf_counter(), time.process_time()
            preview = next(runner, None)
            wall, cpu = wall + time.perf_counter() - wall_began, cpu + time.process_time() - cpu_began
            if preview is None:
                break
            if not preview.final and preview.step > 1 and preview.step % options.preview_every:
                continue  # the engine reports every step; score the ones it read losses on
            image = preview.image if preview.image.shape == photo.shape else cv2.resize(
                preview.image, (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_AREA)
            score = evaluator.score(photo, image, mask, painting)
            losses = next(iter(preview.losses.values()), {})
            objective = options.style_weight * losses.get("style", 0.0) + options.content_weight * losses.get("content", 0.0)
            trace.append((wall, preview.step, score.style, score.content, cpu, objective))
            final = preview
    finally:
        gatys.COARSEST_STAGE = coarsest
        torch.set_num_threads(threads)
    report = final.result.report
    seconds, steps, style, content, cpu_seconds, _ = trace[-1]
    return {"variant": variant, "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2), "steps": steps,
            "stopped": report["stopped"], "start": report["start"], "first_preview_s": round(trace[0][0], 2),
            "style": round(style, 4), "content": round(content, 4), "start_style": round(trace[0][2], 4),
            "start_content": round(trace[0][3], 4),
            "t_within_2pct": round(within_fraction([t[0] for t in trace], [t[2] for t in trace]), 2),
            "outside_changed_pixels": report["outside_changed_pixels"],
            "trace": [[round(t[0], 2), round(t[4], 2), t[1], round(t[2], 4), round(t[3], 4), round(t[5], 4)]
                      for t in trace]}


def ratios(new: dict, reference: dict) -> dict:
    return {"time_to_final": round(new["seconds"] / reference["seconds"], 3),
            "cpu_time_to_final": round(new["cpu_seconds"] / reference["cpu_seconds"], 3),
            "steps": round(new["steps"] / reference["steps"], 3),
            "time_within_2pct": round(new["t_within_2pct"] / max(1e-9, reference["t_within_2pct"]), 3),
            "style": round(new["style"] / reference["style"], 3),
            "content": round(new["content"] / reference["content"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="long side of the photos and the working size")
    parser.add_argument("--cases", default="all", help="all, even, odd, N (the first N) or indices like 0,4,8")
    parser.add_argument("--variants", nargs="*", default=[], choices=sorted(VARIANTS))
    parser.add_argument("--no-reference", action="store_true", help="skip the reference (lever sweeps)")
    parser.add_argument("--trace-every", type=int, default=5, help="steps between two scored previews")
    parser.add_argument("--threads", type=int, default=0, help="torch and onnxruntime threads (0: their defaults)")
    parser.add_argument("--trace", action="store_true",
                        help="keep each run's trajectory: [wall s, cpu s, step, style, content, objective] per scored preview")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["VIRTART_ONNX_THREADS"] = str(args.threads)
    cases = case_list(args.size)
    evaluator = QualityEvaluator.offline(long_side=args.size)
    runs = ([] if args.no_reference else [("reference", REFERENCE)]) + [("default", NEW_DEFAULT)] + \
        [(name, VARIANTS[name]) for name in args.variants]
    rows = []
    for index in select(cases, args.cases):
        case = cases[index]
        row = {"case": index, "photo": case["photo_name"], "painting": case["painting"], "runs": {}}
        for name, options in runs:
            options = replace(options, max_size=args.size, preview_every=args.trace_every)
            run = run_once(case, options, evaluator, name)
            trace = run.pop("trace")
            print(json.dumps({"case": index, **run, "trace": trace}), file=sys.stderr, flush=True)
            row["runs"][name] = {**run, "trace": trace} if args.trace else run
        if "reference" in row["runs"]:
            row["ratios"] = {name: ratios(run, row["runs"]["reference"])
                             for name, run in row["runs"].items() if name != "reference"}
        rows.append(row)
    summary = {}
    if rows and "ratios" in rows[0]:
        for name in rows[0]["ratios"]:
            summary[name] = {key: round(statistics.median(r["ratios"][name][key] for r in rows), 3)
                             for key in rows[0]["ratios"][name]}
    result = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "torch_threads": torch.get_num_threads(), "note": "shared with other jobs"},
              "size": args.size, "cases": [r["case"] for r in rows],
              "reference": {"steps": REFERENCE.steps, "init": REFERENCE.init, "optimizer": REFERENCE.optimizer},
              "default": {"steps": NEW_DEFAULT.steps, "init": NEW_DEFAULT.init, "optimizer": NEW_DEFAULT.optimizer,
                          "auto_tolerance": NEW_DEFAULT.auto_tolerance, "auto_window": NEW_DEFAULT.auto_window,
                          "auto_max_steps": NEW_DEFAULT.auto_max_steps},
              "median_ratios_vs_reference": summary, "per_case": rows}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
