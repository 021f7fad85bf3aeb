"""Launch ``app.py`` as a subprocess on 127.0.0.1 (a free port), for the load and security benches.

The app runs with its own ``GRADIO_TEMP_DIR`` (so the temp folder can be measured), the Hub
offline, and the settings the caller adds. Everything is bounded: start-up waits at most
``start_timeout`` seconds, shutdown at most 10.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    temp_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def folder_bytes(folder: Path) -> tuple[int, int]:
    """``(files, bytes)`` under ``folder``."""
    count = total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
                count += 1
    return count, total


def files_under(folder: Path) -> set[str]:
    return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}


def stale_files(folder: Path, older_than: float, ignore: set[str] = frozenset()) -> list[tuple[str, int]]:
    """``(path, bytes)`` of the files under ``folder`` (except ``ignore``) whose status changed
    more than ``older_than`` seconds ago."""
    cutoff, stale = time.time() - older_than, []
    for path in sorted(files_under(folder) - set(ignore)):
        with contextlib.suppress(OSError):
            stat = os.lstat(path)
            if stat.st_ctime < cutoff:
                stale.append((path, stat.st_size))
    return stale


@contextlib.contextmanager
def launch_app(env: dict[str, str] | None = None, start_timeout: float = 180.0) -> Iterator[RunningApp]:
    """Start the app; yield it once ``/`` answers; always stop it afterwards."""
    work = Path(tempfile.mkdtemp(prefix="virtart-app-"))
    temp_dir, log = work / "gradio-tmp", work / "server.log"
    temp_dir.mkdir()
    port = free_port()
    environment = {
        **os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "PORT": str(port), "GRADIO_SERVER_PORT": str(port),
        "GRADIO_TEMP_DIR": str(temp_dir), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
        "VIRTART_SHARE": "0", "PYTHONUNBUFFERED": "1", **(env or {}),
    }
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, str(REPO_DIR / "app.py")], cwd=REPO_DIR, env=environment,
                                   stdout=sink, stderr=subprocess.STDOUT)
    running = RunningApp(url, process, temp_dir, log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if not running.alive():
                raise RuntimeError(f"the app exited with {process.returncode}:\n{running.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app did not answer within {start_timeout:.0f} s:\n{running.log_tail()}")
            time.sleep(0.5)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def launch(demo, max_size: int, **kwargs) -> str:
    """Queue and launch a built Gradio ``demo`` in this process on a free 127.0.0.1 port; return its URL."""
    import app

    demo.queue(max_size=max_size, default_concurrency_limit=4)
    options = {**app.launch_options(), **kwargs}
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                            quiet=True, **options)
    return url
