"""Run each hostile case through a layer (library decode, library stylize, CLI) and judge the outcome.

Every function returns an :class:`Outcome` whose ``problem`` is None when the case was
handled as :mod:`tests.support.hostile` says it must be, else a one-line description.
The tests assert on it; ``bench/reliability_report.py`` counts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.hostile import MASK_PHOTO_SIZE, REFUSE, WARN, HostileCase
from virtart.errors import VirtArtError, VirtArtWarning
from virtart.imageio import load_mask, load_photo


@dataclass
class Outcome:
    case: str
    layer: str
    got: str  # "accept" | "warn" | "refuse" | "crash"
    # layer: "decode" | "stylize" | "cli" | "app" (warnings are checked where the caller can see them)
    message: str = ""
    problem: str | None = None

    @property
    def handled(self) -> bool:
        return self.problem is None


def must_refuse(case: HostileCase, layer: str) -> tuple[bool, str]:
    """Whether ``layer`` must refuse ``case``, and the pattern its message must match."""
    if case.expect == REFUSE:
        return True, case.message
    if layer != "decode" and case.stylize_refuses:
        return True, case.stylize_refuses
    return False, ""


def judge(case: HostileCase, layer: str, got: str, message: str, result=None) -> Outcome:
    refuse, pattern = must_refuse(case, layer)
    problem = None
    if got == "crash":
        problem = f"crashed: {message}"
    elif refuse:
        if got != "refuse":
            problem = "accepted, should have been refused"
        elif "\n" in message.strip() or not re.search(pattern, message, re.I):
            problem = f"unclear refusal: {message[:200]!r}"
    elif got == "refuse":
        problem = f"refused, should have been accepted: {message[:200]}"
    elif case.expect == WARN and layer in ("decode", "cli") and not re.search(case.message, message, re.I):
        problem = f"no warning matching {case.message!r} (got {message[:200]!r})"
    elif case.expect != WARN and layer == "decode" and message:
        problem = f"unexpected warning: {message[:200]}"
    elif layer == "decode" and case.check is not None and result is not None:
        problem = case.check(result)
    return Outcome(case.name, layer, got, message, problem)


def decode_outcome(case: HostileCase, source) -> Outcome:
    """``load_photo`` (photos) or ``load_mask`` at :data:`MASK_PHOTO_SIZE` (masks) on bytes or a path."""
    result = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if case.role == "photo":
                result = load_photo(source, label=case.name)
            else:
                result = load_mask(source, MASK_PHOTO_SIZE, label=case.name)
            got, message = "accept", ""
        except VirtArtError as exc:
            got, message = "refuse", str(exc)
        except Exception as exc:  # noqa: BLE001 - what the sweep is looking for
            got, message = "crash", f"{type(exc).__name__}: {exc}"
    said = "; ".join(str(w.message) for w in caught if issubclass(w.category, VirtArtWarning))
    if got == "accept" and said:
        got, message = "warn", said
    return judge(case, "decode", got, message, result)


def stylize_outcome(case: HostileCase, photo_path: Path, style_path: Path) -> Outcome | None:
    """The fast engine on a decodable case (photo: whole-photo region; mask: on the good photo).
    None for cases that do not decode (their refusal is the decode layer's)."""
    from virtart.engines.base import StyleOptions
    from virtart.pipeline import RegionRequest, stylize

    if case.expect == REFUSE:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VirtArtWarning)
        if case.role == "photo":
            photo = load_photo(case.data, label=case.name)
            mask = np.ones(photo.rgb.shape[:2], np.float32)
        else:
            photo = load_photo(photo_path)
            mask = load_mask(case.data, photo.size, label=case.name)
        options = StyleOptions(max_size=64, device="cpu")
        try:
            previews = list(stylize(photo, [RegionRequest(mask, str(style_path), feather=0)], engine="fast",
                                    options=options))
        except VirtArtError as exc:
            return judge(case, "stylize", "refuse", str(exc))
        except Exception as exc:  # noqa: BLE001
            return judge(case, "stylize", "crash", f"{type(exc).__name__}: {exc}")
    outcome = judge(case, "stylize", "accept", "")
    final = previews[-1] if previews else None
    if outcome.handled and (final is None or not final.final or final.image.shape != photo.rgb.shape):
        outcome.problem = "no full-size final image"
    elif outcome.handled and final.result.report["outside_changed_pixels"] != 0:
        outcome.problem = "pixels outside the region changed"
    return outcome


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli_outcome(case: HostileCase, path: Path, photo_path: Path, style_path: Path, out_dir: Path) -> Outcome:
    """``virtart stylize`` in process (fast engine): exit 2 with one ``error:`` line, or a PNG at
    the photo's size; never a traceback, a half-written file or a changed input."""
    from PIL import Image

    from virtart.cli.main import main

    out = out_dir / f"{case.name}.png"
    common = ["--style", str(style_path), "--engine", "fast", "--max-size", "64", "--feather", "0", "--device", "cpu",
              "--out", str(out)]
    argv = ["stylize", str(path), *common] if case.role == "photo" else \
        ["stylize", str(photo_path), "--mask", str(path), *common]
    before = digest(path)
    stdout, stderr = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    text = stderr.getvalue()
    errors = [line[len("error: "):] for line in text.splitlines() if line.startswith("error: ")]
    warned = "; ".join(line for line in text.splitlines() if line.startswith("warning: "))
    if code == 2 and len(errors) == 1:
        outcome = judge(case, "cli", "refuse", errors[0])
    elif code == 0:
        outcome = judge(case, "cli", "warn" if warned else "accept", warned)
    else:
        outcome = judge(case, "cli", "crash", f"exit {code}: {text[-300:]}")
    problems = [outcome.problem] if outcome.problem else []
    if "Traceback" in text + stdout.getvalue():
        problems.append("a traceback reached the terminal")
    if outcome.got == "refuse" and out.exists():
        problems.append("an output file was written for a refused input")
    if outcome.got in ("accept", "warn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VirtArtWarning)
            expected = load_photo(path if case.role == "photo" else photo_path).size
        if not out.is_file() or Image.open(out).size != expected:
            problems.append("no output PNG at the photo's size")
    if list(out_dir.glob(".*.part")):
        problems.append("a half-written .part file was left behind")
    if digest(path) != before:
        problems.append("the input file was changed")
    outcome.problem = "; ".join(problems) or None
    return outcome
