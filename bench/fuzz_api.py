"""Fuzz the public API as a client does: ``gradio_client`` against the app launched on 127.0.0.1.

    python bench/fuzz_api.py [--cases 3000] [--seed N] [--threads 4] [--time-limit 1500] [--json out.json]
                             [--sample-every 50] [--only /stylize_video]

Each case is one call, drawn from the seed (printed first, so a run can be replayed):
``/segment`` with random, malformed, deeply nested or huge ``points`` / ``box`` / ``strokes``
JSON on small or hostile photos; ``/stylize`` with such ``regions`` and odd options (fast
engine, 64 px); ``/stylize_video`` with random small clips (some too thin, some with broken
bytes: :func:`tests.support.hostile_video.fuzz_clip`) and odd points and boxes; ``/detect``.

Every answer must be a result or one clean line (:func:`tests.support.leaks.leaks`: no path,
no library name, no CLI flag); counted as a **server exception** is an answer with the app's
internal-error line, a bare "Error", or a traceback in the server's log. The server must stay
up (checked at every sample) and its memory flat: RSS (server and children) is sampled every
``--sample-every`` cases, each sample with the cases of each endpoint done so far (the curve per
case kind; ``--only`` runs one kind). **Flat** means: after a warm-up of the first 10 % of the
cases (models load, caches fill), no later sample is more than 5 % above the RSS at 10 %.
Reported: RSS at 10, 25, 50, 75 and 100 % of the cases, the peak, and that growth. Prints JSON.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from PIL import Image  # noqa: E402

from tests.support import hostile  # noqa: E402
from tests.support.hostile_video import fuzz_clip  # noqa: E402
from tests.support.leaks import leaks  # noqa: E402
from tests.support.server import launch_app  # noqa: E402
from virtart.errors import INTERNAL_ERROR  # noqa: E402

PHOTO_SIZE = (48, 36)
EMPTY = "no message"  # an exception without one (its type follows): counted as a server exception


def nested(rng: random.Random, depth: int, leaf: str) -> str:
    opener, closer = rng.choice([("[", "]"), ('{"a": ', "}")])
    return opener * depth + leaf + closer * depth


def random_value(rng: random.Random, depth: int = 0):
    """A random JSON value: numbers (huge, negative, fractional), strings, lists, objects."""
    kind = rng.random()
    if depth > 3 or kind < 0.35:
        return rng.choice([rng.randint(-5, 60), rng.uniform(-1e6, 1e6), 10 ** rng.randint(10, 300), -0.0, 1e-300,
                           "x", "", "starry_night", "data:image/png;base64,AAAA", "../../etc/passwd", None, True])
    if kind < 0.7:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {rng.choice(["points", "label", "mask", "style", "strength", "invert", "x"]): random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def json_text(rng: random.Random, valid: str) -> str:
    """A JSON text for a field: mostly hostile, sometimes ``valid`` (what the field expects)."""
    roll = rng.random()
    if roll < 0.15:
        return valid
    if roll < 0.30:
        return nested(rng, rng.choice([3, 50, 1000, 20_000, 200_000]), rng.choice(["1", "[1, 2, 1]", ""]))
    if roll < 0.40:
        return "[" + ",".join([rng.choice(["[5, 5, 1]", "1", '{"points": [[1, 2], [3, 4]]}'])]
                              * rng.choice([250, 5000, 100_000])) + "]"
    if roll < 0.50:
        return rng.choice(["NaN", "[[NaN, 5, 1]]", "[[Infinity, 1, 1]]", "[[1" + "0" * 5000 + ", 1, 1]]",
                           '"' + "a" * rng.choice([10, 30_000]) + '"', "[[5, 5, 1]", "{", "]]]", "null", "\x00",
                           "[\"\\ud800\"]", "0x10", "[1e999]"])
    if roll < 0.60:
        text = valid
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, max(0, len(text) - 1))
            text = text[:at] + rng.choice(["[", "]", "{", "}", ",", '"', "-", "e9", "NaN"]) + text[at + 1:]
        return text
    return json.dumps(random_value(rng))


class Pool:
    """Files the cases upload: small photos and masks, hostile photos, random clips."""

    def __init__(self, folder: Path, rng: random.Random):
        folder.mkdir(parents=True, exist_ok=True)
        generator = np.random.default_rng(rng.randint(0, 2**31))
        self.photos = []
        for index in range(4):
            path = folder / f"photo-{index}.png"
            Image.fromarray(generator.integers(0, 256, (PHOTO_SIZE[1], PHOTO_SIZE[0], 3), dtype=np.uint8)).save(path)
            self.photos.append(str(path))
        mask = np.zeros((PHOTO_SIZE[1], PHOTO_SIZE[0]), np.uint8)
        mask[8:28, 10:40] = 255
        self.mask = str(folder / "mask.png")
        Image.fromarray(mask).save(self.mask)
        self.style = str(folder / "style.png")
        Path(self.style).write_bytes(hostile.good_style())
        self.hostile = [str(path) for case, path in hostile.write_cases(folder / "hostile")
                        if case.filename.isascii() and case.role == "photo" and len(case.data) < 2_000_000]
        self.clips = [str(fuzz_clip(folder / f"clip-{index}{generator.choice(['.mp4', '.mkv'])}", generator))
                      for index in range(24)]


def make_case(rng: random.Random, pool: Pool) -> tuple[str, dict]:
    """``(endpoint, arguments)`` with file paths as plain strings (uploaded by the caller)."""
    roll = rng.random()
    photo = rng.choice(pool.photos) if rng.random() < 0.85 else rng.choice(pool.hostile)
    if roll < 0.45:
        which = rng.choice(["points", "box", "strokes"])
        valid = {"points": "[[10, 10, 1], [40, 30, 0]]", "box": "[5, 5, 40, 30]",
                 "strokes": '[{"points": [[5, 5], [30, 20]], "label": 1}]'}[which]
        arguments = {"image": photo, "points": "", "box": "", "strokes": ""}
        arguments[which] = json_text(rng, valid)
        if which != "points" and rng.random() < 0.5:
            arguments["points"] = json_text(rng, "[[10, 10, 1]]")
        return "/segment", arguments
    if roll < 0.75:
        arguments = {"image": photo, "regions": json_text(rng, '[{"mask": 0, "style": "starry_night"}]'),
                     "masks": [pool.mask], "style_images": [pool.style], "engine": "fast", "max_size": 64,
                     "feather": 0}
        if rng.random() < 0.3:
            arguments[rng.choice(["engine", "steps", "max_size", "feather", "strength", "style"])] = rng.choice(
                ["gatys", "--engine", "../x", -1, 10**12, 0, "auto", "many", 3.5, "starry_night", "/etc/passwd"])
        if rng.random() < 0.2:
            arguments.update(regions="", mask=rng.choice([pool.mask, photo]), style=rng.choice(["0", "starry_night",
                                                                                                 "nope"]))
        return "/stylize", arguments
    if roll < 0.96:
        arguments = {"video": rng.choice(pool.clips), "points": "", "box": "", "style": "starry_night",
                     "keyframe": rng.choice([0, 0, 0, 2, 99, -1])}
        if rng.random() < 0.5:
            arguments["points"] = json_text(rng, "[[5, 5, 1]]")
        if rng.random() < 0.3:
            arguments["box"] = rng.choice(["1,2,30,20", "--box 1,2", "a,b,c,d", "1,2,3", "9e99,0,1,1", ",,,"])
        return "/stylize_video", arguments
    return "/detect", {"image": photo, "classes": rng.choice(["", "person", "x" * 5000]),
                       "min_score": rng.choice([0.25, -1, 2])}


def call(client, endpoint: str, arguments: dict) -> str | None:
    """The server's message for a refused call, or None for a result."""
    from gradio_client import handle_file

    def wrap(value, key):
        if key in ("image", "video", "mask") and value:
            return handle_file(value)
        if key in ("masks", "style_images"):
            return [handle_file(v) for v in value]
        return value

    try:
        client.predict(**{k: wrap(v, k) for k, v in arguments.items()}, api_name=endpoint)
    except Exception as exc:  # noqa: BLE001 - AppError carries the server's message
        return str(exc) or f"{EMPTY} ({type(exc).__name__})"
    return None


def rss_mb(pid: int) -> float:
    try:
        process = psutil.Process(pid)
        return round(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20, 1)
    except psutil.Error:
        return 0.0


WARM_UP = 0.10  # of the cases: models load and caches fill before memory must be flat
MIN_WARM_UP = 100  # cases: a short run's warm-up is no shorter (the models load in the first ones)
FLAT_PERCENT = 5.0  # no sample after the warm-up more than this above the RSS at its end


def memory_curve(samples: list[tuple[int, float, dict]], cases: int) -> dict:
    """RSS at 10/25/50/75/100 % of ``cases`` (the first sample at or after each), the peak, and
    the growth after the warm-up (the highest later sample against the one at its end)."""
    def at(count_at_least: float) -> float:
        return next((rss for count, rss, _ in samples if count >= count_at_least), samples[-1][1])

    warm_up = min(cases, max(round(WARM_UP * cases), MIN_WARM_UP))
    warm = at(warm_up)
    later = [rss for count, rss, _ in samples if count >= warm_up] or [warm]
    growth = round(100.0 * (max(later) - warm) / warm, 2) if warm else 0.0
    return {"start": samples[0][1], **{f"at_{round(100 * f)}_percent": at(f * cases)
                                       for f in (0.10, 0.25, 0.50, 0.75, 1.0)},
            "warm_up_cases": warm_up, "at_warm_up": warm, "peak": max(rss for _, rss, _ in samples),
            "growth_after_warm_up_percent": growth, "flat": growth <= FLAT_PERCENT,
            "definition": f"after a warm-up of the first {WARM_UP:.0%} of the cases (at least {MIN_WARM_UP}), no "
                          f"sample more than {FLAT_PERCENT:g} % above the RSS at the warm-up's end",
            "samples": [{"cases": count, "rss_mb": rss, "per_endpoint": done} for count, rss, done in samples]}


def run(cases: int = 3000, seed: int | None = None, threads: int = 4, time_limit: float = 1500.0,
        sample_every: int = 50, only: tuple[str, ...] = ()) -> dict:
    seed = random.SystemRandom().randint(0, 2**31) if seed is None else seed
    print(f"[fuzz_api] seed {seed} (replay: python bench/fuzz_api.py --seed {seed} --cases {cases})",
          file=sys.stderr, flush=True)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="virtart-fuzz-api-"))
    pool = Pool(work / "files", rng)
    planned: list[tuple[str, dict]] = []
    while len(planned) < cases:
        endpoint, arguments = make_case(rng, pool)
        if not only or endpoint in only:
            planned.append((endpoint, arguments))
    started, load_at_start = time.monotonic(), os.getloadavg()
    results: list[dict] = []
    lock = threading.Lock()
    with launch_app({"VIRTART_CACHE_TTL": "120"}) as app:
        import urllib.request

        from gradio_client import Client

        def alive() -> bool:
            try:
                with urllib.request.urlopen(app.url, timeout=15) as response:  # noqa: S310 - loopback only
                    return response.status == 200
            except OSError:
                return False

        clients = [Client(app.url, verbose=False) for _ in range(threads)]
        secrets = (str(app.temp_dir), str(work), "/tmp/", "gradio_api/file")
        memory = [(0, rss_mb(app.pid), {})]
        down: list[int] = []

        def one(index: int) -> None:
            if time.monotonic() - started > time_limit:
                return
            endpoint, arguments = planned[index]
            tick = time.monotonic()
            message = call(clients[index % threads], endpoint, arguments)
            entry = {"index": index, "endpoint": endpoint, "seconds": round(time.monotonic() - tick, 3),
                     "outcome": "result" if message is None else "refused"}
            if message is not None:
                text = message.strip()
                if INTERNAL_ERROR in text or text in ("", "Error", "None", "null") or "verbose error" in text \
                        or text.startswith(EMPTY):
                    entry.update(outcome="server exception", message=text[:300])
                elif found := leaks(text, secrets):
                    entry.update(outcome="leak", leaks=found, message=text[:300])
                else:
                    entry["message"] = text[:160]
            with lock:
                results.append(entry)
                done = len(results)
                per_endpoint = dict(collections.Counter(e["endpoint"] for e in results)) \
                    if done % sample_every == 0 else {}
            if done % sample_every == 0:
                memory.append((done, rss_mb(app.pid), per_endpoint))
                if not alive():
                    down.append(done)
                print(f"[fuzz_api] {done}/{cases} cases, server RSS {memory[-1][1]} MB", file=sys.stderr, flush=True)

        with concurrent.futures.ThreadPoolExecutor(threads) as executor:
            list(executor.map(one, range(cases)))
        memory.append((len(results), rss_mb(app.pid), dict(collections.Counter(e["endpoint"] for e in results))))
        server_alive = alive()
        log = app.log_tail(10_000_000)
    tracebacks = log.count("Traceback (most recent call last)")
    by_outcome: dict[str, int] = {}
    per_endpoint: dict[str, dict[str, int]] = {}
    for entry in results:
        by_outcome[entry["outcome"]] = by_outcome.get(entry["outcome"], 0) + 1
        counts = per_endpoint.setdefault(entry["endpoint"], {})
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    exceptions = by_outcome.get("server exception", 0) + tracebacks
    curve = memory_curve(memory, len(results))
    return {
        "seed": seed, "cases": len(results), "planned": cases, "threads": threads,
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg()},
        "seconds": round(time.monotonic() - started, 1), "outcomes": by_outcome, "per_endpoint": per_endpoint,
        "server_exceptions": exceptions, "server_log_tracebacks": tracebacks,
        "messages_with_a_path_or_internals": by_outcome.get("leak", 0),
        "server_alive_throughout": server_alive and not down, "server_down_at": down,
        "only": list(only), "rss_mb": curve, "memory_flat": curve["flat"],
        "problems": [e for e in results if e["outcome"] in ("server exception", "leak")][:20],
        "slowest_s": max((e["seconds"] for e in results), default=0.0),
        "examples": [e for e in results if e["outcome"] == "refused"][:: max(1, len(results) // 15)][:15],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=1500.0)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--sample-every", type=int, default=50, help="cases between RSS samples")
    parser.add_argument("--only", action="append", default=[], choices=["/segment", "/stylize", "/stylize_video",
                                                                        "/detect"], help="run only this kind")
    args = parser.parse_args()
    report = run(args.cases, args.seed, args.threads, args.time_limit, args.sample_every, tuple(args.only))
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    ok = report["server_exceptions"] == 0 and report["messages_with_a_path_or_internals"] == 0 \
        and report["server_alive_throughout"] and report["memory_flat"] and report["cases"] == args.cases
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
