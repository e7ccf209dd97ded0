"""Ending sessions on every node at once, and keeping the live ones honest.

A sign-out, a password change or reset, a disabling or a change of the administrator flag
ends sessions in the store, then says so on the deployment-wide bus channel "sessions":
every node (this one included) evicts them from its session cache and closes their
websockets. Pub/sub may lose a message, so a sweep also re-checks, every half minute, the
sessions of the node's open websockets against the store (and closes those that ended,
expired or went idle); it also purges dead session rows now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from phonghop.rooms.rejections import Rejection
from phonghop.store.base import StoreError
from phonghop.store.ports import Sessions

if TYPE_CHECKING:
    from phonghop.server.node import Node

log = logging.getLogger(__name__)
CHANNEL = "sessions"
CLOSE_UNAUTHENTICATED = 4401
SWEEP_SECONDS = 30.0
PURGE_SECONDS = 600.0


def user_revoked(user_id: int, keep: str | None = None) -> bytes:
    """The bus message: every session of the account but `keep` has ended."""
    return orjson.dumps({"user": user_id, "keep": keep})


class SessionKeeper:
    """The node's side of session revocation: publish, receive, close, sweep, purge."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.sessions: Sessions = node.store  # ends and purges sessions, nothing else
        self._unsubscribe: Callable[[], None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._purged = 0.0

    def start(self) -> None:
        self._unsubscribe = self.node.bus.subscribe(CHANNEL, self._received)
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    # ---- revoking ----

    async def end_session(self, key: str) -> None:
        """Sign one session out (by its token hash) on every node."""
        await self.sessions.delete_session(key)
        await self._announce({"session": key})

    async def ended_for_user(self, user_id: int, keep: str | None = None) -> None:
        """The account's sessions (but `keep`) have ended in the store: tell every node."""
        await self._announce(orjson.loads(user_revoked(user_id, keep)))

    async def refreshed(self, user_id: int) -> None:
        """The account's record changed (name, position, unit): every node drops its cached
        copy, so that the next request sees the change; nothing is closed."""
        await self._announce({"refresh": user_id})

    async def _announce(self, message: dict[str, object]) -> None:
        self._apply(message)  # here at once, whatever the bus does
        try:
            await self.node.bus.publish(CHANNEL, orjson.dumps(message))
        except Exception:  # the sweep closes the other nodes' sockets within half a minute
            log.warning("sessions: revocation not published (bus unavailable)")

    def _received(self, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("sessions: malformed revocation dropped")
            return
        if isinstance(message, dict):
            self._apply(message)

    def _apply(self, message: dict[str, object]) -> None:
        accounts = self.node.accounts
        key, user, keep = message.get("session"), message.get("user"), message.get("keep")
        refresh = message.get("refresh")
        if isinstance(refresh, int) and not isinstance(refresh, bool):
            accounts.forget_user(refresh)
        elif isinstance(key, str):
            accounts.forget(key)
            self.close(lambda session, _uid: session == key)
        elif isinstance(user, int) and not isinstance(user, bool) and (
                keep is None or isinstance(keep, str)):
            accounts.forget_user(user, keep)
            self.close(lambda session, uid: uid == user and session != keep)
        else:
            log.warning("sessions: unknown revocation dropped")

    def close(self, ended: Callable[[str, int], bool]) -> int:
        """Close this node's websockets whose (session, user id) `ended` says have ended."""
        closed = 0
        for session, conns in list(self.node.sessions.items()):
            if not conns or not ended(session, next(iter(conns)).user_id):
                continue
            self.node.sessions.pop(session, None)
            for conn in list(conns):
                with contextlib.suppress(Exception):
                    conn.send_error(Rejection("unauthenticated"))
                    conn.close(CLOSE_UNAUTHENTICATED, "session ended")
                closed += 1
        return closed

    # ---- sweeping ----

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(SWEEP_SECONDS, self.node.accounts.idle.total_seconds() / 4))
            try:
                await self.sweep()
            except StoreError:
                pass  # the store is down: sessions stay as they are until it is back
            except Exception:
                log.exception("sessions: sweep failed")

    async def sweep(self) -> None:
        """Close open websockets whose sessions are no longer live; purge dead rows."""
        accounts = self.node.accounts
        keys = list(self.node.sessions)
        if keys:
            accounts.seen(keys)  # an open websocket is a session in use
            live = await accounts.live_sessions(keys)
            dead = set(keys) - live
            for key in dead:
                accounts.forget(key)
            if dead:
                self.close(lambda session, _uid: session in dead)
        if time.monotonic() - self._purged > min(PURGE_SECONDS, accounts.idle.total_seconds()):
            self._purged = time.monotonic()
            now = datetime.now(UTC)
            await self.sessions.purge_sessions(now, accounts.idle_since(now))
