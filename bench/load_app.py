"""Load the launched app on 127.0.0.1 with gradio_client and check that it holds.

Phases, each bounded in count and time:

1. **sessions**: 8 clients (8 sessions) at once, 3 stylizations each (fast engine, 96x72
   photos, a different photo per session and per job). Each job must complete or get a
   clean "queue is full" message; the returned PNG must match the job's OWN photo
   bit-for-bit outside the region (content hash), never another session's.
2. **overflow**: 40 submissions at once (5 per session), more than the queue holds: each
   completes or gets the queue-full message, nothing else.
3. **cancel**: a long Quality (Gatys) run is cancelled mid-way; a quick job queued behind it
   (one heavy worker) must finish within 1 s plus its own idle time, the cancelled run
   must stop producing previews and the server's CPU must go quiet.
4. **soak**: 100 consecutive jobs (distinct photos): server RSS growth (psutil, server pid
   and children) <= 5 % after warm-up; the Gradio temp folder and the results folder are
   measured every 10 jobs. The app runs with a short ``VIRTART_CACHE_TTL`` (20 s), so the
   soak outlives it: at the end no temp file may be older than the TTL plus its sweep period.

    python bench/load_app.py [--soak 100] [--time-limit 420]

Prints JSON.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from PIL import Image  # noqa: E402

from tests.support.hostile import good_style  # noqa: E402
from tests.support.server import files_under, folder_bytes, launch_app, stale_files  # noqa: E402

SIZE = (96, 72)  # width, height of every photo
REGION = (slice(16, 56), slice(24, 72))  # rows, columns of the repainted rectangle
# Working size of the cancelled Quality run: the engine stops between steps, so a step's
# length bounds Stop's latency (the report gives it).
CANCEL_SIZE = 128
QUEUE_FULL = re.compile(r"queue is full", re.I)


def make_photo(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)


def outside(rgb: np.ndarray) -> str:
    keep = np.ones(rgb.shape[:2], bool)
    keep[REGION] = False
    return hashlib.sha256(np.ascontiguousarray(rgb[keep]).tobytes()).hexdigest()


class Workbench:
    """Files on disk for the jobs, and the expected hash of each photo outside the region."""

    def __init__(self, folder: Path):
        self.folder = folder
        mask = np.zeros((SIZE[1], SIZE[0]), np.uint8)
        mask[REGION] = 255
        self.mask, self.style = folder / "mask.png", folder / "style.png"
        Image.fromarray(mask).save(self.mask)
        self.style.write_bytes(good_style())
        self.expected: dict[int, str] = {}
        self._lock = threading.Lock()

    def photo(self, seed: int) -> Path:
        path = self.folder / f"photo-{seed}.png"
        rgb = make_photo(seed)
        Image.fromarray(rgb).save(path)
        with self._lock:
            self.expected[seed] = outside(rgb)
        return path

    def owner(self, digest: str) -> int | None:
        with self._lock:
            return next((seed for seed, value in self.expected.items() if value == digest), None)


def stylize_args(bench: Workbench, photo: Path, engine: str = "fast", steps: int = 1, max_size: int = 64) -> dict:
    from gradio_client import handle_file

    return {"image": handle_file(str(photo)), "mask": handle_file(str(bench.mask)), "style": "",
            "style_images": [handle_file(str(bench.style))], "engine": engine, "steps": steps,
            "max_size": max_size, "feather": 0, "api_name": "/stylize"}


def run_job(client, bench: Workbench, seed: int, timeout: float = 120.0, engine: str = "fast") -> dict:
    """One stylization; outcome "ok", "queue_full", "crossed" (another photo came back) or "error"."""
    photo = bench.photo(seed)
    started = time.monotonic()
    try:
        job = client.submit(**stylize_args(bench, photo, engine=engine))
        _, png, _ = job.result(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - AppError carries the server's message
        text = f"{type(exc).__name__}: {exc}"
        return {"seed": seed, "outcome": "queue_full" if QUEUE_FULL.search(text) else "error",
                "message": text[:300], "seconds": round(time.monotonic() - started, 3)}
    settle(client)
    result = np.asarray(Image.open(png).convert("RGB"))
    owner = bench.owner(outside(result))
    outcome = "ok" if owner == seed else ("crossed" if owner is not None else "outside_changed")
    return {"seed": seed, "outcome": outcome, "owner": owner, "seconds": round(time.monotonic() - started, 3)}


def settle(client, timeout: float = 2.0) -> None:
    """Let the client's event-stream reader see the server close the stream before the
    session's next job, as a browser does between clicks; otherwise gradio_client 2.7 can
    drop that next job (see :func:`phase_overflow`)."""
    reader = getattr(client, "streaming_future", None)
    if reader is not None:
        concurrent.futures.wait([reader], timeout=timeout)


def new_client(url: str, folder: Path):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=str(folder))


def tally(jobs: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["outcome"]] = counts.get(job["outcome"], 0) + 1
    return counts


def phase_sessions(url: str, bench: Workbench, work: Path, sessions: int = 8, jobs_each: int = 3) -> dict:
    started = time.monotonic()

    def session(index: int) -> list[dict]:
        client = new_client(url, work / f"client-{index}")
        return [run_job(client, bench, 1000 + index * 10 + j) for j in range(jobs_each)]

    with concurrent.futures.ThreadPoolExecutor(sessions) as pool:
        jobs = [job for result in pool.map(session, range(sessions)) for job in result]
    counts = tally(jobs)
    seconds = [j["seconds"] for j in jobs if j["outcome"] == "ok"]
    return {"sessions": sessions, "jobs": len(jobs), "outcomes": counts,
            "held": set(counts) <= {"ok", "queue_full"}, "crossed": counts.get("crossed", 0),
            "job_seconds_median": round(float(np.median(seconds)), 3) if seconds else None,
            "wall_seconds": round(time.monotonic() - started, 1),
            "problems": [j for j in jobs if j["outcome"] not in ("ok", "queue_full")][:5]}


def phase_overflow(url: str, bench: Workbench, work: Path, submissions: int = 40) -> dict:
    """``submissions`` visitors at once, one job each, more than the queue holds.

    One client (one session) per job, as browsers are: gradio_client 2.7 multiplexes every
    job of a client over one event stream, and a job submitted while the server closes that
    stream (its previous job just completed) is dropped on the client side with a bare
    ``CancelledError`` although the server ran it (gradio-app/gradio#13760 touches the same
    race). Measured here before this change: 1 in about 10 bursts of 40 jobs over 8 clients.
    """
    started = time.monotonic()
    clients = [new_client(url, work / f"overflow-{i}") for i in range(submissions)]
    with concurrent.futures.ThreadPoolExecutor(submissions) as pool:
        futures = [pool.submit(run_job, clients[i], bench, 5000 + i) for i in range(submissions)]
        jobs = [f.result() for f in futures]
    counts = tally(jobs)
    return {"submitted": len(jobs), "outcomes": counts, "held": set(counts) <= {"ok", "queue_full"},
            "queue_full_messages": sorted({j["message"] for j in jobs if j["outcome"] == "queue_full"})[:2],
            "wall_seconds": round(time.monotonic() - started, 1),
            "problems": [j for j in jobs if j["outcome"] not in ("ok", "queue_full")][:5]}


def server_cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def phase_cancel(url: str, bench: Workbench, work: Path, pid: int, time_limit: float = 120.0) -> dict:
    client, other = new_client(url, work / "cancel-a"), new_client(url, work / "cancel-b")
    # Idle baseline of the quick job (the engine is warm by now).
    quick_started = time.monotonic()
    client.submit(**stylize_args(bench, bench.photo(7001))).result(timeout=60)
    quick_idle = time.monotonic() - quick_started
    big = bench.folder / "cancel-photo.png"
    Image.fromarray(make_photo(7002)).resize((256, 192)).save(big)
    from gradio_client import handle_file

    Image.fromarray(np.full((192, 256), 255, np.uint8)).save(bench.folder / "cancel-mask.png")
    args = stylize_args(bench, big, engine="gatys", steps=2000, max_size=CANCEL_SIZE)
    args["mask"] = handle_file(str(bench.folder / "cancel-mask.png"))
    long_job = client.submit(**args)
    deadline = time.monotonic() + time_limit
    arrivals: list[float] = []  # when each preview reached the client: their spacing is one step
    while len(arrivals) < 3 and time.monotonic() < deadline and not long_job.done():
        if len(long_job.outputs()) > len(arrivals):
            arrivals.append(time.monotonic())
        time.sleep(0.02)
    previews_before = len(long_job.outputs())
    if previews_before < 3:
        return {"measured": False, "why": f"the long run gave {previews_before} previews within {time_limit:.0f} s",
                "status": str(long_job.status())}
    from gradio_client.utils import Status

    cancelled_at = time.monotonic()
    long_job.cancel()
    quick = other.submit(**stylize_args(bench, bench.photo(7003)))
    started_at = None  # when the quick job got the (single) heavy worker
    while time.monotonic() < cancelled_at + 60 and not quick.done():
        if started_at is None and quick.status().code in (Status.PROCESSING, Status.ITERATING, Status.PROGRESS):
            started_at = time.monotonic()
        time.sleep(0.01)
    quick.result(timeout=60)
    freed_after = time.monotonic() - cancelled_at
    previews_at_free = len(long_job.outputs())
    process = psutil.Process(pid)
    cpu_start = server_cpu_seconds(process)
    time.sleep(2.0)
    cpu_idle = (server_cpu_seconds(process) - cpu_start) / 2.0
    # The start of the quick job is the direct measure; without it, its end less its idle duration.
    latency = started_at - cancelled_at if started_at is not None else max(0.0, freed_after - quick_idle)
    return {"measured": True, "previews_before_cancel": previews_before, "working_size": CANCEL_SIZE,
            "step_seconds": round(arrivals[-1] - arrivals[-2], 3),
            "previews_after_cancel": len(long_job.outputs()) - previews_at_free,
            "quick_job_idle_s": round(quick_idle, 3), "quick_job_after_cancel_s": round(freed_after, 3),
            "worker_freed_within_s": round(latency, 3), "measured_by": "start" if started_at else "end", "server_cpu_cores_busy_after": round(cpu_idle, 2),
            "held": latency <= 1.0 and cpu_idle < 0.5 and len(long_job.outputs()) == previews_at_free}


def server_rss(pid: int) -> int:
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


def phase_soak(url: str, bench: Workbench, work: Path, pid: int, temp_dirs: list[Path], jobs: int,
               deadline: float, cache_ttl: int, assets: set[str]) -> dict:
    client = new_client(url, work / "soak")
    for seed in range(3):  # warm-up: allocator pools, caches, compiled paths
        run_job(client, bench, 9000 + seed)
    rss_start = server_rss(pid)
    soak_started = time.monotonic()
    samples, outcomes = [], []
    for index in range(jobs):
        if time.monotonic() > deadline:
            break
        outcomes.append(run_job(client, bench, 10_000 + index))
        if (index + 1) % 10 == 0:
            files, size = zip(*(folder_bytes(d) for d in temp_dirs), strict=True)
            samples.append({"jobs": index + 1, "rss_mb": round(server_rss(pid) / 2**20, 1),
                            "temp_files": list(files), "temp_mb": [round(s / 2**20, 2) for s in size]})
    # The app deletes its temp files once older than the TTL, checking every TTL/6 s (at least 5 s):
    # anything older than that (plus slack) is a file nothing will ever delete. Keep the traffic
    # going until the first soak job's files are that old.
    older_than = cache_ttl + max(5, cache_ttl // 6) + 10
    while time.monotonic() < min(deadline, soak_started + older_than + 5):
        outcomes.append(run_job(client, bench, 10_000 + len(outcomes)))
    rss_end = server_rss(pid)
    growth = (rss_end - rss_start) / rss_start
    stale = [stale_files(d, older_than, assets) for d in temp_dirs]
    ran_long_enough = soak_started + older_than < time.monotonic()
    counts = tally(outcomes)
    temp_growth = [samples[-1]["temp_mb"][i] - samples[0]["temp_mb"][i] for i in range(len(temp_dirs))] \
        if len(samples) > 1 else [0.0] * len(temp_dirs)
    per_job_kb = [round(g * 1024 / max(1, samples[-1]["jobs"] - samples[0]["jobs"]), 1) for g in temp_growth] \
        if len(samples) > 1 else []
    return {"jobs": len(outcomes), "outcomes": counts, "rss_start_mb": round(rss_start / 2**20, 1),
            "rss_end_mb": round(rss_end / 2**20, 1), "rss_growth_percent": round(100 * growth, 2),
            "rss_held": growth <= 0.05, "temp_dirs": [str(d) for d in temp_dirs],
            "temp_growth_kb_per_job": per_job_kb, "samples": samples, "cache_ttl_s": cache_ttl,
            "stale_files": [{"older_than_s": older_than, "files": len(files),
                             "mb": round(sum(size for _, size in files) / 2**20, 2),
                             "examples": [path for path, _ in files[:3]]} for files in stale],
            "temp_bounded": ran_long_enough and not any(stale),
            "soak_seconds": round(time.monotonic() - soak_started, 1),
            "held": growth <= 0.05 and set(counts) == {"ok"} and len(outcomes) >= jobs}


def run(soak_jobs: int = 100, time_limit: float = 420.0, cache_ttl: int = 20) -> dict:
    started = time.monotonic()
    deadline = started + time_limit
    work = Path(tempfile.mkdtemp(prefix="virtart-load-"))
    bench = Workbench(work)
    app_tmp = work / "app-tmp"
    app_tmp.mkdir()
    # TMPDIR: the app's own result files land in a folder we can measure too.
    with launch_app({"TMPDIR": str(app_tmp), "VIRTART_CACHE_TTL": str(cache_ttl)}) as app:
        report: dict = {"url": app.url, "server_pid": app.pid}
        warm = new_client(app.url, work / "warm")
        report["warmup"] = [run_job(warm, bench, 1), run_job(warm, bench, 2, engine="gatys")]
        # What the app wrote before the load (gallery thumbnails, examples, model loading) is its own.
        assets = files_under(app.temp_dir) | files_under(app_tmp)
        report["startup_files"] = len(assets)
        report["sessions"] = phase_sessions(app.url, bench, work)
        report["overflow"] = phase_overflow(app.url, bench, work)
        report["cancel"] = phase_cancel(app.url, bench, work, app.pid)
        report["soak"] = phase_soak(app.url, bench, work, app.pid, [app.temp_dir, app_tmp], soak_jobs, deadline,
                                    cache_ttl, assets)
        report["server_alive_at_end"] = app.alive()
    report["summary"] = {
        "jobs_run": len(report["warmup"]) + report["sessions"]["jobs"] + report["overflow"]["submitted"] + report["soak"]["jobs"],
        "sessions_held": report["sessions"]["held"], "overflow_held": report["overflow"]["held"],
        "crossed_sessions": report["sessions"]["crossed"] + report["overflow"]["outcomes"].get("crossed", 0)
        + report["soak"]["outcomes"].get("crossed", 0),
        "cancel_held": report["cancel"].get("held", False),
        "worker_freed_within_s": report["cancel"].get("worker_freed_within_s"),
        "rss_growth_percent": report["soak"]["rss_growth_percent"], "rss_held": report["soak"]["rss_held"],
        "temp_growth_kb_per_job": report["soak"]["temp_growth_kb_per_job"],
        "temp_bounded": report["soak"]["temp_bounded"], "stale_temp_files": report["soak"]["stale_files"],
        "seconds": round(time.monotonic() - started, 1),
    }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soak", type=int, default=100, help="consecutive jobs in the memory phase")
    parser.add_argument("--time-limit", type=float, default=420.0)
    parser.add_argument("--cache-ttl", type=int, default=20,
                        help="VIRTART_CACHE_TTL for the app, short so the soak outlives it")
    args = parser.parse_args()
    report = run(args.soak, args.time_limit, args.cache_ttl)
    print(json.dumps(report, indent=2))
    s = report["summary"]
    return 0 if s["sessions_held"] and s["overflow_held"] and s["cancel_held"] and s["rss_held"] \
        and s["temp_bounded"] and s["crossed_sessions"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
