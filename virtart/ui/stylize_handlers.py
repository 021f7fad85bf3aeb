"""The Stylize button: stream previews, then the before/after slider, the full-resolution
PNG download and the loss curves.

:func:`stylize` is a generator (Gradio streams each yield to the page); Stop cancels the
event, which closes the generator and with it the engine's.
"""

import time

import gradio as gr
import numpy as np

from virtart.engines.base import Preview
from virtart.engines.registry import parse_options
from virtart.errors import VirtArtError
from virtart.request import RegionRequest, StylizeRequest
from virtart.ui import render
from virtart.ui.limits import DISPLAY_MAX_SIDE
from virtart.ui.messages import user_facing
from virtart.ui.runner import PREVIEW_INTERVAL, RESULTS, Throttle, run_stylize, shrink
from virtart.ui.state import Session

OUTPUT_SIZES = {"Full resolution": None, "2048 px": 2048, "1024 px": 1024, "512 px": 512}


def region_requests(session: Session) -> list[RegionRequest]:
    """The session's regions for the pipeline; the current click mask alone if none was added."""
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) first")
    if session.regions:
        return [RegionRequest(r.mask, r.style, r.strength, r.invert) for r in session.regions]
    if session.mask is not None and np.any(session.mask >= 0.5):
        gr.Info("No region added yet: stylizing the current selection.")
        return [RegionRequest(session.mask, session.style, 1.0, False)]
    raise VirtArtError("no region to repaint: click on the photo (or detect objects) and add a region first")


def _progress(preview: Preview, auto: bool) -> str:
    if preview.stage == "start":
        start = "the fast engine's result" if preview.info.get("start") == "fast" else "the photo"
        return f"Starting from {start}, {preview.elapsed:.1f} s; refining..."
    total = f" (automatic stop, at most {preview.total_steps})" if auto else f"/{preview.total_steps}"
    return f"Step {preview.step}{total}, {preview.elapsed:.1f} s" + (f" ({preview.stage})" if preview.stage else "")


def _stopped_because(report: dict) -> str:
    stopped = report.get("stopped")
    if not stopped:
        return ""
    why = {"converged": "converged", "cap": "reached the step cap", "steps": "as set"}[stopped["reason"]]
    return f" after {stopped['steps']} steps ({why})"


@user_facing
def stylize(session: Session, engine: str, auto_steps: bool, steps: float, max_size: float, preserve_color: bool,
            feather: float, output_size: str):
    """Yield ``(session, preview, status, slider, download, plot)``; previews first, then the result.

    ``auto_steps``: stop the Quality engine when converged (else exactly ``steps`` steps). A
    refused run also says why on the status line (the toast fades; "Waiting..." must not stay)."""
    try:
        yield from _stylize(session, engine, auto_steps, steps, max_size, preserve_color, feather, output_size)
    except VirtArtError as exc:
        yield gr.skip(), gr.skip(), f"Not stylized: {exc}", gr.skip(), gr.skip(), gr.skip()
        raise


def _stylize(session: Session, engine: str, auto_steps: bool, steps: float, max_size: float, preserve_color: bool,
             feather: float, output_size: str):
    requests = region_requests(session)
    # Every step is reported; the Throttle below decides which ones the page draws.
    options = parse_options(engine, {"steps": "auto" if auto_steps else steps, "max_size": max_size, "preview_every": 1})
    photo, requests = shrink(session.photo, requests, OUTPUT_SIZES.get(output_size))
    request = StylizeRequest.create(photo, requests, engine, options, preserve_color=preserve_color, feather=feather)
    history: list[tuple[int, dict]] = []
    started = time.perf_counter()
    previews, throttle = 0, Throttle(PREVIEW_INTERVAL)
    yield session, None, f"Starting the {engine} engine...", gr.skip(), gr.skip(), gr.skip()
    for preview in run_stylize(request):
        if preview.losses:
            history.append((preview.step, preview.losses))
        if not preview.final:
            if not throttle.ready():
                # Still yield: Gradio can only cancel (Stop) between two yields of this generator.
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
                continue
            previews += 1
            shown, _ = render.fit_display(preview.image, DISPLAY_MAX_SIDE)
            yield session, shown, _progress(preview, getattr(options, "steps", None) == "auto"), gr.skip(), gr.skip(), gr.skip()
            continue
        result = preview.result
        report = result.report
        session.result, session.report = result.image, report
        download = RESULTS.save(result.image, result.alpha, stem=photo.name or "virtart")
        before, _ = render.fit_display(photo.rgb, DISPLAY_MAX_SIDE)
        after, _ = render.fit_display(preview.image, DISPLAY_MAX_SIDE)
        status = (f"Done in {time.perf_counter() - started:.1f} s{_stopped_because(report)} ({previews} previews). Result "
                  f"{preview.image.shape[1]}x{preview.image.shape[0]} px; pixels changed outside the "
                  f"regions: {report['outside_changed_pixels']}.")
        figure = render.loss_figure(history, preview.info.get("start"))  # None when the engine reports no losses
        yield session, after, status, (before, after), download, gr.update(value=figure, visible=figure is not None)


def queued() -> str:
    """Shown at once when Stylize is pressed, until a worker takes the run."""
    return "Waiting for a free worker..."


def stopped() -> str:
    """What the page says when Stop cancelled a run (the engine is closed by then)."""
    return "Stopped. Adjust the regions or settings and press Stylize again."
