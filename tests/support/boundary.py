"""Sweeps of the API's boundary for the reliability report: hostile clips and hostile JSON.

:func:`video_sweep` sends every clip of :mod:`tests.support.hostile_video` through the
library (probe, decode, optical flow) and, with ``endpoint=True``, through ``/stylize_video``
(the fast engine paints); :func:`json_sweep` sends hostile texts to every JSON field's parser.
Each returns counts: tried, handled (a result, or one clean line that matches what the case
expects), and the problems.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

from tests.support import hostile_video
from tests.support.leaks import leaks
from virtart.errors import VirtArtError


def library_outcome(case: hostile_video.ClipCase, path: Path) -> str | None:
    """None when the clip is handled as ``case`` expects through probe, decode and flow (every
    frame at the probed size, times increasing; or one line matching ``case.message``); else why not."""
    from virtart.video import io
    from virtart.video.flow import FlowEstimator, flow_image

    try:
        info = io.probe(path, **({"max_side": case.max_side} if case.max_side else {}))
        frames = list(io.read_frames(info))
        estimator = FlowEstimator()
        greys = [flow_image(frame.rgb) for frame in frames]
        for previous, current in zip(greys, greys[1:], strict=False):
            estimator.between(previous, current, info.size)
    except VirtArtError as exc:
        if "\n" in str(exc):
            return f"refused in more than one line: {exc!r}"
        if case.expect != hostile_video.REFUSE or not re.search(case.message, str(exc), re.I):
            return f"refused: {exc}"
        return None
    except Exception as exc:  # noqa: BLE001 - what the sweep exists to find
        return f"crashed: {type(exc).__name__}: {exc}"
    if case.expect != hostile_video.ACCEPT:
        return "accepted"
    if not frames or any(frame.rgb.shape != (info.size[1], info.size[0], 3) for frame in frames):
        return f"frames not all {info.size[0]}x{info.size[1]}"
    if any(later.time <= earlier.time for earlier, later in zip(frames, frames[1:], strict=False)):
        return "frame times do not increase"
    return None


def _endpoint_outcome(case: hostile_video.ClipCase, path: Path) -> str | None:
    import gradio as gr

    from virtart.ui.video_tab import stylize_video_api

    try:
        *_, (_, mp4, progress) = stylize_video_api(str(path), style="starry_night")
    except gr.Error as exc:
        message = str(exc.message)
        if found := leaks(message, (str(path.parent),)):
            return f"message gives away {found}: {message}"
        ok = case.expect == hostile_video.REFUSE and re.search(case.message, message, re.I)
        return None if ok else f"refused: {message}"
    except Exception as exc:  # noqa: BLE001
        return f"crashed: {type(exc).__name__}: {exc}"
    if case.expect != hostile_video.ACCEPT or not (mp4 and Path(mp4).is_file() and progress.get("final")):
        return "accepted" if case.expect != hostile_video.ACCEPT else "no MP4"
    return None


def video_sweep(endpoint: bool = True) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="virtart-clips-"))
    started = time.monotonic()
    written = hostile_video.write_all(folder)
    layers = {"library": [(case, library_outcome(case, path)) for case, path in written]}
    if endpoint:
        layers["endpoint"] = [(case, _endpoint_outcome(case, path)) for case, path in written if not case.max_side]
    result = {"clips": len(written), "seconds": round(time.monotonic() - started, 1)}
    for layer, outcomes in layers.items():
        result[layer] = {"tried": len(outcomes), "handled": sum(problem is None for _, problem in outcomes),
                         "accepted": sum(case.expect == hostile_video.ACCEPT for case, p in outcomes if p is None),
                         "refused": sum(case.expect == hostile_video.REFUSE for case, p in outcomes if p is None),
                         "problems": [f"{case.name}: {problem}" for case, problem in outcomes if problem]}
    return result


def _hostile_texts(valid: str) -> dict[str, str]:
    return {"valid": valid, "deep 20": "[" * 20 + "]" * 20, "deep 100k": "[" * 100_000 + "]" * 100_000,
            "objects deep 30k": '{"a": ' * 30_000 + "1" + "}" * 30_000, "2 MB string": json.dumps("x" * 2_000_000),
            "300k entries": "[" + ",".join(["[1, 2, 1]"] * 300_000) + "]", "5000-digit number": "[1" + "0" * 5000 + "]",
            "broken": valid[:-1], "NaN": "[[NaN, 1, 1]]", "wrong type": '{"points": 1}', "empty": "[]"}


def json_sweep() -> dict:
    """Every JSON field's parser on hostile texts: one clear line naming the field, or a parse."""
    from virtart.ui import api

    parsers = {
        "points": (lambda text: api.parse_points(text), "[[10, 10, 1]]"),
        "box": (lambda text: api.parse_box(text), "[1, 2, 30, 40]"),
        "strokes": (lambda text: api.parse_strokes(text), '[{"points": [[1, 2], [3, 4]], "label": 1}]'),
        "regions": (lambda text: api.parse_regions(text, ["mask.png"], [], None, "starry_night", 1.0, False),
                    '[{"mask": 0, "style": "starry_night"}]'),
    }
    tried = handled = 0
    problems, slowest = [], 0.0
    for field, (parse, valid) in parsers.items():
        for name, text in _hostile_texts(valid).items():
            tried += 1
            started = time.perf_counter()
            try:
                parse(text)
                ok = True
            except VirtArtError as exc:
                ok = field in str(exc) or name in ("NaN", "wrong type", "empty", "broken")
                ok = ok and not leaks(str(exc))
                if not ok:
                    problems.append(f"{field} {name}: {exc}")
            except Exception as exc:  # noqa: BLE001 - e.g. RecursionError: what the limits prevent
                ok = False
                problems.append(f"{field} {name}: {type(exc).__name__}")
            slowest = max(slowest, time.perf_counter() - started)
            handled += ok
    return {"tried": tried, "handled": handled, "fields": list(parsers), "slowest_s": round(slowest, 3),
            "problems": problems}
