"""What one event changes on the page, and the one place a refusal becomes a message.

Every page handler returns a :class:`PageUpdate`: one named field per thing the page shows,
each either a new value or :data:`KEEP` (left as it is). ``app.py`` wires a handler with
:func:`event`, naming the fields that event may change; the update becomes that tuple of
outputs. A handler refuses by raising :class:`~virtart.errors.VirtArtError`; :func:`call`
and :func:`stream` turn that into an update that changes nothing but the ``notice`` line
(and a short toast), so an error never replaces the photo, the regions or the result and
the photo stays clickable. The notice is cleared by the next event that succeeds.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr

from virtart.errors import collect_warnings, public_text, user_message


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
TOAST_SECONDS = 5


@dataclass
class PageUpdate:
    """One event's changes to the page; :data:`KEEP` leaves a field as it is.

    ``notice`` is the message line under the photo: ``""`` (the default) clears it, as an
    event that succeeds has removed the cause of the last message."""

    session: Any = KEEP
    photo: Any = KEEP  # the photo panel: photo, regions, selection drawn
    status: Any = KEEP  # the line under the photo: clicks, regions, segmenter
    notice: Any = ""
    thumbs: Any = KEEP  # the regions' thumbnails
    picker: Any = KEEP  # the region picker (choices and the selected region)
    detected: Any = KEEP  # the detected objects' list
    caption: Any = KEEP  # which painting, and whether it applies to a region or the next one
    strength: Any = KEEP
    preserve: Any = KEEP
    feather: Any = KEEP  # the soft edge's px slider
    edge_auto: Any = KEEP  # the "automatic edge" checkbox
    brush: Any = KEEP  # the brush panel's canvas
    result: Any = KEEP  # the before/after slider (streamed previews, then the result)
    run_status: Any = KEEP
    download: Any = KEEP
    plot: Any = KEEP
    original: Any = KEEP  # the Video tab's source clip, played beside the result

    def changed(self) -> dict[str, Any]:
        """The fields this update sets (``notice`` included)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not KEEP}


FIELDS = tuple(f.name for f in fields(PageUpdate))


def message_text(exc: BaseException) -> str:
    """What the visitor reads for a refusal: the one message layer's line
    (:func:`virtart.errors.user_message`: no server path, library name or flag; a bug's
    traceback goes to the log), as a capitalised sentence."""
    text = user_message(exc).strip() or "that did not work"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def refused(message: str, *also: str) -> PageUpdate:
    """An update that only says ``message`` (in the notice line, and in the fields ``also``)."""
    update = PageUpdate(notice=f"**Not done:** {message}")
    for name in also:
        setattr(update, name, f"Not done: {message}")
    return update


def _toast(message: str) -> None:
    gr.Warning(message, duration=TOAST_SECONDS)


def _failure(exc: Exception, also: tuple[str, ...]) -> PageUpdate:
    message = message_text(exc)  # a bug: a calm line for the visitor, the traceback in the log
    _toast(message)
    return refused(message, *also)


def restores(shown: Callable[..., PageUpdate]) -> Callable[[Callable], Callable]:
    """Mark a handler whose trigger changes a field in the browser before the handler runs
    (an upload shows the uploaded file at once): on a refusal, ``shown(*args)`` (the fields as
    the session has them) is sent back with the message."""

    def mark(handler: Callable) -> Callable:
        handler.on_refusal = shown
        return handler

    return mark


def call(handler: Callable[..., PageUpdate], *args, also: tuple[str, ...] = (), **kwargs) -> PageUpdate:
    """Run ``handler``; a refusal (or a bug) becomes :func:`refused` (plus what the handler
    :func:`restores`), warnings become toasts."""
    with collect_warnings() as collected:
        try:
            update = handler(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the page must never lose the visitor's work
            update = _failure(exc, also)
            shown = getattr(handler, "on_refusal", None)
            if shown is not None:
                for name, value in shown(*args, **kwargs).changed().items():
                    if name != "notice":
                        setattr(update, name, value)
    for message in collected:
        _toast(public_text(message))
    return update


def stream(handler: Callable[..., Iterator[PageUpdate]], *args, also: tuple[str, ...] = (),
           **kwargs) -> Iterator[PageUpdate]:
    """:func:`call` for a generator handler: its updates, then a refusal if it raised."""
    generator = handler(*args, **kwargs)
    try:
        while True:
            with collect_warnings() as collected:
                failed = None
                try:
                    update = next(generator)
                except StopIteration:
                    return
                except Exception as exc:  # noqa: BLE001 - as in call()
                    failed = update = _failure(exc, also)
            for message in collected:
                _toast(public_text(message))
            yield update
            if failed is not None:
                return
    finally:
        generator.close()


def outputs(update: PageUpdate, names: tuple[str, ...]) -> tuple:
    """The update as Gradio outputs for ``names`` (``KEEP`` -> ``gr.skip()``)."""
    values = tuple(gr.skip() if (value := getattr(update, name)) is KEEP else value for name in names)
    return values if len(values) != 1 else values[0]


def event(handler: Callable, names: tuple[str, ...], also: tuple[str, ...] = ()) -> Callable:
    """``handler`` as a Gradio event function whose outputs are the fields ``names``.

    The signature is the handler's (``functools.wraps``), so Gradio still injects
    ``gr.SelectData``; a generator handler stays a generator."""
    unknown = set(names) - set(FIELDS)
    if unknown:
        raise ValueError(f"not page fields: {sorted(unknown)}")
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streamed(*args, **kwargs):
            for update in stream(handler, *args, also=also, **kwargs):
                yield outputs(update, names)

        return streamed

    @functools.wraps(handler)
    def once(*args, **kwargs):
        return outputs(call(handler, *args, also=also, **kwargs), names)

    return once
