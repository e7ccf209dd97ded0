"""The access log's port: an append-only, hash-chained record of what happens outside rooms.

Sign-ins, sign-outs, account changes, confidential page views, downloads, exports,
credential uploads and role changes are appended here (`server/audit.py` batches them);
what happens inside a meeting is the room's own log.

Each record carries the SHA-256 of the record before it and its own, over a canonical
encoding (`canonical`, `chain_hash`; docs/ARCHITECTURE.md, "The access log"), so that a
record changed, removed or inserted afterwards breaks the chain at that record, and
`verify_audit` names it. This module is pure: the encoding, the records, the queries and
the port; `store/audit_sql.py` is its SQL adapter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import orjson

GENESIS = "0" * 64  # the "previous hash" of the first record
DOMAIN = b"phonghop-audit-v1\n"  # what the hashes of this log are about, and its version
MAX_DETAIL = 12  # keys in a record's detail
MAX_TEXT = 200  # characters in a detail value
MAX_ADDRESS = 64

# A detail value: plain scalars only (no floats: their text is not canonical).
Scalar = str | int | bool | None
Outcome = Literal["ok", "refused"]


class AuditRefused(Exception):
    """The store refused these records themselves (not a failure to reach it): appending
    them again cannot succeed."""


@dataclass(frozen=True)
class AuditEntry:
    """One thing that happened, as the server hands it to the log (before its seq)."""

    at: str  # UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ" (sorts as it reads)
    kind: str  # server/audit.py KINDS
    outcome: str  # "ok", or the refusal code ("bad_credentials", "forbidden", …)
    actor_id: int | None = None  # the account acting (or whose name a sign-in gave)
    actor_key: str | None = None  # a sign-in name that is no account: its keyed hash only
    target_id: int | None = None  # the account acted upon
    meeting_id: int | None = None
    address: str = ""  # the client's address (server/client_address.py); "" for the host
    detail: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """A record as stored: the entry, its place in the chain and the hashes."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    hash: str


def canonical(seq: int, entry: AuditEntry) -> bytes:
    """The bytes a record's hash covers (besides the previous hash): a JSON object of the
    record's ten fields, keys sorted, no whitespace, UTF-8 (orjson). Every string was
    cleaned of control characters before it was recorded, so only `"` and `\\` are escaped."""
    return orjson.dumps({
        "seq": seq, "at": entry.at, "kind": entry.kind, "outcome": entry.outcome,
        "actor_id": entry.actor_id, "actor_key": entry.actor_key,
        "target_id": entry.target_id, "meeting_id": entry.meeting_id,
        "address": entry.address, "detail": dict(entry.detail),
    }, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, seq: int, entry: AuditEntry) -> str:
    """SHA-256 over DOMAIN, the previous record's hash (64 hex digits), a newline and the
    canonical record: hex."""
    return hashlib.sha256(
        DOMAIN + prev_hash.encode("ascii") + b"\n" + canonical(seq, entry)).hexdigest()


def chain(prev_hash: str, first_seq: int, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
    """The records `entries` become when appended after a record with `prev_hash`."""
    records = []
    for seq, entry in enumerate(entries, start=first_seq):
        digest = chain_hash(prev_hash, seq, entry)
        records.append(AuditRecord(seq, entry, prev_hash, digest))
        prev_hash = digest
    return records


@dataclass(frozen=True)
class AuditQuery:
    """Which records to read. Times are UTC strings in the records' format; a user matches
    the records they made or that were about them, a name that is no account its key."""

    since: str | None = None  # at >= since
    until: str | None = None  # at < until
    kinds: tuple[str, ...] = ()
    outcome: Outcome | None = None
    user_id: int | None = None
    actor_key: str | None = None
    meeting_id: int | None = None
    # Paging by seq: newest first below `before`, or oldest first above `after`.
    before: int | None = None
    after: int | None = None
    ascending: bool = False
    limit: int = 50


@dataclass(frozen=True)
class ChainReport:
    """What `verify_audit` found: the chain whole, or the first record where it breaks."""

    ok: bool
    records: int  # records checked
    head_seq: int
    head_hash: str
    base_seq: int = 0  # records up to here were pruned (their last hash anchors the rest)
    broken_seq: int | None = None
    problem: str | None = None  # "altered", "missing", "unchained", "head", "beyond_head"


class AuditLog(Protocol):
    """The access log's port: append, read with filters, verify the chain, prune."""

    async def append_audit(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Chain and write the entries in one transaction, after the current head (every
        writer of every node waits its turn); returns the records as written. Raises
        `AuditRefused` when the records themselves are refused, any other error when the
        store failed (nothing written either way)."""
        ...

    async def audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        """A page of records matching `query`, in seq order (newest first by default)."""
        ...

    async def verify_audit(self) -> ChainReport:
        """Recompute the chain from its base to its head."""
        ...

    async def prune_audit(self, before: str) -> int:
        """Remove the records older than `before` (UTC), keeping the hash of the last one
        removed as the chain's new base; how many went."""
        ...
