"""Benchmark region edges (issue 22); prints JSON.

Figures, each for today's feather (``masks.feather``, 4 px) against the refined alpha
(``virtart.edges``), on one half of each set (``--subset even|odd``: tune on even, confirm
on odd):

* ``accuracy``: boundary F (DAVIS, tolerance 0.8 % of the diagonal) and band MAE (mean
  |alpha - truth| within 10 px of the true edge) on GrabCut-50 (``../shared/eval/grabcut``,
  128 = ignore) and ``../shared/eval/coco_mval_dev``, from the offline segmenter's mask for
  the object's box (grown by 5 px, as ``bench_clicks.py``). Segmenter masks are cached under
  ``--out``/segmenter_masks (they do not depend on the edge code).
* ``rim``: rim contrast and rim gradient (``virtart.evaluation.edge_metrics``) for every
  gallery painting and every ``../shared/eval/styles_dev`` painting, on GrabCut photos with
  their true masks, the object and then the background painted with the fast engine.
  ``today``: the feathered mask's box painted with the photo in view; ``edges``: the
  refined alpha's box painted from :func:`virtart.edges.engine_input`. Also reported with the
  near ring 3-7 px from the edge (``beyond_contour_*``): the photo's own contour step raises
  its gradient at 1-2 px, which a painting that hides the contour does not repeat.
* ``timing``: the refined alpha at 2 MP (a GrabCut photo and its segmenter mask scaled up),
  with and without the matting band, the compositor's alphas for that one region and its rim
  tone (:func:`virtart.edges.follow_rim_tone`) for the background; median
  of ``--repeats``, wall-clock and CPU seconds (``--time-only``: this section alone).
* ``stability``: mean |change of alpha| in the edge band on a static-camera clip (a photo
  with fresh sensor noise, sigma 3 grey levels, in each of 12 frames, and the segmenter's
  mask shifted by up to 1 px per frame as a tracker's answer wobbles).

Crops along the edge (photo | today | edges) are saved as PNGs under ``--out``/crops.

    PYTHONPATH=. python bench/bench_edges.py --subset even [--sections accuracy,rim,timing,stability] \
        [--sets grabcut,coco_mval_dev] [--rim-photos 4] [--paintings starry_night,...] [--out out/edges]
    PYTHONPATH=. python bench/bench_edges.py --time-only --repeats 15
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from virtart import edges  # noqa: E402
from virtart import masks as mask_ops  # noqa: E402
from virtart.engines import composite  # noqa: E402
from virtart.engines.base import Region, StyleOptions  # noqa: E402
from virtart.evaluation import click_protocol, edge_metrics  # noqa: E402
from virtart.evaluation.click_protocol import object_box, split_ground_truth  # noqa: E402
from virtart.geometry import Box  # noqa: E402
from virtart.imageio import load_image  # noqa: E402
from virtart.styles import load_style  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
TODAY_FEATHER = 4.0
SETS = {"grabcut": ("eval/grabcut/images", "eval/grabcut/masks"),
        "coco_mval_dev": ("eval/coco_mval_dev/images", "eval/coco_mval_dev/gt")}


def half(items: list, subset: str) -> list:
    return items if subset == "all" else items[0 if subset == "even" else 1 :: 2]


def samples(name: str, subset: str, shared: Path):
    """``(stem, photo, object, ignored)`` for one half of a set."""
    images, gts = SETS[name]
    for stem, image_path, gt_path in half(click_protocol.find_pairs(shared / images, shared / gts), subset):
        obj, ignored = split_ground_truth(cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE))
        yield stem, load_image(image_path), obj, ignored


def segmenter_mask(cache: Path, set_name: str, stem: str, photo: np.ndarray, obj: np.ndarray,
                   ignored: np.ndarray, segmenter_holder: list) -> np.ndarray:
    """The offline segmenter's ``(H, W) bool`` mask for the object's box (cached as PNG)."""
    path = cache / set_name / f"{stem}.png"
    if path.is_file():
        return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127
    if not segmenter_holder:
        from virtart.segmentation.offline import OfflineSegmenter

        segmenter_holder.append(OfflineSegmenter())
    segmenter = segmenter_holder[0]
    mask = segmenter.predict(segmenter.set_image(photo), [], box=object_box(obj & ~ignored)).mask >= 0.5
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), mask.astype(np.uint8) * 255)
    return mask


def accuracy(subset: str, shared: Path, out: Path, sets: list[str]) -> dict:
    results = {}
    holder: list = []
    for set_name in sets:
        rows = {"today": [], "refined": [], "refined_no_matting": []}
        for stem, photo, obj, ignored in samples(set_name, subset, shared):
            mask = segmenter_mask(out / "segmenter_masks", set_name, stem, photo, obj, ignored, holder)
            alphas = {"today": mask_ops.feather(mask, TODAY_FEATHER),
                      "refined": edges.refine_alpha(photo, mask),
                      "refined_no_matting": edges.refine_alpha(photo, mask, matting=False)}
            for method, alpha in alphas.items():
                rows[method].append((edge_metrics.boundary_f(alpha, obj, ignored)["f"],
                                     edge_metrics.band_mae(alpha, obj, ignored)))
        summary = {method: {"images": len(values), "boundary_f": round(float(np.mean([v[0] for v in values])), 4),
                            "band_mae": round(float(np.mean([v[1] for v in values])), 4)}
                   for method, values in rows.items() if values}
        if summary:
            today = summary["today"]
            summary["change"] = {"boundary_f": round(summary["refined"]["boundary_f"] - today["boundary_f"], 4),
                                 "band_mae_relative": round(summary["refined"]["band_mae"] / today["band_mae"] - 1, 4)}
        results[set_name] = summary
    return results


def paint_today(engine, photo: np.ndarray, mask: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Before issue 22: the 4 px feather, the region's box painted with the photo in view."""
    alpha = mask_ops.feather(mask, TODAY_FEATHER)
    box = Box.around(alpha, threshold=0)
    canvas = photo.copy()
    box.of(canvas)[:] = engine.stylise_box(photo, box, engine.painting_vector(style))
    return composite.blend(photo, [(canvas, alpha)])


def paint_edges(engine, photo: np.ndarray, mask: np.ndarray, style: np.ndarray) -> np.ndarray:
    """The pipeline as it runs now (refined alphas, engine input with the contour out of sight)."""
    from virtart.pipeline import stylize

    *_, final = stylize(photo, [Region(mask, style)], engine=engine, options=StyleOptions(max_size=4096))
    return final.result.image


def edge_crop(photo: np.ndarray, obj: np.ndarray, size: int = 96) -> Box:
    """A square crop centred on a point of the object's edge (the topmost edge point)."""
    ys, xs = np.nonzero(edge_metrics.boundary_map(obj))
    y, x = int(ys[0]), int(xs[0])
    x0, y0 = max(0, x - size // 2), max(0, y - size // 2)
    return Box(x0, y0, min(photo.shape[1], x0 + size), min(photo.shape[0], y0 + size))


def paintings(shared: Path) -> list[Path]:
    suffixes = {".jpg", ".jpeg", ".png"}
    return [p for folder in ("styles", "eval/styles_dev") for p in sorted((shared / folder).iterdir())
            if p.suffix.lower() in suffixes]


def rim(subset: str, shared: Path, out: Path, photos: int, only: list[str] | None = None) -> dict:
    from virtart.engines.fast import FastEngine

    engine = FastEngine.from_registry("cpu")
    chosen = list(samples("grabcut", subset, shared))[:photos]
    crops = out / "crops"
    crops.mkdir(parents=True, exist_ok=True)
    results = {}
    for painting in paintings(shared):
        if only and painting.stem not in only:
            continue
        style, _ = load_style(str(painting))
        rows: dict[str, list] = {}
        for stem, photo, obj, _ in chosen:
            for side, region in (("object", obj), ("background", ~obj)):
                painted_inside = side == "object"
                row = []
                for method, paint in (("today", paint_today), ("edges", paint_edges)):
                    result = paint(engine, photo, region.astype(np.float32), style)
                    row.append(result)
                    beyond = edge_metrics.NEAR_RING_BEYOND_CONTOUR
                    rows.setdefault(f"{method}_{side}", []).append(
                        (edge_metrics.rim_contrast(photo, result, obj, painted_inside),
                         edge_metrics.rim_gradient(photo, result, obj, painted_inside),
                         edge_metrics.rim_contrast(photo, result, obj, painted_inside, beyond),
                         edge_metrics.rim_gradient(photo, result, obj, painted_inside, beyond)))
                crop = edge_crop(photo, obj)
                strip = np.concatenate([crop.of(photo)] + [crop.of(r) for r in row], axis=1)
                cv2.imwrite(str(crops / f"{painting.stem}_{stem}_{side}.png"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        results[painting.stem] = {
            key: {"rim_contrast_mean": round(float(np.mean([v[0] for v in values])), 2),
                  "rim_contrast_abs_mean": round(float(np.mean([abs(v[0]) for v in values])), 2),
                  "rim_gradient_mean": round(float(np.mean([v[1] for v in values])), 3),
                  # the same with the near ring 3-7 px, past the photo's own contour step
                  "beyond_contour_rim_contrast_abs_mean": round(float(np.mean([abs(v[2]) for v in values])), 2),
                  "beyond_contour_rim_gradient_mean": round(float(np.mean([v[3] for v in values])), 3)}
            for key, values in rows.items()}
    return {"photos": [stem for stem, *_ in chosen], "paintings": results}


def two_megapixels(shared: Path, out: Path) -> tuple[np.ndarray, np.ndarray]:
    stem, photo, obj, ignored = next(samples("grabcut", "all", shared))
    mask = segmenter_mask(out / "segmenter_masks", "grabcut", stem, photo, obj, ignored, [])
    scale = np.sqrt(2e6 / (photo.shape[0] * photo.shape[1]))
    size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
    big = cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC)
    return big, cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def timing(shared: Path, out: Path, repeats: int) -> dict:
    """Median seconds at 2 MP of today's feather, of the refined alpha without and with the
    matting band, and of the compositor's alphas for the one region (what the pipeline runs),
    measured in the same run (their ratios are steadier than the seconds on a shared machine);
    wall-clock (``*_s``) and this process's CPU time (``*_cpu_s``, less sensitive to other
    processes on the machine; it counts OpenCV's threads too)."""
    photo, mask = two_megapixels(shared, out)
    edges.refine_alpha(photo, mask)  # compiles the matting kernels once
    figures: dict = {"size": [photo.shape[1], photo.shape[0]], "repeats": repeats}
    runs = {"today_feather": lambda: mask_ops.feather(mask, TODAY_FEATHER),
            "without_matting": lambda: edges.refine_alpha(photo, mask, matting=False),
            "with_matting": lambda: edges.refine_alpha(photo, mask, matting=True),
            "region_alphas": lambda: composite.region_alphas(photo, [mask.astype(np.float32)]),
            # the compositor's rim tone for the background painted (the whole frame), a
            # stand-in painting (the photo upside down)
            "rim_tone_background": lambda: edges.follow_rim_tone(photo[::-1].copy(), photo, ~mask)}
    for label, function in runs.items():
        wall, cpu = [], []
        for _ in range(repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            function()
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        figures[f"{label}_s"] = round(float(np.median(wall)), 3)
        figures[f"{label}_cpu_s"] = round(float(np.median(cpu)), 3)
    for label in ("without_matting", "with_matting"):
        figures[f"{label}_over_feather"] = round(figures[f"{label}_s"] / figures["today_feather_s"], 2)
    figures["targets_met"] = {"without_matting_150ms": figures["without_matting_s"] <= 0.150,
                              "with_matting_1_5s": figures["with_matting_s"] <= 1.5}
    return figures


def stability(subset: str, shared: Path, out: Path, frames: int = 12) -> dict:
    rng = np.random.default_rng(0)
    results: dict[str, list] = {"today": [], "refined": [], "refined_quick": []}  # quick: a clip's frames
    for stem, photo, obj, ignored in list(samples("grabcut", subset, shared))[:4]:
        mask = segmenter_mask(out / "segmenter_masks", "grabcut", stem, photo, obj, ignored, [])
        clip_today, clip_refined, clip_quick = [], [], []
        for _ in range(frames):
            noisy = np.clip(photo + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
            shift = np.float32([[1, 0, rng.uniform(-1, 1)], [0, 1, rng.uniform(-1, 1)]])
            wobbled = cv2.warpAffine(mask.astype(np.float32), shift, mask.shape[::-1]) >= 0.5
            clip_today.append(mask_ops.feather(wobbled, TODAY_FEATHER))
            clip_refined.append(edges.refine_alpha(noisy, wobbled))
            clip_quick.append(edges.refine_alpha(noisy, wobbled, quick=True))
        results["today"].append(edges.alpha_stability(clip_today))
        results["refined"].append(edges.alpha_stability(clip_refined))
        results["refined_quick"].append(edges.alpha_stability(clip_quick))
    return {method: round(float(np.mean(values)), 4) for method, values in results.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subset", choices=["even", "odd", "all"], default="even")
    parser.add_argument("--sections", default="accuracy,rim,timing,stability")
    parser.add_argument("--time-only", action="store_true", help="only the 2 MP timing (same as --sections timing)")
    parser.add_argument("--sets", default=",".join(SETS), help="accuracy sets, comma-separated")
    parser.add_argument("--rim-photos", type=int, default=4)
    parser.add_argument("--paintings", default="", help="rim: only these paintings (file stems, comma-separated)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=Path("out/edges"))
    args = parser.parse_args(argv)
    sections = ["timing"] if args.time_only else args.sections.split(",")
    report: dict = {"subset": args.subset}
    if "accuracy" in sections:
        report["accuracy"] = accuracy(args.subset, args.shared, args.out, args.sets.split(","))
    if "timing" in sections:
        report["timing_2mp"] = timing(args.shared, args.out, args.repeats)
    if "stability" in sections:
        report["stability"] = stability(args.subset, args.shared, args.out)
    if "rim" in sections:
        report["rim"] = rim(args.subset, args.shared, args.out, args.rim_photos,
                            [name for name in args.paintings.split(",") if name])
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
