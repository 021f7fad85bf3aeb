"""Quality engine: how soon it reaches its converged result, and how good that result is.

Cases are three shared photos (``../shared/eval/grabcut``: a person and a llama with the
subject painted, a sheep with the background painted; regions from the set's own masks)
times every gallery painting (``../shared/styles``) and every ``../shared/eval/styles_dev``
painting. For each case it runs, in one process, the reference (photo start, Adam, 150 steps;
cached in ``--reference-cache`` so each is run once per size) and the default (``StyleOptions()``),
plus any ``--variants``, and scores every run with :mod:`virtart.evaluation.quality`
(offline VGG-16, fixed definitions):

* ``seconds`` and ``cpu_seconds``: the run's wall and CPU time (the evaluator's own time is
  excluded; CPU time is the steadier figure on a shared machine), ``steps``, why it stopped,
  ``first_preview_s`` (the step-0 picture) and the 1-minute load average when the run ended;
* ``style`` / ``content``: the final result's style and content distance inside the region;
* ``t_within_2pct``: when the style distance came (and stayed) within 2 % of its final value,
  from the previews (one every ``--trace-every`` steps);
* per case and as medians: new / reference ratios of wall and CPU time and of style and
  content distance, and whether the case meets the targets (CPU time <= 0.35, style and
  content <= 1.10 of the reference's).

Usage:
    python bench/bench_quality.py --size 384 --paintings tune --photos person1,llama
    python bench/bench_quality.py --size 512 --paintings confirm --out bench/results/quality_512_confirm.json
    python bench/bench_quality.py --size 384 --summarise run.json cut_short.err  # join with cached references
Tuning paintings: the_scream, asheville, sketch (``--paintings tune``); the other nine confirm.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, replace
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

SHARED = Path(__file__).resolve().parents[2] / "shared"
GALLERY = ("starry_night", "the_scream", "great_wave", "shipwreck_of_the_minotaur", "udnie", "woman_with_a_hat",
           "mondrian_composition")
STYLES_DEV = ("antimonocromatismo.jpg", "asheville.jpg", "brushstrokes.jpg", "flower_of_life.jpg", "sketch.png")
TUNE = ("the_scream", "asheville", "sketch")
# photo -> (image file in eval/grabcut/images, whether the region is the background)
PHOTOS = {"person1": ("person1.jpg", False), "llama": ("llama.bmp", False), "sheep": ("sheep.jpg", True)}
TARGETS = {"cpu_time": 0.35, "style": 1.10, "content": 1.10}

REFERENCE = GatysOptions(steps=150, init="photo", optimizer="adam", start_content=None)
NEW_DEFAULT = GatysOptions()
VARIANTS = {
    "photo-auto": replace(NEW_DEFAULT, init="photo"),
    "fast-80": replace(NEW_DEFAULT, steps=80),
    "lbfgs": replace(NEW_DEFAULT, optimizer="lbfgs"),
    "fp32": replace(NEW_DEFAULT, precision="fp32"),
    "style-scale-0.75": replace(NEW_DEFAULT, style_scale=0.75),
    "tol-0.05": replace(NEW_DEFAULT, auto_tolerance=0.05),
    "tol-0.1": replace(NEW_DEFAULT, auto_tolerance=0.1),
    "coarse-to-fine": NEW_DEFAULT,  # run with the coarsest stage at half the working size
    "threads-1": NEW_DEFAULT,  # run with one torch thread
}


def painting_path(name: str) -> str:
    """A gallery id as is; a styles_dev painting by its file's path."""
    for file in STYLES_DEV:
        if Path(file).stem == name:
            return str(SHARED / "eval" / "styles_dev" / file)
    return name


def case_list(size: int, paintings: list[str], photos: list[str]) -> list[dict]:
    cases = []
    for photo_name in photos:
        file, background = PHOTOS[photo_name]
        photo = cv2.cvtColor(cv2.imread(str(SHARED / "eval" / "grabcut" / "images" / file)), cv2.COLOR_BGR2RGB)
        mask = cv2.imread(str(SHARED / "eval" / "grabcut" / "masks" / (Path(file).stem + ".bmp")), cv2.IMREAD_GRAYSCALE)
        scale = size / max(photo.shape[:2])
        shape = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
        photo = cv2.resize(photo, shape, interpolation=cv2.INTER_AREA)
        mask = cv2.resize((mask > 128).astype(np.float32), shape, interpolation=cv2.INTER_AREA)
        mask = (1.0 - mask if background else mask).astype(np.float32)
        for painting in paintings:
            cases.append({"photo_name": photo_name, "painting": painting, "photo": photo, "mask": mask})
    return cases


def painting_names(spec: str) -> list[str]:
    every = list(GALLERY) + [Path(file).stem for file in STYLES_DEV]
    if spec == "all":
        return every
    if spec in ("tune", "confirm"):
        return [name for name in every if (name in TUNE) == (spec == "tune")]
    return [name.strip() for name in spec.split(",") if name.strip()]


def run_once(case: dict, options: GatysOptions, evaluator: QualityEvaluator, variant: str, engine_every: int) -> dict:
    painting, _ = load_style(painting_path(case["painting"]))
    photo, mask = case["photo"], case["mask"]
    coarsest, threads = gatys.COARSEST_STAGE, torch.get_num_threads()
    if variant == "coarse-to-fine":
        gatys.COARSEST_STAGE = max(photo.shape[:2]) // 2
    if variant == "threads-1":
        torch.set_num_threads(1)
    trace, final, wall, cpu, engine_losses = [], None, 0.0, 0.0, []
    score_every = options.preview_every
    options = replace(options, preview_every=engine_every or options.preview_every)
    try:
        runner = stylize(photo, [RegionRequest(mask, painting)], engine="gatys", options=options)
        while True:  # the clocks run only inside the engine, not while a preview is scored
            wall_began, cpu_began = time.perf_counter(), time.process_time()
            preview = next(runner, None)
            wall, cpu = wall + time.perf_counter() - wall_began, cpu + time.process_time() - cpu_began
            if preview is None:
                break
            losses = next(iter(preview.losses.values()), {})
            if losses and not preview.final:
                engine_losses.append([preview.step, round(losses["style"], 5), round(losses["content"], 5)])
            if not preview.final and preview.step > 1 and preview.step % score_every:
                continue
            image = preview.image if preview.image.shape == photo.shape else cv2.resize(
                preview.image, (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_AREA)
            score = evaluator.score(photo, image, mask, painting)
            trace.append((wall, preview.step, score.style, score.content, cpu))
            final = preview
    finally:
        gatys.COARSEST_STAGE = coarsest
        torch.set_num_threads(threads)
    report = final.result.report
    seconds, steps, style, content, cpu_seconds = trace[-1]
    return {"variant": variant, "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2), "steps": steps,
            "stopped": report["stopped"], "start": report["start"], "start_mix": final.info.get("start_mix"), "first_preview_s": round(trace[0][0], 2), "first_preview_cpu_s": round(trace[0][4], 2),
            "load_1min": round(os.getloadavg()[0], 2),
            "style": round(style, 4), "content": round(content, 4), "start_style": round(trace[0][2], 4),
            "start_content": round(trace[0][3], 4),
            "t_within_2pct": round(within_fraction([t[0] for t in trace], [t[2] for t in trace]), 2),
            "outside_changed_pixels": report["outside_changed_pixels"],
            "trace": [[round(t[0], 2), round(t[4], 2), t[1], round(t[2], 4), round(t[3], 4)] for t in trace],
            "engine_losses": engine_losses}


def ratios(new: dict, reference: dict) -> dict:
    result = {"time_to_final": round(new["seconds"] / reference["seconds"], 3),
              "cpu_time_to_final": round(new["cpu_seconds"] / reference["cpu_seconds"], 3),
              "steps": round(new["steps"] / reference["steps"], 3),
              "style": round(new["style"] / reference["style"], 3),
              "content": round(new["content"] / reference["content"], 3)}
    result["meets_targets"] = (result["cpu_time_to_final"] <= TARGETS["cpu_time"] and result["style"] <= TARGETS["style"]
                               and result["content"] <= TARGETS["content"])
    return result


def reference_key(case: dict, size: int) -> str:
    """Cache key: the reference's options are fixed (a new engine option must leave them as they were)."""
    return f"{case['photo_name']}|{case['painting']}|{size}|photo-start-adam-150"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="long side of the photos and the working size")
    parser.add_argument("--paintings", default="all", help="all, tune, confirm, or names like the_scream,sketch")
    parser.add_argument("--photos", default=",".join(PHOTOS), help="names among " + ", ".join(PHOTOS))
    parser.add_argument("--variants", nargs="*", default=[], choices=sorted(VARIANTS))
    parser.add_argument("--custom", action="append", default=[], metavar="NAME=JSON",
                        help='an extra variant: the default with these options, e.g. blend=\'{"start_content": 0.3}\'')
    parser.add_argument("--no-default", action="store_true", help="run only the reference and the variants")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference (lever sweeps)")
    parser.add_argument("--reference-cache", default=str(Path(__file__).parent / "results" / "quality_references.json"),
                        help="JSON of reference runs by photo, painting, size and options (read, then extended)")
    parser.add_argument("--trace-every", type=int, default=5, help="steps between two scored previews")
    parser.add_argument("--engine-every", type=int, default=0,
                        help="steps between two engine loss readings kept in the trace (0: as scored)")
    parser.add_argument("--threads", type=int, default=0, help="torch and onnxruntime threads (0: their defaults)")
    parser.add_argument("--trace", action="store_true",
                        help="keep each run's trajectory: [wall s, cpu s, step, style, content] per scored preview "
                             "and the engine's [step, style, content] losses")
    parser.add_argument("--out", help="also write the result JSON here")
    parser.add_argument("--summarise", nargs="*", metavar="RESULT_JSON",
                        help="run nothing: join these results' runs with the cached references and summarise")
    args = parser.parse_args()
    if args.summarise is not None:
        return summarise(args)
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["VIRTART_ONNX_THREADS"] = str(args.threads)
    cases = case_list(args.size, painting_names(args.paintings), [p.strip() for p in args.photos.split(",")])
    evaluator = QualityEvaluator.offline(long_side=args.size)
    cache_path = Path(args.reference_cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    runs = ([] if args.no_default else [("default", NEW_DEFAULT)]) + [(name, VARIANTS[name]) for name in args.variants]
    for spec in args.custom:
        name, _, settings = spec.partition("=")
        runs.append((name, replace(NEW_DEFAULT, **json.loads(settings))))
    rows = []
    for case in cases:
        row = {"photo": case["photo_name"], "painting": case["painting"], "runs": {}}
        if not args.no_reference:
            key = reference_key(case, args.size)
            if key not in cache:
                options = replace(REFERENCE, max_size=args.size, preview_every=args.trace_every)
                cache[key] = run_once(case, options, evaluator, "reference", 0)
                cache_path.write_text(json.dumps(cache, indent=1))
            row["runs"]["reference"] = dict(cache[key])
        for name, options in runs:
            options = replace(options, max_size=args.size, preview_every=args.trace_every)
            run = run_once(case, options, evaluator, name, args.engine_every)
            print(json.dumps({"photo": case["photo_name"], "painting": case["painting"],
                              **{k: v for k, v in run.items() if args.trace or k not in ("trace", "engine_losses")}}),
                  file=sys.stderr, flush=True)
            row["runs"][name] = run
        if not args.trace:
            for run in row["runs"].values():
                run.pop("trace", None), run.pop("engine_losses", None)
        if "reference" in row["runs"]:
            row["ratios"] = {name: ratios(run, row["runs"]["reference"])
                             for name, run in row["runs"].items() if name != "reference"}
            print(json.dumps({"photo": case["photo_name"], "painting": case["painting"], "ratios": row["ratios"]}),
                  file=sys.stderr, flush=True)
        rows.append(row)
    write_result(args, rows)


def summarise(args: argparse.Namespace) -> None:
    """Ratios of earlier results' runs against the references cached since (run in other processes)."""
    cache = json.loads(Path(args.reference_cache).read_text())
    rows = []
    for file in args.summarise:
        result = load_result(Path(file), args.size)
        for row in result["per_case"]:
            key = f"{row['photo']}|{row['painting']}|{result['size']}|photo-start-adam-150"
            if key in cache:
                row["runs"]["reference"] = {k: v for k, v in cache[key].items() if k not in ("trace", "engine_losses")}
                row["ratios"] = {name: ratios(run, row["runs"]["reference"])
                                 for name, run in row["runs"].items() if name != "reference"}
            rows.append(row)
    write_result(args, [row for row in rows if "ratios" in row], missing=[
        f"{row['photo']}|{row['painting']}" for row in rows if "ratios" not in row])


def load_result(path: Path, size: int) -> dict:
    """A result JSON, or the per-run JSON lines a run printed on stderr (for runs cut short)."""
    if path.suffix == ".json":
        return json.loads(path.read_text())
    rows: dict[tuple[str, str], dict] = {}
    for line in path.read_text().splitlines():
        run = json.loads(line) if line.startswith('{"photo"') else {}
        if "variant" in run:
            row = rows.setdefault((run["photo"], run["painting"]), {"photo": run["photo"], "painting": run["painting"],
                                                                     "runs": {}})
            row["runs"][run.pop("variant")] = {k: v for k, v in run.items() if k not in ("photo", "painting")}
    return {"size": size, "per_case": list(rows.values())}


def write_result(args: argparse.Namespace, rows: list[dict], missing: list[str] | None = None) -> None:
    summary = {}
    for name in dict.fromkeys(name for row in rows for name in row.get("ratios", {})):
        having = [row for row in rows if name in row.get("ratios", {})]
        summary[name] = {key: round(statistics.median(r["ratios"][name][key] for r in having), 3)
                         for key in having[0]["ratios"][name] if key != "meets_targets"}
        summary[name]["cases"] = len(having)
        summary[name]["cases_meeting_targets"] = sum(r["ratios"][name]["meets_targets"] for r in having)
        summary[name]["median_seconds"] = statistics.median(r["runs"][name]["seconds"] for r in having)
        summary[name]["max_first_preview_s"] = max(r["runs"][name]["first_preview_s"] for r in having)
    result = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "torch_threads": torch.get_num_threads(), "note": "shared with other jobs"},
              "size": args.size, "cases": len(rows), "paintings": args.paintings, "photos": args.photos,
              "reference": {"steps": REFERENCE.steps, "init": REFERENCE.init, "optimizer": REFERENCE.optimizer},
              "default": asdict(NEW_DEFAULT), "targets": TARGETS,
              "median_ratios_vs_reference": summary, "per_case": rows,
              "cases_without_reference": missing or []}
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
