"""Turn library errors and warnings into what a visitor sees: toasts, never tracebacks.

A handler wrapped in :func:`user_facing` raises ``gr.Error`` (a red toast; the session's
state is left as it was) for a :class:`~virtart.errors.VirtArtError`, and shows each
:class:`~virtart.errors.VirtArtWarning` raised while it ran as a ``gr.Warning`` toast.
Works for plain functions and generators alike.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import gradio as gr

from virtart.errors import VirtArtError, collect_warnings


@contextmanager
def _toasts() -> Iterator[None]:
    with collect_warnings() as collected:
        try:
            yield
        except VirtArtError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        finally:
            for message in collected:
                gr.Warning(message)


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

