"""Every hostile input of :mod:`tests.support.hostile` through the library, the CLI and the app's handlers.

Each one must end as it says: decoded (with a warning where one is due) or refused with
one clear line. Through the CLI: exit status 2 with ``error: ...``, never a traceback,
never a half-written output, the input files untouched. The fast engine keeps it quick.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.support import hostile, sweep
from virtart.errors import VirtArtError
from virtart.imageio import load_photo

CASES = hostile.cases()
PHOTO_CASES = [c for c in CASES if c.role == "photo"]
MASK_CASES = [c for c in CASES if c.role == "mask"]
IDS = [c.name for c in CASES]

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


digest = sweep.digest


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    hostile.write_cases(root / "cases")
    (root / "photo.png").write_bytes(hostile.good_photo())
    (root / "style.png").write_bytes(hostile.good_style())
    return root


@pytest.fixture(scope="module")
def digests(folder: Path) -> dict[Path, str]:
    return {path: digest(path) for path in folder.rglob("*") if path.is_file()}


def case_path(folder: Path, case: hostile.HostileCase) -> Path:
    return folder / "cases" / case.name / case.filename


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_library_decodes_or_refuses_from_bytes_and_path(case, folder: Path):
    for source in (case.data, case_path(folder, case)):
        outcome = sweep.decode_outcome(case, source)
        assert outcome.handled, f"{case.name} ({type(source).__name__}): {outcome.problem}"


def test_a_non_utf8_name_round_trips_through_the_file_system(folder: Path):
    case = next(c for c in CASES if c.name == "non_utf8_name")
    raw = os.fsencode(case_path(folder, case))
    assert b"\xff" in raw and os.path.isfile(raw)
    photo = load_photo(os.fsdecode(raw))
    assert case.check(photo) is None and photo.name.startswith("photo-")


@pytest.fixture(scope="module")
def fast_engine():
    """The shipped fast engine (real weights, so the tests using it are marked ``weights``)."""
    from virtart.engines.registry import shared_engine

    return shared_engine("fast", "cpu")


@pytest.mark.weights
def test_library_stylizes_every_accepted_input_or_refuses_clearly(folder: Path, fast_engine):
    """Whatever decodes either stylizes at the photo's own size (outside pixels untouched) or is
    refused with one clear line."""
    outcomes = [sweep.stylize_outcome(case, folder / "photo.png", folder / "style.png") for case in CASES]
    tried = [o for o in outcomes if o is not None]
    assert len(tried) == sum(c.expect != hostile.REFUSE for c in CASES)
    assert [f"{o.case}: {o.problem}" for o in tried if not o.handled] == []


@pytest.mark.weights
def test_cli_handles_every_case(folder: Path, digests: dict[Path, str], fast_engine):
    out_dir = folder / "out"
    out_dir.mkdir(exist_ok=True)
    outcomes = [sweep.cli_outcome(case, case_path(folder, case), folder / "photo.png", folder / "style.png", out_dir)
                for case in CASES]
    assert [f"{o.case}: {o.problem}" for o in outcomes if not o.handled] == []
    assert {o.got for o in outcomes} <= {"accept", "warn", "refuse"}
    assert {path: digest(path) for path in digests} == digests, "an input file was changed"


def test_cli_subprocess_prints_one_line_not_a_traceback(folder: Path):
    """One real ``python -m virtart`` run: a truncated JPEG under a non-UTF-8 name."""
    raw_name = b"trunc-\xff\xfe.jpg"
    path = os.path.join(os.fsencode(folder), raw_name)
    with open(path, "wb") as handle:
        handle.write(next(c for c in CASES if c.name == "truncated_jpeg").data)
    before = digest(Path(os.fsdecode(path)))
    out = folder / "subprocess-out.png"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-m", "virtart", "stylize", os.fsdecode(path), "--style",
                             str(folder / "style.png"), "--engine", "fast", "--out", str(out)],
                            capture_output=True, env=env, timeout=120)
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr and "Traceback" not in result.stdout.decode("utf-8", "replace")
    assert re.fullmatch(r"error: .*trunc-.*\.jpg: the image data is truncated or corrupt.*\n", stderr), stderr
    assert not out.exists() and digest(Path(os.fsdecode(path))) == before


# ---------------------------------------------------------------- the app's handlers, in process


@pytest.fixture(scope="module")
def app_handlers():
    import gradio as gr

    from virtart.ui import api, photo_handlers
    from virtart.ui.state import new_session

    class Refusal:  # the API raises gr.Error; a page handler raises VirtArtError (the page shows it as a notice)
        Error = (gr.Error, VirtArtError)

    return Refusal, api, photo_handlers, new_session


def test_app_upload_refuses_hostile_photos_and_keeps_the_session(folder: Path, app_handlers):
    gr, _, photo_handlers, new_session = app_handlers
    session = new_session()
    session = photo_handlers.upload_photo(str(folder / "photo.png"), session).session
    kept = session.photo
    for case in PHOTO_CASES:
        try:
            session = photo_handlers.upload_photo(str(case_path(folder, case)), session).session
        except gr.Error as exc:
            message = str(exc.message if hasattr(exc, "message") else exc)
            assert case.expect == hostile.REFUSE or case.stylize_refuses, f"{case.name}: {message}"
            assert re.search(case.message or case.stylize_refuses, message, re.I), f"{case.name}: {message}"
            assert session.photo is kept, f"{case.name}: the refused upload replaced the session's photo"
            continue
        assert case.expect != hostile.REFUSE and not case.stylize_refuses, f"{case.name}: accepted"
        kept = session.photo
        assert kept is not None and kept.size == load_photo(case.data).size


@pytest.mark.weights
def test_app_api_refuses_hostile_masks_with_a_message(folder: Path, app_handlers, fast_engine):
    gr, api, _, _ = app_handlers
    for case in MASK_CASES:
        arguments = {"image": str(folder / "photo.png"), "mask": str(case_path(folder, case)), "style": "",
                     "style_images": [str(folder / "style.png")], "engine": "fast", "max_size": 64, "feather": 0}
        try:
            outputs = list(api.stylize_api(**arguments))
        except gr.Error as exc:
            message = str(exc.message if hasattr(exc, "message") else exc)
            pattern = case.message if case.expect == hostile.REFUSE else case.stylize_refuses
            assert pattern and re.search(pattern, message, re.I), f"{case.name}: {message}"
            continue
        assert case.expect != hostile.REFUSE and not case.stylize_refuses, f"{case.name}: accepted"
        image, png, progress = outputs[-1]
        assert image.shape[:2] == hostile.MASK_PHOTO_SIZE[::-1] and png and Path(png).is_file(), case.name
        assert json.dumps(progress["report"]["outside_changed_pixels"]) == "0", case.name


def page_photo_component():
    """The page's photo ``gr.Image``: its ``preprocess`` runs before the upload handler."""
    import app

    return next(block for block in app.demo.blocks.values() if getattr(block, "elem_id", None) == "photo")


def test_the_page_upload_path_gives_every_hostile_photo_a_clear_message(folder: Path, app_handlers):
    """As Gradio runs it: the component's preprocessing, then the handler. Each hostile photo ends as
    the photo in the session, unchanged, or a gr.Error whose message says why (the stock gr.Image
    decoded uploads before the handler: bare "Error"s, flattened 16-bit and transparent photos)."""
    gr, _, photo_handlers, new_session = app_handlers
    from gradio.data_classes import ImageData

    component = page_photo_component()
    problems = []
    for case in PHOTO_CASES:
        path = case_path(folder, case)
        try:
            value = component.preprocess(ImageData(path=str(path), orig_name=os.path.basename(str(path))))
            session = photo_handlers.upload_photo(value, new_session()).session
            if case.expect == hostile.REFUSE:
                problems.append(f"{case.name}: accepted")
            elif case.check is not None and case.check(session.photo) is not None:
                problems.append(f"{case.name}: the photo changed on its way in ({case.check(session.photo)})")
        except gr.Error as exc:
            message = str(getattr(exc, "message", exc))
            if not re.search(case.message or case.stylize_refuses or "^$", message, re.I):
                problems.append(f"{case.name}: {message}")
        except Exception as exc:  # noqa: BLE001 - what Gradio shows as a bare "Error"
            problems.append(f"{case.name}: {type(exc).__name__} before the handler ({str(exc)[:80]})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("flag, value, message", [
    ("--feather", "nan", "feather must be a finite number"), ("--feather", "inf", "feather must be a finite number"),
    ("--strength", "nan", "strength must be between"), ("--style-weight", "nan", "style weight must be a finite"),
    ("--content-weight", "inf", "content weight must be a finite"), ("--style-scale", "-1", "style scale must be"),
    ("--max-size", "1e9", "max size must be between 64 and"), ("--steps", "0", "steps must be 'auto' or a whole number"),
    ("--feather", "500", "feather must be 'auto' or between 0 and"), ("--max-size", "12.5", "max size must be a whole number"),
])
def test_cli_refuses_numbers_that_are_not_numbers(folder: Path, capsys, flag: str, value: str, message: str):
    """NaN used to pass the checks: --feather nan returned the photo untouched, --style-weight nan one
    flat colour, both reported as success."""
    from virtart.cli.main import main

    out = folder / f"numbers-{flag.strip('-')}-{value}.png"
    argv = ["stylize", str(folder / "photo.png"), "--style", str(folder / "style.png"), "--engine", "fast",
            "--device", "cpu", flag, value, "--out", str(out)]
    try:
        with warnings.catch_warnings():  # main() installs its own warning printer; keep it local
            code = main(argv)
    except SystemExit as exc:  # argparse refuses what is not a number of the right type
        code = exc.code
    stderr = capsys.readouterr().err
    assert code == 2 and message in stderr and "Traceback" not in stderr, stderr
    assert not out.exists()
