"""Turn library errors and warnings into what a visitor sees: toasts, never tracebacks.

A handler wrapped in :func:`user_facing` raises ``gr.Error`` (a red toast; the session's
state is left as it was) for any exception, with the text of
:func:`virtart.errors.user_message` (a :class:`~virtart.errors.VirtArtError`'s own line,
cleaned of server paths, library names and CLI flags; a fixed "internal error" line for
anything else, whose traceback goes to the server's log), and shows each
:class:`~virtart.errors.VirtArtWarning` raised while it ran as a ``gr.Warning`` toast
(cleaned the same way). Works for plain functions and generators alike.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import gradio as gr

from virtart.errors import collect_warnings, public_text, user_message


def error_toast(exc: BaseException) -> gr.Error:
    """The ``gr.Error`` a visitor sees for ``exc`` (already a ``gr.Error``: its text, cleaned)."""
    if isinstance(exc, gr.Error):
        return gr.Error(public_text(str(exc.message)), duration=exc.duration, visible=exc.visible,
                        title=exc.title, print_exception=False)
    return gr.Error(user_message(exc), print_exception=False)


@contextmanager
def _toasts() -> Iterator[None]:
    with collect_warnings() as collected:
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - every failure reaches the visitor as one clean line
            raise error_toast(exc) from None
        finally:
            for message in collected:
                gr.Warning(public_text(message))


def user_facing(fn: Callable) -> Callable:
    """Decorate an event handler so user errors become ``gr.Error`` and warnings ``gr.Warning``."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            generator = fn(*args, **kwargs)
            try:
                while True:
                    with _toasts():
                        try:
                            item = next(generator)
                        except StopIteration:
                            return
                    yield item
            finally:
                generator.close()

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _toasts():
            return fn(*args, **kwargs)

    return wrapper

