"""Fault tests with real processes: server nodes, a private Redis, a private PostgreSQL.

Each test gets a `cluster`: everything it starts through it (nodes, redis-server,
PostgreSQL, websocket clients, fresh databases on the shared PostgreSQL) is stopped and
removed afterwards, whatever the outcome. Nothing here touches the shared PostgreSQL and
Redis services beyond creating and dropping databases of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import Api, Backend, ServerProcess, WsClient, free_port

# Command ids must be unique per (user, meeting) across connections: one chair on two
# nodes sending "c1" twice would rightly be taken for a retry.
_ids = itertools.count(1)
_pings = itertools.count(1)


def next_id(prefix: str = "k") -> str:
    return f"{prefix}{os.getpid()}-{next(_ids)}"


# ---- processes ----


class Node(ServerProcess):
    """A phonghop node that registers itself for clean-up before it waits to be ready."""

    def __init__(self, registry: list[Node], data_dir: Path, command: str, **kw: Any) -> None:
        self._registry = registry
        super().__init__(data_dir, command, **kw)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        self._registry.append(self)  # the process exists now: clean it up even if it hangs
        super()._wait_ready(timeout)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, the bus or the store."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(6)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._out.closed:
            self._out.close()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private redis-server on a free port (no persistence); killable and restartable."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with open(self.dir / "redis.log", "ab") as out:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while not _answers_ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log_tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def log_tail(self) -> str:
        path = self.dir / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.skip("PostgreSQL binaries (initdb) are not installed")
    return Path(initdb).parent


class PgServer:
    """A private PostgreSQL cluster (trust auth, free port, sockets in its own directory).

    PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` system
    account and every pg command runs through `runuser -u postgres --`.
    """

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.prefix: list[str] = []
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` account to run PostgreSQL")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        # Not under pytest's tmp_path: its parents are private to root.
        self.dir = Path(tempfile.mkdtemp(prefix="phonghop-pg-"))
        if owner is not None:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.running = False

    def create(self) -> None:
        """initdb, then start."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C", "--no-sync", timeout=60)
        self.start()

    def _run(self, tool: str, *args: str, timeout: float = 40) -> None:
        result = subprocess.run([*self.prefix, str(self.bindir / tool), *args],
                                capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout[-1500:]!r} {result.stderr[-1500:]!r}"
                               f" {self.log_tail()}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "pg.log"), "-w",
                  "-t", "30", "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running or (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists():  # pg_ctl could not stop it: do it by its id
            with contextlib.suppress(Exception):
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self) -> str:
        path = self.dir / "pg.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class Cluster:
    """What one test started; `close` stops all of it."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.nodes: list[Node] = []
        self.redises: list[RedisServer] = []
        self.pgs: list[PgServer] = []
        self.backends: list[Backend] = []
        self.clients: list[WsClient] = []
        self.watchers: list[Watcher] = []

    def redis(self) -> RedisServer:
        server = RedisServer(self.tmp / f"redis{len(self.redises)}")
        self.redises.append(server)
        return server

    def postgres(self) -> PgServer:
        pg = PgServer()
        self.pgs.append(pg)  # registered before it starts, so that a failed start is cleaned
        pg.create()
        return pg

    def backend(self, redis: RedisServer) -> Backend:
        """A fresh database on the shared PostgreSQL, with this test's own Redis."""
        backend = Backend("scaled", redis_url=redis.url)
        self.backends.append(backend)
        return backend

    def node(self, name: str, command: str = "serve", backend: Backend | None = None,
             args: list[str] | None = None, env: dict[str, str] | None = None) -> Node:
        kw: dict[str, Any] = {}
        if backend is not None:
            kw["backend"] = backend
        if args is not None:
            kw["args"] = args
        if env is not None:
            kw["env"] = env
        return Node(self.nodes, self.tmp / name, command, **kw)

    async def ws(self, node: ServerProcess, api: Api) -> WsClient:
        client = await WsClient.open(node.ws_url, api.token)
        self.clients.append(client)
        return client

    async def watch(self, node: ServerProcess, api: Api, meeting: int,
                    since: int | None = None) -> Watcher:
        """A member's connection that joins and then reads everything in the background."""
        client = await self.ws(node, api)
        first = await client.join(meeting, since)
        assert first["type"] in ("snapshot", "resumed"), first
        watcher = Watcher(client, first)
        self.watchers.append(watcher)
        return watcher

    async def close(self) -> None:
        # shown by pytest only when the test failed: what the servers said
        for node in self.nodes:
            print(f"---- {node.data_dir.name} (pid {node.proc.pid}) log tail ----")
            print(node.log_tail())
        for watcher in self.watchers:
            watcher.task.cancel()
        for client in self.clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 2)
        for node in self.nodes:
            node.stop()
        for redis in self.redises:
            redis.kill()
        for pg in self.pgs:
            pg.destroy()
        for backend in self.backends:
            with contextlib.suppress(Exception):
                backend.drop()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        await c.close()


# ---- clients ----


def on(node: ServerProcess, api: Api) -> Api:
    """The same signed-in user, talking HTTP to another node."""
    return Api(node.base_url, api.token, api.user)


def database_url(args: list[str]) -> str:
    """The --database URL out of a node's backend flags."""
    return args[args.index("--database") + 1]


class Watcher:
    """A joined connection whose messages are read by a background task, so the test can
    wait on conditions over what arrived (`client.seen`) while it does other things."""

    def __init__(self, client: WsClient, first: dict[str, Any]) -> None:
        self.client = client
        self.first = first  # the join's answer: snapshot or resumed
        self.closed = False
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                await self.client.next(timeout=3600)
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self._changed.set()

    @property
    def seen(self) -> list[dict[str, Any]]:
        return self.client.seen

    def events(self) -> list[dict[str, Any]]:
        return [m for m in self.client.seen if m["type"] == "event"]

    def last_seq(self) -> int:
        """The last room seq this connection saw (what a client sends as `since`)."""
        seqs = [e["seq"] for e in self.events()]
        return max([self.first["seq"], *seqs])

    async def wait(self, predicate: Callable[[], bool], what: str,
                   timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            if predicate():
                return
            if self.closed:
                raise AssertionError(f"connection closed while waiting for {what}")
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out ({timeout} s) waiting for {what}; "
                                     f"last seq {self.last_seq()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def until_seq(self, seq: int, timeout: float = 10.0) -> None:
        await self.wait(lambda: self.last_seq() >= seq, f"seq {seq}", timeout)

    async def until_closed(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(asyncio.shield(self.task), timeout)

    async def barrier(self, timeout: float = 10.0) -> None:
        """Ping and wait for the pong: everything sent before it has arrived."""
        t = f"barrier-{next(_pings)}"
        mark = len(self.seen)
        await self.client.send({"type": "ping", "t": t})
        await self.wait(lambda: any(m["type"] == "pong" and m.get("t") == t
                                    for m in self.seen[mark:]), "pong", timeout)


async def command(client: WsClient, meeting: int, name: str, args: dict[str, Any] | None = None,
                  cid: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Send one command and wait for its ack or rejection (generously)."""
    cid = cid or next_id()
    await client.send({"type": "command", "id": cid, "meeting": meeting, "name": name,
                       "args": args or {}})
    return await client.until(lambda m: m["type"] in ("ack", "rejected") and m.get("id") == cid,
                              timeout)


@dataclass
class Sent:
    cid: str
    name: str
    args: dict[str, Any]
    phase: str  # the test's phase when the command was sent
    answer: dict[str, Any] | None = None
    answered_in: str = ""  # the phase when the answer came


class Stream:
    """A chair pressing buttons at a steady pace: one command at a time, each answer awaited
    before the next (so answers map to commands unambiguously)."""

    def __init__(self, client: WsClient, meeting: int,
                 commands: Iterator[tuple[str, dict[str, Any]]], pace: float = 0.05) -> None:
        self.client = client
        self.meeting = meeting
        self.commands = commands
        self.pace = pace
        self.phase = "start"
        self.sent: list[Sent] = []
        self._stopping = False
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while not self._stopping:
                name, args = next(self.commands)
                item = Sent(next_id("s"), name, args, self.phase)
                self.sent.append(item)
                item.answer = await command(self.client, self.meeting, name, args, item.cid)
                item.answered_in = self.phase
                self._changed.set()
                await asyncio.sleep(self.pace)
        finally:
            self._changed.set()

    def acked(self, phase: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.answer is not None and s.answer["type"] == "ack"
                and (phase is None or s.phase == phase)]

    def answered(self) -> list[Sent]:
        return [s for s in self.sent if s.answer is not None]

    async def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            if predicate():
                return
            if self.task.done():
                self.task.result()  # raise what stopped the stream
                raise AssertionError(f"stream ended while waiting for {what}")
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out ({timeout} s) waiting for {what}; "
                                     f"{len(self.sent)} sent, {len(self.acked())} acked")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_acks(self, count: int, phase: str | None = None,
                        timeout: float = 20.0) -> None:
        await self.wait(lambda: len(self.acked(phase)) >= count,
                        f"{count} acks in phase {phase}", timeout)

    async def stop(self, timeout: float = 40.0) -> None:
        """Let the command in flight finish, then stop."""
        self._stopping = True
        await asyncio.wait_for(self.task, timeout)


def cycle_commands(speaker: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Notices and floor grant/end cycles: each command is one event, for everyone."""
    for n in itertools.count(1):
        yield "notice.post", {"text": f"Thông báo số {n}"}
        if n % 2 == 0:
            yield "floor.grant", {"user_id": speaker}
            yield "floor.end", {}


def notices(tag: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for n in itertools.count(1):
        yield "notice.post", {"text": f"Thông báo {tag}{n}"}


# ---- the log ----


async def read_log(db_url: str, room: int) -> list[dict[str, Any]]:
    """The room's event log straight from PostgreSQL, in seq order."""
    conn = await asyncio.wait_for(asyncpg.connect(db_url), 10)
    try:
        rows = await conn.fetch(
            "SELECT seq, kind, at, actor, data FROM room_events WHERE room_id = $1 ORDER BY seq",
            room)
    finally:
        await conn.close()
    return [{"seq": r["seq"], "kind": r["kind"], "at": r["at"], "actor": r["actor"],
             "data": json.loads(r["data"])} for r in rows]


def as_log(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Client events in the log's shape."""
    return [{k: e[k] for k in ("seq", "kind", "at", "actor", "data")} for e in events]


def assert_same_as_log(events: list[dict[str, Any]], log: list[dict[str, Any]], after: int,
                       who: str) -> None:
    """`events` are exactly the log's events after `after`: none missing, none twice, same
    order and content (every event here has the audience everyone)."""
    got = as_log(events)
    want = [e for e in log if e["seq"] > after]
    got_seqs, want_seqs = [e["seq"] for e in got], [e["seq"] for e in want]
    assert got_seqs == want_seqs, (
        f"{who}: seqs differ from the log after {after}: "
        f"missing {sorted(set(want_seqs) - set(got_seqs))}, "
        f"extra/duplicate {_dupes(got_seqs, want_seqs)}")
    assert got == want, f"{who}: event content differs from the log"


def _dupes(got: list[int], want: list[int]) -> list[int]:
    wanted = set(want)
    seen: set[int] = set()
    out = []
    for s in got:
        if s in seen or s not in wanted:
            out.append(s)
        seen.add(s)
    return out


EXPECTED_KIND = {"notice.post": "notice.posted", "floor.grant": "floor.granted",
                 "floor.end": "floor.ended"}


def assert_acks_in_log(sent: list[Sent], log: list[dict[str, Any]]) -> None:
    """Every acknowledged command is in the log at its acked seq, as what it asked for."""
    by_seq = {e["seq"]: e for e in log}
    for s in sent:
        if s.answer is None or s.answer["type"] != "ack":
            continue
        seq = s.answer["seq"]
        assert seq in by_seq, f"acked {s.name} {s.cid} at seq {seq} is not in the log"
        event = by_seq[seq]
        assert event["kind"] == EXPECTED_KIND[s.name], (s, event)
        if s.name == "notice.post":
            assert event["data"]["notice"]["text"] == s.args["text"], (s, event)
        if s.name == "floor.grant":
            assert event["data"]["speaker"]["user_id"] == s.args["user_id"], (s, event)
