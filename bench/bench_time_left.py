"""How close the page's "time left" is, for the Quality engine's automatic stop.

For each photo of ``../shared/eval/styles_dev``-style pairs (the scikit-image samples and the
gallery's paintings here), run the Quality engine with ``steps=auto`` exactly as the page does
(``preview_every=1``), feed every preview to :class:`virtart.ui.time_left.TimeLeft`, and
report, at the first preview past half the real run time, the estimated total time (elapsed +
estimate) over the real one, and the forecast step count over the real one. Prints JSON.

    PYTHONPATH=. python bench/bench_time_left.py [--size 256] [--tiny] [--out R.json]

``--tiny`` uses a random, thinned VGG (no weights; timings then say nothing of the real
network, but the forecast step count still tests the stopping-rule model). Run it on a quiet
machine: step times measured under load vary several-fold from step to step.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np


def engine(tiny: bool):
    from virtart.engines.registry import shared_engine

    if not tiny:
        return shared_engine("gatys", "auto")
    import torch

    from tests.support.tiny_models import random_vgg19
    from virtart.engines.gatys import GatysEngine

    torch.manual_seed(0)
    return GatysEngine(dataclasses.replace(random_vgg19(width_divisor=16), name="tiny-vgg"), "cpu")


def one_run(runner, photo: np.ndarray, painting: np.ndarray, size: int) -> dict:
    from virtart import pipeline
    from virtart.engines.registry import parse_options
    from virtart.request import RegionRequest, StylizeRequest
    from virtart.ui.time_left import TimeLeft

    height, width = photo.shape[:2]
    mask = np.zeros((height, width), np.float32)
    mask[height // 5: 4 * height // 5, width // 5: 4 * width // 5] = 1.0
    options = parse_options("gatys", {"steps": "auto", "max_size": size, "preview_every": 1})
    request = StylizeRequest.create(photo, [RegionRequest(mask, painting)], "gatys", options)
    clock, trace, started = TimeLeft(request.options), [], time.perf_counter()
    for preview in pipeline.run(request, runner):
        trace.append((preview.step, time.perf_counter() - started, clock.update(preview), clock.last_steps))
    total, steps = time.perf_counter() - started, trace[-1][0]
    half = next((t for t in trace if t[1] >= total / 2 and t[2] is not None), None)
    if half is None:
        return {"steps": steps, "seconds": round(total, 2), "estimate_at_half": None}
    return {"steps": steps, "seconds": round(total, 2), "half_step": half[0],
            "estimated_total_over_real": round((half[1] + half[2]) / total, 3),
            "forecast_steps_over_real": round(half[3] / steps, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    from skimage import data

    photos = {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea()}
    paintings = {"rocket": data.rocket(), "coffee": data.coffee()}
    runner = engine(args.tiny)
    runs = [{"photo": p, "painting": s, **one_run(runner, photo, painting, args.size)}
            for p, photo in photos.items() for s, painting in paintings.items() if s != p]
    ratios = [r["estimated_total_over_real"] for r in runs if r.get("estimated_total_over_real")]
    report = {"size": args.size, "tiny": args.tiny, "runs": runs,
              "within_30_percent": sum(abs(r - 1) <= 0.3 for r in ratios), "of": len(ratios)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text + "\n")


if __name__ == "__main__":
    main()
