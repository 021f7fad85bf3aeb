"""Refuse malformed request paths before Gradio's routes see them.

Gradio 6.31's ``/gradio_api/proxy=`` route answers a path holding a NUL byte (``%00``, as
in ``/gradio_api/proxy=/etc/passwd%00.png``, a classic extension-check bypass) with a 500
and a traceback in the server log; no route has any use for a NUL, so such a request gets
a plain 400 here. Found by ``bench/security_probe.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MESSAGE = b"bad request: the path holds a NUL byte"


def has_nul(scope: Scope) -> bool:
    """True when the decoded path or the raw (still percent-encoded) path holds a NUL byte."""
    raw = scope.get("raw_path") or b""
    return "\x00" in scope.get("path", "") or b"%00" in raw or b"\x00" in raw


class RejectNulPaths:
    """ASGI middleware: 400 for an HTTP or websocket request whose path holds a NUL byte."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http" and has_nul(scope):
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(MESSAGE)).encode())]})
            await send({"type": "http.response.body", "body": MESSAGE})
            return
        if scope.get("type") == "websocket" and has_nul(scope):
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def app_kwargs() -> dict[str, Any]:
    """``launch(app_kwargs=...)``: the FastAPI app Gradio builds gets this guard outermost."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(RejectNulPaths)]}
