"""What must never reach an API client or a visitor in a message: a path, a library name, a CLI flag,
an environment variable's name (a setting of the server, not the client's to change).

:func:`leaks` lists what a message gives away (empty when it is clean); the message sweep
(``tests/test_message_sweep.py``) and the API fuzzer (``bench/fuzz_api.py``) both judge by it.
"""

from __future__ import annotations

import re

PATH = re.compile(r"(?:^|[\s'\"(=:])(?:~|[A-Za-z]:\\|\.{1,2}/|/)[\w.-]+[/\\]")
LIBRARIES = re.compile(r"\b(?:Pillow|PIL|FFmpeg|ffmpeg|OpenCV|cv2|PyAV|torch|PyTorch|onnxruntime|numpy|gradio|"
                       r"huggingface_hub|safetensors|httpx)\b")
FLAG = re.compile(r"(?<![\w-])--[a-z]")
ENV_VAR = re.compile(r"\b(?:VIRTART|HF|HUGGINGFACE|GRADIO)_[A-Z0-9_]+\b")


def leaks(message: str, secrets: tuple[str, ...] = ()) -> list[str]:
    """What ``message`` gives away: "a path", "a library", "a CLI flag", "an environment variable",
    any of ``secrets`` (e.g. the server's temp folder), or "not one line"."""
    found = [what for what, pattern in (("a path", PATH), ("a library", LIBRARIES), ("a CLI flag", FLAG),
                                        ("an environment variable", ENV_VAR)) if pattern.search(message)]
    found += [f"'{secret}'" for secret in secrets if secret and secret in message]
    if "\n" in message or "Traceback" in message or not message.strip():
        found.append("not one line")
    return found
