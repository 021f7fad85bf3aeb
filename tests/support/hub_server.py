"""A local Hugging Face Hub over real HTTP for the download tests (test support, not shipped).

Two standard-library HTTP servers on 127.0.0.1, as the Hub is two services:

* the **Hub** (``HF_ENDPOINT``): ``HEAD /`` for the reachability probe, and
  ``HEAD|GET /{repo_id}/resolve/{revision}/{filename}`` answering ``302`` to the file store with
  ``X-Repo-Commit``, ``X-Linked-Etag`` (the LFS sha256, quoted), ``X-Linked-Size`` and ``ETag``
  (the git blob's sha1, as the Hub sends for an LFS pointer); ``404`` with ``X-Error-Code:
  EntryNotFound`` / ``RevisionNotFound`` otherwise. ``revision`` is a branch (``main``) or a
  40-hex commit;
* the **file store** (another port, so a redirect to another origin as to the Hub's CDN):
  ``GET /blobs/{sha256}`` with ``Range`` (``206``, ``Content-Range``).

Faults are set on :class:`LocalHub` between requests (:class:`Faults`): status codes for the
next N resolve requests, a connection dropped half-way through a file, delays, bytes that do
not match their advertised digest. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - what git computes


@dataclass
class Faults:
    """What the servers do wrong, consumed as requests arrive.

    ``resolve_status``: statuses answered to the next resolve requests, one each (e.g. [500, 500]);
    ``resolve_status_always``: answered to every resolve request while set; ``drop_after``: the
    store sends the full ``Content-Length`` then closes after this fraction of the body, for the
    next ``drops`` GETs; ``probe_delay``, ``resolve_delay``: seconds before answering;
    ``store_chunk_delay``: seconds between 64 KB chunks of a file; ``corrupt``: sha256s whose
    bytes the store serves altered (same size)."""

    resolve_status: list[int] = field(default_factory=list)
    resolve_status_always: int | None = None
    drop_after: float = 0.5
    drops: int = 0
    probe_delay: float = 0.0
    resolve_delay: float = 0.0
    store_chunk_delay: float = 0.0
    corrupt: set[str] = field(default_factory=set)


class LocalHub:
    """Repositories of files at commits, a branch ``main`` per repository, served over HTTP."""

    def __init__(self) -> None:
        self.commits: dict[tuple[str, str], dict[str, bytes]] = {}  # (repo, commit) -> files
        self.branches: dict[tuple[str, str], str] = {}  # (repo, branch) -> commit
        self.blobs: dict[str, bytes] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str, str]] = []  # (server, method, path + Range)
        self._lock = threading.Lock()
        self._counter = 0
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "hub"))
        self.store = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "store"))
        for server in (self.hub, self.store):
            server.daemon_threads = True
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self.hub, self.store)]

    # ------------------------------------------------------------ content

    def commit(self, repo: str, files: dict[str, bytes], branch: str = "main") -> str:
        """Add a commit holding ``files`` (plus the branch's earlier files) and move ``branch`` to it."""
        with self._lock:
            self._counter += 1
            commit = hashlib.sha1(f"{repo}:{self._counter}".encode()).hexdigest()  # noqa: S324 - an id
            previous = self.commits.get((repo, self.branches.get((repo, branch), "")), {})
            self.commits[(repo, commit)] = {**previous, **files}
            self.branches[(repo, branch)] = commit
            for data in files.values():
                self.blobs[sha256(data)] = data
        return commit

    # ------------------------------------------------------------ serving

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.hub.server_address[1]}"

    @property
    def store_url(self) -> str:
        return f"http://127.0.0.1:{self.store.server_address[1]}"

    def start(self) -> LocalHub:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        for server in (self.hub, self.store):
            server.shutdown()
            server.server_close()

    def count(self, server: str, method: str | None = None, contains: str = "") -> int:
        with self._lock:
            return sum(1 for s, m, p in self.requests if s == server and (method is None or m == method)
                       and contains in p)

    def _record(self, server: str, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((server, method, path))

    def _next_resolve_status(self) -> int | None:
        with self._lock:
            if self.faults.resolve_status:
                return self.faults.resolve_status.pop(0)
            return self.faults.resolve_status_always

    def _take_drop(self) -> bool:
        with self._lock:
            if self.faults.drops > 0:
                self.faults.drops -= 1
                return True
            return False

    def lookup(self, repo: str, revision: str, filename: str) -> tuple[str | None, bytes | None, str]:
        """``(commit, bytes, error code)`` for a resolve request."""
        with self._lock:
            commit = revision if COMMIT.match(revision) else self.branches.get((repo, revision))
            if commit is None or (repo, commit) not in self.commits:
                return None, None, "RevisionNotFound"
            data = self.commits[(repo, commit)].get(filename)
            return commit, data, "" if data is not None else "EntryNotFound"


def _handler(hub: LocalHub, role: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: the tests read hub.requests
            pass

        def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            method = "GET" if body else "HEAD"
            hub._record(role, method, self.path + (f" Range={self.headers['Range']}" if self.headers["Range"] else ""))
            if role == "hub":
                self._hub(body)
            else:
                self._store(body)

        def _hub(self, body: bool) -> None:
            if self.path in ("/", ""):
                time.sleep(hub.faults.probe_delay)
                return self._empty(200)
            time.sleep(hub.faults.resolve_delay)
            status = hub._next_resolve_status()
            if status is not None:
                return self._empty(status, {"X-Error-Message": "injected fault"})
            match = RESOLVE.match(self.path.split("?")[0])
            if not match:
                return self._empty(404, {"X-Error-Code": "RepoNotFound"})
            from urllib.parse import unquote

            commit, data, error = hub.lookup(match["repo"], unquote(match["revision"]), unquote(match["filename"]))
            if data is None:
                return self._empty(404, {"X-Error-Code": error, **({"X-Repo-Commit": commit} if commit else {})})
            digest = sha256(data)
            self._empty(302, {"Location": f"{hub.store_url}/blobs/{digest}", "X-Repo-Commit": commit,
                              "X-Linked-Etag": f'"{digest}"', "X-Linked-Size": str(len(data)),
                              "ETag": f'"{git_blob_sha1(data)}"'})

        def _store(self, body: bool) -> None:
            digest = self.path.split("?")[0].rsplit("/", 1)[-1]
            data = hub.blobs.get(digest)
            if data is None:
                return self._empty(404)
            if digest in hub.faults.corrupt:
                data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
            start, status = 0, 200
            ranged = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
            if ranged:
                start, status = int(ranged.group(1)), 206
            part = data[start:]
            self.send_response(status)
            self.send_header("Content-Length", str(len(part)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            stop = len(part)
            if hub._take_drop():
                stop = int(len(part) * hub.faults.drop_after)
                self.close_connection = True
            for offset in range(0, stop, 1 << 16):
                self.wfile.write(part[offset:min(stop, offset + (1 << 16))])
                if hub.faults.store_chunk_delay:
                    self.wfile.flush()
                    time.sleep(hub.faults.store_chunk_delay)
            if stop < len(part):
                self.wfile.flush()
                self.connection.shutdown(2)  # socket.SHUT_RDWR: the body breaks off half-way

    return Handler
