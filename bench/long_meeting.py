"""Long meeting: as a room accumulates events (shared ink strokes, page turns, notices), do
joining, page turning and acknowledging stay as fast as at the start? (issue 15)

Setup: `bench-seed` (chair, secretary, admin, delegates; meeting 1 in session with --items
agenda items), the chair
uploads --docs generated PDFs of --pages pages (PyMuPDF) and attaches them `internal`
(every delegate reads them), promotes the drawers to `presenter` (PATCH participants),
and the first of them starts a presentation of document 1. Persistent websockets (Python
`websockets`, no permessage-deflate): the chair, the secretary, the administrator, the
presenters and --listeners delegates.

The load: commands at a steady offered rate (--rate, open loop: each has a due time, and
its latency is ack - due), mixed by --mix: `annotation.add` (kind ink, --points points
along a random smooth path, a random page of a document), `present.move` (the next page),
`notice.post`. The server takes at most 20 room commands a second per account (and 20
messages per connection), so each kind is spread over enough accounts to stay at or under
--account-rate each: page turns over the chair and the presenting presenter (only they may
move the presentation), notices over the secretary and the administrator, strokes over
ceil(ink rate / --account-rate) presenters. A document holds at most 5,000 shared marks,
so strokes go round-robin over --docs documents (default: enough for the last stage). A
connection has at most --window load commands unanswered; a command due beyond that waits
(its latency still counts from when it was due). The server reads a connection's messages
one at a time, so an unbounded backlog would also hold back the client's pongs and get it
cut off (1011), then refused in bursts as it catches up (1008).

At each stage (--stages, counted in load commands sent in all):
- while building it: `ack_p50_ms`/`ack_p99_ms`/`ack_max_ms`, `ack_rate` (acks a second
  kept up: under --rate, the server fell behind), `sent_rate`, `send_lag_max_ms` (the
  worst wait for the window), `rejected`, `unanswered`, `server_cpu_pct` and
  `loadgen_cpu_pct` (% of one core: the server's process tree, this process);
- after --settle seconds: `rss_mb` (the server's process-tree RSS; `rss_after_joins_mb`
  after the joins below); `turn_p50_ms`/`turn_max_ms`: the chair's
  `present.move` to the last of the --listeners connected delegates, over --turn-rounds;
- `snapshot_bytes`, `join_p50_ms`/`join_max_ms`: --joins sequential joins by different
  delegates on fresh websockets, from sending `join` (after `hello`) to the whole snapshot;
- `joins20_all_in_s`: --concurrent-joins delegates (handshakes done) send `join` at once;
  until all have their snapshot; meanwhile the chair turns the page:
  `turn_during_joins_ms` (to the last listener), `turn_delay_during_joins_ms` (minus
  `turn_p50_ms`);
- `page_marks_ms`/`page_marks_bytes`: the presented page's shared marks over HTTP, when the
  server has a route for them: GET .../documents/{d}/pages/{p}/marks?v=V, or
  .../documents/{d}/marks?version=V&page=P (else null; `page_marks_status` says why);
- `slow_join`: a delegate reading at --slow-mbit joins while the chair turns a page or
  posts a notice every 200 ms; `got_in` = whole snapshot then a live event. The client is
  a raw socket (SO_RCVBUF 64 KiB set before connecting) speaking the websocket protocol
  itself and calling recv() only as a token bucket of --slow-mbit allows (bursts of 64 KiB
  at most): the kernel's buffers fill and the server sees a slow reader. Pings are answered;
- `restart_*`: SIGTERM, wait (`restart_stop_ms`), start on the same data and port:
  spawn -> GET /healthz answered (`restart_healthz_ms`), spawn -> a delegate's snapshot
  (`restart_first_join_ms`, joining as soon as /healthz answers); then everyone reconnects
  with `since`.

Usage: python bench/long_meeting.py [--stages 1000 5000 10000 20000] [--rate 300]
           [--mix 0.8 0.1 0.1] [--points 100] [--only sqlite postgres]
           [--server-root DIR] [--baseline DIR]
The last stdout line is one JSON object: {"config", "backends": {"sqlite": {"stages":
{"1000": {...}}, "setup", "server_errors"}}, "problems"}; with --baseline each stage is
{"baseline": {...}, "this": {...}} (and so are "setup" and "server_errors").
Exit status: 0 ok; 1 failure (no result line); 3 commands refused or unanswered, a join
failed, the slow client did not get in, a client was cut off or the server logged errors
(the result line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import os
import random
import re
import socket
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import _common as c  # bench/ is the script's own folder
import pymupdf
from _common import BenchError, Children, log
from websockets.asyncio.client import ClientConnection, connect

c.set_name("long")

T = TypeVar("T")
TYPE_RE = re.compile(r'^\{"type":"(\w+)"')
TYPE_RE_BYTES = re.compile(rb'^\{"type":"(\w+)"')
MARKS_PER_DOCUMENT = 4500  # the server keeps at most 5,000 shared marks per document
RCVBUF = 64 * 1024  # the slow client's socket receive buffer (Linux doubles it)
SLOW_BURST = 64 * 1024  # the slow client's token bucket: at most this much at once
SLOW_CHUNK = 4096  # ... and no recv() for less
SLOW_TICK_S = 0.2  # the chair's cadence while the slow client joins
_ids = itertools.count(1)


def _cid() -> str:
    return f"lm{next(_ids)}"


def _ms() -> float:
    return time.time() * 1000


def _kind(raw: str | bytes) -> str | None:
    """A server message's type: the first key as phonghop encodes it, else parsed."""
    match = TYPE_RE.match(raw) if isinstance(raw, str) else TYPE_RE_BYTES.match(raw)
    if match:
        return match.group(1) if isinstance(raw, str) else match.group(1).decode()
    with contextlib.suppress(ValueError, AttributeError):
        return json.loads(raw).get("type")
    return None


def _p(values: Sequence[float], q: float) -> float | None:
    return c.rounded(c.percentile(sorted(values), q), 1)


async def _within(aw: Awaitable[T], wait_s: float, what: str) -> T:
    try:
        return await asyncio.wait_for(aw, wait_s)
    except TimeoutError:
        raise BenchError(f"{what}: nothing within {wait_s:.0f} s") from None


# --------------------------------------------------------------------------- HTTP


async def http(method: str, url: str, token: str | None = None, body: bytes | None = None,
               content_type: str = "application/json", wait_s: float = 60) -> tuple[int, bytes]:
    """(status, raw body) of one request; Bearer when `token` is given."""

    def call() -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=wait_s) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    try:
        return await asyncio.wait_for(asyncio.to_thread(call), wait_s + 1)
    except (OSError, TimeoutError) as exc:
        raise BenchError(f"{method} {url}: {exc!r}") from exc


async def http_ok(method: str, url: str, token: str | None, body: Any = None,
                  raw: bytes | None = None) -> Any:
    """A request that must succeed: its decoded JSON answer."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    kind = "application/octet-stream" if raw is not None else "application/json"
    status, answer = await http(method, url, token, data, kind)
    if status >= 300:
        raise BenchError(f"{method} {url}: {status} {answer[:300]!r}")
    return json.loads(answer)


# --------------------------------------------------------------------------- websockets


@dataclass
class Tally:
    """The acks of one stage's load."""

    latencies: list[float] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    top_seq: int = 0
    last_ms: float = 0.0  # when the last answer arrived (epoch ms)
    last_sent_ms: float = 0.0  # when the last command was sent (epoch ms)
    send_lag_ms: float = 0.0  # the worst delay between a command's due time and its send
    lost: int = 0  # never answered: their connection closed
    sending: bool = True
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # all sent and answered

    def _done(self) -> None:
        self.pending -= 1
        if not self.pending and not self.sending:
            self.settled.set()

    def lose(self) -> None:
        self.lost += 1
        self._done()

    def answer(self, msg: dict[str, Any], latency: float, received: float) -> None:
        self._done()
        self.last_ms = received
        if msg.get("type") == "ack":
            self.latencies.append(latency)
            self.top_seq = max(self.top_seq, int(msg.get("seq") or 0))
        else:
            self.rejected[str(msg.get("code"))] += 1


class Peer:
    """A persistent websocket joined to the meeting: sends commands (awaited, or load with at
    most `window` unanswered) and, when armed, times the arrival of a page turn."""

    def __init__(self, label: str, ws: ClientConnection, window: int) -> None:
        self.label = label
        self.ws = ws
        self.window = asyncio.Semaphore(window)
        self.gone = False
        loop = asyncio.get_running_loop()
        self.joined: asyncio.Future[str] = loop.create_future()
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.sent: dict[str, tuple[float, Tally]] = {}
        self.turn: tuple[int, asyncio.Future[float]] | None = None
        self.expect_close = False
        self.cut_off: int | None = None  # close code of an unexpected close (0: none given)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, label: str, url: str, token: str, meeting: int, since: int | None,
                   window: int, wait_s: float) -> Peer:
        ws = await connect(f"{url}/ws", subprotocols=["bearer", token], open_timeout=wait_s,
                           max_size=None, compression=None, ping_interval=None)
        peer = cls(label, ws, window)
        join: dict[str, Any] = {"type": "join", "meeting": meeting}
        if since is not None:
            join["since"] = since
        await ws.send(json.dumps(join))
        try:
            await _within(asyncio.shield(peer.joined), wait_s, f"{label}: join")
        except BaseException:
            await peer.close()
            raise
        return peer

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                received = _ms()
                kind = _kind(raw)
                if kind in ("ack", "rejected"):
                    self._answer(json.loads(raw), received)
                elif kind in ("event", "events"):
                    if self.turn is not None and "presentation.moved" in raw:
                        self._turned(json.loads(raw), received)
                elif kind in ("snapshot", "resumed"):
                    if not self.joined.done():
                        self.joined.set_result(kind)
                elif kind == "error":
                    msg = json.loads(raw)
                    log(f"{self.label}: server error {str(raw)[:200]}")
                    if msg.get("ref") == "join" and not self.joined.done():
                        self.joined.set_exception(BenchError(f"{self.label}: join refused {raw}"))
        except Exception as exc:  # the connection failed: handled below like a close
            if not self.expect_close:
                log(f"{self.label}: reader stopped: {exc!r}")
        self.gone = True
        if not self.expect_close:
            self.cut_off = self.ws.close_code or 0
            log(f"{self.label}: connection closed by the server ({self.ws.close_code})")
        for cid in list(self.sent):
            self._unsent(cid)
        gone = BenchError(f"{self.label}: connection closed ({self.ws.close_code})")
        for fut in [self.joined, *self.waiting.values()]:
            if not fut.done():
                fut.set_exception(gone)
        if self.joined.done():
            self.joined.exception()  # retrieved: a failure here is reported by its waiter

    def _answer(self, msg: dict[str, Any], received: float) -> None:
        cid = str(msg.get("id"))
        fut = self.waiting.pop(cid, None)
        if fut is not None and not fut.done():
            fut.set_result(msg)
        entry = self.sent.pop(cid, None)
        if entry is not None:
            self.window.release()
            due, tally = entry
            tally.answer(msg, received - due, received)

    def _unsent(self, cid: str) -> None:
        """A load command that will get no answer."""
        entry = self.sent.pop(cid, None)
        if entry is not None:
            self.window.release()
            entry[1].lose()

    def _turned(self, msg: dict[str, Any], received: float) -> None:
        assert self.turn is not None
        page, fut = self.turn
        for event in msg.get("events") or [msg]:
            shown = (event.get("data") or {}).get("presentation") or {}
            if event.get("kind") == "presentation.moved" and shown.get("page") == page:
                if not fut.done():
                    fut.set_result(received)
                self.turn = None
                return

    def arm(self, page: int) -> asyncio.Future[float]:
        """A future resolved with the arrival time (epoch ms) of the move to `page`."""
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.turn = (page, fut)
        return fut

    async def command(self, meeting: int, name: str, args: dict[str, Any],
                      wait_s: float) -> tuple[float, dict[str, Any]]:
        """Send a command and await its answer: (send time in epoch ms, ack or rejected)."""
        cid = _cid()
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[cid] = fut
        start = _ms()
        await self.ws.send(json.dumps({"type": "command", "id": cid, "meeting": meeting,
                                       "name": name, "args": args}))
        try:
            return start, await _within(fut, wait_s, f"{self.label}: {name}'s ack")
        finally:
            self.waiting.pop(cid, None)

    async def fire(self, meeting: int, name: str, args: dict[str, Any], due: float,
                   tally: Tally) -> None:
        """Send a load command due at `due` (epoch ms) once the window allows; its answer
        (latency from `due`, so time spent waiting for the window counts) goes to `tally`."""
        tally.pending += 1
        await self.window.acquire()
        cid = _cid()
        self.sent[cid] = (due, tally)
        if self.gone:
            self._unsent(cid)
            return
        tally.last_sent_ms = _ms()
        tally.send_lag_ms = max(tally.send_lag_ms, tally.last_sent_ms - due)
        try:
            await self.ws.send(json.dumps({"type": "command", "id": cid, "meeting": meeting,
                                           "name": name, "args": args}))
        except Exception:  # the connection is closing
            self._unsent(cid)

    async def close(self) -> None:
        self.expect_close = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        self._reader.cancel()


async def open_fresh(url: str, token: str, wait_s: float) -> ClientConnection:
    """A new websocket past its handshake and `hello`: ready to send `join`."""
    ws = await connect(f"{url}/ws", subprotocols=["bearer", token], open_timeout=wait_s,
                       max_size=None, compression=None, ping_interval=None)
    await _within(ws.recv(decode=False), wait_s, "hello")
    return ws


async def await_snapshot(ws: ClientConnection, wait_s: float) -> tuple[float, int]:
    """(arrival time in epoch ms, bytes) of the next `snapshot` on `ws`."""
    deadline = time.monotonic() + wait_s
    while True:
        raw = await _within(ws.recv(decode=False), deadline - time.monotonic(), "snapshot")
        assert isinstance(raw, bytes)
        kind = _kind(raw)
        if kind == "snapshot":
            return _ms(), len(raw)
        if kind == "error":
            raise BenchError(f"join refused: {raw[:300]!r}")


async def close_all(sockets: Sequence[ClientConnection]) -> None:
    async def one(ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)

    await asyncio.gather(*(one(ws) for ws in sockets))


# --------------------------------------------------------------------------- the slow client


class SlowSocket:
    """A websocket client on a raw socket whose reads follow a token bucket of `rate`
    bytes a second (once `pace()` is called): a tablet on a slow link."""

    def __init__(self, sock: socket.socket, rate: float) -> None:
        self.sock = sock
        self.rate = rate
        self.buf = bytearray()
        self.start: float | None = None
        self.used = 0.0
        self.loop = asyncio.get_running_loop()

    def pace(self) -> None:
        self.start, self.used = time.monotonic(), 0.0

    async def _fill(self) -> None:
        want = 65536
        if self.start is not None:
            while True:
                credit = self.rate * (time.monotonic() - self.start) - self.used
                if credit > SLOW_BURST:  # no saving up while waiting for data
                    self.used += credit - SLOW_BURST
                    credit = SLOW_BURST
                if credit >= SLOW_CHUNK:
                    break
                await asyncio.sleep((SLOW_CHUNK - credit) / self.rate)
            want = int(credit)
        data = await self.loop.sock_recv(self.sock, want)
        if not data:
            raise EOFError
        self.used += len(data)
        self.buf += data

    async def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def until(self, marker: bytes) -> bytes:
        while (end := self.buf.find(marker)) < 0:
            await self._fill()
        return await self.exact(end + len(marker))

    async def frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next whole message (continuations joined)."""
        parts: list[bytes] = []
        first = -1
        while True:
            b0, b1 = await self.exact(2)
            size = b1 & 0x7F
            if size == 126:
                size = struct.unpack("!H", await self.exact(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await self.exact(8))[0]
            payload = await self.exact(size)
            opcode = b0 & 0x0F
            if opcode >= 8:  # control frames may come between fragments
                return opcode, payload
            first = opcode if first < 0 else first
            parts.append(payload)
            if b0 & 0x80:
                return first, b"".join(parts)

    async def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0xFE, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, size)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        await self.loop.sock_sendall(self.sock, head + mask + body)


async def slow_join(port: int, token: str, meeting: int, mbit: float,
                    wait_s: float) -> dict[str, Any]:
    """Join at `mbit` Mbit/s: whether the whole snapshot and then a live event arrived."""
    out: dict[str, Any] = {"got_in": False, "snapshot_s": None, "first_event_s": None,
                           "snapshot_bytes": None, "close_code": None}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.setblocking(False)
    reader = SlowSocket(sock, mbit * 1e6 / 8)
    loop = asyncio.get_running_loop()
    try:
        await _within(loop.sock_connect(sock, ("127.0.0.1", port)), 10, "slow client: connect")
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(sock, (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: bearer, {token}\r\n\r\n").encode())
        head = await _within(reader.until(b"\r\n\r\n"), 10, "slow client: handshake")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise BenchError(f"slow client: handshake refused {head[:200]!r}")
        await _within(reader.frame(), 10, "slow client: hello")
        began = time.monotonic()
        reader.pace()
        await reader.send(0x1, json.dumps({"type": "join", "meeting": meeting}).encode())
        deadline = began + wait_s
        while True:
            opcode, payload = await _within(reader.frame(), deadline - time.monotonic(),
                                            "slow client")
            if opcode == 0x8:
                out["close_code"] = struct.unpack("!H", payload[:2])[0] if payload else 1005
                break
            if opcode == 0x9:
                await reader.send(0xA, payload)
                continue
            kind = _kind(payload) if opcode == 0x1 else None
            if kind == "snapshot" and out["snapshot_s"] is None:
                out["snapshot_s"] = round(time.monotonic() - began, 2)
                out["snapshot_bytes"] = len(payload)
            elif kind in ("event", "events") and out["snapshot_s"] is not None:
                out["first_event_s"] = round(time.monotonic() - began, 2)
                out["got_in"] = True
                break
            elif kind == "error":
                log(f"slow client: server error {payload[:200]!r}")
    except (EOFError, ConnectionError) as exc:
        out["close_code"] = f"connection lost: {exc!r}"
    except BenchError as exc:
        out["close_code"] = f"timeout: {exc}"
    finally:
        sock.close()
    return out


# --------------------------------------------------------------------------- documents


def make_pdfs(folder: Path, count: int, pages: int) -> list[Path]:
    """`count` distinct PDFs of `pages` A4 pages of text."""
    paths = []
    for k in range(1, count + 1):
        doc = pymupdf.open()
        for n in range(1, pages + 1):
            page = doc.new_page(width=595, height=842)
            page.insert_text((72, 80), f"Tai lieu {k} - trang {n}", fontsize=22)
            for line in range(36):
                page.insert_text((72, 130 + 18 * line), f"{k}.{n}.{line + 1} Noi dung cua "
                                 "van ban trinh tai phien hop, doan dai de kin trang.",
                                 fontsize=10)
        path = folder / f"tai-lieu-{k}.pdf"
        doc.save(path)
        doc.close()
        paths.append(path)
    return paths


def stroke(rng: random.Random, points: int) -> list[float]:
    """A smooth random path of `points` points inside the page (flat x, y list)."""
    x, y = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
    heading = rng.uniform(0, 2 * math.pi)
    flat: list[float] = []
    for _ in range(points):
        heading += rng.gauss(0, 0.25)
        x = min(max(x + 0.004 * math.cos(heading), 0.0), 1.0)
        y = min(max(y + 0.004 * math.sin(heading), 0.0), 1.0)
        flat += [round(x, 5), round(y, 5)]
    return flat


# --------------------------------------------------------------------------- one run


@dataclass
class Doc:
    id: int
    version: int


class Run:
    """One tree on one backend: seeded, served, built stage by stage and measured."""

    def __init__(self, opts: argparse.Namespace, children: Children, tmp: Path, tree: Path,
                 label: str, database: str | None) -> None:
        self.opts = opts
        self.children = children
        self.tmp = tmp
        self.tree = tree
        self.label = label
        self.database = database
        self.data = tmp / "data"
        self.rng = random.Random(opts.seed)
        self.proc: asyncio.subprocess.Process | None = None
        self.port = c.free_port()
        self.logs: list[Path] = []
        self.meeting = 0
        self.docs: list[Doc] = []
        self.peers: list[Peer] = []
        self.sent = 0  # load commands sent so far
        self.seq = 0  # the highest room seq acknowledged so far
        self.page = 1  # the presented page
        self.strokes = 0
        self.notices = 0
        self.problems: list[str] = []
        self.chair_token = ""
        self.logins: dict[str, str] = {}  # secretary, admin: signed in over HTTP
        self.listener_tokens: list[str] = []
        self.joiner_tokens: list[str] = []
        self.drawer_tokens: list[str] = []  # the presenting presenter, then the drawers
        self.slow_token = ""

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    # ---- the server

    async def start(self) -> tuple[float, float]:
        """Spawn the server; (ms until /healthz answers, ms until it listened)."""
        log_path = self.tmp / f"server-{len(self.logs) + 1}.log"
        self.logs.append(log_path)
        began = time.monotonic()
        with log_path.open("wb") as logf:
            self.proc = await c.spawn(
                self.children, c.serve_argv(self.tree, self.data, self.port, self.database),
                cwd=self.tree, env=c.server_env(self.tree), stdin=asyncio.subprocess.DEVNULL,
                stdout=logf, stderr=logf)
        deadline = began + self.opts.start_timeout
        listened: float | None = None
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise BenchError(f"server exited with {self.proc.returncode}\n{c.tail(log_path)}")
            if listened is None:
                with contextlib.suppress(OSError, TimeoutError):
                    _, writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), 1)
                    writer.close()
                    listened = (time.monotonic() - began) * 1000
            if listened is not None:
                with contextlib.suppress(BenchError):
                    status, _ = await http("GET", f"{self.http}/healthz", wait_s=5)
                    if status == 200:
                        return (time.monotonic() - began) * 1000, listened
            await asyncio.sleep(0.02)
        raise BenchError(f"server not ready after {self.opts.start_timeout:.0f} s\n"
                         f"{c.tail(log_path)}")

    async def stop(self) -> float:
        """SIGTERM the server and wait for it: ms taken."""
        assert self.proc is not None
        began = time.monotonic()
        await self.children.stop(self.proc, self.opts.stop_timeout)
        return (time.monotonic() - began) * 1000

    async def quiet(self, wait_s: float = 120) -> None:
        """Wait until the server tree uses under 10% of a core over a second."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            before = c.cpu_seconds([self.pid])
            await asyncio.sleep(1)
            if c.cpu_seconds([self.pid]) - before < 0.1:
                return
        log(f"{self.label}: server still busy after {wait_s:.0f} s; going on")

    # ---- setup

    async def setup(self) -> dict[str, Any]:
        opts = self.opts
        began = time.monotonic()
        self.meeting, _ = await c.seed(self.children, self.tree, self.data, opts.delegates,
                                       opts.seed_timeout, label=self.label,
                                       database=self.database,
                                       log_path=self.tmp / "bench-seed.log",
                                       extra=("--items", str(opts.items)))
        raw = json.loads((self.data / "bench-tokens.json").read_text())
        self.chair_token = str(raw["chair"])
        people = [t for _, t in sorted((int(t["user_id"]), str(t["token"]))
                                       for t in raw["tokens"])]
        uids = sorted(int(t["user_id"]) for t in raw["tokens"])
        n_listen, n_join = opts.listeners, max(opts.joins, opts.concurrent_joins)
        self.listener_tokens = people[:n_listen]
        self.joiner_tokens = people[n_listen:n_listen + n_join]
        self.slow_token = people[n_listen + n_join]
        first = n_listen + n_join + 1  # then the presenting presenter and the drawers
        self.drawer_tokens = people[first:first + 1 + opts.ink_accounts]
        await self.start()
        log(f"{self.label}: serving on 127.0.0.1:{self.port} (pid {self.pid})")
        m = f"{self.http}/api/meetings/{self.meeting}"
        for name in ("secretary", "admin"):
            answer = await http_ok("POST", f"{self.http}/api/login", None,
                                   {"username": name, "password": "bench", "client": "device"})
            self.logins[name] = str(answer["token"])
        folder = self.tmp / "pdf"
        folder.mkdir()
        for path in await asyncio.to_thread(make_pdfs, folder, opts.docs, opts.pages):
            query = urllib.parse.urlencode({"name": path.name})
            up = await http_ok("POST", f"{m}/files?{query}", self.chair_token,
                               raw=path.read_bytes())
            sha = up["file"]["sha256"]
            answer = await http_ok("POST", f"{m}/documents", self.chair_token,
                                   {"sha256": sha, "title": path.stem,
                                    "classification": "internal"})
            doc = next(d for d in c.attached_documents(answer) if d.get("sha256") == sha)
            self.docs.append(Doc(int(doc["id"]), int(doc["version"])))
        for uid in uids[first:first + len(self.drawer_tokens)]:
            await http_ok("PATCH", f"{m}/participants/{uid}", self.chair_token,
                          {"role": "presenter"})
        log(f"{self.label}: {len(self.docs)} documents attached, "
            f"{len(self.drawer_tokens)} presenters")
        await self.connect(None)
        _, answer = await self.presenter.command(
            self.meeting, "present.start", {"document_id": self.docs[0].id, "page": 1}, 30)
        if answer.get("type") != "ack":
            raise BenchError(f"present.start refused: {answer}")
        self.seq = int(answer["seq"])
        await self.quiet()  # the attached documents' pages are pre-rendered
        return {"setup_s": round(time.monotonic() - began, 1), "room_seq": self.seq,
                "documents": len(self.docs), "presenters": len(self.drawer_tokens)}

    async def connect(self, since: int | None) -> None:
        """(Re)open the persistent websockets; with `since`, they resume."""
        opts = self.opts
        wanted = [("chair", self.chair_token), ("secretary", self.logins["secretary"]),
                  ("admin", self.logins["admin"])]
        wanted += [(f"presenter{i}", t) for i, t in enumerate(self.drawer_tokens)]
        wanted += [(f"listener{i}", t) for i, t in enumerate(self.listener_tokens)]
        gate = asyncio.Semaphore(4)

        async def one(label: str, token: str) -> Peer:
            async with gate:
                return await Peer.open(label, self.url, token, self.meeting, since,
                                       opts.window, opts.join_timeout)

        self.peers = await c.gather_all([one(label, t) for label, t in wanted])
        self.chair, self.secretary, self.admin, self.presenter = self.peers[:4]
        self.inkers = self.peers[4:4 + opts.ink_accounts]
        self.listeners = self.peers[4 + opts.ink_accounts:]

    # ---- the load

    def _next_page(self) -> int:
        self.page = self.page % self.opts.pages + 1
        return self.page

    async def build(self, target: int) -> dict[str, Any]:
        """Send load commands until `target` were sent in all; the stage's ack figures."""
        opts = self.opts
        ink, turn, _ = opts.mix
        count = target - self.sent
        tally = Tally()
        meter = c.CpuMeter({"server": [self.pid]})
        meter.start()
        own_cpu = time.process_time()  # this process only (the server is its child)
        began, epoch = time.monotonic(), _ms()
        tasks: set[asyncio.Task[None]] = set()
        turners, noticers = [self.chair, self.presenter], [self.secretary, self.admin]
        for i in range(count):
            lag = began + i / opts.rate - time.monotonic()
            if lag > 0:
                await asyncio.sleep(lag)
            pick = self.rng.random()
            if pick < ink:
                doc = self.docs[self.strokes % len(self.docs)]
                peer = self.inkers[self.strokes % len(self.inkers)]
                self.strokes += 1
                name, args = "annotation.add", {
                    "document_id": doc.id, "page": self.rng.randint(1, opts.pages),
                    "kind": "ink", "points": stroke(self.rng, opts.points),
                    "color": "#d32f2f", "width": 0.003}
            elif pick < ink + turn:
                peer = turners[i % 2]
                name, args = "present.move", {"page": self._next_page()}
            else:
                peer = noticers[self.notices % 2]
                self.notices += 1
                name, args = "notice.post", {
                    "text": f"Thông báo số {self.notices}: mời đại biểu xem trang {self.page}."}
            task = asyncio.create_task(
                peer.fire(self.meeting, name, args, epoch + i * 1000 / opts.rate, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if i and i % (opts.rate * 5) == 0:
                log(f"{self.label}: {self.sent + i} sent, {tally.pending} waiting, "
                    f"ack p99 so far {_p(tally.latencies, 99)} ms")
        self.sent = target
        if tasks:
            await asyncio.wait(tasks, timeout=opts.ack_timeout)
        tally.sending = False
        if tally.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.settled.wait(), opts.ack_timeout)
        cpu = meter.stop()
        own_pct = 100 * (time.process_time() - own_cpu) / max(time.monotonic() - began, 1e-9)
        self.seq = max(self.seq, tally.top_seq)
        unanswered = tally.pending + tally.lost
        if unanswered or tally.rejected:
            self.problems.append(f"{self.label} {target}: {unanswered} unanswered, "
                                 f"refused {dict(tally.rejected)}")
        return {
            "acked": len(tally.latencies), "rejected": dict(tally.rejected),
            "unanswered": unanswered, "room_seq": self.seq,
            "offered_rate": opts.rate,
            "sent_rate": round(count * 1000 / max(tally.last_sent_ms - epoch, 1), 1),
            "ack_rate": round(len(tally.latencies) * 1000 / max(tally.last_ms - epoch, 1), 1),
            "send_lag_max_ms": round(tally.send_lag_ms, 1),
            "ack_p50_ms": _p(tally.latencies, 50), "ack_p99_ms": _p(tally.latencies, 99),
            "ack_max_ms": _p(tally.latencies, 100),
            "server_cpu_pct": cpu.get("server"), "loadgen_cpu_pct": round(own_pct, 1),
        }

    # ---- the measurements

    async def turn(self, wait_s: float = 30) -> tuple[float, asyncio.Future[list[float]]]:
        """The chair moves the page: (send time, future of the listeners' arrival times)."""
        page = self._next_page()
        arrivals = asyncio.gather(*(peer.arm(page) for peer in self.listeners))
        start, answer = await self.chair.command(self.meeting, "present.move", {"page": page},
                                                 wait_s)
        if answer.get("type") != "ack":
            raise BenchError(f"present.move refused: {answer}")
        self.seq = max(self.seq, int(answer["seq"]))
        return start, asyncio.ensure_future(_within(arrivals, wait_s, "page turn"))

    async def idle_turns(self) -> dict[str, Any]:
        lasts = []
        for _ in range(self.opts.turn_rounds):
            start, arrivals = await self.turn()
            lasts.append(max(await arrivals) - start)
            await asyncio.sleep(0.3)
        return {"turn_p50_ms": _p(lasts, 50), "turn_max_ms": _p(lasts, 100)}

    async def sequential_joins(self) -> dict[str, Any]:
        times, sizes = [], []
        for token in self.joiner_tokens[:self.opts.joins]:
            ws = await open_fresh(self.url, token, self.opts.join_timeout)
            try:
                start = _ms()
                await ws.send(json.dumps({"type": "join", "meeting": self.meeting}))
                arrived, size = await await_snapshot(ws, self.opts.join_timeout)
            finally:
                await close_all([ws])
            times.append(arrived - start)
            sizes.append(size)
        return {"snapshot_bytes": max(sizes), "join_p50_ms": _p(times, 50),
                "join_max_ms": _p(times, 100)}

    async def concurrent_joins(self, idle_turn_ms: float | None) -> dict[str, Any]:
        opts = self.opts
        tokens = self.joiner_tokens[:opts.concurrent_joins]
        sockets = await c.gather_all([open_fresh(self.url, t, opts.join_timeout)
                                      for t in tokens])
        try:
            waits = [asyncio.ensure_future(await_snapshot(ws, opts.join_timeout))
                     for ws in sockets]
            start = _ms()
            for ws in sockets:
                await ws.send(json.dumps({"type": "join", "meeting": self.meeting}))
            turned, arrivals = await self.turn(opts.join_timeout)
            results = await asyncio.gather(*waits, return_exceptions=True)
            turn_ms = max(await arrivals) - turned
        finally:
            await close_all(sockets)
        done = [r for r in results if isinstance(r, tuple)]
        if len(done) < len(tokens):
            self.problems.append(f"{self.label}: {len(tokens) - len(done)} of {len(tokens)} "
                                 f"concurrent joins failed: {results}")
        return {
            "joins20_ok": len(done),
            "joins20_all_in_s": (round((max(r[0] for r in done) - start) / 1000, 2)
                                 if len(done) == len(tokens) else None),
            "turn_during_joins_ms": round(turn_ms, 1),
            "turn_delay_during_joins_ms": (round(turn_ms - idle_turn_ms, 1)
                                           if idle_turn_ms is not None else None),
        }

    async def page_marks(self) -> dict[str, Any]:
        """GET the presented page's shared marks, by whichever route the server has."""
        doc, page, token = self.docs[0], self.page, self.listener_tokens[0]
        base = f"{self.http}/api/meetings/{self.meeting}/documents/{doc.id}"
        routes = {"pages/{page}/marks?v=": f"{base}/pages/{page}/marks?v={doc.version}",
                  "marks?version=&page=": f"{base}/marks?version={doc.version}&page={page}"}
        statuses = {}
        for route, url in routes.items():
            statuses[route], body = await http("GET", url, token)
            if statuses[route] == 200:
                break
        else:
            return {"page_marks_ms": None, "page_marks_bytes": None,
                    "page_marks_status": statuses}
        times = []
        for _ in range(5):
            began = time.monotonic()
            status, body = await http("GET", url, token)
            times.append((time.monotonic() - began) * 1000)
            if status != 200:
                raise BenchError(f"GET {url}: {status} {body[:200]!r}")
        return {"page_marks_ms": _p(times, 50), "page_marks_bytes": len(body),
                "page_marks_status": statuses}

    async def slow(self) -> dict[str, Any]:
        """The slow client joins while the chair turns a page or posts a notice every tick."""
        opts = self.opts
        joining = asyncio.ensure_future(slow_join(self.port, self.slow_token, self.meeting,
                                                  opts.slow_mbit, opts.slow_timeout))
        n = 0
        while not joining.done():
            n += 1
            if n % 2:
                name, args = "present.move", {"page": self._next_page()}
            else:
                name, args = "notice.post", {"text": f"Nhắc lần {n}: giữ trật tự phòng họp."}
            _, answer = await self.chair.command(self.meeting, name, args, opts.ack_timeout)
            self.seq = max(self.seq, int(answer.get("seq") or 0))
            await asyncio.wait([joining], timeout=SLOW_TICK_S)
        out = joining.result()
        if not out["got_in"]:
            self.problems.append(f"{self.label}: the slow client did not get in: {out}")
        return out

    async def restart(self) -> dict[str, Any]:
        """Stop, start on the same data, time the first join; everyone reconnects."""
        for peer in self.peers:
            peer.expect_close = True
        stop_ms = await self.stop()
        await asyncio.gather(*(peer.close() for peer in self.peers))
        began = _ms()
        healthz_ms, _ = await self.start()
        ws = await open_fresh(self.url, self.joiner_tokens[0], self.opts.join_timeout)
        try:
            await ws.send(json.dumps({"type": "join", "meeting": self.meeting}))
            arrived, _ = await await_snapshot(ws, self.opts.join_timeout)
        finally:
            await close_all([ws])
        await self.connect(self.seq)
        return {"restart_stop_ms": round(stop_ms), "restart_healthz_ms": round(healthz_ms),
                "restart_first_join_ms": round(arrived - began)}

    async def stage(self, target: int) -> dict[str, Any]:
        log(f"{self.label}: building to {target} events at {self.opts.rate:g}/s")
        figures: dict[str, Any] = {"events": target, **await self.build(target)}
        log(f"{self.label} {target}: ack p50 {figures['ack_p50_ms']} p99 "
            f"{figures['ack_p99_ms']} ms, server cpu {figures['server_cpu_pct']}%, "
            f"load generator {figures['loadgen_cpu_pct']}%")
        await asyncio.sleep(self.opts.settle)
        figures["rss_mb"] = c.rounded(c.tree_rss_mb([self.pid]), 1)
        figures |= await self.idle_turns()
        figures |= await self.sequential_joins()
        figures |= await self.concurrent_joins(figures["turn_p50_ms"])
        figures |= await self.page_marks()
        figures["slow_join"] = await self.slow()
        figures["rss_after_joins_mb"] = c.rounded(c.tree_rss_mb([self.pid]), 1)
        figures |= await self.restart()
        for peer in self.peers:
            if peer.cut_off is not None:
                self.problems.append(f"{self.label}: {peer.label} cut off ({peer.cut_off})")
        log(f"{self.label} {target}: " + ", ".join(
            f"{k} {v}" for k, v in figures.items() if k not in ("rejected", "slow_join")))
        log(f"{self.label} {target}: slow join {figures['slow_join']}")
        return figures

    async def close(self) -> int:
        """Close the clients and the server; the server log's error lines."""
        await asyncio.gather(*(peer.close() for peer in self.peers))
        if self.proc is not None:
            await self.stop()
        return c.count_errors(self.logs)


# --------------------------------------------------------------------------- main


async def run_tree(opts: argparse.Namespace, children: Children, tmp: Path, tree: Path,
                   backend: str, label: str, dbs: list[c.PgDatabase]) -> dict[str, Any]:
    """Every stage on one tree and backend."""
    database = None
    if backend == "postgres":
        db = c.PgDatabase()
        dbs.append(db)
        await db.create()
        database = db.url
    run = Run(opts, children, tmp, tree, label, database)
    out: dict[str, Any] = {"stages": {}}
    try:
        out["setup"] = await run.setup()
        for target in opts.stages:
            out["stages"][str(target)] = await run.stage(target)
    finally:
        out["server_errors"] = await run.close()
        if database:
            await dbs[-1].drop()
    if out["server_errors"]:
        run.problems.append(f"{label}: {out['server_errors']} error lines in the server logs")
    out["problems"] = run.problems
    return out


def combine(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One backend's figures; with a baseline, each stage as {"baseline", "this"}."""
    if set(runs) == {"this"}:
        return {k: v for k, v in runs["this"].items() if k != "problems"}
    stages = {st: {name: runs[name]["stages"][st] for name in runs}
              for st in runs["this"]["stages"]}
    return {"stages": stages, **{key: {name: runs[name][key] for name in runs}
                                 for key in ("setup", "server_errors")}}


async def run(opts: argparse.Namespace, children: Children, dbs: list[c.PgDatabase]) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-long-"))
    log(f"work dir {tmp}")
    trees = ([("baseline", opts.baseline.resolve())] if opts.baseline else [])
    trees.append(("this", opts.server_root.resolve()))
    backends: dict[str, Any] = {}
    problems: list[str] = []
    try:
        for backend in opts.only:
            runs = {}
            for name, tree in trees:
                log(f"== {backend}: {name} ({tree})")
                where = tmp / f"{backend}-{name}"
                where.mkdir()
                runs[name] = await run_tree(opts, children, where, tree, backend,
                                            f"{backend}/{name}", dbs)
                problems += runs[name]["problems"]
            backends[backend] = combine(runs)
    finally:
        c.leave_work_dir(tmp, opts.keep)
    ink, turn, notice = opts.mix
    config = {"stages": opts.stages, "rate": opts.rate, "mix": {"ink": ink, "turn": turn,
              "notice": notice}, "points": opts.points, "documents": opts.docs,
              "pages": opts.pages, "ink_accounts": opts.ink_accounts,
              "account_rate": opts.account_rate, "window": opts.window,
              "delegates": opts.delegates, "items": opts.items,
              "listeners": opts.listeners, "joins": opts.joins,
              "concurrent_joins": opts.concurrent_joins, "slow_mbit": opts.slow_mbit,
              "server_root": str(opts.server_root),
              "baseline": str(opts.baseline) if opts.baseline else None}
    print(json.dumps({"config": config, "backends": backends, "problems": problems},
                     separators=(",", ":")), flush=True)
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 3 if problems else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop long-meeting benchmark (result: last stdout line, JSON)")
    parser.add_argument("--stages", type=int, nargs="+", default=[1000, 5000, 10000, 20000],
                        help="load commands sent in all at each stage (default 1000 5000 "
                             "10000 20000)")
    parser.add_argument("--rate", type=float, default=300,
                        help="offered load commands a second (default 300)")
    parser.add_argument("--mix", type=float, nargs=3, default=[0.8, 0.1, 0.1],
                        metavar=("INK", "TURN", "NOTICE"),
                        help="shares of strokes, page turns and notices (default 0.8 0.1 0.1; "
                             "turns and notices are limited to 2 accounts each)")
    parser.add_argument("--points", type=int, default=100,
                        help="points per stroke (default 100: 200 numbers)")
    parser.add_argument("--account-rate", type=float, default=15,
                        help="most commands a second per account (default 15; the server "
                             "allows 20)")
    parser.add_argument("--window", type=int, default=8,
                        help="most unanswered load commands per connection (default 8): "
                             "beyond, a command waits (its latency still counts from when "
                             "it was due)")
    parser.add_argument("--docs", type=int, default=0,
                        help="documents drawn on (default: enough for the last stage, "
                             f"{MARKS_PER_DOCUMENT} strokes each)")
    parser.add_argument("--pages", type=int, default=20, help="pages per document (default 20)")
    parser.add_argument("--items", type=int, default=20,
                        help="agenda items of the meeting (default 20: a long meeting's "
                             "agenda; bench-seed's own default is 1000)")
    parser.add_argument("--listeners", type=int, default=20,
                        help="connected delegates timing page turns (default 20)")
    parser.add_argument("--joins", type=int, default=10,
                        help="sequential joins per stage (default 10)")
    parser.add_argument("--concurrent-joins", type=int, default=20,
                        help="joins sent at once per stage (default 20)")
    parser.add_argument("--turn-rounds", type=int, default=5,
                        help="idle page turns timed per stage (default 5)")
    parser.add_argument("--slow-mbit", type=float, default=16,
                        help="the slow client's download, Mbit/s (default 16)")
    parser.add_argument("--only", nargs="+", choices=("sqlite", "postgres"), default=["sqlite"],
                        help="backends (default sqlite; postgres: a fresh database, no Redis)")
    parser.add_argument("--server-root", type=Path, default=c.REPO_ROOT,
                        help="the tree measured (default this one)")
    parser.add_argument("--baseline", type=Path,
                        help="a tree measured first, in the same run (e.g. a worktree)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--settle", type=float, default=2,
                        help="pause after building a stage, s (default 2)")
    parser.add_argument("--ack-timeout", type=float, default=300,
                        help="every ack in after the last send, s (default 300)")
    parser.add_argument("--join-timeout", type=float, default=120,
                        help="one join's snapshot, s (default 120)")
    parser.add_argument("--slow-timeout", type=float, default=180,
                        help="the slow client in, s (default 180)")
    parser.add_argument("--seed-timeout", type=float, default=300,
                        help="bench-seed, s (default 300)")
    parser.add_argument("--start-timeout", type=float, default=60,
                        help="the server answering /healthz, s (default 60)")
    parser.add_argument("--stop-timeout", type=float, default=30,
                        help="the server's exit after SIGTERM, s (default 30)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs)")
    opts = parser.parse_args(argv)
    if opts.stages != sorted(set(opts.stages)) or opts.stages[0] < 1:
        parser.error("--stages: increasing positive counts")
    if min(opts.mix) < 0 or sum(opts.mix) <= 0:
        parser.error("--mix: three shares ≥ 0, not all 0")
    opts.mix = [share / sum(opts.mix) for share in opts.mix]
    if not 0 < opts.account_rate < 20:
        parser.error("--account-rate must be in (0, 20): the server refuses more")
    if opts.rate <= 0 or not 1 <= opts.points <= 2000 or opts.pages < 2:
        parser.error("--rate > 0, --points 1..2000, --pages ≥ 2")
    if min(opts.listeners, opts.joins, opts.concurrent_joins, opts.turn_rounds,
           opts.window) < 1:
        parser.error("--listeners, --joins, --concurrent-joins, --turn-rounds, --window ≥ 1")
    ink, turn, notice = (opts.rate * share for share in opts.mix)
    for what, per_s in (("page turns", turn), ("notices", notice)):
        if per_s / 2 > opts.account_rate:
            parser.error(f"{what} at {per_s:g}/s need more than 2 accounts at "
                         f"{opts.account_rate:g}/s: lower --rate or their share in --mix")
    opts.ink_accounts = max(1, math.ceil(ink / opts.account_rate - 1e-9))
    opts.docs = opts.docs or max(1, math.ceil(opts.stages[-1] * opts.mix[0] /
                                              MARKS_PER_DOCUMENT))
    opts.delegates = (opts.listeners + max(opts.joins, opts.concurrent_joins) + 1
                      + 1 + opts.ink_accounts)
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    dbs: list[c.PgDatabase] = []
    return c.run_main(lambda o, children: run(o, children, dbs), opts,
                      [lambda: [db.drop_now() for db in dbs]])


if __name__ == "__main__":
    sys.exit(main())
