"""How close the page's "time left" is, for the Quality engine's automatic stop.

For each photo x painting pair (scikit-image sample photos; the gallery's paintings in
``../shared/styles``), run the Quality engine with ``steps=auto`` exactly as the page does
(``preview_every=1``), record every preview's step, elapsed time and losses, feed them to
:class:`virtart.ui.time_left.TimeLeft`, and report, at the first preview past half the real
run time, the estimated total time (elapsed + estimate) over the real one, and the forecast
step count over the real one. Prints JSON; ``--traces`` keeps the recorded runs and
``--replay`` re-scores an estimator on them without running the engine again.

    PYTHONPATH=. python bench/bench_time_left.py [--size 256] [--tiny] [--runs 12] [--out R.json]
        [--traces T.json | --replay T.json]

``--tiny`` uses a random, thinned VGG (no weights; timings then say nothing of the real
network, but the forecast step count still tests the stopping-rule model). Without it the
engine's own network is used (VGG-19 if its weights are cached, else the offline VGG-16).
Run it on a quiet machine: step times measured under load vary several-fold from step to
step, and a run whose load changes midway is misjudged whatever the forecast. The first run
of a process also pays the engine's one-time warm-up in its first steps. A quiet rerun:

    PYTHONPATH=. nice -n 5 python bench/bench_time_left.py --runs 12 --size 256 \
        --traces /tmp/time_left_256.json --out /tmp/time_left_256_out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from types import SimpleNamespace

import numpy as np

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")


def engine(tiny: bool):
    from virtart.engines.registry import shared_engine

    if not tiny:
        return shared_engine("gatys", "auto")
    import torch

    from tests.support.tiny_models import random_vgg19
    from virtart.engines.gatys import GatysEngine

    torch.manual_seed(0)
    return GatysEngine(dataclasses.replace(random_vgg19(width_divisor=16), name="tiny-vgg"), "cpu")


def options_for(size: int):
    from virtart.engines.registry import parse_options

    return parse_options("gatys", {"steps": "auto", "max_size": size, "preview_every": 1})


def record(runner, photo: np.ndarray, painting: np.ndarray, size: int) -> dict:
    """One run as the page makes it: every preview's ``[step, elapsed, losses]`` and the stop."""
    from virtart import pipeline
    from virtart.request import RegionRequest, StylizeRequest

    height, width = photo.shape[:2]
    mask = np.zeros((height, width), np.float32)
    mask[height // 5: 4 * height // 5, width // 5: 4 * width // 5] = 1.0
    request = StylizeRequest.create(photo, [RegionRequest(mask, painting)], "gatys", options_for(size))
    trace, started, stop = [], time.perf_counter(), None
    for preview in pipeline.run(request, runner):
        elapsed = time.perf_counter() - started  # the page's clock: the request's start, set-up included
        if preview.final:
            stop = preview.info.get("stop")
            trace.append([preview.step, elapsed, None])
        else:
            trace.append([preview.step, elapsed, {str(k): v for k, v in preview.losses.items()}])
    return {"trace": trace, "stop": stop}


def score(run: dict, size: int) -> dict:
    """Replay one recorded run through TimeLeft: the estimate at the first preview past half time."""
    from virtart.ui.time_left import TimeLeft

    clock, seen = TimeLeft(options_for(size)), []
    *previews, (steps, total, _) = run["trace"]
    for step, elapsed, losses in previews:
        left = clock.update(SimpleNamespace(step=step, elapsed=elapsed, final=False,
                                            losses={int(k): v for k, v in (losses or {}).items()}))
        seen.append((step, elapsed, left, clock.last_steps))
    half = next((s for s in seen if s[1] >= total / 2 and s[2] is not None), None)
    out = {"steps": steps, "seconds": round(total, 2), "reason": (run.get("stop") or {}).get("reason")}
    if half is None:
        return {**out, "estimate_at_half": None}
    return {**out, "half_step": half[0], "estimated_total_over_real": round((half[1] + half[2]) / total, 3),
            "forecast_steps_over_real": round(half[3] / steps, 3)}


def pairs(count: int) -> list[tuple[str, np.ndarray, str, np.ndarray]]:
    from skimage import data

    from virtart import styles
    from virtart.imageio import load_image

    paintings = [(p.id, load_image(styles.painting_path(p))) for p in styles.available()]
    photos = [(name, getattr(data, name)()) for name in PHOTOS]
    combos = itertools.islice(((p, s) for s in paintings for p in photos), count)
    return [(p[0], p[1], s[0], s[1]) for p, s in combos]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--out")
    parser.add_argument("--traces", help="write the recorded runs here")
    parser.add_argument("--replay", help="score the runs recorded in this file (no engine)")
    args = parser.parse_args()
    if args.replay:
        with open(args.replay) as file:
            recorded = json.load(file)
        args.size, args.tiny = recorded["size"], recorded["tiny"]
        runs = recorded["runs"]
    else:
        runner = engine(args.tiny)
        runs = []
        for p, photo, s, painting in pairs(args.runs):
            runs.append({"photo": p, "painting": s, **record(runner, photo, painting, args.size)})
            print(f"run {len(runs)}: {p} x {s}, {runs[-1]['trace'][-1][0]} steps, {runs[-1]['trace'][-1][1]:.1f} s",
                  file=sys.stderr, flush=True)
            if args.traces:  # after every run, so a long bench that is stopped keeps what it measured
                with open(args.traces, "w") as file:
                    json.dump({"size": args.size, "tiny": args.tiny, "runs": runs}, file)
    scored = [{"photo": r["photo"], "painting": r["painting"], **score(r, args.size)} for r in runs]
    ratios = [r["estimated_total_over_real"] for r in scored if r.get("estimated_total_over_real")]
    report = {"size": args.size, "tiny": args.tiny, "runs": scored,
              "within_30_percent": sum(abs(r - 1) <= 0.3 for r in ratios), "of": len(scored)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text + "\n")


if __name__ == "__main__":
    main()
