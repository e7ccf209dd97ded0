"""The head of a room's log at the end of its session: the hash of the `session.ended`
event, which by the hash chain covers every event before it. The minutes print it, so the
signatures on the minutes cover the whole log of the session; when a time-stamping
service is configured (PHONGHOP_TSA_URL) the head is time-stamped (RFC 3161) as soon as
the session ends, or else when the minutes are prepared, and the token is kept
(`log_stamps`) and shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from phonghop.store.base import StoreError
from phonghop.store.log_store import LogStamp
from phonghop.store.ports import RoomLog

log = logging.getLogger(__name__)

SESSION_END = "session.ended"


@dataclass(frozen=True)
class LogHead:
    """Event `seq`'s hash, and its stored time-stamp if there is one."""

    seq: int
    hash: bytes
    stamp: LogStamp | None = None

    def to_json(self) -> dict[str, object]:
        stamp = None
        if self.stamp is not None:
            stamp = {"time": self.stamp.stamped_at.isoformat(), "tsa": self.stamp.tsa,
                     "token": _b64(self.stamp.token)}
        return {"seq": self.seq, "sha256": self.hash.hex(), "timestamp": stamp}


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


class TimestampUnavailable(Exception):
    """A time-stamping service is configured but gave no valid token now (`detail`: why,
    in the service client's words)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class LogHeads:
    """Reads and time-stamps the heads of the room logs of one deployment."""

    def __init__(self, store: RoomLog, tsa_url: str | None = None,
                 trust_files: tuple[Path, ...] = ()) -> None:
        self.store = store
        self.tsa_url = tsa_url
        self.trust_files = trust_files

    async def session_end(self, room_id: int, *, stamp: bool = False) -> LogHead | None:
        """The head at the end of the room's session (None before it ended). With
        `stamp`, a missing time-stamp is requested first when a service is configured;
        `TimestampUnavailable` if it gives none."""
        link = await self.store.last_event_of(room_id, SESSION_END)
        if link is None:
            return None
        seq, digest = link
        kept = await self.store.log_stamp(room_id, seq)
        if kept is None and stamp and self.tsa_url:
            kept = await self._stamp(room_id, seq, digest)
        return LogHead(seq, digest, kept)

    async def _stamp(self, room_id: int, seq: int, digest: bytes) -> LogStamp:
        from phonghop.signing.timestamp import TimestampFailed, request_timestamp
        from phonghop.signing.trust import Trust

        assert self.tsa_url is not None
        trust = Trust.from_pem_files(*self.trust_files) if self.trust_files else None
        try:
            token = await request_timestamp(self.tsa_url, digest, trust=trust)
        except TimestampFailed as exc:
            log.warning("room %s: log head not time-stamped: %s", room_id, exc)
            raise TimestampUnavailable(str(exc)) from None
        return await self.store.save_log_stamp(LogStamp(
            room_id=room_id, seq=seq, hash=digest, token=token.token,
            stamped_at=token.time, tsa=token.tsa))

    async def stamp_session_end(self, room_id: int) -> None:
        """Time-stamp the head of a session that just ended (best effort: preparing the
        minutes tries again)."""
        if not self.tsa_url:
            return
        try:
            await self.session_end(room_id, stamp=True)
        except TimestampUnavailable:
            pass  # logged where it failed; the minutes ask again
        except StoreError as exc:
            log.warning("room %s: log head not time-stamped: %s", room_id,
                        type(exc).__name__)
