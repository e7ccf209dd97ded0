"""Encrypted polls against a real server: the board members' devices and the voters',
played by voting.secret's Python client functions (tests/voting/board_kit.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from phonghop.store.sql import SqlStore, sqlite_url
from tests.conftest import Meeting, ServerProcess, WsClient, changed
from tests.server.conftest import uid
from tests.voting.board_kit import BoardDevice, ballot


async def poll_as(m: Meeting, who: str, poll_id: int) -> dict[str, Any]:
    """The poll as `who`'s device sees it in the room view."""
    r = await m[who].call("GET", f"/api/meetings/{m.id}")
    assert r.status_code == 200, r.text
    return next(p for p in r.json()["room"]["polls"] if p["id"] == poll_id)


async def create_secret(m: Meeting, members: tuple[str, ...] = ("d1", "d2", "d3"),
                        threshold: int = 2, **settings: Any) -> dict[str, Any]:
    """A secret poll (a motion unless told) with its counting board: a draft."""
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls", {
        "title": "Bỏ phiếu kín", "secret": True,
        "board": {"members": [uid(m, w) for w in members], "threshold": threshold},
        **settings})
    return changed(r, "poll.created")["poll"]


async def send(m: Meeting, who: str, name: str, args: dict[str, Any],
               sockets: dict[str, WsClient] | None = None) -> dict[str, Any]:
    """A command from `who`'s device: over its websocket if it has one, else HTTP."""
    if sockets and who in sockets:
        return await sockets[who].command(m.id, name, **args)
    r = await m[who].call("POST", f"/api/meetings/{m.id}/commands",
                          {"name": name, "args": args})
    body = r.json()
    return {"type": "ack", **body} if r.status_code == 200 else {"type": "rejected", **body}


async def ceremony(m: Meeting, poll: dict[str, Any],
                   sockets: dict[str, WsClient] | None = None) -> dict[str, BoardDevice]:
    """Every board member's device runs the three rounds; the board ends ready."""
    ids = poll["board"]["members"]
    names = {uid(m, w): w for w in m.members}
    devices = {names[i]: BoardDevice(i) for i in ids}
    pid = poll["id"]
    for step in ("round1", "round2", "round3"):
        for who, device in devices.items():
            seen = await poll_as(m, who, pid)
            if step == "round1":
                name, args = "board.round1", device.round1(seen)
            elif step == "round2":
                name, args = "board.shares", device.round2(seen)
            else:
                name, args = device.round3(seen)
            answer = await send(m, who, name, args, sockets)
            assert answer["type"] == "ack", (who, name, answer)
    ready = await poll_as(m, next(iter(devices)), pid)
    assert ready["board"]["status"] == "ready", ready["board"]
    return devices


async def cast(ws: WsClient, m: Meeting, poll: dict[str, Any], voter: str, *choices: int,
               cid: str | None = None) -> dict[str, Any]:
    """`voter`'s device encrypts and proves these choices and casts the ballot."""
    return await ws.command(m.id, "vote.cast", cid, poll_id=poll["id"],
                            ballot=ballot(poll, uid(m, voter), *choices))


async def decrypt(m: Meeting, poll_id: int, devices: dict[str, BoardDevice], *who: str,
                  sockets: dict[str, WsClient] | None = None) -> list[dict[str, Any]]:
    """These board members' devices send their partial decryptions of the aggregate."""
    answers = []
    for w in who:
        args = devices[w].partials(await poll_as(m, w, poll_id))
        answers.append(await send(m, w, "board.partial", args, sockets))
    return answers


def store_of(server: ServerProcess) -> SqlStore:
    """A store on the server's own database (opened by the caller)."""
    args = server.backend_args
    return SqlStore(args[args.index("--database") + 1] if "--database" in args
                    else sqlite_url(server.data_dir))


async def all_rows(server: ServerProcess) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the server's database, in stored order."""
    store = store_of(server)
    await store.open()
    assert store.engine is not None
    try:
        async with store.engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            rows = {}
            for name in names:
                result = await conn.execute(sa.text(f'SELECT * FROM "{name}"'))
                rows[name] = [dict(r._mapping) for r in result]
            return rows
    finally:
        await store.close()


async def heap_pages(server: ServerProcess) -> dict[str, bytes]:
    """PostgreSQL: the raw pages of every table (and its TOAST table) of the server's
    database, read with `pageinspect`'s `get_raw_page`: what is on disk, dead tuples and
    all, not what a query returns."""
    import asyncpg

    args = server.backend_args
    url = args[args.index("--database") + 1]
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        await conn.execute("CHECKPOINT")  # everything written reaches the heap files
        relations = await conn.fetch(
            "SELECT c.oid::regclass::text AS name, c.relpages FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 't') AND n.nspname IN ('public', 'pg_toast') "
            "AND (n.nspname = 'public' OR c.oid IN (SELECT reltoastrelid FROM pg_class "
            "     JOIN pg_namespace p ON p.oid = relnamespace WHERE p.nspname = 'public'))")
        pages: dict[str, bytes] = {}
        for rel in relations:
            blocks = await conn.fetchval(
                "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int",
                rel["name"])
            pages[rel["name"]] = b"".join([
                await conn.fetchval("SELECT get_raw_page($1, $2::int)", rel["name"], n)
                for n in range(blocks)])
        return pages
    finally:
        await conn.close()
