"""The batch worker: loads its models once, then turns each input into an output and a row.

:class:`AlbumWorker` is the callable class Ray Data's ``map_batches`` builds once per worker
(an actor); it also runs as it is in a plain loop (the benchmark's in-process baseline).
Each input is decoded by :func:`virtart.imageio.load_photo` (EXIF rotation, size limits) or
opened by :func:`virtart.video.pipeline.open_video`, its regions found with the recipe's
prompts, painted, and written through a temporary file renamed into place when complete.
Whatever goes wrong with one input becomes that input's ``error``; the worker goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from virtart import settings
from virtart.batch.recipe import Detect, Recipe, parse_recipe
from virtart.engines.base import Engine
from virtart.errors import VirtArtError, collect_warnings

# Factories run inside each worker (so models are built there, once); tests pass small ones.
EngineFactory = Callable[[str], Engine]  # device -> engine
DetectFactory = Callable[[], Detect]


def default_detect(device: str = "auto") -> Detect:
    """Detected objects with the shared detector and segmenter (YOLO boxes, masks per box)."""
    from virtart.segmentation import get_segmenter
    from virtart.segmentation.detect import detect_objects, get_detector

    get_detector()
    segmenter = get_segmenter("auto")

    def detect(rgb: np.ndarray, classes: list[str], min_score: float) -> list:
        return detect_objects(rgb, classes=classes, min_score=min_score, segmenter=segmenter)

    return detect


class AlbumWorker:
    """``worker(batch)`` -> rows, for Ray Data: ``batch`` has the columns ``path``, ``output``
    and ``kind`` (see :class:`~virtart.batch.inputs.Item`); each output row has ``input``,
    ``output``, ``recipe``, ``seconds``, ``regions`` (JSON text) and ``error`` ("" if none)."""

    def __init__(self, recipe: dict, base_dir: str, out_dir: str, device: str = "auto",
                 engine_factory: EngineFactory | None = None, detect_factory: DetectFactory | None = None) -> None:
        settings.apply_offline_defaults()
        from virtart.engines.registry import resolve_device, shared_engine

        self.recipe: Recipe = parse_recipe(recipe, base_dir)
        self.out_dir = Path(out_dir)
        self.device = resolve_device(device)
        self.engine = engine_factory(self.device) if engine_factory else shared_engine(self.recipe.engine, self.device)
        self.detect = None
        if self.recipe.detects:
            self.detect = detect_factory() if detect_factory else default_detect(self.device)

    def __call__(self, batch: dict) -> dict:
        rows = [self.process(str(path), str(output), str(kind))
                for path, output, kind in zip(batch["path"], batch["output"], batch["kind"], strict=True)]
        return {key: [row[key] for row in rows] for key in ("input", "output", "recipe", "seconds", "regions", "error")}

    def process(self, path: str, output: str, kind: str) -> dict:
        """One input to its output file and its manifest row."""
        import json

        started = time.perf_counter()
        found: list[dict] = []
        error = ""
        with collect_warnings() as notes:
            try:
                found = self._clip(path, output) if kind == "clip" else self._photo(path, output)
            except VirtArtError as exc:
                error = str(exc)
            except MemoryError:
                error = "out of memory; try a smaller max_size in the recipe's options"
            except Exception as exc:  # noqa: BLE001 - one bad input is a row, never the end of the run
                error = f"unexpected {type(exc).__name__}: {exc}"
        if notes:
            found.append({"notes": notes})
        return {"input": path, "output": output, "recipe": self.recipe.digest,
                "seconds": round(time.perf_counter() - started, 3), "regions": json.dumps(found), "error": error}

    def _photo(self, path: str, output: str) -> list[dict]:
        from virtart.imageio import load_photo, save_png
        from virtart.pipeline import run

        photo = load_photo(path, label=Path(path).name)
        request, found = self.recipe.request_for(photo, path, self.detect)
        final = None
        for preview in run(request, self.engine):
            if preview.final:
                final = preview
        if final is None or final.result is None:
            raise VirtArtError("the engine stopped before producing a result")
        save_png(self.out_dir / output, final.result.image, photo.alpha)
        return found

    def _clip(self, path: str, output: str) -> list[dict]:
        from virtart.engines.base import StyleOptions
        from virtart.video.pipeline import VideoOptions, open_video, stylize_video

        video = VideoOptions()
        info, keyframe = open_video(path, video)
        requests, found, labels = self.recipe.clip_regions(keyframe, path, self.detect)
        target = self.out_dir / output
        target.parent.mkdir(parents=True, exist_ok=True)
        run = stylize_video(path, requests, target, engine=self.engine, options=StyleOptions(device=self.device),
                            video=video, opened=(info, keyframe), labels=labels)
        for _ in run:
            pass
        return found
