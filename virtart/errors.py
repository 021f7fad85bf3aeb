"""User-facing errors and warnings.

Anything a user can cause (a bad file, an empty region, an unknown style) raises
:class:`VirtArtError` with a one-line message; the CLI prints it and exits non-zero,
the app shows it as a toast. Programming errors stay ordinary exceptions.

One message layer for every edge: :func:`user_message` turns any exception into the line
a user is shown, and :func:`public_text` cleans any text for a visitor of the app or an API
client: no server paths (only a file's own name is kept), no names of the libraries inside,
no CLI flags, no names of the server's settings (the CLI alone shows its own flags, the
settings and the paths its user typed).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class VirtArtError(Exception):
    """A problem with the user's input or environment, explained in one line.

    ``str(error)`` is what any user is shown: what they did and what to do, in their terms.
    ``detail`` is for whoever runs the server or the CLI (which setting or folder to change);
    the CLI prints it after the message, the app and the API log it and never show it."""

    def __init__(self, message: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    def __reduce__(self):  # the detail survives a trip to a worker process and back
        return type(self), (str(self), self.detail)


class CheckpointError(VirtArtError):
    """A model file is missing, unreachable or fails its checksum."""


class VirtArtWarning(UserWarning):
    """Something was adjusted on the user's behalf (a mask resized, a frame dropped)."""


_collector: ContextVar[list[str] | None] = ContextVar("virtart_warnings", default=None)


def warn(message: str, detail: str = "") -> None:
    """Emit a :class:`VirtArtWarning`: to the innermost :func:`collect_warnings` of this thread
    (the app's toasts), else through :mod:`warnings` (the CLI prints it). ``detail`` is for
    whoever runs the models (file paths, checksums, how to fix): the CLI prints it after the
    message; a visitor's toast shows the message alone and the server's log gets both."""
    collected = _collector.get()
    if collected is not None:
        collected.append(message)
        if detail:
            logging.getLogger("virtart").warning("%s: %s", message, detail)
        return
    warnings.warn(f"{message}: {detail}" if detail else message, VirtArtWarning, stacklevel=2)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Gather the :func:`warn` messages of this thread (and context) instead of emitting them;
    no process-wide state changes, so concurrent requests never see each other's."""
    collected: list[str] = []
    token = _collector.set(collected)
    try:
        yield collected
    finally:
        _collector.reset(token)


# ---------------------------------------------------------------- the one message layer

INTERNAL_ERROR = ("the server could not handle this request (an internal error, logged for the maintainers); "
                  "try again, or with other input")
MESSAGE_LIMIT = 400  # characters: a message is one line, not a dump of what was sent

# An absolute or home-relative path (POSIX or Windows) or a ../ path: the last component is kept.
_PATH = re.compile(r"""(?<![\w./-])(?:~|[A-Za-z]:)?(?:\.{1,2})?(?:[/\\][^\s/\\'"<>|,;()\[\]{}]+)+[/\\]?""")
_URL = re.compile(r"\b(?:https?|file|ftp)://[^\s'\"<>]+")
_FLAG_NOTE = re.compile(r"\s*\((?:e\.g\. |use |with )?--[a-z][\w-]*[^()]*\)")
_FLAG = re.compile(r"(?<![\w-])--([a-z][\w-]*)")
# The server's settings are its operator's business: a note naming one goes, a bare name becomes words.
_ENV = r"\b(?:VIRTART|HF|HUGGINGFACE|GRADIO)_[A-Z0-9_]+\b"
_ENV_NOTE = re.compile(r"\s*\([^()]*" + _ENV + r"[^()]*\)")
_ENV_NAME = re.compile(_ENV + r"(?:=\S*)?")
# What each library's name becomes in a visitor's message.
_LIBRARIES = {
    r"FFmpeg|ffmpeg|libav\w*|PyAV|\bav\.\w+": "the video decoder",
    r"Pillow|PIL(?:\.\w+)*|libjpeg|libpng": "the image decoder",
    r"OpenCV(?:\(\d[\d.]*\))?|\bcv2(?:\.\w+)*": "the image library",
    r"PyTorch|\btorch(?:\.\w+)*|onnxruntime|ONNX ?Runtime": "the model runtime",
    r"huggingface_hub|safetensors|gradio_client|[Gg]radio|numpy|scipy|ultralytics|segment_anything": "the server",
}
_LIBRARY = re.compile(r"(?<![\w.])(?:" + "|".join(f"(?:{pattern})" for pattern in _LIBRARIES) + r")(?![\w])")
_LIBRARY_PATTERNS = [(re.compile(pattern), word) for pattern, word in _LIBRARIES.items()]


def _library_word(match: re.Match) -> str:
    return next(word for pattern, word in _LIBRARY_PATTERNS if pattern.fullmatch(match.group(0)))


def _file_name(match: re.Match) -> str:
    text = match.group(0).rstrip("/\\")
    name = re.split(r"[/\\]", text)[-1]
    return name or "the file"


def public_text(text: str, *, cli: bool = False) -> str:
    """``text`` as a user may see it: one line, at most :data:`MESSAGE_LIMIT` characters, library
    names replaced by what they do; for the app and the API (``cli=False``) also paths cut to the
    file's own name, CLI flags (``--box``) to the word (``box``) and the server's settings
    (``VIRTART_MAX_PIXELS``) left out."""
    line = " ".join(str(text).split())
    if not cli:
        line = _URL.sub("a remote address", line)
        line = _PATH.sub(_file_name, line)
        line = _FLAG_NOTE.sub("", line)
        line = _FLAG.sub(r"\1", line)
        line = _ENV_NOTE.sub("", line)
        line = _ENV_NAME.sub("a server setting", line)
    line = _LIBRARY.sub(_library_word, line)
    if not cli and len(line) > MESSAGE_LIMIT:
        line = line[: MESSAGE_LIMIT - 3].rstrip() + "..."
    return line


def user_message(exc: BaseException, *, cli: bool = False) -> str:
    """The one line shown for ``exc``: a :class:`VirtArtError`'s own text, made public (see
    :func:`public_text`; the CLI adds its ``detail``, the app logs it); for anything else (a bug,
    a library's own exception) a fixed line that says the server failed, after logging the
    exception with its traceback for whoever runs it."""
    if isinstance(exc, VirtArtError):
        text = public_text(str(exc), cli=cli) or type(exc).__name__
        detail = getattr(exc, "detail", "")
        if detail and cli:
            return f"{text} ({detail})"
        if detail:
            logging.getLogger("virtart").info("%s: %s", text, detail)
        return text
    if isinstance(exc, RecursionError):
        return "the request is nested too deeply to be read; send flatter JSON"
    if isinstance(exc, MemoryError):
        return "the server ran out of memory for this request; try a smaller input"
    logging.getLogger("virtart").error("internal error", exc_info=exc)
    return INTERNAL_ERROR
