"""Bounded fuzzing (hypothesis) of the decode-and-mask path: load_photo, load_mask, mask operations.

Inputs are valid PNG, JPEG, GIF, WebP, BMP and TIFF files (made here) with bytes flipped,
cut, inserted or repeated, header fields overwritten, or plain random bytes. Every input
must either decode or raise :class:`~virtart.errors.VirtArtError`; decoded masks then go
through the mask operations with random radii and sizes. Anything else is a crash: it is
counted, and its input is saved under ``--crash-dir`` for reproduction.

    python bench/fuzz_decode.py [--examples 3000] [--time-limit 60] [--seed 0]

Prints JSON: ``cases``, ``decoded``, ``refused``, ``crashes`` (0 expected), the slowest case.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402

from tests.support.forge import animated, pattern  # noqa: E402
from virtart import masks  # noqa: E402
from virtart.errors import VirtArtError  # noqa: E402
from virtart.geometry import Box
from virtart.imageio import load_mask, load_photo  # noqa: E402

MAX_PIXELS = 4_000_000  # keeps a mutated header from costing seconds per case
PHOTO_SIZE = (40, 30)


def corpus() -> list[bytes]:
    """Small valid files of each format the app takes."""
    rgb = Image.fromarray(pattern(*PHOTO_SIZE))
    mask = Image.fromarray((pattern(*PHOTO_SIZE)[:, :, 0] > 128).astype(np.uint8) * 255)
    files = []
    for image in (rgb, mask, rgb.convert("P"), rgb.convert("RGBA"), rgb.convert("CMYK")):
        for fmt, params in (("PNG", {}), ("JPEG", {"quality": 80}), ("GIF", {}), ("WEBP", {}), ("BMP", {}),
                            ("TIFF", {})):
            buffer = io.BytesIO()
            try:
                image.save(buffer, format=fmt, **params)
            except (OSError, ValueError):  # a mode the format cannot hold
                continue
            files.append(buffer.getvalue())
    files += [animated("GIF"), animated("PNG")]
    return files


CORPUS = corpus()


@st.composite
def mutated(draw) -> bytes:
    """One corpus file, mutated a few times; or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=0, max_size=512))
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "header", "zero"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "repeat" and data:
            data[at:at] = data[at:at + draw(st.integers(1, 64))] * draw(st.integers(1, 8))
        elif kind == "header":  # overwrite a size-like field near the start with a big number
            where = draw(st.integers(0, min(64, max(0, len(data) - 4))))
            data[where:where + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\xff\xff",
                                                          b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"]))
        elif kind == "zero" and data:
            data[at:at + draw(st.integers(1, 16))] = b"\x00" * len(data[at:at + 16])
    return bytes(data)


class Stats:
    def __init__(self, crash_dir: Path, deadline: float):
        self.cases = self.decoded = self.refused = self.mask_ops = 0
        self.crashes: list[dict] = []
        self.slowest = (0.0, "")
        self.crash_dir, self.deadline = crash_dir, deadline

    def crash(self, data: bytes, stage: str, exc: BaseException) -> None:
        digest = hashlib.sha256(data).hexdigest()[:16]
        self.crash_dir.mkdir(parents=True, exist_ok=True)
        (self.crash_dir / f"{digest}.bin").write_bytes(data)
        self.crashes.append({"input": str(self.crash_dir / f"{digest}.bin"), "stage": stage,
                             "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                             "where": traceback.extract_tb(exc.__traceback__)[-1].name})


def mask_operations(mask: np.ndarray, radius: int, size: tuple[int, int]) -> None:
    other = masks.invert(mask)
    masks.union(mask, other)
    masks.intersect(mask, other)
    masks.subtract(mask, other)
    masks.dilate(mask, radius)
    masks.erode(mask, radius)
    masks.fill_holes(mask)
    masks.remove_small_islands(mask, radius * radius)
    masks.feather(mask, radius / 2.0)
    masks.iou(mask, other)
    Box.around(mask)
    resized = masks.resize_mask(mask, size)
    assert resized.shape == (size[1], size[0]) and resized.dtype == np.float32
    assert float(resized.min()) >= 0.0 and float(resized.max()) <= 1.0


def one_case(stats: Stats, data: bytes, role: str, radius: int, size: tuple[int, int]) -> None:
    stats.cases += 1
    started = time.perf_counter()
    stage = role
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if role == "photo":
                photo = load_photo(data, max_pixels=MAX_PIXELS)
                assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
                mask = photo.rgb[:, :, 0] >= 128
            else:
                mask = load_mask(data, PHOTO_SIZE)
                assert mask.shape == (PHOTO_SIZE[1], PHOTO_SIZE[0]) and mask.dtype == np.float32
            stats.decoded += 1
            stage = "mask operations"
            mask_operations(mask, radius, size)
            stats.mask_ops += 1
    except VirtArtError:
        stats.refused += 1
    except Exception as exc:  # noqa: BLE001 - anything else is what we are looking for
        stats.crash(data, stage, exc)
    elapsed = time.perf_counter() - started
    if elapsed > stats.slowest[0]:
        stats.slowest = (elapsed, hashlib.sha256(data).hexdigest()[:16])


def run(examples: int = 3000, time_limit: float = 60.0, random_seed: int = 0, crash_dir: Path | None = None) -> dict:
    import virtart.settings

    started = time.monotonic()
    stats = Stats(crash_dir or Path(tempfile.mkdtemp(prefix="virtart-fuzz-")), started + time_limit)
    assert virtart.settings.max_pixels() >= MAX_PIXELS

    @seed(random_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(data=mutated(), role=st.sampled_from(["photo", "mask"]), radius=st.integers(0, 12),
           size=st.tuples(st.integers(1, 300), st.integers(1, 300)))
    def fuzz(data: bytes, role: str, radius: int, size: tuple[int, int]) -> None:
        if time.monotonic() > stats.deadline:
            return  # out of time: the remaining examples are no-ops
        one_case(stats, data, role, radius, size)

    fuzz()
    return {"cases": stats.cases, "decoded": stats.decoded, "refused": stats.refused,
            "mask_operations_run": stats.mask_ops, "crashes": len(stats.crashes), "crash_details": stats.crashes[:10],
            "slowest_case_s": round(stats.slowest[0], 3), "corpus_files": len(CORPUS), "examples": examples,
            "seed": random_seed, "seconds": round(time.monotonic() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crash-dir", type=Path)
    args = parser.parse_args()
    report = run(args.examples, args.time_limit, args.seed, args.crash_dir)
    print(json.dumps(report, indent=2))
    return 0 if report["crashes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
