"""PostgreSQL's write-ahead log as bytes, for the store inspection test: the records
written between two LSNs, read from the segment files in the server's data directory (as a
base backup, a WAL archive or a replica holds them), page headers taken out, each record
with the databases its blocks belong to and its full-page images decompressed.

The layout read here is PostgreSQL's `access/xlogrecord.h` and `access/xlog_internal.h`
(stable since 9.5 but for the image flags, which changed in 15). Every record's `xl_prev`
must name the record before it, so a misread stream fails loudly instead of finding
nothing. A temporary physical replication slot keeps the WAL from the first LSN on, so a
checkpoint meanwhile (this test's or another's: the cluster is shared) recycles nothing.
"""

from __future__ import annotations

import itertools
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_slots = itertools.count(1)
_PAGE = struct.Struct("<HHIQI")  # xlp_magic, xlp_info, xlp_tli, xlp_pageaddr, xlp_rem_len
_RECORD = struct.Struct("<IIQBBxxI")  # xl_tot_len, xl_xid, xl_prev, xl_info, xl_rmid, xl_crc
_LONG_HEADER = 0x0002  # xlp_info: the first page of a segment
_SHORT_HEADER, _LONG_HEADER_SIZE = 24, 40
_XLOG_SWITCH = (0, 0x40)  # RM_XLOG_ID, XLOG_SWITCH: the rest of the segment is unused
# The headers of a record's main data and extras: ids above XLR_MAX_BLOCK_ID (32).
_DATA_SHORT, _DATA_LONG, _ORIGIN, _TOPLEVEL_XID = 255, 254, 253, 252
_HAS_IMAGE, _SAME_REL = 0x10, 0x80


class WalUnreadable(Exception):
    """The segment files are not readable here (another host's server, or not root)."""


class _PastEnd(Exception):
    """A record goes on beyond what was written when the reading began."""


@dataclass(frozen=True)
class WalRecord:
    lsn: int
    rmid: int
    databases: frozenset[int]  # dbOid of every block it touches; empty: no block
    data: bytes  # the whole record, then each compressed full-page image decompressed


def _maxalign(n: int) -> int:
    return (n + 7) & ~7


def pglz_decompress(src: bytes, size: int) -> bytes:
    """PostgreSQL's pglz (`common/pg_lzcompress.c`): a control byte, then 8 items, each a
    literal byte (bit 0) or a back reference (bit 1) of 3-273 bytes up to 4095 back."""
    out = bytearray()
    i = 0
    while i < len(src) and len(out) < size:
        control = src[i]
        i += 1
        for bit in range(8):
            if i >= len(src) or len(out) >= size:
                break
            if control >> bit & 1:
                length = (src[i] & 0x0F) + 3
                offset = (src[i] & 0xF0) << 4 | src[i + 1]
                i += 2
                if length == 18:
                    length += src[i]
                    i += 1
                for _ in range(length):  # overlapping copies repeat the pattern
                    out.append(out[-offset])
            else:
                out.append(src[i])
                i += 1
    return bytes(out)


class _Segments:
    """Physical reads of the WAL, by LSN, from `pg_wal/`'s segment files."""

    def __init__(self, wal_dir: Path, timeline: int, segment_size: int, page_size: int,
                 end: int) -> None:
        self.wal_dir, self.timeline = wal_dir, timeline
        self.segment_size, self.page_size = segment_size, page_size
        self.end = end  # written up to here: a page past it may be a recycled segment's
        self._pages: dict[int, bytes] = {}

    def page(self, lsn: int) -> tuple[bytes, int, int]:
        """The page holding `lsn`: its bytes, header size and `xlp_rem_len`; checked to be
        the page of that address (a recycled segment would hold another's)."""
        start = lsn - lsn % self.page_size
        if start >= self.end:
            raise _PastEnd
        if start not in self._pages:
            segno, offset = divmod(start, self.segment_size)
            per_id = 0x1_0000_0000 // self.segment_size
            name = f"{self.timeline:08X}{segno // per_id:08X}{segno % per_id:08X}"
            try:
                with open(self.wal_dir / name, "rb") as f:
                    f.seek(offset)
                    self._pages[start] = f.read(self.page_size)
            except OSError as exc:  # PermissionError, FileNotFoundError
                raise WalUnreadable(f"{self.wal_dir / name}: {exc.strerror}") from exc
        raw = self._pages[start]
        _, info, _, address, remaining = _PAGE.unpack_from(raw)
        if address != start:
            raise AssertionError(f"WAL page at {start:X} says it is {address:X}")
        return raw, _LONG_HEADER_SIZE if info & _LONG_HEADER else _SHORT_HEADER, remaining

    def read(self, lsn: int, n: int) -> tuple[bytes, int]:
        """`n` bytes of record data from `lsn` on, page headers skipped: the bytes and the
        LSN just after them."""
        out = bytearray()
        while len(out) < n:
            raw, header, _ = self.page(lsn)
            offset = lsn % self.page_size
            if offset == 0:  # a record's bytes go on after the next page's header
                offset, lsn = header, lsn + header
            take = min(n - len(out), self.page_size - offset)
            out += raw[offset:offset + take]
            lsn += take
        if lsn > self.end:
            raise _PastEnd
        return bytes(out), lsn

    def first_record(self, lsn: int) -> int:
        """The first record that begins on the page of `lsn` or after it."""
        page = lsn - lsn % self.page_size
        while True:
            _, header, remaining = self.page(page)
            if header + remaining < self.page_size:
                # `remaining` is 0 without XLP_FIRST_IS_CONTRECORD.
                return page + header + _maxalign(remaining)
            page += self.page_size  # the previous record goes on over the whole page


def _blocks(body: bytes, image_flags: dict[str, int]
            ) -> tuple[set[int], list[tuple[int, int, int]]]:
    """The block references in a record's headers (`body`: the record after `XLogRecord`):
    the databases they name, and each full-page image as (offset in `body`, stored
    length, `bimg_info`)."""
    databases: set[int] = set()
    blocks: list[tuple[int, int, int]] = []  # image length, bimg_info, data length
    pos = payload = 0
    # As DecodeXLogRecord: headers go on while more bytes are left than they announce.
    while len(body) - pos > payload:
        block_id = body[pos]
        if block_id in (_DATA_SHORT, _DATA_LONG):  # the main data's length: the last header
            short = block_id == _DATA_SHORT
            payload += body[pos + 1] if short else struct.unpack_from("<I", body, pos + 1)[0]
            pos += 2 if short else 5
            break
        if block_id in (_ORIGIN, _TOPLEVEL_XID):
            pos += 3 if block_id == _ORIGIN else 5
            continue
        fork_flags, data_length = body[pos + 1], struct.unpack_from("<H", body, pos + 2)[0]
        pos += 4
        length = info = 0
        if fork_flags & _HAS_IMAGE:
            length, _, info = struct.unpack_from("<HHB", body, pos)
            pos += 5
            if info & image_flags["hole"] and info & image_flags["compressed"]:
                pos += 2  # XLogRecordBlockCompressHeader: the hole's length
        if not fork_flags & _SAME_REL:
            databases.add(struct.unpack_from("<III", body, pos)[1])  # spc, db, rel
            pos += 12
        pos += 4  # BlockNumber
        blocks.append((length, info, data_length))
        payload += length + data_length
    if pos + payload != len(body):  # every byte accounted for, or the parse went wrong
        raise AssertionError(f"a WAL record of {len(body)} bytes announces {pos + payload}")
    # The payload follows the headers: each block's image, then its data, in order.
    images = []
    for length, info, data_length in blocks:
        if length:
            images.append((pos, length, info))
        pos += length + data_length
    return databases, images


def _images(body: bytes, placed: list[tuple[int, int, int]], flags: dict[str, int],
            page_size: int) -> bytes:
    """The record's compressed full-page images, decompressed (a raw image is already in
    the record's bytes)."""
    out = bytearray()
    for offset, length, info in placed:
        if not info & flags["compressed"]:
            continue
        raw = body[offset:offset + length]
        if info & flags["pglz"]:
            out += pglz_decompress(raw, page_size)
        else:  # lz4 or zstd: no decoder here, and a scan of the raw bytes would see nothing
            raise WalUnreadable("full-page images compressed with lz4 or zstd "
                                "(wal_compression): no decoder in this environment")
    return bytes(out)


class WalWatch:
    """From `start()` on, keeps the WAL (a temporary replication slot on its own
    connection) and, at `read()`, returns every record written since."""

    def __init__(self, conn: asyncpg.Connection, start: int) -> None:
        self.conn, self.start_lsn = conn, start

    @classmethod
    async def start(cls, url: str) -> WalWatch:
        conn = await asyncpg.connect(url)
        slot = f"phonghop_test_wal_{os.getpid()}_{next(_slots)}"
        reserved = await conn.fetchval(
            "SELECT lsn FROM pg_create_physical_replication_slot($1, true, true)", slot)
        # Kept from `reserved` on; whatever the test writes comes after both.
        return cls(conn, max(reserved, await conn.fetchval("SELECT pg_current_wal_lsn()")))

    async def read(self, database: str) -> list[WalRecord]:
        """The records from the first LSN to now that touch `database`, a shared catalog,
        or no block at all (the cluster's other databases are other tests')."""
        conn = self.conn
        # Our own commit, with an xid, flushes every record inserted before it: the
        # server's commits are on disk already, but the end is then surely written.
        async with conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit = on")
            await conn.fetchval("SELECT pg_current_xact_id()")
        end = await conn.fetchval("SELECT pg_current_wal_lsn()")
        data_dir = Path(await conn.fetchval("SHOW data_directory"))
        timeline = int((await conn.fetchval("SELECT pg_walfile_name($1)", self.start_lsn))[:8],
                       16)
        segment_size = int(await conn.fetchval(
            "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"))
        page_size = int(await conn.fetchval("SELECT current_setting('wal_block_size')"))
        version = int(await conn.fetchval("SHOW server_version_num"))
        oid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = $1", database)
        # bimg_info: HAS_HOLE 0x01 always; compression 0x02 (pglz only) before 15, then
        # PGLZ 0x04, LZ4 0x08, ZSTD 0x10.
        flags = ({"hole": 0x01, "compressed": 0x1C, "pglz": 0x04} if version >= 150000
                 else {"hole": 0x01, "compressed": 0x02, "pglz": 0x02})
        segments = _Segments(data_dir / "pg_wal", timeline, segment_size, page_size, end)
        records: list[WalRecord] = []
        lsn, previous = segments.first_record(self.start_lsn), None
        while lsn < end:
            try:
                if lsn % page_size == 0:  # a record never starts inside a page header
                    lsn += segments.page(lsn)[1]
                head, after = segments.read(lsn, _RECORD.size)
                total, _, prev, info, rmid, _ = _RECORD.unpack(head)
                if total < _RECORD.size:
                    raise AssertionError(f"WAL record at {lsn:X} is {total} bytes long")
                if previous is not None and prev != previous:
                    raise AssertionError(
                        f"WAL record at {lsn:X} follows {prev:X}, not {previous:X}")
                body, after = segments.read(after, total - _RECORD.size)
            except _PastEnd:
                break  # a record written after the end (another session's)
            databases, placed = _blocks(body, flags)
            if not databases or databases & {oid, 0}:
                records.append(WalRecord(lsn, rmid, frozenset(databases),
                                         head + body + _images(body, placed, flags, page_size)))
            previous = lsn
            if (rmid, info & 0xF0) == _XLOG_SWITCH:
                lsn = after - after % segment_size + segment_size
            else:
                lsn = _maxalign(after)
        return records

    async def close(self) -> None:
        await self.conn.close()  # the temporary slot goes with the session
