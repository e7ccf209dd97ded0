"""Helpers shared by the account and session attacks: two nodes, fresh accounts, waits."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    PASSWORD,
    ROOT,
    TEST_SERVER_ENV,
    TLS,
    Api,
    Backend,
    ServerProcess,
    WsClient,
    login,
)

_tags = itertools.count(1)
# A revocation reaches the other node through the bus within milliseconds; this bound is
# far below the session cache's 30 s, so passing it means the bus carried it.
AT_ONCE = 2.0


def other_node(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory,
               **kw: Any) -> ServerProcess:
    """A second node of `server`'s deployment (same database, same Redis) on `scaled`;
    the embedded backend has a single node, which then plays both parts."""
    if server.backend.name == "embedded":
        return server
    return ServerProcess(tmp_path_factory.mktemp("node-b"), "serve", backend=server.backend,
                         args=server.backend_args, **kw)


def on(node: ServerProcess, api: Api) -> Api:
    """The same session, talking to another node."""
    return Api(node.base_url, api.token, api.user)


async def new_account(admin: Api, password: str = PASSWORD, **fields: Any) -> dict[str, Any]:
    """A fresh account made by the administrator; its public record."""
    username = f"acct{os.getpid()}x{next(_tags)}"
    r = await admin.call("POST", "/api/users", {
        "username": username, "password": password, "full_name": f"Người dùng {username}",
        **fields})
    assert r.status_code == 201, r.text
    return r.json()["user"]


async def signed_in(base_url: str, username: str, password: str = PASSWORD) -> Api:
    return await login(base_url, username, password)


async def try_login(base_url: str, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(verify=TLS, base_url=base_url, timeout=30) as c:
        return await c.post("/api/login", json={"username": username, "password": password,
                                                "client": "device"})


async def refused_soon(check: Callable[[], Awaitable[httpx.Response]],
                       within: float = AT_ONCE) -> httpx.Response:
    """Repeat `check` until it is refused (401), failing after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        r = await check()
        if r.status_code != 200 or loop.time() > deadline:
            return r
        await asyncio.sleep(0.02)


async def ws_session(node: ServerProcess, api: Api) -> WsClient:
    """An open websocket of `api`'s session on `node` (signed in: hello received)."""
    return await WsClient.open(node.ws_url, api.token)


# ---- a production install: no demo, no development mode ----

ADMIN = "quantri"
ADMIN_PASSWORD = "Quan-tri-vien-2026"


def cli(data: Path, backend_args: list[str], *args: str,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`phonghop ARGS --data DATA <backend flags>` as a real process, `stdin` typed in."""
    return subprocess.run(
        [sys.executable, "-m", "phonghop", *args, "--data", str(data), *backend_args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, **TEST_SERVER_ENV},
    )


@dataclass
class Production:
    """A server installed as docs/DEPLOY.md says: create-admin, then serve (no dev flag)."""

    server: ServerProcess
    data: Path
    args: list[str]  # backend flags, for further commands on the same deployment


def install(tmp_path_factory: pytest.TempPathFactory, backend: Backend,
            env: dict[str, str] | None = None) -> Production:
    """Create the first administrator and start `serve` in production mode. A development
    CA is made in the data directory too: production must not trust it."""
    data = tmp_path_factory.mktemp("production")
    args = backend.args(data)
    made = cli(data, args, "create-admin", "--username", ADMIN, "--full-name",
               "Nguyễn Văn Quản Trị", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    devca = cli(data, args, "dev-ca")
    assert devca.returncode == 0, devca.stderr
    assert (data / "dev-ca" / "ca.pem").exists()
    server = ServerProcess(data, "serve", backend=backend, args=args, dev=False, env=env)
    return Production(server, data, args)
