"""`phonghop backup` and `phonghop restore`: a round trip on each backend (a meeting with its
log, documents and a poll, backed up while the server runs and commands keep coming,
restored into a new place, served again), and the restores that must be refused."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phonghop.server.backup import MANIFEST, BackupError, backup, restore, verify
from phonghop.server.config import Settings
from phonghop.voting.receipts import new_receipt
from tests.conftest import (
    PG,
    ROOT,
    TEST_SERVER_ENV,
    Backend,
    ServerProcess,
    WsClient,
    changed,
    login,
    make_meeting,
)
from tests.documents.corpus import report
from tests.server.conftest import uid
from tests.server.test_documents import attach, get

REPORT = report(2)
SECRET = report(1)


async def phonghop(*args: str) -> subprocess.CompletedProcess[str]:
    """`phonghop ARGS` in a process of its own (as an operator runs it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "phonghop", *args, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, **TEST_SERVER_ENV})
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def replayed(base_url: str, token: str, meeting: int) -> list[dict[str, Any]]:
    """The room's log from seq 1 as the server replays it to a client resuming at 0."""
    ws = await WsClient.open(base_url.replace("http", "ws", 1) + "/ws", token)
    try:
        done = await ws.join(meeting, since=0)
        assert done["type"] == "resumed", done
        return [m for m in ws.seen if m["type"] == "event"]
    finally:
        await ws.close()


async def test_a_backup_taken_while_the_server_runs_restores_into_a_new_place(
    tmp_path_factory: pytest.TempPathFactory, backend: Backend,
) -> None:
    tmp = tmp_path_factory.mktemp("roundtrip")
    source = ServerProcess(tmp / "source", "demo", backend=backend)
    try:
        m = await make_meeting(source.base_url, delegates=3)
        public = await attach(m["secretary"], m.id, REPORT, title="Báo cáo tổng hợp",
                              classification="public")
        secret = await attach(m["chair"], m.id, SECRET, title="Phương án nhân sự",
                              classification="confidential", viewers=[uid(m, "d1")])
        for w in ("d1", "d2", "d3"):
            r = await m[w].call("POST", f"/api/meetings/{m.id}/commands",
                                {"name": "attendance.check_in"})
            assert r.status_code == 200, r.text
        r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls",
                                  {"title": "Thông qua Nghị quyết"})
        poll = changed(r, "poll.created")["poll"]
        pp = f"/api/meetings/{m.id}/polls/{poll['id']}"
        assert (await m["chair"].call("POST", pp + "/open")).status_code == 200
        clients = {w: await WsClient.open(source.ws_url, m[w].token) for w in ("d1", "d2", "d3")}
        for w, c in clients.items():
            await c.join(m.id)
            ack = await c.command(m.id, "vote.cast", poll_id=poll["id"],
                                  choices=[1 if w != "d3" else 2], receipt=new_receipt())
            assert ack["type"] == "ack", ack
        r = await m["chair"].call("POST", pp + "/close")  # published at once (the default)
        assert r.status_code == 200, r.text
        receipts = (await m["chair"].call("GET", pp + "/receipts")).json()

        # The backup runs while a delegate keeps the room busy.
        target = tmp / "backup"
        running = asyncio.ensure_future(phonghop(
            "backup", str(target), "--data", str(source.data_dir), *source.backend_args))
        busy = clients["d1"]
        while not running.done():  # within the account's 20 commands a second
            assert (await busy.command(m.id, "floor.request"))["type"] == "ack"
            assert (await busy.command(m.id, "floor.withdraw"))["type"] == "ack"
            await asyncio.sleep(0.15)
        made = running.result()
        assert made.returncode == 0, made.stderr
        assert "the credential key (KEK) is not in the backup" in made.stdout
        for c in clients.values():
            await c.close()
        source_log = await replayed(source.base_url, m["chair"].token, m.id)
        room = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
    finally:
        source.stop()

    manifest = json.loads((target / MANIFEST).read_text())
    paths = {f["path"] for f in manifest["files"]}
    docs = {f"documents/files/{sha[:2]}/{sha}.pdf"
            for sha in (hashlib.sha256(REPORT).hexdigest(), hashlib.sha256(SECRET).hexdigest())}
    assert docs <= paths
    assert f"documents/sealed/{hashlib.sha256(SECRET).hexdigest()}" in paths
    assert not any("/pages/" in f or f.startswith("secrets") for f in paths)  # cache, the KEK
    for written in [target, *target.rglob("*")]:  # the command's umask: the service's only
        assert written.stat().st_mode & 0o077 == 0, written

    again = tmp / "restored"
    args = backend.args(again)  # a new, empty database on PostgreSQL
    done = await phonghop("restore", str(target), "--data", str(again), *args)
    assert done.returncode == 0, done.stderr
    assert "SHA-256 checked" in done.stdout
    # and the restored logs' hash chains were verified (the demo's meeting and this one;
    # the access log holds the sign-ins above)
    assert ("hash chains: 2 cuộc họp / meetings, 0 có vấn đề / with problems" in done.stdout
            and "nguyên vẹn / intact" in done.stdout), done.stdout
    restored = ServerProcess(again, "serve", backend=backend, args=args)
    try:
        chair = await login(restored.base_url, m["chair"].user["username"])
        # The log as it was when the backup began or later: a prefix of the source's,
        # event for event, and the meeting, documents and poll all there.
        log = await replayed(restored.base_url, chair.token, m.id)
        assert log == source_log[:len(log)]
        assert any(e["kind"] == "poll.published" for e in log)
        got = (await chair.call("GET", f"/api/meetings/{m.id}")).json()
        assert got["seq"] == log[-1]["seq"]
        view = got["room"]
        assert [p["result"] for p in view["polls"]] == [p["result"] for p in room["polls"]]
        assert view["documents"] == room["documents"]
        assert view["agenda"] == room["agenda"]
        assert (await chair.call("GET", pp + "/receipts")).json() == receipts
        d1 = await login(restored.base_url, m["d1"].user["username"])
        original = await get(d1, f"/api/meetings/{m.id}/documents/{public['id']}/file")
        assert original.status_code == 200 and original.content == REPORT
        page = await get(d1, f"/api/meetings/{m.id}/documents/{secret['id']}/pages/1")
        assert page.status_code == 200 and page.headers["cache-control"].startswith("private")
    finally:
        restored.stop()

    if backend.name == "embedded":
        await _a_backup_altered_with_its_manifest_is_caught_by_the_chain(tmp, target, m.id)

    # The target now holds data: a second restore is refused unless forced (what the
    # command calls, on a thread: it runs its own event loop for PostgreSQL).
    settings = Settings(data_dir=again, database_url=args[1] if args else None)
    with pytest.raises(BackupError, match="--force"):
        await asyncio.to_thread(restore, settings, target)
    await asyncio.to_thread(restore, settings, target, True)


async def _a_backup_altered_with_its_manifest_is_caught_by_the_chain(
        tmp: Path, target: Path, meeting: int) -> None:
    """The attack: whoever can write the backups changes a published result in the copy
    of the database and puts the file's new size and SHA-256 in the manifest. Every file
    check passes; the event chain does not, and the restore says where and fails."""
    forged = tmp / "forged"
    shutil.copytree(target, forged)
    db = sqlite3.connect(forged / "phonghop.db")
    seq = db.execute("SELECT max(seq) FROM room_events WHERE room_id = ? AND kind = "
                     "'poll.published'", (meeting,)).fetchone()[0]
    cast = db.execute("SELECT json_extract(data, '$.result.cast') FROM room_events WHERE "
                      "room_id = ? AND seq = ?", (meeting, seq)).fetchone()[0]
    assert cast == 3
    db.execute("UPDATE room_events SET data = json_set(data, '$.result.cast', 4) WHERE "
               "room_id = ? AND seq = ?", (meeting, seq))  # one ballot more than were cast
    db.commit()
    db.close()
    manifest = json.loads((forged / MANIFEST).read_text())
    for f in manifest["files"]:
        if f["path"] == "phonghop.db":
            data = (forged / "phonghop.db").read_bytes()
            f["size"], f["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    (forged / MANIFEST).write_text(json.dumps(manifest))
    done = await phonghop("restore", str(forged), "--data", str(tmp / "from-forged"))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"meeting {meeting}: sự kiện số / seq {seq}:" in done.stderr, done.stderr
    assert "do not serve it" in done.stderr


# ---- refusals (no server: real files, the functions the commands call) ----

def small_deployment(data: Path) -> Settings:
    """A data directory with a database and two stored files."""
    data.mkdir(parents=True)
    db = sqlite3.connect(data / "phonghop.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE alembic_version (version_num TEXT)")
    db.execute("INSERT INTO alembic_version VALUES ('0042')")
    db.execute("CREATE TABLE room_events (seq INTEGER PRIMARY KEY, data TEXT)")
    db.executemany("INSERT INTO room_events VALUES (?, ?)", [(i, "x" * 100) for i in range(500)])
    db.commit()
    db.close()
    for sha, data_bytes in ((hashlib.sha256(b).hexdigest(), b) for b in (REPORT, SECRET)):
        path = data / "documents" / "files" / sha[:2] / f"{sha}.pdf"
        path.parent.mkdir(parents=True)
        path.write_bytes(data_bytes)
    (data / "documents" / "sealed").mkdir()
    (data / "documents" / "sealed" / hashlib.sha256(SECRET).hexdigest()).write_bytes(b"")
    (data / "documents" / "pages").mkdir()
    (data / "documents" / "pages" / "cached.webp").write_bytes(b"cache")
    (data / "secrets").mkdir()
    (data / "secrets" / "credentials.kek").write_text("0" * 64)
    return Settings(data_dir=data)


@pytest.fixture
def made(tmp_path: Path) -> tuple[Settings, Path]:
    settings = small_deployment(tmp_path / "data #1")  # not a SQLite URI's fragment
    target = tmp_path / "backup"
    manifest = backup(settings, target)
    assert manifest["schema"] == "0042" and manifest["store"] == "sqlite"
    return settings, target


def test_a_restore_checks_every_file_and_writes_nothing_when_one_differs(
    made: tuple[Settings, Path], tmp_path: Path,
) -> None:
    _settings, target = made
    stored = next((target / "documents" / "files").rglob("*.pdf"))
    stored.write_bytes(stored.read_bytes()[:-1] + b"!")  # same size, another byte
    fresh = Settings(data_dir=tmp_path / "fresh")
    with pytest.raises(BackupError, match="altered"):
        restore(fresh, target)
    assert not (tmp_path / "fresh").exists()
    stored.unlink()
    with pytest.raises(BackupError, match="missing"):
        restore(fresh, target)
    (target / MANIFEST).unlink()
    with pytest.raises(BackupError, match="not a finished backup"):
        restore(fresh, target)


@pytest.mark.parametrize("path", [
    "../outside.pdf", "documents/files/../../../outside.pdf", "/etc/passwd",
    "documents/pages/ab/x.webp", "secrets/credentials.kek", "documents/files//x.pdf",
    "documents/files/./x.pdf", "documents/files", "documents\\files\\x.pdf",
])
def test_a_crafted_manifest_cannot_make_restore_write_elsewhere(
    made: tuple[Settings, Path], tmp_path: Path, path: str,
) -> None:
    _settings, target = made
    manifest = json.loads((target / MANIFEST).read_text())
    (target / "outside.pdf").write_bytes(b"evil")
    manifest["files"].append({"path": path, "size": 4,
                              "sha256": hashlib.sha256(b"evil").hexdigest()})
    (target / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="invalid entry"):
        restore(Settings(data_dir=tmp_path / "fresh"), target)
    assert not (tmp_path / "fresh").exists() and not (tmp_path / "outside.pdf").exists()


def test_only_the_database_and_the_stored_files_are_kept(made: tuple[Settings, Path]) -> None:
    _settings, target = made
    files = {f["path"] for f in verify(target)["files"]}
    assert files == {"phonghop.db", *(
        f"documents/files/{s[:2]}/{s}.pdf"
        for s in (hashlib.sha256(REPORT).hexdigest(), hashlib.sha256(SECRET).hexdigest())),
        f"documents/sealed/{hashlib.sha256(SECRET).hexdigest()}"}
    assert not (target / "phonghop.db-wal").exists()  # one self-contained file


def test_a_backup_never_writes_into_a_directory_that_holds_something(
    made: tuple[Settings, Path], tmp_path: Path,
) -> None:
    settings, _target = made
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match="not empty"):
        backup(settings, busy)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]


def test_a_restore_over_data_needs_force_and_then_replaces_the_database(
    made: tuple[Settings, Path], tmp_path: Path,
) -> None:
    _settings, target = made
    other = small_deployment(tmp_path / "other")
    db = sqlite3.connect(other.data_dir / "phonghop.db")
    db.execute("DELETE FROM room_events")
    db.commit()
    db.close()
    (other.data_dir / "phonghop.db-wal").write_bytes(b"stale")  # would be replayed if left
    with pytest.raises(BackupError, match="--force"):
        restore(other, target)
    restore(other, target, force=True)
    assert not (other.data_dir / "phonghop.db-wal").exists()
    db = sqlite3.connect(other.data_dir / "phonghop.db")
    assert db.execute("SELECT count(*) FROM room_events").fetchone() == (500,)
    db.close()
    # A backup of one engine is not restored into the other.
    with pytest.raises(BackupError, match="the target is postgresql"):
        restore(Settings(data_dir=tmp_path / "pg", database_url=f"{PG}/postgres"), target)
    shutil.rmtree(tmp_path / "pg", ignore_errors=True)


def test_the_commands_say_why_they_refuse_in_both_languages(
    made: tuple[Settings, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from argparse import Namespace

    from phonghop.server import backup as command

    settings, target = made
    assert command.run(Namespace(cmd="restore", dir=target, force=False), settings) == 1
    err = capsys.readouterr().err
    assert err.startswith("phonghop restore: nơi khôi phục đã có dữ liệu")
    assert "the target already holds data" in err and "--force" in err
    fresh = Settings(data_dir=tmp_path / "fresh")
    assert command.run(Namespace(cmd="restore", dir=target, force=False), fresh) == 0
    assert "SHA-256 checked" in capsys.readouterr().out
