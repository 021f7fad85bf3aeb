"""Benchmark the app from the outside, as visitors and API clients see it; prints JSON.

Starts ``python app.py`` on 127.0.0.1 (a fresh Gradio temp folder, short cache TTL), then:

* click -> mask latency: headless Chromium (Playwright) clicks the photo; client side is
  the time until the new mask is painted, server side the handler's own time (mapping,
  offline segmenter, drawing) which the page reports. Targets: 300 ms / 150 ms.
* first preview after Stylize with the Fast engine, from ``gradio_client`` (/stylize on a
  512 px photo, a region covering half of it). Target: 3 s on this CPU (1 s on an H100).
* first preview after Stylize with the Quality engine (``steps="auto"``, 512 px working size):
  the starting image (the fast engine's result) should arrive within 1.5 s on this CPU. The run
  is cancelled once its first preview is in.
* server memory (RSS, with children) over N consecutive stylizations: flat within 5%.
* the temp folder (Gradio's cache and the result PNGs): file count and bytes over the run.

Usage: ``python bench/bench_app.py [--runs 50] [--clicks 10] [--engine fast] [--quality-runs 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.support.server import free_port  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def start_server(temp_dir: Path, cache_ttl: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_TEMP_DIR": str(temp_dir),
           "VIRTART_CACHE_TTL": str(cache_ttl), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "TMPDIR": str(temp_dir)}
    process = subprocess.Popen([sys.executable, str(REPO / "app.py")], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    import httpx

    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the app did not start within 180 s")


def rss_mb(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    return (process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))) / 2**20


def folder_usage(folder: Path) -> dict:
    count, size = 0, 0
    for path in folder.rglob("*"):
        try:  # the server deletes expired files while we count
            if path.is_file():
                size += path.stat().st_size
                count += 1
        except FileNotFoundError:
            continue
    return {"files": count, "mb": round(size / 2**20, 2)}


def bench_clicks(url: str, photo: Path, clicks: int) -> dict:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    if not Path("/usr/bin/chromium").exists():
        return {"skipped": "Debian's chromium is not installed (apt-get install -y chromium)"}
    rng = np.random.default_rng(0)
    client_ms, server_ms = [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.locator("#photo input[type=file]").set_input_files(str(photo))
        page.wait_for_selector("#status:has-text('512x512')", timeout=60_000)
        for index in range(clicks + 1):  # the first click also waits for the photo's embedding
            if index % 3 == 0 and index > 0:
                page.locator("#clear").click()
                page.wait_for_selector("#status:has-text('0 click')", timeout=60_000)
            count = index % 3 + 1
            page.wait_for_function("() => { const i = document.querySelector('#photo img');"
                                   " return i && i.complete && i.naturalWidth > 0; }")
            box = page.locator("#photo img").bounding_box()
            x, y = rng.uniform(0.3, 0.7, size=2)
            started = time.perf_counter()
            page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
            page.wait_for_selector(f"#status:has-text('{count} click')", timeout=60_000)
            page.wait_for_function("() => { const i = document.querySelector('#photo img');"
                                   " return i && i.complete && i.naturalWidth > 0; }")
            elapsed = (time.perf_counter() - started) * 1000
            text = page.locator("#status").inner_text()
            if index == 0:
                continue
            client_ms.append(elapsed)
            if "mask in" in text:
                server_ms.append(float(text.split("mask in")[1].split("ms")[0]))
        browser.close()
    return {"clicks": len(client_ms), "client_ms_median": round(statistics.median(client_ms), 1),
            "client_ms_p90": round(float(np.percentile(client_ms, 90)), 1),
            "server_ms_median": round(statistics.median(server_ms), 1) if server_ms else None,
            "server_ms_p90": round(float(np.percentile(server_ms, 90)), 1) if server_ms else None,
            "target_client_ms": 300, "target_server_ms": 150}


def bench_stylize(url: str, pid: int, photo: Path, mask: Path, engine: str, runs: int, temp_dir: Path,
                  cache_ttl: int) -> dict:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    args = {"image": handle_file(str(photo)), "mask": handle_file(str(mask)), "style": "starry_night",
            "engine": engine, "steps": 2, "max_size": 256, "api_name": "/stylize"}
    first_preview, totals, memory, usage = [], [], [], []
    for run in range(runs):
        started = time.perf_counter()
        # A different strength each run: distinct outputs, so the temp folder cannot stay small by dedup.
        job = client.submit(**args, strength=0.5 + 0.5 * run / max(1, runs - 1))
        while not job.outputs() and not job.done():
            time.sleep(0.01)
        first_preview.append(time.perf_counter() - started)
        job.result(timeout=600)
        totals.append(time.perf_counter() - started)
        memory.append(rss_mb(pid))
        usage.append(folder_usage(temp_dir))
    warm = memory[min(9, runs - 1)]
    time.sleep(cache_ttl + max(5, cache_ttl // 6) + 2)  # one expiry period after the last run
    drained = folder_usage(temp_dir)
    return {
        "engine": engine, "runs": runs,
        "first_output_s_cold": round(first_preview[0], 3),
        "first_output_s_median": round(statistics.median(first_preview[1:] or first_preview), 3),
        "total_s_median": round(statistics.median(totals[1:] or totals), 3), "target_first_preview_s": 3.0,
        "rss_mb_after_run": {"1": round(memory[0], 1), str(min(10, runs)): round(warm, 1),
                             str(runs): round(memory[-1], 1)},
        "rss_growth_after_warmup_pct": round(100 * (memory[-1] - warm) / warm, 2), "target_growth_pct": 5,
        "temp_folder": {"cache_ttl_s": cache_ttl, "after_run_1": usage[0], "after_run_10": usage[min(9, runs - 1)],
                        "max": max(usage, key=lambda u: u["mb"]), "after_last_run": usage[-1],
                        "one_ttl_later": drained},
    }


def bench_quality_first_preview(url: str, photo: Path, mask: Path, runs: int) -> dict:
    """Seconds from submitting /stylize (Quality engine, 512 px, steps auto) to its first preview."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, httpx_kwargs={"timeout": 120})
    args = {"image": handle_file(str(photo)), "mask": handle_file(str(mask)), "style": "starry_night",
            "engine": "gatys", "steps": "auto", "max_size": 512, "api_name": "/stylize"}
    seconds, stages = [], []
    for _ in range(runs + 1):  # the first run also loads the engines
        started = time.perf_counter()
        job = client.submit(**args)
        while not job.outputs() and not job.done():
            time.sleep(0.01)
        seconds.append(time.perf_counter() - started)
        stages.append((job.outputs() or [[None, None, {}]])[0][2].get("stage"))
        job.cancel()
        time.sleep(2)  # let the cancelled run free the worker
    return {"runs": runs, "first_preview_s_cold": round(seconds[0], 3),
            "first_preview_s_median": round(statistics.median(seconds[1:]), 3),
            "first_preview_s_max": round(max(seconds[1:]), 3), "first_preview_stage": stages[-1],
            "target_s": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--engine", default="fast", choices=["fast", "gatys"])
    parser.add_argument("--quality-runs", type=int, default=5,
                        help="Quality-engine runs timed to their first preview (0: skip)")
    parser.add_argument("--cache-ttl", type=int, default=10,
                        help="VIRTART_CACHE_TTL for the server (s); short, so the bound shows within the run")
    options = parser.parse_args()

    from skimage import data

    from virtart.imageio import save_png

    work = Path(tempfile.mkdtemp(prefix="virtart-bench-"))
    temp_dir = work / "gradio-tmp"
    temp_dir.mkdir()
    photo = save_png(work / "astronaut.png", data.astronaut())
    half = np.zeros((512, 512), np.uint8)
    half[:, :256] = 255
    mask = save_png(work / "half.png", half)
    process, url = start_server(temp_dir, options.cache_ttl)
    try:
        result = {
            "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                        "python": platform.python_version()},
            "server_rss_mb_at_start": round(rss_mb(process.pid), 1),
            "click_to_mask": bench_clicks(url, photo, options.clicks),
            "quality_first_preview": bench_quality_first_preview(url, photo, mask, options.quality_runs)
            if options.quality_runs else None,
            "stylize": bench_stylize(url, process.pid, photo, mask, options.engine, options.runs, temp_dir,
                                     options.cache_ttl),
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
