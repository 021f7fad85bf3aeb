"""Path-traversal probes against a running Gradio app's file routes (loopback only).

Every request is sent verbatim with :mod:`http.client` (an HTTP library would normalise
``..`` away before it leaves), in many spellings: plain, absolute, URL-encoded,
double-encoded, backslashes, NUL bytes, starting inside the app's own temp folder. A probe
*succeeds* (a leak) only when the answer is 200 and carries the target file's marker.
The routes are those of gradio 6.31's ``routes.py`` that take a path.
"""

from __future__ import annotations

import http.client
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_DIR

# Routes of gradio 6.31 that take a path or file name from the URL.
ROUTES = (
    "/gradio_api/file=",
    "/gradio_api/file/",
    "/file=",
    "/gradio_api/proxy=",
    "/static/",
    "/assets/",
    "/svelte/",
    "/gradio_api/custom_component/x/client/js/",
    "/gradio_api/stream/s/r/1/",
    "/monitoring/",
    "/pwa_icon/",
    "/gradio_api/run-history/records/e/r/assets/",
)


@dataclass(frozen=True)
class Target:
    """A file nobody may read through the app, and bytes that prove it was read."""

    name: str
    path: Path
    marker: bytes


def default_targets(outside: Path) -> list[Target]:
    """``/etc/passwd``, the repository's own files, and a secret beside the app's temp folder."""
    secret = outside / "secret.txt"
    token = f"virtart-secret-{uuid.uuid4().hex}".encode()
    secret.write_bytes(token)
    targets = [Target("secret_beside_temp_dir", secret, token),
               Target("repo_app_py", REPO_DIR / "app.py", b"gradio"),
               Target("repo_pyproject", REPO_DIR / "pyproject.toml", b"[project]")]
    if Path("/etc/passwd").is_file():
        targets.insert(0, Target("etc_passwd", Path("/etc/passwd"), b"root:"))
    return targets


def spellings(target: Target, temp_dir: Path) -> dict[str, str]:
    """Ways to name ``target`` in a URL path, by name."""
    absolute = str(target.path)
    ups = "../" * 12 + absolute.lstrip("/")
    forms = {
        "absolute": absolute,
        "dotdot": ups,
        "from_temp_dir": f"{temp_dir}/{'../' * 12}{absolute.lstrip('/')}",
        "url_encoded": urllib.parse.quote(absolute, safe=""),
        "url_encoded_dotdot": urllib.parse.quote(ups, safe=""),
        "double_encoded": urllib.parse.quote(urllib.parse.quote(ups, safe=""), safe=""),
        "encoded_dots": ups.replace("..", "%2e%2e"),
        "overlong_utf8": ups.replace("../", "%c0%ae%c0%ae%c0%af"),
        "backslashes": ups.replace("/", "\\").replace("\\", "%5c"),
        "nul_suffix": absolute + "%00.png",
        "file_scheme": "file://" + absolute,
        "double_slash": "/" + absolute,
    }
    try:
        relative = target.path.resolve().relative_to(REPO_DIR)
        forms["cwd_relative"] = str(relative)
        forms["cwd_dot_relative"] = f"./{relative}"
    except ValueError:
        pass
    return forms


def get(host: str, port: int, raw_path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET ``raw_path`` exactly as written; ``(status, first 64 KB of the body)``; -1 on a transport error."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.putrequest("GET", raw_path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read(65536)
    except (OSError, http.client.HTTPException, ValueError):
        return -1, b""
    finally:
        connection.close()


def probe_file_routes(url: str, targets: list[Target], temp_dir: Path, time_limit: float = 120.0,
                      max_requests: int = 2000) -> list[dict]:
    """Try every route x target x spelling; one record per attempt (``leaked`` must be False)."""
    parsed = urllib.parse.urlparse(url)
    assert parsed.hostname in ("127.0.0.1", "localhost"), "probes stay on loopback"
    deadline = time.monotonic() + time_limit
    attempts = []
    for target in targets:
        for form, spelled in spellings(target, temp_dir).items():
            for route in ROUTES:
                if len(attempts) >= max_requests or time.monotonic() > deadline:
                    return attempts
                raw = route + spelled
                status, body = get(parsed.hostname, parsed.port, raw)
                attempts.append({"target": target.name, "form": form, "route": route, "request": raw,
                                 "status": status, "leaked": status == 200 and target.marker in body})
    return attempts


def upload(url: str, name: bytes, data: bytes, timeout: float = 30.0) -> tuple[int, str]:
    """POST one file to ``/gradio_api/upload`` with a raw (possibly non-UTF-8) file name."""
    parsed = urllib.parse.urlparse(url)
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\n".encode() + b'Content-Disposition: form-data; name="files"; filename="' + name
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + f"\r\n--{boundary}--\r\n".encode())
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        connection.request("POST", "/gradio_api/upload", body=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        return response.status, response.read(65536).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return -1, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
