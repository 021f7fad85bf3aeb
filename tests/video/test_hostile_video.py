"""Every clip shape the decoder accepts (``tests/support/hostile_video.py``, written with PyAV):
a result or one clear message, through the library and through ``/stylize_video``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from tests.support.boundary import library_outcome  # noqa: E402
from tests.support.hostile_video import ACCEPT, REFUSE, clip_cases  # noqa: E402
from virtart.video import io  # noqa: E402
from virtart.video.flow import FlowEstimator, flow_image  # noqa: E402

CASES = clip_cases()
IDS = [case.name for case in CASES]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def clean(message: str) -> None:
    """One line, no server path, no library name."""
    assert "\n" not in message and "Traceback" not in message, message
    assert not re.search(r"/tmp|/home|/root|pytest-of|FFmpeg|PyAV|OpenCV|cv2|Pillow|torch", message), message


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_clip_is_decoded_and_its_flow_computed_or_refused_in_one_line(case, tmp_path: Path):
    """Accepted: every frame at the probed size, times increasing, the flow between each pair;
    refused: one line matching the case's message (:func:`tests.support.boundary.library_outcome`)."""
    assert library_outcome(case, case.write(tmp_path)) is None


@pytest.mark.parametrize("size", [(1800, 16), (16, 1800), (1, 1), (200, 1), (3, 5), (2, 2)])
def test_optical_flow_takes_thin_and_tiny_frames(size):
    """An 1800x16 clip crashed OpenCV's DIS flow (a resize assertion) in the server."""
    rng = np.random.default_rng(0)
    first = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    second = np.roll(first, 1, axis=1)
    flows = FlowEstimator().between(flow_image(first), flow_image(second), size)
    assert flows.backward.shape == (size[1], size[0], 2) and flows.stable.shape == (size[1], size[0])
    assert np.isfinite(flows.backward).all()


@pytest.mark.weights  # paints with the shipped fast engine
def test_the_video_endpoint_paints_each_clip_or_says_why(tmp_path: Path):
    import gradio as gr

    from virtart.ui.video_tab import stylize_video_api

    problems = []
    for case in CASES:
        if case.max_side:
            continue  # the endpoint has the app's own limits
        path = case.write(tmp_path / case.name)
        try:
            outputs = list(stylize_video_api(str(path), style="starry_night"))
        except gr.Error as exc:
            message = str(exc.message)
            clean(message)
            if case.expect != REFUSE or not re.search(case.message, message, re.I):
                problems.append(f"{case.name}: {message}")
            continue
        _, mp4, progress = outputs[-1]
        if case.expect != ACCEPT or not (mp4 and Path(mp4).is_file() and progress["final"]):
            problems.append(f"{case.name}: accepted, {progress}")
        elif progress["report"]["frames"] != len(list(io.read_frames(io.probe(path)))):
            problems.append(f"{case.name}: {progress['report']['frames']} frames painted")
    assert not problems, "\n".join(problems)
