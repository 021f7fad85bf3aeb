"""Security probe against the launched app (127.0.0.1 only): file routes, upload caps, hostile uploads.

1. Path traversal: every file route of gradio 6.31 x ``/etc/passwd``, the repository's own
   files and a secret beside the app's temp folder x a dozen spellings (``..``, absolute,
   URL-encoded, double-encoded, backslashes, NUL, from inside the temp folder). A positive
   control (a file uploaded through the app IS served) proves the probe reaches the route.
2. Upload caps: a file one MB over ``max_file_size`` is refused at upload; a photo over the
   app's pixel cap and the decompression bombs are refused with a message.
3. Every hostile input of :mod:`tests.support.hostile` through the public API (/segment for
   photos, /stylize for masks) plus a non-UTF-8 upload name: a clear message or a result,
   and the server still serves after each.
4. Every hostile photo through the page's own upload event (the private ``gr.Image`` upload,
   driven through the queue as the browser drives it): Gradio preprocesses that component
   before the app's handler runs, so this is where a bomb or a non-image meets Gradio first.
   Each must end in a clear message (not a bare "Error") within 3 s.
5. Odd parameters through the public API (NaN and infinite numbers, broken JSON, paths
   where ids belong, too many regions): a result or one clear line, never a bare "Error".

    python bench/security_probe.py [--time-limit 240]

Prints JSON; ``leaks`` and ``unclear`` must be 0, ``ui_upload_handled`` equal to ``ui_upload_tried``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from PIL import Image  # noqa: E402

from tests.support import hostile, security, sweep  # noqa: E402
from tests.support.server import launch_app  # noqa: E402


def alive(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except OSError:
        return False


def call_raw(url: str, api_name: str, data: list, timeout: float = 60.0) -> tuple[str, str]:
    """The documented ``/gradio_api/call`` protocol: POST the inputs, read the event stream."""
    parsed = urllib.parse.urlparse(url)
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    assert parsed.hostname == "127.0.0.1"
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=timeout) as response:  # noqa: S310
        text = response.read().decode("utf-8", "replace")
    events = re.findall(r"event: (\w+)\ndata: (.*)", text)
    return events[-1] if events else ("none", text[:300])


def route_probe(app, work: Path, time_limit: float) -> dict:
    control_name = f"control-{time.time_ns()}.png"
    status, body = security.upload(app.url, control_name.encode(), hostile.good_photo())
    served = json.loads(body)[0] if status == 200 else ""
    control_status, control_body = security.get("127.0.0.1", urllib.parse.urlparse(app.url).port,
                                                 f"/gradio_api/file={served}")
    control_ok = control_status == 200 and control_body == hostile.good_photo()
    attempts = security.probe_file_routes(app.url, security.default_targets(work), app.temp_dir, time_limit)
    statuses: dict[str, int] = {}
    for attempt in attempts:
        statuses[str(attempt["status"])] = statuses.get(str(attempt["status"]), 0) + 1
    return {"attempts": len(attempts), "server_errors": [a["request"] for a in attempts if a["status"] >= 500],
            "leaks": [a for a in attempts if a["leaked"]], "statuses": statuses,
            "positive_control_served": control_ok, "routes": list(security.ROUTES),
            "forms": sorted({a["form"] for a in attempts}), "targets": sorted({a["target"] for a in attempts})}


def classify(case: hostile.HostileCase, error: str | None) -> str:
    """'handled' when the app's answer is the expected one (a result, or one clear line); else why not."""
    if error is not None and "Traceback" in error:
        return "a traceback reached the client"
    outcome = sweep.judge(case, "app", "accept" if error is None else "refuse", error or "")
    return "handled" if outcome.handled else outcome.problem


def raw_segment(url: str, case: hostile.HostileCase) -> str | None:
    """/segment on a photo uploaded under its raw (non-UTF-8) name; the error text, or None."""
    status, body = security.upload(url, case.fs_name, case.data)
    if status != 200:
        return f"upload refused ({status}): {body[:200]}"
    served = json.loads(body)[0]
    event, data = call_raw(url, "segment", [{"path": served, "meta": {"_type": "gradio.FileData"}}, "[[0, 0, 1]]"])
    return None if event == "complete" else data


def hostile_api(app, work: Path, deadline: float) -> dict:
    from gradio_client import Client, handle_file

    client = Client(app.url, verbose=False)
    written = hostile.write_cases(work / "cases")
    photo, style = work / "photo.png", work / "style.png"
    photo.write_bytes(hostile.good_photo())
    style.write_bytes(hostile.good_style())
    results = []
    for case, path in written:
        if time.monotonic() > deadline:
            break
        started = time.monotonic()
        try:
            if not case.filename.isascii():  # gradio_client cannot send such a name: upload it raw
                error = raw_segment(app.url, case)
            elif case.role == "photo":
                client.predict(handle_file(str(path)), "[[0, 0, 1]]", api_name="/segment")
                error = None
            else:
                client.predict(image=handle_file(str(photo)), mask=handle_file(str(path)), style="",
                               style_images=[handle_file(str(style))], engine="fast", max_size=64, feather=0,
                               api_name="/stylize")
                error = None
        except Exception as exc:  # noqa: BLE001 - the client raises AppError with the server's message
            error = str(exc)
        results.append({"case": case.name, "role": case.role, "expect": case.expect, "error": error,
                        "outcome": classify(case, error), "seconds": round(time.monotonic() - started, 3),
                        "server_alive": alive(app.url)})
    return {"tried": len(results), "handled": sum(r["outcome"] == "handled" for r in results),
            "server_alive_after_each": all(r["server_alive"] for r in results),
            "unclear": [r for r in results if r["outcome"] != "handled"], "cases": results}


def ui_event(url: str, elem_id: str, trigger: str) -> tuple[int, int]:
    """``(fn_index, component id)`` of the page's event ``trigger`` on the component ``elem_id``."""
    with urllib.request.urlopen(f"{url}config", timeout=30) as response:  # noqa: S310 - loopback only
        config = json.loads(response.read())
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    index = next(i for i, d in enumerate(config["dependencies"]) if [component, trigger] in map(list, d["targets"]))
    return index, component


def queue_call(url: str, fn_index: int, trigger_id: int, data: list, timeout: float = 120.0) -> list[dict]:
    """Fire a page event as the browser does (``/queue/join``, then the session's event stream)."""
    session = uuid.uuid4().hex
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": trigger_id}
    request = urllib.request.Request(f"{url}gradio_api/queue/join", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback only
        pass
    with urllib.request.urlopen(f"{url}gradio_api/queue/data?session_hash={session}", timeout=timeout) as response:  # noqa: S310
        text = response.read().decode("utf-8", "replace")
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def ui_upload(app, deadline: float, slow_s: float = 3.0) -> dict:
    """Every hostile photo through the page's own upload event (``gr.Image``, whose preprocessing
    runs before the app's handler): a clear message or the photo, quickly, and the server lives."""
    try:
        fn_index, trigger = ui_event(app.url, "photo", "upload")
    except (StopIteration, KeyError, OSError) as exc:
        return {"tried": 0, "handled": 0, "unclear": [], "slowest_s": 0.0, "peak_rss_mb": 0,
                "server_alive_after_each": alive(app.url), "skipped": f"no photo upload event found ({exc!r})"}
    process = psutil.Process(app.pid)
    results = []
    for case in hostile.photo_cases():
        if time.monotonic() > deadline:
            break
        status, body = security.upload(app.url, case.fs_name, case.data)
        started, peak = time.monotonic(), process.memory_info().rss
        if status != 200:
            error = f"upload refused ({status}): {body[:200]}"
        else:
            file = {"path": json.loads(body)[0], "orig_name": os.fsdecode(case.fs_name),
                    "meta": {"_type": "gradio.FileData"}}
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                future = pool.submit(queue_call, app.url, fn_index, trigger, [file, None])
                while not future.done():
                    peak = max(peak, process.memory_info().rss)
                    time.sleep(0.05)
                messages = future.result()
            done = next((m for m in messages if m.get("msg") == "process_completed"), {})
            output = done.get("output") or {}
            error = None if done.get("success") else output.get("error") or ""
        seconds = time.monotonic() - started
        verdict = classify(case, error)
        if error == "":
            verdict = "refused with no message (a bare 'Error')"
        elif verdict == "handled" and seconds > slow_s:
            verdict = f"took {seconds:.1f} s (Gradio decodes the file before the app checks it)"
        results.append({"case": case.name, "error": error, "outcome": verdict, "seconds": round(seconds, 2),
                        "peak_rss_mb": round(peak / 2**20), "server_alive": alive(app.url)})
    return {"tried": len(results), "handled": sum(r["outcome"] == "handled" for r in results),
            "slowest_s": max((r["seconds"] for r in results), default=0.0),
            "peak_rss_mb": max((r["peak_rss_mb"] for r in results), default=0),
            "server_alive_after_each": all(r["server_alive"] for r in results),
            "unclear": [r for r in results if r["outcome"] != "handled"]}


# Public-API parameters a client can send that are not what the API documents.
POINTS = ["[[NaN, 5, 1]]", "[[Infinity, 0, 1]]", "[[1e308, 1e308, 1]]", "[[-5, -5, 1]]", "[[5, 5, 7]]",
          '{"x": 1}', "[]", "not json", "[[5]]", '[["a", "b", 1]]', "[" + ",".join(["[5, 5, 1]"] * 2000) + "]",
          "[" * 5000 + "]" * 5000]
STYLIZE = [{"max_size": float("nan")}, {"steps": float("nan")}, {"seed": float("inf")}, {"feather": float("nan")},
           {"max_size": 10**9}, {"steps": -3}, {"feather": -1}, {"engine": "../../etc/passwd"},
           {"style": "/etc/passwd"}, {"regions": '[{"mask": 5, "style": "starry_night"}]'},
           {"regions": '[{"mask": "data:image/png;base64,!!!", "style": 0}]'}, {"regions": "[" + "{}," * 50 + "{}]"},
           {"regions": '[{"mask": 0, "style": 0, "strength": NaN}]'}, {"regions": "[" * 5000 + "{}" + "]" * 5000}]


def raw_with_non_finite(url: str, api_name: str, arguments: dict, parameters: list[dict], photo: Path,
                        style: Path) -> str | None:
    """gradio_client cannot send NaN or infinity (its JSON encoder refuses them); a browser's
    or any other client's can. Send them through the documented ``/call`` protocol instead."""
    def uploaded(path: Path) -> dict:
        status, body = security.upload(url, path.name.encode(), path.read_bytes())
        return {"path": json.loads(body)[0], "meta": {"_type": "gradio.FileData"}}

    files = {"image": uploaded(photo), "mask": uploaded(photo), "style_images": [uploaded(style)]}
    data = [files.get(p["parameter_name"], arguments.get(p["parameter_name"], p.get("parameter_default")))
            for p in parameters]
    event, text = call_raw(url, api_name.strip("/"), data)
    if event == "complete":
        return None
    try:
        payload = json.loads(text)
    except ValueError:
        return text
    return (payload.get("error") if isinstance(payload, dict) else str(payload)) or ""  # "" = a bare "Error"


def hostile_parameters(app, work: Path) -> dict:
    """Each odd parameter: a result, or one clear line (not Gradio's bare "Error")."""
    from gradio_client import Client, handle_file

    client = Client(app.url, verbose=False)
    photo, style = work / "photo.png", work / "style.png"
    results = []
    calls = [("/segment", {"image": handle_file(str(photo)), "points": points}) for points in POINTS]
    calls += [("/stylize", {"image": handle_file(str(photo)), "mask": handle_file(str(photo)), "style": "",
                            "style_images": [handle_file(str(style))], "engine": "fast", "max_size": 64, "feather": 0,
                            **extra}) for extra in STYLIZE]
    parameters = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/stylize"]["parameters"]
    for api_name, arguments in calls:
        try:
            if any(isinstance(v, float) and not math.isfinite(v) for v in arguments.values()):
                error = raw_with_non_finite(app.url, api_name, arguments, parameters, photo, style)
            else:
                client.predict(**arguments, api_name=api_name)
                error = None
        except Exception as exc:  # noqa: BLE001 - AppError carries the server's message
            error = str(exc)
        bare = error is not None and (error.strip() in ("", "null", "None") or "verbose error reporting" in error
                                         or "Traceback" in error)
        shown = {k: (v if not isinstance(v, dict) else "<file>") for k, v in arguments.items()
                 if k not in ("image", "mask", "style_images")}
        results.append({"api": api_name, "arguments": json.dumps(shown, default=str)[:160], "error": error,
                        "handled": not bare, "server_alive": alive(app.url)})
    return {"tried": len(results), "handled": sum(r["handled"] for r in results),
            "server_alive_after_each": all(r["server_alive"] for r in results),
            "unclear": [r for r in results if not r["handled"]], "cases": results}


def caps(app, work: Path, max_file_mb: float) -> dict:
    from gradio_client import Client, handle_file

    client = Client(app.url, verbose=False)
    oversize = int((max_file_mb + 1) * 2**20)
    status, body = security.upload(app.url, b"too-big.png", hostile.good_photo() + b"\x00" * oversize)
    results = {"oversized_upload": {"bytes": oversize, "status": status, "message": body[:200],
                                    "refused": status in (400, 413)}}
    big = work / "over-pixel-cap.png"  # 5000 x 4000 = 20 MP, over the app's 16 MP; compresses to ~100 KB
    Image.fromarray(np.full((4000, 5000, 3), 90, np.uint8)).save(big, optimize=False, compress_level=9)
    for name, path in (("over_pixel_cap", big),):
        try:
            client.predict(handle_file(str(path)), "[[0, 0, 1]]", api_name="/segment")
            results[name] = {"refused": False}
        except Exception as exc:  # noqa: BLE001
            results[name] = {"refused": bool(re.search("megapixels, over the limit", str(exc))), "message": str(exc)}
    raw_name = b"photo-\xff\xfe-\xe9t\xe9.png"
    status, body = security.upload(app.url, raw_name, hostile.good_photo())
    entry: dict = {"upload_status": status}
    if status == 200:
        served = json.loads(body)[0]
        event, data = call_raw(app.url, "segment", [{"path": served, "meta": {"_type": "gradio.FileData"}},
                                                    "[[5, 5, 1]]"])
        entry.update(event=event, handled=event == "complete" or (event == "error" and "Traceback" not in data),
                     data=data[:200])
    results["non_utf8_upload_name"] = entry
    results["server_alive"] = alive(app.url)
    return results


def run(time_limit: float = 240.0, url: str | None = None) -> dict:
    started = time.monotonic()
    deadline = started + time_limit
    work = Path(tempfile.mkdtemp(prefix="virtart-probe-"))
    max_file_mb = 50.0
    with launch_app({"VIRTART_MAX_FILE_MB": str(max_file_mb)}) as app:
        report = {"url": app.url, "routes": route_probe(app, work, min(120.0, time_limit / 3))}
        report["caps"] = caps(app, work, max_file_mb)
        report["hostile_api"] = hostile_api(app, work, deadline)
        report["ui_upload"] = ui_upload(app, deadline)
        report["parameters"] = hostile_parameters(app, work)
        report["server_alive_at_end"] = alive(app.url)
    routes, hostile_run, cap = report["routes"], report["hostile_api"], report["caps"]
    report["summary"] = {
        "traversal_attempts": routes["attempts"], "leaks": len(routes["leaks"]),
        "positive_control_served": routes["positive_control_served"],
        "caps_enforced": all(cap[k].get("refused") for k in ("oversized_upload", "over_pixel_cap")),
        "non_utf8_upload_handled": bool(cap["non_utf8_upload_name"].get("handled")),
        "hostile_tried": hostile_run["tried"], "hostile_handled": hostile_run["handled"],
        "unclear": len(hostile_run["unclear"]), "ui_upload_tried": report["ui_upload"]["tried"],
        "ui_upload_handled": report["ui_upload"]["handled"], "ui_upload_slowest_s": report["ui_upload"]["slowest_s"],
        "parameters_tried": report["parameters"]["tried"], "parameters_handled": report["parameters"]["handled"],
        "server_alive": report["server_alive_at_end"]
        and hostile_run["server_alive_after_each"], "seconds": round(time.monotonic() - started, 1),
    }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=240.0)
    parser.add_argument("--full", action="store_true", help="print every attempt, not only the summary")
    args = parser.parse_args()
    report = run(args.time_limit)
    if not args.full:
        report["hostile_api"].pop("cases")
        report["parameters"].pop("cases")
    print(json.dumps(report, indent=2))
    summary = report["summary"]
    ok = summary["leaks"] == 0 and summary["unclear"] == 0 and summary["caps_enforced"] and summary["server_alive"] \
        and 0 < summary["ui_upload_tried"] == summary["ui_upload_handled"] \
        and summary["parameters_tried"] == summary["parameters_handled"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
