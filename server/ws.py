"""The websocket endpoint: authenticate, join a room, then commands in and events out."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import orjson
from starlette.websockets import WebSocket

from phonghop.meeting_room import VOTE, parse_command, parse_vote, volatile_audience
from phonghop.rooms import Actor, Rejection
from phonghop.server.api import address_of
from phonghop.server.auth import session_cookie, token_hash
from phonghop.server.ballot_box import BallotBox, Voted
from phonghop.server.connection import CLOSE_POLICY, Connection
from phonghop.server.http_errors import refuse
from phonghop.server.log_audit import RoomRefused
from phonghop.server.node import Node
from phonghop.server.room_host import Ack, RoomHost
from phonghop.server.sessions import CLOSE_UNAUTHENTICATED
from phonghop.server.wire import WIRE_KEY
from phonghop.store.base import StoreError

log = logging.getLogger(__name__)

FLOOD_CLOSE_AFTER = 200  # refused messages within FLOOD_WINDOW that close the connection
FLOOD_WINDOW = 10.0  # seconds
# At most one `rate_limited` error in this many seconds: a flood on a busy server is refused
# in several streaks (a token trickles back every 50 ms), which should not become as many
# errors; a client that floods again later is told again.
WARN_INTERVAL = 2.0  # seconds
VOLATILE_MAX = 2048  # bytes of data: a stroke's points of the last 100 ms fit easily
MAX_COMMAND_ID = 64


def _token(ws: WebSocket) -> tuple[str | None, str | None]:
    """The session token and, when it came as a subprotocol, the subprotocol to select.

    Only the session cookie (browsers) or the `bearer` subprotocol (API clients) carry it;
    a token in the query string is never read: URLs end up in logs and browser history.
    """
    protocols = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
    if len(protocols) == 2 and protocols[0] == "bearer":
        return protocols[1], "bearer"
    return ws.cookies.get(session_cookie(ws.app.state.settings.secure_cookies)), None


async def websocket_endpoint(ws: WebSocket) -> None:
    # The handshake has no CORS preflight: a page of another origin (even another port of
    # this host) could open it with the user's cookie. Refused before anything is read.
    refusal = ws.app.state.edge.websocket_refusal(ws.scope)
    if refusal is not None:
        await ws.send_denial_response(refuse(Rejection(refusal)))
        return
    node: Node = ws.app.state.node
    token, subprotocol = _token(ws)
    epoch = node.accounts.epoch
    try:
        user = await node.accounts.user_for_token(token)
    except StoreError:
        await ws.accept(subprotocol)
        await ws.close(1013, "store unavailable")
        return
    await ws.accept(subprotocol)
    wire = ws.scope.get("extensions", {}).get(WIRE_KEY)
    if wire is None:  # not served by phonghop's own uvicorn setup
        await ws.close(1011, "unsupported server")
        return
    if user is None:
        conn = Connection(wire, 0, False, "")
        conn.send_error(Rejection("unauthenticated"))
        conn.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
        return
    if not node.user_limits.open_socket(user.id):
        conn = Connection(wire, user.id, user.is_admin, "")
        conn.send_error(Rejection("too_many_connections"))
        conn.close(CLOSE_POLICY, "too many connections")
        return
    conn = Connection(wire, user.id, user.is_admin, token_hash(token or ""))
    session: _Session | None = None
    node.sessions.setdefault(conn.session, set()).add(conn)
    log.info("websocket opened", extra={"user_id": user.id})  # its connection id: the context's
    try:
        if node.accounts.epoch != epoch and not await _still_live(node, conn):
            return  # a revocation arrived while this connection was being set up
        conn.send({"type": "hello", "user": user.public(),
                   "server_time": node.clock().isoformat(), "heartbeat_s": 20})
        session = _Session(node, conn, address_of(ws))
        while conn.alive:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            await session.handle(message)
    finally:
        if session is not None and session.host is not None:
            session.host.detach(conn)
        conns = node.sessions.get(conn.session)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                node.sessions.pop(conn.session, None)
        node.user_limits.close_socket(user.id)
        log.info("websocket closed", extra={"user_id": user.id})


class _Session:
    """The per-connection message loop's state and dispatch."""

    def __init__(self, node: Node, conn: Connection, address: str) -> None:
        self.node = node
        self.conn = conn
        self.address = address  # the client's (server/client_address.py), for the access log
        self.host: RoomHost | None = None
        # When messages were refused lately: a client that keeps far above the rate is
        # cut off even though a token trickles back now and then (which ends a "streak").
        self.refusals: deque[float] = deque()
        self.warned_at = -WARN_INTERVAL  # when `rate_limited` was last sent (monotonic)

    async def handle(self, message: dict[str, Any]) -> None:
        conn = self.conn
        if not conn.rate.allow():
            now = time.monotonic()
            self.refusals.append(now)
            while self.refusals[0] < now - FLOOD_WINDOW:
                self.refusals.popleft()
            if len(self.refusals) >= FLOOD_CLOSE_AFTER:
                conn.close(CLOSE_POLICY, "flooding")
            elif now - self.warned_at >= WARN_INTERVAL:
                self.warned_at = now
                conn.send_error(Rejection("rate_limited"))
            return
        text = message.get("text")
        if text is None:
            conn.send_error(Rejection("unknown_type", {"detail": "binary"}))
            return
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            conn.send_error(Rejection("malformed_json"))
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            conn.send_error(Rejection("invalid", {"detail": "a message is an object with a type"}))
            return
        kind = data["type"]
        handler = getattr(self, f"on_{kind}", None) if kind.isidentifier() else None
        if handler is None:
            conn.send_error(Rejection("unknown_type", {"detail": kind[:40]}), ref=kind[:40])
            return
        await handler(data)

    async def on_ping(self, data: dict[str, Any]) -> None:
        t = data.get("t")
        self.conn.send({"type": "pong", "t": t if isinstance(t, int | float | str) else None,
                        "server_time": self.node.clock().isoformat()})

    async def on_join(self, data: dict[str, Any]) -> None:
        conn = self.conn
        meeting, since = data.get("meeting"), data.get("since")
        if not _is_int(meeting) or (since is not None and not _is_int(since)):
            conn.send_error(Rejection("invalid", {"detail": "meeting and since are integers"}),
                            ref="join")
            return
        if self.host is not None:
            conn.send_error(Rejection("already_joined"), ref="join")
            return
        try:
            host = await self.node.room(meeting)
        except StoreError:
            conn.send_error(Rejection("store_unavailable"), ref="join")
            return
        except RoomRefused as exc:  # its log or a ballot box failed the checks at load
            conn.send_error(exc.rejection, ref="join")
            return
        if host is None:
            conn.send_error(Rejection("not_found", {"what": "cuộc họp", "what_en": "Meeting"}),
                            ref="join")
            return
        if host.state.role_of(conn.user_id) is None and not conn.is_admin:
            conn.send_error(Rejection("not_participant"), ref="join")
            return
        self.host = host
        host.attach(conn, since)

    async def on_command(self, data: dict[str, Any]) -> None:
        conn = self.conn
        cid = data.get("id")
        if not isinstance(cid, str) or not 0 < len(cid) <= MAX_COMMAND_ID:
            bad_id = Rejection("invalid", {"detail": "id: 1 to 64 characters"})
            conn.send_error(bad_id, ref="command")
            return
        host = self.host
        if host is None or data.get("meeting") != host.room_id:
            self._reject(cid, Rejection("not_joined"))
            return
        # The account's commands in this room, across all its connections (server/user_limits.py)
        if not self.node.user_limits.allow_command(conn.user_id, host.room_id):
            self._reject(cid, Rejection("rate_limited"))
            return
        actor = Actor(conn.user_id, conn.is_admin)
        if data.get("name") == VOTE:
            await self._vote(host, actor, cid, data.get("args"))
            return
        command = parse_command(data.get("name"), data.get("args"))
        if isinstance(command, Rejection):
            self._reject(cid, command)
            return
        outcome = await self.node.execute_in(host, actor, command, cid, self.address)
        if isinstance(outcome, Ack):
            ack: dict[str, Any] = {"type": "ack", "id": cid, "seq": outcome.seq}
            if outcome.duplicate:
                ack["duplicate"] = True
            conn.send(ack)
        else:
            self._reject(cid, outcome)

    async def _vote(self, host: RoomHost, actor: Actor, cid: str, args: Any) -> None:
        """A ballot: to the room's ballot box, not the room log; the ack carries the receipt."""
        ballot = parse_vote(args)
        if isinstance(ballot, Rejection):
            self._reject(cid, ballot)
            return
        # Not awaited: the connection reads on while the ballot waits for its batch.
        BallotBox.of(host).cast(
            actor, ballot, lambda outcome: self._voted(cid, outcome),
            lambda poll_id, tracker, why: self._unvoted(cid, poll_id, tracker, why))

    def _voted(self, cid: str, outcome: Voted | Rejection) -> None:
        if isinstance(outcome, Rejection):
            self._reject(cid, outcome)
            return
        ack: dict[str, Any] = {"type": "ack", "id": cid, "poll": outcome.poll_id,
                               "receipt": outcome.receipt}
        if outcome.duplicate:
            ack["duplicate"] = True
        self.conn.send(ack)

    def _unvoted(self, cid: str, poll_id: int, tracker: str, why: Rejection) -> None:
        """An acknowledged encrypted ballot whose proofs failed was taken out of the box."""
        self.conn.send({"type": "ballot_refused", "id": cid, "poll": poll_id,
                        "receipt": tracker, **why.to_json()})

    async def on_volatile(self, data: dict[str, Any]) -> None:
        conn, host = self.conn, self.host
        if host is None or data.get("meeting") != host.room_id:
            conn.send_error(Rejection("not_joined"), ref="volatile")
            return
        kind, payload = data.get("kind"), data.get("data")
        if not isinstance(kind, str) or len(orjson.dumps(payload)) > VOLATILE_MAX:
            bad = Rejection("invalid", {"detail": "volatile kind or size"})
            conn.send_error(bad, ref="volatile")
            return
        audience = volatile_audience(host.state, conn.user_id, conn.is_admin, kind, payload)
        if isinstance(audience, Rejection):
            conn.send_error(audience, ref="volatile")
            return
        await host.volatile(conn, kind, payload, audience)

    def _reject(self, cid: str, rejection: Rejection) -> None:
        self.conn.send({"type": "rejected", "id": cid, **rejection.to_json()})


async def _still_live(node: Node, conn: Connection) -> bool:
    """Check the session again in the store; close the connection if it has ended."""
    try:
        live = conn.session in await node.accounts.live_sessions([conn.session])
    except StoreError:
        live = True  # the sweep checks again once the store is back
    if not live:
        node.keeper.close(lambda session, _uid: session == conn.session)
    return live


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31
