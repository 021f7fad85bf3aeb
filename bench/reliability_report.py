"""One command for issue 6: hostile inputs, faults, fuzzing, load and security, as one table.

    python bench/reliability_report.py [--quick] [--sections all|boundary|KEY,...] [--json report.json]

Runs, each bounded in count and time (about 4 minutes on a 2-core CPU; ``--quick`` about 2):

* the hostile-input sweep (:mod:`tests.support.hostile`) through the library (decode and
  stylize, fast engine) and the CLI (in process);
* the fault checks (``tests/test_faults.py``) and the static security checks
  (``tests/test_security.py``, without the server smoke test), through pytest;
* a short fuzzing run of the decode-and-mask path (``bench/fuzz_decode.py``);
* the load run against the launched app (``bench/load_app.py``);
* the security probe against the launched app (``bench/security_probe.py``), which also
  sends every hostile input through the public API and every hostile photo through the
  page's own upload event;
* video: every hostile clip of ``tests/support/hostile_video.py`` (written with PyAV) through
  the library (probe, decode, optical flow) and ``/stylize_video`` (:mod:`tests.support.boundary`);
* JSON: hostile texts (nesting bombs, 300k entries, 2 MB strings) into every JSON field's parser;
* Hub: the download path over real HTTP against a local Hub with injected faults
  (``tests/test_hub_http.py``) through pytest;
* API fuzzing with ``gradio_client`` against the launched app (``bench/fuzz_api.py``; 300
  cases here, ``--quick`` 100; the full 3000-case run is that script alone, its saved report
  ``bench/results/fuzz_api_3000.json`` is shown as a row of its own): outcomes, leaks, and the
  server's memory curve (RSS at 10/25/50/75/100 % of the cases, the peak, the growth after the
  warm-up; flat is 5 % or less) with the machine's CPUs and load.

Prints a table (inputs tried and handled, load held, faults survived, leaks found) and
exits 0 only when everything held. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def hostile_sweep() -> dict:
    from tests.support import hostile, sweep

    work = Path(tempfile.mkdtemp(prefix="virtart-sweep-"))
    written = hostile.write_cases(work / "cases")
    photo, style, out_dir = work / "photo.png", work / "style.png", work / "out"
    photo.write_bytes(hostile.good_photo())
    style.write_bytes(hostile.good_style())
    out_dir.mkdir()
    started = time.monotonic()
    layers: dict[str, list] = {"decode": [], "stylize": [], "cli": []}
    for case, path in written:
        layers["decode"] += [sweep.decode_outcome(case, case.data), sweep.decode_outcome(case, path)]
        outcome = sweep.stylize_outcome(case, photo, style)
        if outcome is not None:
            layers["stylize"].append(outcome)
        layers["cli"].append(sweep.cli_outcome(case, path, photo, style, out_dir))
    result = {"cases": len(written), "seconds": round(time.monotonic() - started, 1)}
    for layer, outcomes in layers.items():
        result[layer] = {"tried": len(outcomes), "handled": sum(o.handled for o in outcomes),
                         "refused": sum(o.got == "refuse" for o in outcomes),
                         "warned": sum(o.got == "warn" for o in outcomes),
                         "problems": [f"{o.case}: {o.problem}" for o in outcomes if not o.handled]}
    return result


def pytest_run(*args: str, timeout: float = 300.0) -> dict:
    """Run pytest on the given files; per-test outcomes from its JUnit XML."""
    report = Path(tempfile.mkdtemp(prefix="virtart-pytest-")) / "junit.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *args]
    started = time.monotonic()
    try:
        subprocess.run(command, cwd=ROOT, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"tried": 0, "passed": 0, "failed": ["timed out"], "skipped": [], "seconds": timeout}
    if not report.is_file():
        return {"tried": 0, "passed": 0, "failed": ["pytest wrote no report"], "skipped": [], "seconds": 0}
    passed, failed, skipped = [], [], []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = case.get("name")
        if case.find("skipped") is not None:
            skipped.append(name)
        elif case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        else:
            passed.append(name)
    return {"tried": len(passed) + len(failed), "passed": len(passed), "failed": failed, "skipped": skipped,
            "tests": passed, "seconds": round(time.monotonic() - started, 1)}


def step(name: str, function, *args, **kwargs) -> dict:
    print(f"[reliability] {name} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        result = function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one failed part must not hide the others
        result = {"failed_to_run": f"{type(exc).__name__}: {str(exc)[:500]}"}
    print(f"[reliability] {name} done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def boundary_rows(results: dict, row) -> None:
    """The rows of the video, JSON, Hub and API-fuzzing sections (those that ran)."""

    def ran(key: str, area: str) -> dict | None:
        part = results.get(key)
        if part is not None and "failed_to_run" in part:
            row(area, "-", "failed to run", part["failed_to_run"], False)
            return None
        return part

    if video := ran("video", "video: hostile clips"):
        for layer, label in (("library", "library (probe, decode, flow)"), ("endpoint", "/stylize_video")):
            if (part := video.get(layer)) is not None:
                row(f"video: {label}", part["tried"], f"{part['handled']} handled",
                    f"{part['accepted']} painted/decoded, {part['refused']} refused in one line; "
                    f"problems {part['problems'][:3]}", part["handled"] == part["tried"])
    if boundary := ran("json", "JSON: field parsers"):
        row("JSON: field parsers", boundary["tried"], f"{boundary['handled']} handled",
            f"fields {', '.join(boundary['fields'])}; slowest {boundary['slowest_s']} s; "
            f"problems {boundary['problems'][:3]}", boundary["handled"] == boundary["tried"])
    if (hub_faults := results.get("hub")) is not None:
        row("Hub over HTTP, faults injected", hub_faults.get("tried", "-"), f"{hub_faults.get('passed', 0)} survived",
            f"failed {hub_faults.get('failed')}; {hub_faults.get('seconds')} s",
            not hub_faults.get("failed") and hub_faults.get("tried", 0) > 0)
    if api_fuzz := ran("api_fuzz", "fuzz API (gradio_client)"):
        api_fuzz_row("fuzz API (gradio_client)", api_fuzz, row)
    if FULL_API_FUZZ.is_file() and "api_fuzz" in results:  # the 3000-case run takes half an hour: its saved report
        api_fuzz_row(f"fuzz API, saved full run ({FULL_API_FUZZ.relative_to(ROOT)})",
                     json.loads(FULL_API_FUZZ.read_text()), row)


FULL_API_FUZZ = ROOT / "bench" / "results" / "fuzz_api_3000.json"


def api_fuzz_row(area: str, api_fuzz: dict, row) -> None:
    """One row for a report of ``bench/fuzz_api.py``: outcomes, leaks, the memory curve, the load."""
    rss, machine = api_fuzz["rss_mb"], api_fuzz.get("machine", {})
    load = machine.get("load_average_at_start")
    row(area, api_fuzz["cases"], f"{api_fuzz['server_exceptions']} server exceptions",
        f"seed {api_fuzz['seed']}; {api_fuzz['outcomes']}; messages with a path or internals "
        f"{api_fuzz['messages_with_a_path_or_internals']}; RSS MB at 10/25/50/75/100 % "
        + "/".join(str(rss.get(f"at_{p}_percent")) for p in (10, 25, 50, 75, 100))
        + f", peak {rss['peak']}, {rss['growth_after_warm_up_percent']:+.1f} % after a warm-up of "
        f"{rss['warm_up_cases']} cases (flat: 5 % or less)"
        + (f"; {machine.get('cpus')} CPUs, load {load[0]:.1f}" if load else ""),
        api_fuzz["server_exceptions"] == 0 and api_fuzz["messages_with_a_path_or_internals"] == 0
        and api_fuzz["server_alive_throughout"] and api_fuzz["memory_flat"])


def table(results: dict) -> tuple[list[tuple[str, str, str, str]], bool]:
    rows: list[tuple[str, str, str, str]] = []
    ok = True

    def row(area: str, tried, held, numbers: str, good: bool) -> None:
        nonlocal ok
        ok = ok and good
        rows.append((area, str(tried), f"{held}{'' if good else '  <-- NOT HELD'}", numbers))

    if "sweep" not in results:  # --sections: only the boundary sections ran
        boundary_rows(results, row)
        return rows, ok
    sweep = results["sweep"]
    if "failed_to_run" in sweep:
        row("inputs: sweep", "-", "failed to run", sweep["failed_to_run"], False)
    else:
        for layer, label in (("decode", "library decode (bytes + path)"), ("stylize", "library stylize (fast)"),
                             ("cli", "CLI (exit 2, one line)")):
            part = sweep[layer]
            row(f"inputs: {label}", part["tried"], f"{part['handled']} handled",
                f"{part['refused']} refused, {part['warned']} warned; {len(part['problems'])} problems",
                part["handled"] == part["tried"])
    probe = results["security"]
    if "failed_to_run" in probe:
        row("security probe", "-", "failed to run", probe["failed_to_run"], False)
    else:
        api, s = probe["hostile_api"], probe["summary"]
        row("inputs: app API (server)", api["tried"], f"{api['handled']} handled",
            f"server alive after each: {api['server_alive_after_each']}",
            api["handled"] == api["tried"] and api["server_alive_after_each"])
        ui = probe["ui_upload"]
        row("inputs: page upload (gr.Image)", ui["tried"], f"{ui['handled']} handled",
            ui.get("skipped") or f"slowest {ui['slowest_s']} s, peak server RSS {ui['peak_rss_mb']} MB; "
            f"not handled: {[(u['case'], u['outcome']) for u in ui['unclear']][:6]}",
            0 < ui["tried"] == ui["handled"] and ui.get("server_alive_after_each", False))
        params = probe["parameters"]
        row("inputs: API parameters (server)", params["tried"], f"{params['handled']} handled",
            f"not handled: {[(u['api'], u['arguments']) for u in params['unclear']][:4]}",
            params["handled"] == params["tried"] and params["server_alive_after_each"])
        row("security: file routes", s["traversal_attempts"], f"{s['leaks']} leaks",
            f"{len(probe['routes']['routes'])} routes x {len(probe['routes']['forms'])} spellings x "
            f"{len(probe['routes']['targets'])} targets; control served: {s['positive_control_served']}; "
            f"statuses {probe['routes']['statuses']}",
            s["leaks"] == 0 and s["positive_control_served"])
        caps = probe["caps"]
        row("security: upload caps", 3, "enforced" if s["caps_enforced"] else "NOT enforced",
            f"+1 MB upload -> {caps['oversized_upload']['status']}; 20 MP photo refused: "
            f"{caps['over_pixel_cap']['refused']}; non-UTF-8 name handled: {s['non_utf8_upload_handled']}",
            s["caps_enforced"] and s["non_utf8_upload_handled"])
    boundary_rows(results, row)
    fuzz = results["fuzz"]
    if "failed_to_run" in fuzz:
        row("fuzz decode + masks", "-", "failed to run", fuzz["failed_to_run"], False)
    else:
        row("fuzz decode + masks", fuzz["cases"], f"{fuzz['crashes']} crashes",
            f"{fuzz['decoded']} decoded, {fuzz['refused']} refused; slowest case {fuzz['slowest_case_s']} s",
            fuzz["crashes"] == 0)
    load = results["load"]
    if "failed_to_run" in load:
        row("load", "-", "failed to run", load["failed_to_run"], False)
    else:
        sessions, overflow, cancel, soak = load["sessions"], load["overflow"], load["cancel"], load["soak"]
        row("load: 8 sessions x 3 jobs", sessions["jobs"], "held" if sessions["held"] else "NOT held",
            f"{sessions['outcomes']}; median job {sessions['job_seconds_median']} s; crossed {sessions['crossed']}",
            sessions["held"] and sessions["crossed"] == 0)
        row("load: overflow burst", overflow["submitted"], "held" if overflow["held"] else "NOT held",
            f"{overflow['outcomes']}", overflow["held"])
        row("load: Stop mid-run", 1, f"freed in {cancel.get('worker_freed_within_s')} s",
            f"Gatys step {cancel.get('step_seconds')} s at {cancel.get('working_size')} px; previews after "
            f"cancel {cancel.get('previews_after_cancel')}; server CPU after {cancel.get('server_cpu_cores_busy_after')}",
            bool(cancel.get("held")))
        row("load: consecutive jobs", soak["jobs"], f"RSS {soak['rss_growth_percent']:+.2f} %",
            f"{soak['rss_start_mb']} -> {soak['rss_end_mb']} MB in {soak['soak_seconds']} s", soak["held"])
        stale = sum(s["files"] for s in soak["stale_files"])
        row("load: temp folders", soak["jobs"], "bounded" if soak["temp_bounded"] else "NOT bounded",
            f"TTL {soak['cache_ttl_s']} s; files older than TTL + sweep: {stale}; growth KB/job (gradio, results) "
            f"{soak['temp_growth_kb_per_job']}; last {soak['samples'][-1:]}", soak["temp_bounded"])
    for key, label in (("faults", "faults (tests/test_faults.py)"), ("static", "security static checks")):
        part = results[key]
        row(label, part["tried"], f"{part['passed']} survived" if key == "faults" else f"{part['passed']} passed",
            f"failed {part['failed']}; skipped {len(part['skipped'])}", not part["failed"] and part["tried"] > 0)
    leaks = {
        "files read through the app": None if "failed_to_run" in probe else probe["summary"]["leaks"],
        "images crossed between sessions": None if "failed_to_run" in load else
        load["summary"]["crossed_sessions"],
        "memory (RSS > +5 %)": None if "failed_to_run" in load else int(not load["soak"]["rss_held"]),
        "temp files never deleted": None if "failed_to_run" in load else
        sum(s["files"] for s in load["soak"]["stale_files"]),
        "cancelled runs still working": None if "failed_to_run" in load else
        int(bool(load["cancel"].get("previews_after_cancel"))),
        "tracebacks to users": None if "failed_to_run" in sweep else
        sum("traceback" in p for p in sweep["cli"]["problems"]),
        "paths or internals in API messages (fuzz)": None if "failed_to_run" in results["api_fuzz"] else
        results["api_fuzz"]["messages_with_a_path_or_internals"],
        "half-written files": None if "failed_to_run" in sweep else
        sum("half-written" in p or "output file was written" in p for p in sweep["cli"]["problems"]),
    }
    total = sum(v for v in leaks.values() if v is not None)
    row("LEAKS FOUND", len(leaks), str(total), "; ".join(f"{k}: {v}" for k, v in leaks.items()),
        total == 0 and None not in leaks.values())
    return rows, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer fuzz cases and consecutive jobs")
    parser.add_argument("--json", type=Path, help="also write every detail here")
    parser.add_argument("--sections", default="all",
                        help="'all', 'boundary' (video, json, hub, api_fuzz: issue 24) or keys joined by commas")
    args = parser.parse_args()
    import fuzz_api
    import fuzz_decode
    import load_app
    import security_probe

    from tests.support import boundary

    started = time.monotonic()
    sections = {
        "sweep": ("hostile-input sweep (library + CLI)", hostile_sweep, ()),
        "faults": ("fault checks", pytest_run, ("tests/test_faults.py",)),
        "static": ("static security checks", pytest_run, ("tests/test_security.py", "-m", "not server")),
        "fuzz": ("fuzzing", fuzz_decode.run, (1000 if args.quick else 3000, 30.0 if args.quick else 60.0)),
        "load": ("load", load_app.run, (30 if args.quick else 100, 300.0)),
        "security": ("security probe", security_probe.run, (180.0,)),
        "video": ("hostile clips", boundary.video_sweep, ()),
        "json": ("hostile JSON", boundary.json_sweep, ()),
        "hub": ("Hub faults over HTTP", functools.partial(pytest_run, timeout=900.0), ("tests/test_hub_http.py",)),
        "api_fuzz": ("API fuzzing", fuzz_api.run, (100 if args.quick else 300, None, 4, 900.0)),
    }
    chosen = list(sections) if args.sections == "all" else \
        ["video", "json", "hub", "api_fuzz"] if args.sections == "boundary" else args.sections.split(",")
    results = {key: step(sections[key][0], sections[key][1], *sections[key][2]) for key in chosen}
    rows, ok = table(results)
    widths = [max(len(r[i]) for r in [("area", "tried", "held", "numbers"), *rows]) for i in range(3)]
    print(f"VirtArt reliability report ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
          f"{time.monotonic() - started:.0f} s)")
    for area, tried, held, numbers in [("area", "tried", "held", "numbers"), *rows]:
        print(f"{area:<{widths[0]}}  {tried:>{widths[1]}}  {held:<{widths[2]}}  {numbers}")
    print("ALL HELD" if ok else "SOMETHING DID NOT HOLD (see the rows marked NOT HELD)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
