"""The models the app uses, fetched at start-up in the background.

:func:`start` downloads each model's Hub file in its own daemon thread, and from then on
only those threads download them: a visitor's request never waits on a download, nor holds
the shared segmenter's lock through one; until a file is ready, requests use what is at
hand (SAM ViT-B: the offline segmenter). A failed download is retried after the growing
back-off of :data:`virtart.hub.BACKOFF_S`. :func:`status` says how each model is doing.
"""

from __future__ import annotations

import threading

from virtart import checkpoints, edges, hub
from virtart.errors import CheckpointError

_states: dict[str, str] = {}  # model name -> "downloading" | "ready" | "failed: <why>"
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()
_stop = threading.Event()


def start(names: tuple[str, ...] = checkpoints.APP_MODELS) -> list[threading.Thread]:
    """Fetch ``names`` in the background (models already fetching are left alone)."""
    hub.download_only_in_background([source.describe() for name in names for source in
                                     checkpoints.get_spec(name).sources if isinstance(source, checkpoints.HubSource)])
    _stop.clear()
    started = []
    with _lock:
        for name in names:
            if name in _threads and _threads[name].is_alive():
                continue
            _states[name] = "downloading"
            thread = threading.Thread(target=_fetch, args=(name,), name=f"virtart-fetch-{name}", daemon=True)
            _threads[name] = thread
            started.append(thread)
    for thread in started:
        thread.start()
    # The matting solver is not a download, but its first import costs the first stylize ~1.4 s.
    threading.Thread(target=edges.load_matting, name="virtart-load-matting", daemon=True).start()
    return started


def stop(timeout: float = 5.0) -> None:
    """Ask the fetch threads to give up at their next wait, and wait for them (tests, shutdown)."""
    _stop.set()
    with _lock:
        threads = list(_threads.values())
    for thread in threads:
        thread.join(timeout)


def status(name: str) -> str | None:
    """"downloading", "ready" or "failed: <why>; retried in N s"; None when ``name`` is not fetched here."""
    with _lock:
        return _states.get(name)


def fetching(name: str) -> bool:
    """Whether ``name`` is downloading in the background right now."""
    return status(name) == "downloading"


def busy() -> bool:
    """Whether any model is downloading right now."""
    with _lock:
        return "downloading" in _states.values()


def _fetch(name: str) -> None:
    hub.background_thread()
    keys = [source.describe() for source in checkpoints.get_spec(name).sources
            if isinstance(source, checkpoints.HubSource)]
    while not _stop.is_set():
        _set(name, "downloading")
        try:
            checkpoints.resolve(name)
            _set(name, "ready")
            return
        except CheckpointError:
            # the download's own failure ("failed: <why>; retried in N s"), else no download was tried
            failed = [status for status in map(hub.fetch_status, keys) if status and status.startswith("failed")]
            waits = [wait for wait in map(hub.retry_wait, keys) if wait > 0]
            wait = min(waits) if waits else hub.PROBE_RETRY_S
            _set(name, failed[0] if failed else f"failed: the Hub is offline or unreachable; retried in {wait:.0f} s")
        _stop.wait(wait)


def _set(name: str, state: str) -> None:
    with _lock:
        _states[name] = state
