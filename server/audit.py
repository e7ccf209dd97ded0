"""The access log's writer: what happens outside rooms, recorded without slowing anyone.

A handler calls `AuditTrail.record(...)`, which only appends to an in-process queue (no
I/O, no await; the writer builds and bounds the record); one writer task per node takes
what gathered within `LINGER` (up to `BATCH`, at once when a reader waits) and appends it
in one transaction (`store.audit`: chained to the head, whatever the other nodes write). A
sign-in name is resolved there too, one query per batch: the account's id when the name is
an account's, else only its keyed hash (HMAC-SHA256 under the deployment's audit key, a
file the database does not hold), so a password typed into the name field is never
stored, and the hash still lets an administrator find every attempt on one name. Nothing
sensitive is recorded: no password, token, document content or title, ballot or signature.

If the store is down the queue waits and retries (with back-off); past `MAX_QUEUE`
records it drops new ones, counts them, and the first batch written afterwards starts with
an `audit.gap` record saying how many were lost. Records the store refuses themselves
(`AuditRefused`) are counted lost the same way, never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import unicodedata
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from phonghop.rooms.rejections import Rejection
from phonghop.store.audit import MAX_ADDRESS, MAX_DETAIL, MAX_TEXT, AuditEntry, AuditRefused, Scalar
from phonghop.store.base import Store

log = logging.getLogger(__name__)
BATCH = 1000  # records per transaction
# How long the writer lets records gather before a commit (group commit): under a flood of
# sign-ins a handful of transactions a second, not one (with its fsync) per record.
LINGER = 0.25
MAX_QUEUE = 50_000  # records waiting while the store is down; beyond, counted and dropped
MAX_USERNAME = 64  # longer is no account's name: hashed at once, never kept
VIETNAM = timezone(timedelta(hours=7))

# Every kind of record, with what the administrators' screen and the CSV call it.
KINDS: dict[str, tuple[str, str]] = {
    "signin": ("Đăng nhập", "Sign-in"),
    "signout": ("Đăng xuất", "Sign-out"),
    "sessions.revoke": ("Đăng xuất mọi nơi", "Sign-out everywhere"),
    "password.change": ("Đổi mật khẩu", "Password change"),
    "account.create": ("Tạo tài khoản", "Account created"),
    "account.update": ("Sửa tài khoản", "Account edited"),
    "account.disable": ("Khoá tài khoản", "Account disabled"),
    "account.enable": ("Mở khoá tài khoản", "Account enabled"),
    "account.password_reset": ("Đặt lại mật khẩu", "Password reset"),
    "credential.upload": ("Tải lên chứng thư số", "Signing certificate uploaded"),
    "document.page_view": ("Xem trang tài liệu mật", "Confidential page viewed"),
    "document.download": ("Tải tài liệu", "Document downloaded"),
    "export": ("Xuất dữ liệu", "Export"),
    "role.change": ("Thay đổi thành phần, vai trò", "Participant or role change"),
    "audit.read": ("Xem nhật ký truy cập", "Access log read"),
    "audit.prune": ("Xoá bản ghi cũ của nhật ký", "Old access log records removed"),
    "audit.gap": ("Mất bản ghi nhật ký", "Access log records lost"),
}
OK_TEXT = {"vi": "Thành công", "en": "Succeeded"}
# Outcomes whose refusal texts are not in rooms.rejections.TEXTS without details (the
# signing library's codes: server/minutes_api.py adds them).
OUTCOME_TEXTS: dict[str, tuple[str, str]] = {}


def kind_text(kind: str) -> dict[str, str]:
    vi, en = KINDS.get(kind, (kind, kind))
    return {"vi": vi, "en": en}


def outcome_text(outcome: str) -> dict[str, str]:
    """"Succeeded", or the refusal's own message (without its details)."""
    if outcome == "ok":
        return dict(OK_TEXT)
    if outcome in OUTCOME_TEXTS:
        vi, en = OUTCOME_TEXTS[outcome]
        return {"vi": _unfilled(vi.format_map(_Blank())), "en": _unfilled(en.format_map(_Blank()))}
    texts = {lang: _unfilled(text) for lang, text in Rejection(outcome).message().items()}
    return texts if all(texts.values()) else {"vi": outcome, "en": outcome}


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def _unfilled(text: str) -> str:
    """A message whose placeholders were left empty, tidied ("Invalid input: " → ".")."""
    text = text.replace(" .", ".").rstrip()
    return text[:-1] + "." if text.endswith(":") else text


def utc_stamp(at: datetime) -> str:
    """A record's time: UTC to the millisecond, in a form that sorts as it reads."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vietnam_time(stamp: str) -> str:
    """A record's time as shown: Vietnam time, "dd/mm/yyyy HH:MM:SS"."""
    at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return at.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S")


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """NFC, without control or format characters, at most `limit` characters: what a
    record may hold (and what keeps the canonical encoding free of escapes)."""
    if text.isascii() and text.isprintable():  # addresses, codes, ids: the usual case
        return text[:limit]
    text = unicodedata.normalize("NFC", text[:limit * 4])
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf",
                                                                         "Cs"))[:limit]


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, bool | int):
        return value
    return clean(str(value))


def make_entry(kind: str, outcome: str, at: datetime, *, actor: int | None = None,
               actor_key: str | None = None, target: int | None = None,
               meeting: int | None = None, address: str | None = "",
               detail: Mapping[str, Any] | None = None) -> AuditEntry:
    """A record of `kind`, bounded and cleaned (KeyError for a kind that does not exist)."""
    if kind not in KINDS:  # a typo in a kind fails loudly (in tests), never silently
        raise KeyError(kind)
    items = sorted((detail or {}).items())[:MAX_DETAIL]
    return AuditEntry(at=utc_stamp(at), kind=kind, outcome=clean(outcome, 40),
                      actor_id=actor, actor_key=actor_key, target_id=target,
                      meeting_id=meeting, address=clean(address or "", MAX_ADDRESS),
                      detail={k: _scalar(v) for k, v in items})  # keys: our own names


def name_key(key: bytes, username: str) -> str:
    """The keyed hash of a sign-in name (NFC): equal names, equal hashes, and no way back
    to the name without the key."""
    name = unicodedata.normalize("NFC", username).encode("utf-8", "replace")
    return hmac.new(key, b"phonghop-audit-name\0" + name, hashlib.sha256).hexdigest()


def load_key(path: Path) -> bytes:
    """The deployment's audit key (32 bytes, hex in `path`), made 0600 if there is none;
    every node must read the same file for the names' hashes to match."""
    from phonghop.server.credential_vault import load_or_create_secret

    return load_or_create_secret(path)


class _Pending:
    """A record as a handler left it: built into an entry by the writer, off the request."""

    __slots__ = ("actor", "actor_key", "address", "at", "detail", "kind", "meeting",
                 "outcome", "target", "ticket", "username")

    def __init__(self, at: datetime, kind: str, outcome: str, actor: int | None,
                 actor_key: str | None, username: str | None, target: int | None,
                 meeting: int | None, address: str | None, detail: dict[str, Any],
                 ticket: int) -> None:
        self.at, self.kind, self.outcome = at, kind, outcome
        self.actor, self.actor_key, self.username = actor, actor_key, username
        self.target, self.meeting, self.address = target, meeting, address
        self.detail, self.ticket = detail, ticket

    def entry(self) -> AuditEntry:
        return make_entry(self.kind, self.outcome, self.at, actor=self.actor,
                          actor_key=self.actor_key, target=self.target, meeting=self.meeting,
                          address=self.address, detail=self.detail)


class AuditTrail:
    """Batches records from the node's handlers into the store's access log."""

    def __init__(self, store: Store, key: bytes | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 max_queue: int = MAX_QUEUE) -> None:
        self.store = store
        self.key = key or secrets.token_bytes(32)  # a node without a key file (tests)
        self.clock = clock
        self.max_queue = max_queue
        self.lost = 0  # records dropped since the process started (healthz)
        self._unreported = 0  # dropped and not yet written down as a gap
        self._queue: deque[_Pending] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._tickets = 0
        self._written = 0  # the last ticket written (records are written in ticket order)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.linger = LINGER
        self._hurry = asyncio.Event()  # set while a reader waits: no lingering then

    # ---- recording (handlers; no I/O) ----

    def record(self, kind: str, outcome: str = "ok", *, actor: int | None = None,
               username: str | None = None, target: int | None = None,
               meeting: int | None = None, address: str | None = "",
               **detail: Any) -> None:
        """Queue a record (no I/O; the writer builds and bounds it). `username`: a sign-in
        name whose account is not known yet (the writer resolves it); `actor`, when known,
        wins."""
        if kind not in KINDS:  # a typo in a kind fails loudly (in tests), never silently
            raise KeyError(kind)
        actor_key = None
        if actor is not None:
            username = None
        elif username is not None and len(username) > MAX_USERNAME:
            # no account's name: hashed now, so that a queue of them stays small
            actor_key, username = name_key(self.key, username), None
        if len(self._queue) >= self.max_queue:
            self.lost += 1
            self._unreported += 1
            if self._unreported == 1:
                log.warning("access log: the queue is full (store unavailable?): dropping")
            return
        self._tickets += 1
        self._queue.append(_Pending(self.clock(), kind, outcome, actor, actor_key, username,
                                    target, meeting, address, detail, self._tickets))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def key_of(self, username: str) -> str:
        return name_key(self.key, username)

    # ---- writing ----

    async def _write(self) -> None:
        pause = 0.5
        try:
            while self._queue:
                if len(self._queue) < BATCH and not self._hurry.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), self.linger)
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                gap = self._unreported
                try:
                    await self.store.append_audit(await self._entries(batch, gap))
                except AuditRefused:  # never loop on records the store refuses: count them
                    log.exception("access log: a batch of %d records was refused", len(batch))
                    self.lost += len(batch)
                    self._unreported += len(batch)
                except Exception as exc:  # the store failed: nothing written, try again
                    self._queue.extendleft(reversed(batch))  # in order, first in line
                    log.warning("access log: store failed (%s), retrying in %.1f s",
                                type(exc).__name__, pause)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 30.0)
                    continue
                else:
                    self._unreported -= gap  # written down; drops since then stay counted
                pause = 0.5
                self._settle(batch[-1].ticket)
        finally:
            self._writer = None

    async def _entries(self, batch: list[_Pending], gap: int) -> list[AuditEntry]:
        """The batch as records: names resolved, and first a gap of `gap` lost records."""
        names = sorted({p.username for p in batch if p.username is not None})
        ids = await self.store.user_ids(names) if names else {}
        entries = []
        if gap:
            entries.append(make_entry("audit.gap", "store_unavailable", self.clock(),
                                      detail={"lost": gap}))
        for p in batch:
            e = p.entry()
            if p.username is not None:
                uid = ids.get(p.username)
                e = replace(e, actor_id=uid) if uid is not None else \
                    replace(e, actor_key=self.key_of(p.username))
            entries.append(e)
        return entries

    def _settle(self, ticket: int) -> None:
        self._written = ticket
        waiting, self._waiters = self._waiters, []
        for target, future in waiting:
            if target <= ticket:
                if not future.done():
                    future.set_result(None)
            else:
                self._waiters.append((target, future))
        if not self._waiters:
            self._hurry.clear()

    async def flush(self, within: float = 5.0) -> bool:
        """Wait until every record queued so far is written (or lost); False if that takes
        longer than `within` seconds (the store is down). Readers call it so that they see
        what this node just recorded."""
        target = self._tickets
        if self._written >= target:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self._hurry.set()
        try:
            await asyncio.wait_for(future, within)
        except TimeoutError:
            return False
        return True

    async def close(self, within: float = 5.0) -> None:
        """Write what is queued (waiting up to `within` seconds), then stop."""
        await self.flush(within)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._queue:
            log.warning("access log: %d records not written at shutdown", len(self._queue))
