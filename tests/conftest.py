"""Shared fixtures: a real phonghop server in its own process on a free port, real clients."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.soft_token import SoftToken, init_token

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "matkhau-2026"
_unique = itertools.count(1)
# Command ids unique in the whole test process: two devices of one person never collide.
_command_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One TLS context for every test client (`verify=TLS`): httpx otherwise builds one per
# client, parsing a bundle of root certificates each time (about 20 ms of CPU), and the
# suite makes thousands of clients.
TLS = ssl.create_default_context()

PG = os.environ.get("PHONGHOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("PHONGHOP_TEST_REDIS", "redis://127.0.0.1:6379/0")
BACKENDS = os.environ.get("PHONGHOP_TEST_BACKENDS", "embedded,scaled").split(",")
# Test servers hash passwords with argon2id's cheapest parameters: the suite creates and
# signs in thousands of users, 0.2-0.4 s each at the production profile
# (tests/server/test_passwords.py covers that one).
# The nodes of one test deployment share a bus secret (a Redis bus refuses to run without).
TEST_BUS_SECRET = "test-bus-secret-" + os.urandom(8).hex()
TEST_SERVER_ENV = {"PHONGHOP_PASSWORD_PROFILE": "test-only-cheapest",
                   "PHONGHOP_BUS_SECRET": TEST_BUS_SECRET}


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(f"{PG}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # Also called from inside running event loops (async tests): run on a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@dataclass
class Backend:
    """Where a test server keeps its truth and how its nodes talk.

    `embedded`: SQLite in the data directory and the in-process bus (the default install).
    `scaled`: a fresh PostgreSQL database and Redis pub/sub (the many-node install).
    """

    name: str
    redis_url: str = REDIS
    databases: list[str] = field(default_factory=list)

    def args(self, data_dir: Path) -> list[str]:
        """Flags for a server on this backend; each call on `scaled` makes a fresh database."""
        if self.name == "embedded":
            return []
        db = f"phonghop_t_{os.getpid()}_{next(_unique)}_{data_dir.name[:20]}".lower()
        db = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in db)
        _pg_admin(f'CREATE DATABASE "{db}"')
        self.databases.append(db)
        return ["--database", f"{PG}/{db}", "--redis", self.redis_url]

    def drop(self) -> None:
        for db in self.databases:
            _pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.databases.clear()


EMBEDDED = Backend("embedded")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each test module that asks for it runs once per backend."""
    chosen = Backend(request.param)
    yield chosen
    chosen.drop()


class ServerProcess:
    """`phonghop serve|demo` as a child process, ready when /healthz answers."""

    def __init__(
        self, data_dir: Path, command: str = "serve", *extra: str,
        backend: Backend = EMBEDDED, args: list[str] | None = None,
        env: dict[str, str] | None = None, dev: bool = True,
    ) -> None:
        """`args` (backend flags) reuse an existing server's database; else a fresh one.
        `env` adds to the environment the server inherits. `dev`: development mode
        (plain HTTP cookies, the development CA trusted), as test servers on plain HTTP
        need; `dev=False` runs as in production."""
        self.backend = backend
        self.backend_args = args if args is not None else backend.args(data_dir)
        self.port = free_port()
        self.data_dir = data_dir
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.log = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._out = open(self.log, "ab")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "phonghop", command, "--data", str(data_dir),
             "--port", str(self.port), "--host", "127.0.0.1", *self.backend_args,
             *(["--insecure-dev-http"] if dev else []), *extra],
            cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT,
            env={**os.environ, **TEST_SERVER_ENV, **(env or {})},
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1, verify=TLS).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


@pytest.fixture(scope="session")
def soft_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftToken]:
    """A fresh SoftHSM2 token for this test process. SOFTHSM2_CONF points at it for the
    whole session: the PKCS#11 library reads it once, when first loaded, and servers
    started meanwhile inherit it."""
    token = init_token(tmp_path_factory.mktemp("softhsm"))
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(token.conf)
    yield token
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="session")
def shared_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    """The demo servers the test modules share, one per backend, started when first asked
    for and stopped (their databases dropped) at the end of the session."""
    servers: dict[str, ServerProcess] = {}
    yield servers
    for proc in servers.values():
        proc.stop()
        proc.backend.drop()


@pytest.fixture(scope="module")
def server(shared_servers: dict[str, ServerProcess], backend: Backend,
           tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    """The demo server of this backend, shared by every module that asks for `server`
    (starting one is most of what a small module costs). Each test makes its own meetings
    and accounts on it, so no test sees another's data; a module that changes what other
    modules rely on (sign-in limits spent from this address, settings, a killed process)
    starts a server of its own instead (`private_server`, or a `ServerProcess`)."""
    proc = shared_servers.get(backend.name)
    if proc is None:
        proc = ServerProcess(tmp_path_factory.mktemp(f"shared-{backend.name}"), "demo",
                             backend=Backend(backend.name, backend.redis_url))
        shared_servers[backend.name] = proc
    if proc.proc.poll() is not None:
        raise RuntimeError(f"the shared {backend.name} server exited "
                           f"({proc.proc.returncode}): {proc.log.read_text()[-2000:]}")
    return proc


@dataclass
class Api:
    """A signed-in HTTP client."""

    base_url: str
    token: str
    user: dict[str, Any]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=TLS, base_url=self.base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {self.token}"})

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async with self.client() as c:
            return await c.request(method, path, json=body)

    async def room(self, meeting: int) -> dict[str, Any]:
        """The room as this user sees it now (GET /api/meetings/ID)."""
        r = await self.call("GET", f"/api/meetings/{meeting}")
        assert r.status_code == 200, r.text
        return r.json()["room"]


def changed(answer: httpx.Response, kind: str) -> dict[str, Any]:
    """The data of the first `kind` event a command's HTTP answer says it made."""
    assert answer.status_code in (200, 201), answer.text
    events = answer.json()["events"]
    return next(e["data"] for e in events if e["kind"] == kind)


async def login(base_url: str, username: str, password: str = PASSWORD) -> Api:
    """Sign in as an API client: `"client": "device"` asks for the token in the answer."""
    async with httpx.AsyncClient(verify=TLS, base_url=base_url, timeout=30) as c:
        r = await c.post("/api/login", json={"username": username, "password": password,
                                             "client": "device"})
        r.raise_for_status()
        data = r.json()
    return Api(base_url, data["token"], data["user"])


def credential(p12: bytes, password: str) -> dict[str, str]:
    """The body of `POST /api/me/credential`: a PKCS#12 file and its password."""
    return {"pkcs12": base64.b64encode(p12).decode(), "password": password}


@dataclass
class Meeting:
    """A fresh meeting on the shared server: its id and a signed-in client per member."""

    id: int
    admin: Api
    members: dict[str, Api] = field(default_factory=dict)  # "chair", "secretary", "d1" …

    def __getitem__(self, who: str) -> Api:
        return self.members[who]


async def make_meeting(
    base_url: str, delegates: int = 3, invitees: int = 1, start: bool = True,
    extra: dict[str, str] | None = None,
) -> Meeting:
    """Create users and a meeting (chair, secretary, delegates d1…, invitees i1…)."""
    admin = await login(base_url, "admin", "demo1234")
    tag = f"{os.getpid()}x{next(_unique)}"
    roles = {"chair": "chair", "secretary": "secretary"}
    roles |= {f"d{i}": "delegate" for i in range(1, delegates + 1)}
    roles |= {f"i{i}": "invitee" for i in range(1, invitees + 1)}
    roles |= extra or {}
    async with admin.client() as c:
        r = await c.post("/api/meetings", json={
            "title": f"Cuộc họp kiểm thử {tag}", "starts_at": "2026-11-22T08:00:00+07:00"})
        assert r.status_code == 201, r.text
        meeting_id = r.json()["id"]
        users: dict[str, int] = {}
        for who, role in roles.items():
            r = await c.post("/api/users", json={
                "username": f"{who}_{tag}", "password": PASSWORD,
                "full_name": f"Người dùng {who} {tag}", "position": "Chuyên viên"})
            assert r.status_code == 201, r.text
            users[who] = r.json()["user"]["id"]
            r = await c.post(f"/api/meetings/{meeting_id}/participants",
                             json={"user_id": users[who], "role": role})
            assert r.status_code == 200, r.text
        assert (await c.post(f"/api/meetings/{meeting_id}/agenda", json={
            "title": "Nội dung 1", "planned_minutes": 10})).status_code == 200
        assert (await c.post(f"/api/meetings/{meeting_id}/agenda", json={
            "title": "Nội dung 2", "planned_minutes": 5})).status_code == 200
        assert (await c.post(f"/api/meetings/{meeting_id}/invite")).status_code == 200
    meeting = Meeting(meeting_id, admin)
    for who in roles:
        meeting.members[who] = await login(base_url, f"{who}_{tag}")
    if start:
        r = await meeting["chair"].call("POST", f"/api/meetings/{meeting_id}/commands",
                                        {"name": "session.start"})
        assert r.status_code == 200, r.text
    return meeting


class WsClient:
    """A websocket client that keeps every message it receives, in order."""

    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []  # messages, with `events` batches unpacked
        self.frames: list[dict[str, Any]] = []  # messages exactly as received
        self._queued: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, ws_url: str, token: str) -> WsClient:
        # The token as the `bearer` subprotocol: never in the URL (the server ignores it there).
        conn = await websockets.connect(ws_url, subprotocols=["bearer", token],  # type: ignore[list-item]
                                        max_size=2**24)
        client = cls(conn)
        hello = await client.next()
        assert hello["type"] == "hello", hello
        return client

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next message; an `events` batch is unpacked into its `event` messages."""
        if not self._queued:
            message = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
            self.frames.append(message)
            self._queued.extend(message["events"] if message["type"] == "events" else [message])
        message = self._queued.pop(0)
        self.seen.append(message)
        return message

    async def until(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        """Read until a message matches; earlier ones stay in `seen`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = await self.next(max(left, 0.01))
            if predicate(message):
                return message

    async def send(self, message: dict[str, Any] | str) -> None:
        # UTF-8 as a browser sends it (JSON.stringify escapes nothing).
        await self.conn.send(message if isinstance(message, str)
                             else json.dumps(message, ensure_ascii=False))

    async def join(self, meeting: int, since: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "join", "meeting": meeting}
        if since is not None:
            body["since"] = since
        await self.send(body)
        return await self.until(lambda m: m["type"] in ("snapshot", "resumed", "error"))

    async def command(self, meeting: int, name: str, cid: str | None = None,
                      **args: Any) -> dict[str, Any]:
        """Send a command and wait for its ack or rejection."""
        cid = cid or f"c{next(_command_ids)}"
        await self.send({"type": "command", "id": cid, "meeting": meeting, "name": name,
                         "args": args})
        return await self.until(lambda m: m["type"] in ("ack", "rejected") and m["id"] == cid)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.seen
                if m["type"] == "event" and (kind is None or m["kind"] == kind)]

    async def close(self) -> None:
        await self.conn.close()


@pytest.fixture
async def open_ws(server: ServerProcess) -> AsyncIterator[Any]:
    """open_ws(api) -> a connected WsClient; all are closed after the test."""
    clients: list[WsClient] = []

    async def opener(api: Api, url: str | None = None) -> WsClient:
        client = await WsClient.open(url or server.ws_url, api.token)
        clients.append(client)
        return client

    yield opener
    for client in clients:
        await client.close()
