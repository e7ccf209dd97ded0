"""An id for every HTTP request and websocket connection, for the log (server/logs.py).

An HTTP request keeps the `X-Request-ID` a proxy or client sent when it is well-formed
(1 to 64 of `A-Z a-z 0-9 . _ : = + / -`), else it gets a fresh one; the answer carries it
back in `X-Request-ID`. A websocket gets a connection id of its own. Every log line written
while handling them carries the id, and at `PHONGHOP_LOG_LEVEL=info` each request leaves
one access line (method, path without its query string, status, duration), each websocket
an open and a close line (written by `server/ws.py`).

Pure ASGI, like the web edge: a header scan, a context variable and one extra header per
answer; the access line costs nothing unless its level is on. The ids are set, never reset:
each request and connection runs in a task (and so a context) of its own, and uvicorn's
own line about an exception that escapes the app is written in that task too.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phonghop.server.logs import CONNECTION_ID, REQUEST_ID, new_id

HEADER = b"x-request-id"
WELL_FORMED = re.compile(rb"[A-Za-z0-9._:=+/-]{1,64}")
PATH_MAX = 200  # characters of the path in an access line

access = logging.getLogger("phonghop.http")


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The request's own `X-Request-ID`, if it is one we may echo and log."""
    for name, value in headers:
        if name == HEADER:
            return value.decode("ascii") if WELL_FORMED.fullmatch(value) else None
    return None


class RequestIds:
    """ASGI middleware: the request or connection id, in the context and the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            CONNECTION_ID.set(new_id())
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope["headers"]) or new_id()
        REQUEST_ID.set(rid)
        echoed = (HEADER, rid.encode())
        status = 500  # unless an answer starts: an exception escaped the app

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        if not access.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send_with_id)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 1)
            # Printable only: a decoded %0A must not start a forged line in a text log.
            path = "".join(ch if ch.isprintable() else "?" for ch in scope["path"][:PATH_MAX])
            access.info("%s %s %d %.1f ms", scope["method"], path, status, ms,
                        extra={"method": scope["method"], "path": path, "status": status,
                               "duration_ms": ms})
