"""The room log's hash chain: the canonical encoding of an event and its SHA-256.

Pure (no I/O). Every stored room event carries `prev_hash`, the hash of the event before it
(32 zero bytes before the first), and `hash`, SHA-256 over `encode_event`: so changing,
removing, inserting or reordering any event breaks the chain at that event or the next.
The encoding is specified byte for byte in docs/ARCHITECTURE.md ("The room log's hash
chain"); it is version 1 and never changes (a new encoding would be a new tag).

`ChainCheck` walks a room's stored rows in seq order and names the first one that breaks.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import orjson

TAG = b"phonghop/room-event/v1"
GENESIS = bytes(32)  # the `prev_hash` of a room's first event
_SORTED = orjson.OPT_SORT_KEYS
Problem = Literal["missing", "link", "hash", "stamp"]


def _nfc(value: Any) -> Any:
    """`value` with every string, object keys included, in Unicode NFC."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nfc(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """The canonical JSON of `value`: every string NFC, object keys sorted by code point,
    no whitespace, UTF-8, as orjson writes it (OPT_SORT_KEYS).

    The JSON text is NFC exactly when each of its strings is (the characters JSON adds
    around and inside strings are ASCII starters that compose with nothing), so the walk
    that normalises runs only for text that needs it: almost never, since the edge
    normalises what users type."""
    text = orjson.dumps(value, option=_SORTED)
    if text.isascii() or unicodedata.is_normalized("NFC", text.decode()):
        return text
    return orjson.dumps(_nfc(value), option=_SORTED)


_TAG = len(TAG).to_bytes(4, "big") + TAG
_U32 = struct.Struct(">I")
_IDS = struct.Struct(">QQ")
_ACTOR = struct.Struct(">q")


def _utf8(s: str) -> bytes:
    """The UTF-8 bytes of `s` in NFC (kinds and times are ASCII: nothing to normalise)."""
    return s.encode() if s.isascii() else unicodedata.normalize("NFC", s).encode()


def encode_event(room_id: int, seq: int, kind: str, actor: int | None, at: str,
                 audience: bytes, data: bytes, prev: bytes) -> bytes:
    """The bytes an event's hash is taken over (version 1).

    `audience` and `data` are the canonical JSON of the event's audience and data
    (`canonical_json`); `prev` the previous event's hash (`GENESIS` for seq 1)."""
    if len(prev) != 32:
        raise ValueError("prev: 32 bytes")
    k, t = _utf8(kind), _utf8(at)
    who = b"\x00" if actor is None else b"\x01" + _ACTOR.pack(actor)
    pack = _U32.pack
    return b"".join((_TAG, _IDS.pack(room_id, seq), pack(len(k)), k, who, pack(len(t)), t,
                     pack(len(audience)), audience, pack(len(data)), data, prev))


def event_hash(room_id: int, seq: int, kind: str, actor: int | None, at: str,
               audience: bytes, data: bytes, prev: bytes) -> bytes:
    """SHA-256 of `encode_event(...)`."""
    return hashlib.sha256(
        encode_event(room_id, seq, kind, actor, at, audience, data, prev)).digest()


class LogRow(NamedTuple):
    """One stored event as the chain sees it: the JSON columns as stored (text)."""

    seq: int
    kind: str
    at: str
    actor: int | None
    audience: str
    data: str
    prev_hash: bytes | None
    hash: bytes | None


def row_hash(room_id: int, row: LogRow, prev: bytes) -> bytes:
    """What the hash of a stored row should be, after `prev`."""
    return event_hash(room_id, row.seq, row.kind, row.actor, row.at,
                      canonical_json(orjson.loads(row.audience)),
                      canonical_json(orjson.loads(row.data)), prev)


@dataclass(frozen=True)
class ChainBreak:
    """The first event at which a room's chain does not hold, and how:
    `missing` (no event has this seq: one was removed, or the log was renumbered),
    `link` (its `prev_hash` is not the hash of the event before it),
    `hash` (its `hash` is not the hash of its own content: it was changed),
    `stamp` (its hash is not the one time-stamped for it: the log was rewritten up to
    there, or cut short before it)."""

    seq: int
    problem: Problem


class ChainCheck:
    """Checks a room's stored rows fed in seq order; `broken` is the first break found."""

    def __init__(self, room_id: int, watch: frozenset[int] = frozenset()) -> None:
        self.room_id = room_id
        self.seq = 0  # the last event checked
        self.head = GENESIS  # its hash
        self.broken: ChainBreak | None = None
        self.watch = watch  # seqs whose checked hashes are kept in `seen`
        self.seen: dict[int, bytes] = {}

    def feed(self, rows: list[LogRow]) -> ChainBreak | None:
        """Check the next rows (after those already fed); the first break, if any."""
        for row in rows:
            if self.broken is not None:
                break
            self.broken = self._one(row)
        return self.broken

    def _one(self, row: LogRow) -> ChainBreak | None:
        if row.seq != self.seq + 1:
            return ChainBreak(self.seq + 1, "missing")
        if row.prev_hash != self.head:
            return ChainBreak(row.seq, "link")
        # The writer stores the canonical JSON it hashed: hashing the stored text as it is
        # settles almost every row without parsing it. Text stored in another form (events
        # written before the chain existed) is parsed and encoded again.
        expected = event_hash(self.room_id, row.seq, row.kind, row.actor, row.at,
                              row.audience.encode(), row.data.encode(), self.head)
        if row.hash != expected:
            try:
                expected = row_hash(self.room_id, row, self.head)
            except (orjson.JSONDecodeError, TypeError, ValueError):
                return ChainBreak(row.seq, "hash")  # not even JSON any more
            if row.hash != expected:
                return ChainBreak(row.seq, "hash")
        self.seq, self.head = row.seq, expected
        if row.seq in self.watch:
            self.seen[row.seq] = expected
        return None
