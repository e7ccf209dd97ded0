"""The accountable room log end to end, on each backend: the minutes print the log's head
at the end of the session, time-stamped by a real RFC 3161 service; then, the server
stopped, whoever holds the database changes a published result in the log and a ballot in
a sealed box with plain SQL, and the restarted server refuses to open those rooms (naming
the seq and the poll) while `phonghop audit verify` reports the same and fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pymupdf
import pytest
import sqlalchemy as sa

from phonghop.server.log_audit import audit_database
from phonghop.server.log_audit import run as run_audit
from phonghop.signing.devca import DevCA
from phonghop.signing.timestamp import TimestampFailed, check_timestamp
from phonghop.signing.tsa_dev import DevTimeStampAuthority
from phonghop.voting.receipts import new_receipt
from tests.conftest import (
    ROOT,
    TEST_SERVER_ENV,
    Api,
    Backend,
    Meeting,
    ServerProcess,
    WsClient,
    changed,
    make_meeting,
)
from tests.server.conftest import assert_refusal
from tests.server.encrypted import store_of

FOR, AGAINST = 1, 2
HEAD_LINE = re.compile(r"Mã băm nhật ký cuộc họp \(SHA-256\):\s*([0-9a-f]{64})\s*\(các sự kiện"
                       r"\s+số 1 đến số (\d+)")


async def cmd(api: Api, m: Meeting, name: str, **args: Any) -> Any:
    r = await api.call("POST", f"/api/meetings/{m.id}/commands", {"name": name, "args": args})
    assert r.status_code == 200, r.text
    return r.json()


async def published_motion(server: ServerProcess, m: Meeting,
                           ballots: dict[str, int]) -> dict[str, Any]:
    """A named motion voted by `ballots` over websockets, closed and published."""
    for who in ("chair", *ballots):
        await cmd(m[who], m, "attendance.check_in")
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls",
                              {"title": "Thông qua dự toán ngân sách"})
    assert r.status_code == 200, r.text
    poll = changed(r, "poll.created")["poll"]
    base = f"/api/meetings/{m.id}/polls/{poll['id']}"
    assert (await m["chair"].call("POST", base + "/open")).status_code == 200
    for who, choice in ballots.items():
        ws = await WsClient.open(server.ws_url, m[who].token)
        await ws.join(m.id)
        acked = await ws.command(m.id, "vote.cast", poll_id=poll["id"], choices=[choice],
                                 receipt=new_receipt())
        assert acked["type"] == "ack", acked
        await ws.close()
    r = await m["chair"].call("POST", base + "/close")
    assert r.status_code == 200, r.text
    closed = next(p for p in (await m["chair"].room(m.id))["polls"] if p["id"] == poll["id"])
    assert closed["status"] == "published"
    return closed


async def _sql(server: ServerProcess, statement: str, **params: Any) -> list[Any]:
    store = store_of(server)
    await store.open()
    try:
        assert store.engine is not None
        async with store.engine.begin() as conn:
            result = await conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await store.close()


def _audit_command(server: ServerProcess) -> subprocess.CompletedProcess[str]:
    """`phonghop audit verify` on the server's database, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "phonghop", "audit", "verify", "--data", str(server.data_dir),
         *server.backend_args[:2]],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **TEST_SERVER_ENV})


def _openssl_verify(where: Path, digest: str) -> subprocess.CompletedProcess[str]:
    """`openssl ts -verify` of the token `where/head.tsr` for `digest` (hex)."""
    return subprocess.run(["openssl", "ts", "-verify", "-token_in", "-in",
                           str(where / "head.tsr"), "-CAfile", str(where / "ca.pem"),
                           "-digest", digest], capture_output=True, text=True, timeout=60)


async def test_tampering_is_refused_at_load_and_reported_by_audit_verify(
    tmp_path: Path, backend: Backend, capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    ca = DevCA.load_or_create(data / "dev-ca")  # the demo's development CA: it trusts the TSA
    with DevTimeStampAuthority(ca.issue_tsa()) as tsa:
        first = ServerProcess(data, "demo", backend=backend, env={"PHONGHOP_TSA_URL": tsa.url})
        try:
            ended = await make_meeting(first.base_url, delegates=3)
            await published_motion(first, ended, {"d1": FOR, "d2": FOR, "d3": AGAINST})
            await cmd(ended["chair"], ended, "session.end")
            minutes = f"/api/meetings/{ended.id}/minutes"
            r = await ended["secretary"].call("POST", minutes + "/prepare")
            assert r.status_code == 200, r.text
            async with ended["secretary"].client() as c:
                pdf = (await c.get(f"{minutes}/files/{r.json()['sha256']}")).content
            head = (await ended["d1"].call("GET", minutes + "/log-head")).json()

            tampered = await make_meeting(first.base_url, delegates=3)
            result_poll = await published_motion(first, tampered, {"d1": FOR, "d2": AGAINST})
            recounted = await make_meeting(first.base_url, delegates=3)
            box_poll = await published_motion(first, recounted, {"d1": FOR, "d2": FOR})
            assert tsa.granted >= 1
            # The service down: the session's end is not stamped, and the minutes, which
            # must carry the stamp when a service is configured, are not prepared.
            tsa.stop()
            await cmd(recounted["chair"], recounted, "session.end")
            r = await recounted["secretary"].call(
                "POST", f"/api/meetings/{recounted.id}/minutes/prepare")
            assert r.status_code == 422, r.text
            assert_refusal(r.json(), "timestamp_unavailable")
            view = (await recounted["secretary"].call(
                "GET", f"/api/meetings/{recounted.id}")).json()
            assert view["room"]["minutes"]["prepared_sha256"] is None
            unstamped = (await recounted["d1"].call(
                "GET", f"/api/meetings/{recounted.id}/minutes/log-head")).json()
            assert unstamped["timestamp"] is None and len(unstamped["sha256"]) == 64
        finally:
            first.stop()

    # The minutes print the head of the log at the end of the session, which the
    # time-stamp covers: the signatures on the minutes cover the whole log of the session.
    text = " ".join(page.get_text() for page in pymupdf.open(stream=pdf, filetype="pdf"))
    printed = HEAD_LINE.search(" ".join(text.split()))
    assert printed is not None, text
    assert (printed.group(1), int(printed.group(2))) == (head["sha256"], head["seq"])
    flat = " ".join(text.split())
    assert "Dấu thời gian (RFC 3161) của mã băm" in flat and "do phonghop DEV TSA cấp" in flat
    token = base64.b64decode(head["timestamp"]["token"])
    stamp = await check_timestamp(token, bytes.fromhex(head["sha256"]), trust=ca.trust())
    assert stamp.trusted and stamp.tsa == "phonghop DEV TSA"
    assert stamp.time.isoformat() == head["timestamp"]["time"]
    try:
        await check_timestamp(token, bytes(32))
        raise AssertionError("a token stamps one digest only")
    except TimestampFailed:
        pass
    # Checked by another implementation, without the server: OpenSSL.
    (tmp_path / "head.tsr").write_bytes(token)
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    verified = _openssl_verify(tmp_path, head["sha256"])
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified
    assert _openssl_verify(tmp_path, "00" * 32).returncode != 0
    [ok] = await asyncio.to_thread(audit_database, store_of(first).url, ended.id)
    assert ok.ok and ok.session_end == (head["seq"], bytes.fromhex(head["sha256"]))

    # The attacks: plain SQL on the stopped server's database.
    [(seq, raw)] = await _sql(first, "SELECT seq, data FROM room_events WHERE room_id = :r "
                              "AND kind = 'poll.published'", r=tampered.id)
    doc = orjson.loads(raw)
    assert doc["result"]["passed"] is False
    doc["result"]["passed"] = True  # "Thông qua" instead of "Không thông qua"
    await _sql(first, "UPDATE room_events SET data = :d WHERE room_id = :r AND seq = :s",
               d=orjson.dumps(doc).decode(), r=tampered.id, s=seq)
    await _sql(first, "UPDATE named_ballots SET choices = '[2]' WHERE room_id = :r AND "
               "poll_id = :p AND voter_id = :v", r=recounted.id, p=box_poll["id"],
               v=recounted["d1"].user["id"])

    second = ServerProcess(data, "serve", backend=backend, args=first.backend_args)
    for m in (tampered, recounted, ended):  # the same sessions, on the restarted server
        m.members = {who: Api(second.base_url, api.token, api.user)
                     for who, api in m.members.items()}
    try:
        ws = await WsClient.open(second.ws_url, tampered["d1"].token)
        refused = await ws.join(tampered.id)
        assert refused["type"] == "error"
        assert_refusal(refused, "log_broken")
        assert f"sự kiện số {seq}" in refused["message"]["vi"]
        assert f"event {seq}" in refused["message"]["en"]
        await ws.close()
        r = await tampered["chair"].call("GET", f"/api/meetings/{tampered.id}")
        assert r.status_code == 503 and r.json()["code"] == "log_broken"
        r = await tampered["chair"].call(
            "POST", f"/api/meetings/{tampered.id}/commands", {"name": "notice.post",
                                                              "args": {"text": "Sửa lại"}})
        assert r.status_code == 503 and r.json()["code"] == "log_broken"
        r = await recounted["d2"].call("GET", f"/api/meetings/{recounted.id}")
        assert r.status_code == 503
        assert_refusal(r.json(), "count_mismatch")
        assert f"số {box_poll['id']}" in r.json()["message"]["vi"]
        # The untouched meeting opens as before, its minutes and log head with it.
        r = await ended["d1"].call("GET", f"/api/meetings/{ended.id}")
        assert r.status_code == 200 and r.json()["room"]["meeting"]["status"] == "ended"
        assert (await ended["d1"].call("GET", f"/api/meetings/{ended.id}/minutes/log-head")
                ).json() == head
    finally:
        second.stop()
    logged = second.log.read_text()
    assert f"room {tampered.id}: log broken at seq {seq} (hash)" in logged
    assert f"room {recounted.id}: poll {box_poll['id']} does not match its ballot box" in logged
    assert "dự toán" not in logged and "passed" not in logged  # no event content in the log

    everything = _audit_command(second)
    assert everything.returncode == 1, everything.stderr
    out = everything.stdout
    assert f"meeting {tampered.id}: BROKEN at seq {seq}" in out
    assert (f"poll {box_poll['id']}: RESULT DOES NOT MATCH ITS BOX (counts)" in out
            and f"meeting {recounted.id}" in out)
    assert f"meeting {ended.id}: OK" in out
    assert f"session ended: seq {head['seq']}, {head['sha256']}" in out
    # One meeting (the command's own code, without another interpreter's start-up).
    url = store_of(second).url
    one = await asyncio.to_thread(run_audit, argparse.Namespace(meeting=ended.id, json=True),
                                  url)
    assert one == 0
    assert orjson.loads(capsys.readouterr().out)["session_end"] == {
        "seq": head["seq"], "hash": head["sha256"]}
    assert await asyncio.to_thread(run_audit, argparse.Namespace(meeting=tampered.id,
                                                                 json=True), url) == 1
    assert orjson.loads(capsys.readouterr().out)["broken"] == {"seq": seq, "problem": "hash"}
    assert result_poll["result"]["passed"] is False
