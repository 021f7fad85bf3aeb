"""The Stylize button: stream previews into the before/after slider with the time left,
then the result, the full-resolution PNG and the loss curves; Stop keeps the last preview.

:func:`stylize` is a generator of :class:`~virtart.ui.page.PageUpdate` (Gradio streams each
yield to the page); Stop cancels the event, which closes the generator and with it the
engine's, and :func:`stopped` then makes the last preview the result.
"""

import time
from dataclasses import replace

import gradio as gr
import numpy as np
from PIL import Image

from virtart.engines import registry
from virtart.engines.base import Preview
from virtart.engines.registry import parse_options
from virtart.errors import VirtArtError
from virtart.request import RegionRequest, StylizeRequest
from virtart.ui import render
from virtart.ui.limits import DISPLAY_MAX_SIDE
from virtart.ui.page import KEEP, PageUpdate
from virtart.ui.runner import PREVIEW_INTERVAL, RESULTS, Throttle, run_stylize, shrink
from virtart.ui.state import ResultView, Session
from virtart.ui.time_left import TimeLeft, describe

OUTPUT_SIZES = {"Full resolution": None, "2048 px": 2048, "1024 px": 1024, "512 px": 512}
RESULT_FIELDS = ("result", "download", "plot")
DOWNLOAD_LABEL = "Download the PNG"


def download_button(path: str | None, photo_size: tuple[int, int] | None = None):
    """The download button holding ``path``, its label saying the PNG's size in px, and
    "full-resolution" only when that is the photo's ``(w, h)`` (a stopped run's preview is
    the display's size; an output size below the photo's is smaller too)."""
    if path is None:
        return gr.update(value=None, label=DOWNLOAD_LABEL)
    with Image.open(path) as png:
        size = png.size
    full = "full-resolution " if size == photo_size else ""
    return gr.update(value=path, label=f"Download the {full}PNG ({size[0]}x{size[1]} px)")


def region_requests(session: Session) -> list[RegionRequest]:
    """The session's regions for the pipeline, each with its own look; the current selection
    alone (with the default look) if none was added."""
    if session.photo is None:
        raise VirtArtError("upload a photo (or pick an example) first")
    if session.regions:
        return [replace(region, prompt=None) for region in session.regions]  # each mask is already cut
    if session.mask is not None and np.any(session.mask >= 0.5):
        gr.Info("No region added yet: stylizing the current selection.")
        return [replace(session.look, mask=session.mask)]
    raise VirtArtError("no region to repaint: click on the photo (or detect objects) and add a region first")


def _progress(preview: Preview, auto: bool, left: str) -> str:
    if preview.stage == "start":
        return f"Starting from {render.start_label(preview.info.get('start'))}, {preview.elapsed:.1f} s; refining..."
    total = " (stops when converged)" if auto else f"/{preview.total_steps}"
    return f"Step {preview.step}{total}, {preview.elapsed:.0f} s" + (f"; {left}" if left else "") + "."


def _stopped_because(report: dict) -> str:
    stopped = report.get("stopped")
    if not stopped:
        return ""
    why = {"converged": "converged", "cap": "reached the step cap", "steps": "as set"}[stopped["reason"]]
    return f" after {stopped['steps']} steps ({why})"


def stylize(session: Session, engine: str, auto_steps: bool, steps: float, max_size: float, output_size: str):
    """Yield page updates: the previews (in the before/after slider, with the time left), then
    the result. ``engine``: a registry label or name; ``auto_steps``: stop the optimisation
    when converged (else exactly ``steps`` steps). A run that fails midway puts the last result
    back (the refusal itself is :func:`virtart.ui.page.stream`'s)."""
    requests = region_requests(session)
    # Every step is reported; the Throttle below decides which ones the page draws.
    options = parse_options(engine, {"steps": "auto" if auto_steps else steps, "max_size": max_size, "preview_every": 1})
    photo, requests = shrink(session.photo, requests, OUTPUT_SIZES.get(output_size))
    request = StylizeRequest.create(photo, requests, engine, options)
    label = registry.engine_spec(request.engine).label
    before, _ = render.fit_display(photo.rgb, DISPLAY_MAX_SIDE)
    history: list[tuple[int, dict]] = []
    started = time.perf_counter()
    previews, throttle, clock = 0, Throttle(PREVIEW_INTERVAL), TimeLeft(request.options)
    session.preview = None
    yield PageUpdate(session=session, run_status=f"Starting the {label} engine...")
    try:
        for preview in run_stylize(request):
            if preview.losses:
                history.append((preview.step, preview.losses))
            left = describe(clock.update(preview))
            if not preview.final:
                if not throttle.ready():
                    # Still yield: Gradio can only cancel (Stop) between two yields of this generator.
                    yield PageUpdate(notice=KEEP)
                    continue
                previews += 1
                shown, _ = render.fit_display(preview.image, DISPLAY_MAX_SIDE)
                session.preview = ResultView(before, shown)
                session.preview_step = preview.step
                yield PageUpdate(result=(before, shown), run_status=_progress(preview, clock.auto, left),
                                 notice=KEEP)
                continue
            result, report = preview.result, preview.result.report
            download = RESULTS.save(result.image, result.alpha, stem=photo.name or "virtart")
            after, _ = render.fit_display(preview.image, DISPLAY_MAX_SIDE)
            session.result, session.preview = ResultView(before, after, download), None
            status = (f"Done in {time.perf_counter() - started:.1f} s{_stopped_because(report)} ({previews} previews). "
                      f"Result {preview.image.shape[1]}x{preview.image.shape[0]} px; pixels changed outside the "
                      f"regions: {report['outside_changed_pixels']}.")
            figure = render.loss_figure(history, preview.info.get("start"))  # None: the engine reports no losses
            yield PageUpdate(session=session, result=(before, after), run_status=status,
                             download=download_button(download, session.photo.size),
                             plot=gr.update(value=figure, visible=figure is not None))
    except VirtArtError:
        session.preview = None
        yield last_result(session)
        raise


def last_result(session: Session) -> PageUpdate:
    """The result panel showing the last result again (empty when there is none)."""
    kept = session.result
    return PageUpdate(result=(kept.before, kept.after) if kept else None,
                      download=download_button(kept.download if kept else None,
                                               session.photo.size if session.photo else None),
                      notice=KEEP)


def queued() -> PageUpdate:
    """Shown at once when Stylize is pressed, until a worker takes the run."""
    return PageUpdate(run_status="Waiting for a free worker...", notice=KEEP)


def stopped(session: Session) -> PageUpdate:
    """Stop cancelled the run (the engine is closed by then): its last preview becomes the result."""
    kept = session.preview
    if kept is None:
        return PageUpdate(session=session, run_status="Stopped. Adjust the regions or settings and press Stylize again.")
    kept.download = RESULTS.save(kept.after, stem=(session.photo.name if session.photo else "") or "virtart")
    session.result, session.preview = kept, None
    size = session.photo.size if session.photo else None
    return PageUpdate(session=session, result=(kept.before, kept.after), download=download_button(kept.download, size),
                      run_status=f"Stopped at step {session.preview_step}: the last preview is kept as the result "
                                 f"({kept.after.shape[1]}x{kept.after.shape[0]} px). Press Stylize to run again.")
