"""Bare `websockets` fan-out server: the baseline that bench/fanout.py compares phonghop to.

It speaks just enough of docs/PROTOCOL.md for the benchmark clients: `GET /ws` with the
token as the `bearer` subprotocol (any non-empty token is accepted), `hello` on connect,
a small `snapshot` answering `join`, `pong` answering `ping`, and for every `command` one
`websockets.broadcast()` of an `agenda.activated` event (~300 bytes, same JSON shape as
phonghop's) to every joined connection, followed by the `ack` to the sender.

Run: python bench/baseline_server.py --port 8765 [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

EVENT_BYTES = 300
HEARTBEAT_S = 25


def now_iso() -> str:
    """Current UTC time in ISO 8601 with milliseconds, as phonghop writes `at`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact(obj: object) -> str:
    """JSON as phonghop sends it: compact, UTF-8 text unescaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def agenda_event(meeting: int, seq: int, item: int, actor: int | None) -> str:
    """An `agenda.activated` event shaped like phonghop's, padded to EVENT_BYTES of UTF-8."""
    at = now_iso()
    entity: dict[str, object] = {
        "id": item,
        "title": f"Nội dung {item}",
        "presenter_id": None,
        "planned_minutes": 5,
        "status": "active",
        "started_at": at,
        "spent_seconds": 0,
    }
    msg = {
        "type": "event",
        "meeting": meeting,
        "seq": seq,
        "kind": "agenda.activated",
        "at": at,
        "actor": actor,
        "data": {"item": entity, "paused": None},
    }
    pad = EVENT_BYTES - len(compact(msg).encode())
    if pad > 0:
        entity["title"] = f"{entity['title']} {'x' * (pad - 1)}"
    return compact(msg)


class Room:
    """The single room every client joins; holds the joined connections and the seq."""

    def __init__(self) -> None:
        self.joined: set[ServerConnection] = set()
        self.seq = 0
        self.item = 0

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one connection until it closes."""
        user = id(ws) % 1_000_000
        hello = {
            "type": "hello",
            "user": {"id": user, "full_name": "", "position": "", "unit": "", "is_admin": False},
            "server_time": now_iso(),
            "heartbeat_s": HEARTBEAT_S,
        }
        try:
            await ws.send(compact(hello))
            async for raw in ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    await ws.send(compact({"type": "error", "code": "malformed_json"}))
                    continue
                if not isinstance(msg, dict):
                    continue
                kind = msg.get("type")
                if kind == "join":
                    self.joined.add(ws)
                    await ws.send(self.snapshot(msg.get("meeting"), user))
                elif kind == "command":
                    self.seq += 1
                    self.item += 1
                    event = agenda_event(int(msg.get("meeting") or 1), self.seq, self.item, user)
                    broadcast(self.joined, event)
                    await ws.send(compact({"type": "ack", "id": msg.get("id"), "seq": self.seq}))
                elif kind == "ping":
                    await ws.send(
                        compact({"type": "pong", "t": msg.get("t"), "server_time": now_iso()})
                    )
        except ConnectionClosed:
            pass  # the client left while we were answering
        finally:
            self.joined.discard(ws)

    def snapshot(self, meeting: object, user: int) -> str:
        """A small snapshot of the same shape as phonghop's."""
        return compact(
            {
                "type": "snapshot",
                "meeting": meeting,
                "seq": self.seq,
                "room": {"id": meeting, "title": "Baseline", "status": "in_session", "agenda": []},
                "me": {"user_id": user, "role": "delegate", "voting": True},
                "online": [],
            }
        )


def check_request(_conn: ServerConnection, request: Request) -> Response | None:
    """Accept only `/ws` with subprotocols `bearer, <token>`; else 404 or 401."""
    parts = urlsplit(request.path)
    if parts.path != "/ws":
        return Response(HTTPStatus.NOT_FOUND, "Not Found", Headers(), b"not found\n")
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if len(offered) != 2 or offered[0] != "bearer" or not offered[1]:
        return Response(HTTPStatus.UNAUTHORIZED, "Unauthorized", Headers(), b"no token\n")
    return None


async def main(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    room = Room()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        room.handle,
        host,
        port,
        process_request=check_request,
        subprotocols=["bearer"],  # type: ignore[list-item]
        max_size=64 * 1024,
        backlog=2048,
    ):
        print(f"baseline listening on ws://{host}:{port}/ws", file=sys.stderr, flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    opts = parser.parse_args()
    asyncio.run(main(opts.host, opts.port))
