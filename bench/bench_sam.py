"""SAM ViT-B through :class:`SamSegmenter`: seconds for ``set_image`` and for one click.

Random weights (no SAM checkpoint can be had here): the timings are the model's, the masks
are meaningless. Runs on CUDA when present, on CPU otherwise. Targets (issue 3, H100):
set_image <= 30 ms, a click <= 10 ms. Prints one JSON object.

    python bench/bench_sam.py [--arch vit_b] [--repeats N] [--clicks 20] [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def _timed(function, device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    result = function()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vit_b", choices=("vit_b", "vit_l", "vit_h"))
    parser.add_argument("--repeats", type=int, default=None,
                        help="distinct photos embedded after one warm-up (default: 10 on CUDA, 2 on CPU)")
    parser.add_argument("--clicks", type=int, default=20, help="clicks timed on the last photo")
    parser.add_argument("--size", default="1024x768", help="photo size WxH")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from virtart.segmentation.sam import SamSegmenter, build_segment_anything, default_device

    device = default_device() if args.device == "auto" else args.device
    if args.repeats is None:
        args.repeats = 10 if device.startswith("cuda") else 2
    torch.manual_seed(0)
    started = time.perf_counter()
    segmenter = SamSegmenter(build_segment_anything(args.arch), name=f"sam-{args.arch.replace('_', '-')}",
                             device=device, cache_size=args.repeats + 2)
    build_seconds = time.perf_counter() - started
    width, height = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(args.repeats + 1)]

    _timed(lambda: segmenter.set_image(photos[0]), segmenter.device)  # warm-up (kernels, allocator)
    set_image = []
    for photo in photos[1:]:
        seconds, state = _timed(lambda photo=photo: segmenter.set_image(photo), segmenter.device)
        set_image.append(seconds)
    cached, _ = _timed(lambda: segmenter.set_image(photos[-1]), segmenter.device)

    clicks, previous, points = [], None, []
    for index in range(args.clicks + 1):
        points = [*points, (float(rng.uniform(0, width)), float(rng.uniform(0, height)), int(index % 3 != 2))]
        seconds, previous = _timed(lambda p=points, prev=previous: segmenter.predict(state, p, previous=prev),
                                   segmenter.device)
        if index:  # the first click warms up the decoder
            clicks.append(seconds)

    print(json.dumps({
        "benchmark": f"SAM {args.arch} (random weights) through SamSegmenter",
        "device": torch.cuda.get_device_name(segmenter.device) if segmenter.device.type == "cuda"
        else f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "photo": f"{width}x{height}",
        "build_seconds": round(build_seconds, 2),
        "set_image_ms": {"median": round(1000 * statistics.median(set_image), 1),
                         "min": round(1000 * min(set_image), 1), "runs": len(set_image)},
        "set_image_cached_ms": round(1000 * cached, 3),
        "click_ms": {"median": round(1000 * statistics.median(clicks), 2),
                     "min": round(1000 * min(clicks), 2), "runs": len(clicks)},
        "targets_h100_ms": {"set_image": 30, "click": 10},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
