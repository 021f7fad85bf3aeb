"""Files from the Hugging Face Hub: reachability, verified downloads, and what is in flight.

Every Hub file is checked against a sha256: the one pinned in the registry, or else the one
the Hub serves for the file (an LFS file's ``X-Linked-Etag``, which huggingface_hub returns
as ``get_hf_file_metadata(url).etag``). That served digest is recorded beside the cached
file (``<file>.sha256``, ``sha256sum`` format) at download time, so every later load,
offline included, is checked against it; a cached file without a digest is not trusted.

A file that fails its checksum after a download is deleted from the cache (never left to be
picked up), and :func:`earlier_copy` finds a verified copy of an earlier revision to serve
meanwhile. :func:`failure_reason` says in one line, without URLs or paths, why a download failed.

Downloads are tracked per file: one in flight elsewhere is not started again (callers use
what they have instead), and a failed one is not retried before a back-off has passed.
Files named by :func:`download_only_in_background` are downloaded only by threads that
:func:`background_thread` marks, so a visitor's request never waits on one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from virtart.errors import CheckpointError, public_text

PROBE_TIMEOUT_S = 3.0
PROBE_RETRY_S = 180.0
SERVED_DIGEST_RETRIES = 2  # a passing 5xx when asking for the digest is asked again after 1 s, then 2 s  # an unreachable Hub is asked again after this long
BACKOFF_S = (60.0, 300.0, 900.0, 3600.0)  # waits after the 1st, 2nd, 3rd, later failed download
DIGEST_SUFFIX = ".sha256"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SHA1 = re.compile(r"^[0-9a-f]{40}$")  # a git commit


def is_sha256(text: str) -> bool:
    return bool(SHA256.match(text.strip().lower()))


# ---------------------------------------------------------------- reachability

_probes: dict[str, tuple[bool, float]] = {}  # endpoint -> (reachable, when asked)
_probe_lock = threading.Lock()


def offline() -> bool:
    """True when huggingface_hub is in offline mode (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``,
    all its spellings) or the Hub cannot be reached: only its local cache is used then."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or not reachable()


def reachable() -> bool:
    """One quick request through huggingface_hub's own HTTP session (its proxies, headers and
    endpoint); a success is trusted for the process, a failure is asked again after
    ``PROBE_RETRY_S`` seconds."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    endpoint = constants.ENDPOINT
    with _probe_lock:
        known = _probes.get(endpoint)
        if known is not None and (known[0] or time.monotonic() - known[1] < PROBE_RETRY_S):
            return known[0]
    try:
        get_session().head(endpoint, timeout=PROBE_TIMEOUT_S)
        answer = True  # any HTTP answer means the Hub is there
    except Exception:  # noqa: BLE001 - DNS, proxy, TLS, timeout: all mean "not reachable now"
        answer = False
    with _probe_lock:
        _probes[endpoint] = (answer, time.monotonic())
    return answer


# ---------------------------------------------------------------- digests


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_record(path: Path) -> Path:
    """Where the served sha256 of the cached file ``path`` is kept: beside it."""
    return path.with_name(path.name + DIGEST_SUFFIX)


def recorded_digest(path: Path) -> str | None:
    """The sha256 recorded for ``path`` when it was downloaded, or None."""
    try:
        first = digest_record(path).read_text().split()
    except OSError:
        return None
    return first[0].lower() if first and is_sha256(first[0]) else None


def record_digest(path: Path, digest: str) -> None:
    digest_record(path).write_text(f"{digest}  {path.name}\n")


def _transient(exc: BaseException) -> bool:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status in (429, 500, 502, 503, 504)
    return any(word in type(exc).__name__ for word in ("Timeout", "Connect", "Network", "Protocol"))


def served_digest(source) -> str:
    """The sha256 the Hub serves for ``source``'s file (an LFS file's etag); a clear error when
    it serves none (a non-LFS file's etag is a git sha1, not a sha256)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(source.repo_id, source.filename, revision=source.revision)
    for attempt in range(SERVED_DIGEST_RETRIES + 1):
        try:
            meta = get_hf_file_metadata(url)
            break
        except Exception as exc:
            if attempt == SERVED_DIGEST_RETRIES or not _transient(exc):
                raise
            time.sleep(1.0 + attempt)  # a passing 5xx or a dropped connection: asked again soon
    etag = (meta.etag or "").strip('"').lower()
    if not is_sha256(etag):
        raise CheckpointError(f"the Hub serves no sha256 for {source.describe()} (etag {etag[:16]!r}); refused")
    return etag


def _snapshots(source) -> Path:
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=source.repo_id, repo_type="model") / "snapshots"


def earlier_copy(source, pinned: str | None) -> Path | None:
    """A verified copy of ``source``'s file from any revision in the cache (the newest first), or
    None: checked against ``pinned``, else the digest recorded when it was downloaded. Only for
    a source that follows a branch; a source pinned to a commit takes that commit's file alone."""
    if SHA1.match(source.revision):
        return None
    try:
        copies = sorted((folder / source.filename for folder in _snapshots(source).iterdir()),
                        key=lambda path: path.stat().st_mtime if path.exists() else 0.0, reverse=True)
    except OSError:
        return None
    for path in copies:
        expected = pinned or recorded_digest(path)
        with contextlib.suppress(OSError):
            if expected is not None and path.is_file() and file_sha256(path) == expected:
                return path
    return None


def _discard(path: Path) -> None:
    """Delete a cached file that failed its checksum: the snapshot entry and the blob behind it."""
    with contextlib.suppress(OSError):
        blob = path.resolve()
        path.unlink()
        if blob != path:
            blob.unlink()


def failure_reason(exc: BaseException) -> str:
    """Why a download failed, in one line a visitor may read (no URL, no path)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return f"the Hub answered HTTP {status}"
    name = type(exc).__name__
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return "the disk is full: the download could not be written"
    if isinstance(exc, OSError) and "Consistency check failed" in str(exc):
        return "the download broke off before the end"
    if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "huggingface_hub", "requests", "urllib3"):
        if "Timeout" in name:
            return "the Hub did not answer in time"
        if any(word in name for word in ("Connect", "Network", "Protocol", "ReadError")):
            return "the connection to the Hub broke off"
        return f"the download failed ({name})"  # their texts carry URLs and cache paths
    text = str(exc).splitlines()[0] if str(exc) else ""
    return public_text(text) if text else f"the download failed ({name})"


def cached_file(source) -> Path | None:
    """``source``'s file in the Hub cache, if there, without any network."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(source.repo_id, source.filename, revision=source.revision,
                                    local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (LocalEntryNotFoundError) or an unreadable cache
        return None


# ---------------------------------------------------------------- downloads in flight


@dataclass
class Fetch:
    """A download of one file: ``state`` "downloading" or "failed" (then ``retry_at``, monotonic)."""

    state: str
    owner: int = 0
    error: str = ""
    failures: int = 0
    retry_at: float = 0.0


_fetches: dict[str, Fetch] = {}
_background_only: set[str] = set()
_fetch_lock = threading.Lock()
_local = threading.local()


def download_only_in_background(keys: list[str]) -> None:
    """From now on, files ``keys`` (``source.describe()``) are downloaded only by background threads."""
    with _fetch_lock:
        _background_only.update(keys)


def background_thread() -> None:
    """Mark the calling thread as one allowed to download background-only files."""
    _local.background = True


def fetch_status(key: str) -> str | None:
    """"downloading", "failed: <why>; retried in N s", "waiting for the background download",
    or None when nothing stands in the way of downloading ``key`` now."""
    with _fetch_lock:
        fetch = _fetches.get(key)
        background_only = key in _background_only
    if fetch is not None and fetch.state == "downloading":
        return "downloading"
    if fetch is not None and fetch.state == "failed":
        wait = fetch.retry_at - time.monotonic()
        if wait > 0:
            return f"failed: {fetch.error}; retried in {wait:.0f} s"
    if background_only and not getattr(_local, "background", False):
        return "waiting for the background download"
    return None


def download(source, pinned: str | None, force: bool = False) -> Path:
    """Download ``source``'s file, verify it (``pinned`` sha256, else the Hub's), record the digest.

    Refused at once (``CheckpointError``) when the file is being downloaded by another thread,
    is in its back-off after a failure, or is left to a background thread.
    """
    from huggingface_hub import hf_hub_download

    key = source.describe()
    blocked = fetch_status(key)
    if blocked is not None:
        raise CheckpointError(f"not downloaded here: {blocked}")
    with _fetch_lock:
        previous = _fetches.get(key)
        failures = previous.failures if previous else 0
        _fetches[key] = Fetch("downloading", threading.get_ident(), failures=failures)
    try:
        expected = pinned or served_digest(source)
        for attempt in (force, True):  # a corrupted cache entry is fetched once more
            path = Path(hf_hub_download(source.repo_id, source.filename, revision=source.revision,
                                        force_download=attempt))
            actual = file_sha256(path)
            if actual == expected:
                break
        else:
            _discard(path)
            raise CheckpointError(f"{path} fails its checksum (sha256 {actual[:12]}..., "
                                  f"expected {expected[:12]}...); refused, not loaded")
        if pinned is None:
            record_digest(path, expected)
    except Exception as exc:
        reason = failure_reason(exc)
        wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
        with _fetch_lock:
            _fetches[key] = Fetch("failed", error=reason, failures=failures + 1, retry_at=time.monotonic() + wait)
        raise
    with _fetch_lock:
        _fetches.pop(key, None)
    return path


def retry_wait(key: str) -> float:
    """Seconds before a failed download of ``key`` may be tried again (0 when it may now)."""
    with _fetch_lock:
        fetch = _fetches.get(key)
    return max(0.0, fetch.retry_at - time.monotonic()) if fetch is not None and fetch.state == "failed" else 0.0
