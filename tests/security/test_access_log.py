"""The access log against those it watches: each test is the attack (or the mistake) it
must withstand, on both backends.

- a signed-in non-administrator reads the log or its CSV: `forbidden`, and the attempt is
  itself recorded;
- whoever writes the database changes, removes or adds a record: `phonghop audit verify`
  names the first broken record and exits 1;
- a sign-in with a 10 KB username, or with a password typed into the name field: recorded
  bounded, the name only as its keyed hash, the password nowhere;
- bad query parameters are refused with a typed error that names them, and change nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from phonghop.store import SqlStore, sqlite_url
from tests.conftest import PASSWORD, TLS, Api, ServerProcess, login
from tests.security._accounts import cli, new_account, try_login

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def admin(server: ServerProcess) -> Api:
    return await login(server.base_url, "admin", "demo1234")


async def records(admin: Api, **params: Any) -> list[dict[str, Any]]:
    r = await admin.call("GET", f"/api/admin/audit?{httpx.QueryParams(params)}")
    assert r.status_code == 200, r.text
    return r.json()["records"]


def database_url(server: ServerProcess) -> str:
    args = server.backend_args
    return args[args.index("--database") + 1] if "--database" in args else \
        sqlite_url(server.data_dir)


async def execute(server: ServerProcess, sql: str, **params: Any) -> list[Any]:
    """Run SQL on the deployment's database directly, as its administrator could."""
    store = SqlStore(database_url(server))
    await store.open()
    try:
        assert store.engine is not None
        async with store.engine.begin() as conn:
            result = await conn.execute(sa.text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await store.close()


async def chain(server: ServerProcess) -> Any:
    """The chain as the store verifies it (what `phonghop audit verify` prints)."""
    store = SqlStore(database_url(server))
    await store.open()
    try:
        return await store.verify_audit()
    finally:
        await store.close()


def verify(server: ServerProcess) -> tuple[int, str]:
    # The access log only: the rooms of the shared server include one a browser test
    # tampered with on purpose (tests/browser/test_floor.py).
    done = cli(server.data_dir, server.backend_args, "audit", "verify", "--access-log")
    return done.returncode, done.stdout + done.stderr


async def test_a_non_administrator_cannot_read_the_log(server: ServerProcess,
                                                       admin: Api) -> None:
    """Attack: a delegate (signed in) asks for the log and its CSV, with every filter."""
    spy = await login(server.base_url, (await new_account(admin))["username"])
    for path in ("/api/admin/audit", "/api/admin/audit?kind=signin&limit=200",
                 "/api/admin/audit.csv", "/api/admin/audit.csv?outcome=refused"):
        r = await spy.call("GET", path)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["code"] == "forbidden"
        assert "records" not in r.text and "hash" not in r.text
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url) as anonymous:
        r = await anonymous.get("/api/admin/audit")
        assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")
    # and the administrator sees who tried
    tried = await records(admin, kind="audit.read", user=spy.user["username"])
    assert len(tried) == 4
    assert {(t["outcome"], t["actor"]["id"]) for t in tried} == {("forbidden", spy.user["id"])}


async def test_a_ten_kilobyte_username_is_recorded_bounded(server: ServerProcess,
                                                           admin: Api) -> None:
    """Attack: fill the log (and whoever reads it) with a 10 KB name, a password after it."""
    marker = "Ten-dai-" + secrets.token_hex(6)
    name = (marker * 1000)[:10_240]
    password = "Mat-khau-" + secrets.token_hex(6)
    r = await try_login(server.base_url, name, password)
    assert (r.status_code, r.json()["code"]) == (400, "invalid")
    found = [x for x in await records(admin, kind="signin", outcome="refused", limit=200)
             if x["detail"].get("name_length") == 10_240]
    assert len(found) == 1
    rec = found[0]
    assert rec["outcome"] == "invalid" and rec["actor"] is None
    assert re.fullmatch(r"[0-9a-f]{64}", rec["actor_key"])
    assert "username" in rec["detail"]["reason"]  # why, in our words
    # bounded: the stored row is a few hundred bytes, and no trace of the name or password
    rows = await execute(server, "SELECT * FROM audit_log WHERE actor_key = :k",
                         k=rec["actor_key"])
    assert len(rows) == 1 and len(repr(tuple(rows[0]))) < 1000
    everything = repr(await execute(server, "SELECT * FROM audit_log"))
    csv_text = (await admin.call("GET", "/api/admin/audit.csv")).text
    for blob in (everything, csv_text):
        assert marker not in blob and password not in blob


async def test_a_password_typed_as_the_name_is_kept_only_as_a_keyed_hash(
        server: ServerProcess, admin: Api) -> None:
    """Mistake (or attack): the password goes into the name field; and a wrong password
    on a real account. Neither password is stored; the real account is named by its id,
    the other name by a hash only the deployment's key makes, by which an administrator
    still finds every attempt that gave it."""
    victim = await new_account(admin)
    typed = "Bi-mat-" + secrets.token_hex(5)
    for _ in range(2):
        assert (await try_login(server.base_url, typed, "x" * 12)).status_code == 401
    wrong = "Sai-" + secrets.token_hex(5)
    assert (await try_login(server.base_url, victim["username"], wrong)).status_code == 401
    by_name = await records(admin, user=typed)
    assert [(x["kind"], x["outcome"], x["actor"]) for x in by_name] == \
        [("signin", "bad_credentials", None)] * 2
    key = by_name[0]["actor_key"]
    assert by_name[1]["actor_key"] == key and typed not in key
    import hashlib

    assert key != hashlib.sha256(typed.encode()).hexdigest()  # keyed: no dictionary attack
    on_account = await records(admin, user=victim["username"], kind="signin")
    assert on_account[0]["outcome"] == "bad_credentials"
    assert on_account[0]["actor"]["id"] == victim["id"] and on_account[0]["actor_key"] is None
    everything = repr(await execute(server, "SELECT * FROM audit_log"))
    assert typed not in everything and wrong not in everything
    assert PASSWORD not in everything and "demo1234" not in everything


async def test_tampering_with_the_database_is_caught_by_verify(server: ServerProcess,
                                                               admin: Api) -> None:
    """Attack: with write access to the database, turn a failed sign-in into a success,
    move it to another address, or delete it; each is named by `phonghop audit verify`
    (the command itself for the first and the last verdict: it is a process of its own;
    the store's verification, which it prints, in between)."""
    acct = await new_account(admin)
    assert (await try_login(server.base_url, acct["username"], "sai-mat-khau")).status_code \
        == 401
    seq = (await records(admin, user=acct["username"], kind="signin"))[0]["seq"]
    assert (await chain(server)).ok
    await execute(server, "UPDATE audit_log SET outcome = 'ok' WHERE seq = :s", s=seq)
    code, out = verify(server)
    assert code == 1 and f"HASH CHAIN BROKEN tại / at #{seq}: " in out, out
    assert "the record was altered" in out
    await execute(server, "UPDATE audit_log SET outcome = 'bad_credentials', "
                          "address = '203.0.113.66' WHERE seq = :s", s=seq)
    report = await chain(server)
    assert (report.ok, report.broken_seq, report.problem) == (False, seq, "altered")
    await execute(server, "UPDATE audit_log SET address = '127.0.0.1' WHERE seq = :s", s=seq)
    assert (await chain(server)).ok
    saved = await execute(server, "SELECT * FROM audit_log WHERE seq = :s", s=seq)
    await execute(server, "DELETE FROM audit_log WHERE seq = :s", s=seq)
    report = await chain(server)
    assert (report.ok, report.broken_seq, report.problem) == (False, seq, "missing")
    columns = ("seq, at, kind, outcome, actor_id, actor_key, target_id, meeting_id, "
               "address, detail, prev_hash, hash")
    await execute(server, f"INSERT INTO audit_log ({columns}) VALUES "
                          "(:seq, :at, :kind, :outcome, :actor_id, :actor_key, :target_id, "
                          ":meeting_id, :address, :detail, :prev_hash, :hash)",
                  **saved[0]._asdict())
    code, out = verify(server)  # put back byte for byte: whole again
    assert code == 0 and "hash chain intact" in out, out


async def test_bad_query_parameters_are_refused_by_name(server: ServerProcess,
                                                        admin: Api) -> None:
    before = (await records(admin, limit=1))[0]["seq"]
    for query, named in (("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"),
                         ("before=-1", "before"), ("before=" + "9" * 40, "before"),
                         ("since=yesterday", "since"), ("until=2026-02-30", "until"),
                         ("since=" + "2" * 5000, "since"), ("kind=signin,unknown", "kind"),
                         ("kind=", "kind"), ("outcome=maybe", "outcome"),
                         ("meeting=1e3", "meeting"), ("user=" + "u" * 10_000, "user"),
                         ("user=%0a", "user"), ("password=x", "parameter"),
                         ("kind=signin&kind=export", "once")):
        for path in ("/api/admin/audit?", "/api/admin/audit.csv?"):
            paging = query.startswith(("limit", "before"))
            # the CSV has every record that matches: paging is an unknown parameter there
            named_here = "parameter" if paging and path.endswith(".csv?") else named
            r = await admin.call("GET", path + query)
            assert r.status_code == 400, (path, query, r.text)
            body = r.json()
            assert body["code"] == "invalid" and named_here in body["message"]["en"], \
                (query, body)
            assert len(r.text) < 2000
    # nothing was recorded for any of them
    assert (await records(admin, limit=1))[0]["seq"] == before


async def test_the_csv_is_for_spreadsheets_and_never_runs_a_formula(
        server: ServerProcess, admin: Api) -> None:
    """Attack: an account named like a spreadsheet formula; the CSV cell stays text."""
    evil = await new_account(admin, full_name="=HYPERLINK(\"http://x\",\"Bấm\")")
    await login(server.base_url, evil["username"])
    r = await admin.call("GET", f"/api/admin/audit.csv?user={evil['username']}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows Vietnamese
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Số thứ tự", "Thời gian (giờ Việt Nam)", "Thời gian (UTC)",
                           "Hoạt động", "Kết quả"]
    kinds = [row[3] for row in rows[1:]]
    assert kinds == ["Tạo tài khoản", "Đăng nhập"]  # oldest first
    signin = rows[2]
    assert signin[5] == "'=HYPERLINK(\"http://x\",\"Bấm\")" and signin[6] == evil["username"]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", signin[1])  # Vietnam time shown
    assert signin[2].endswith("Z")  # UTC kept


async def test_sign_ins_at_once_are_each_recorded_once(server: ServerProcess,
                                                       admin: Api) -> None:
    """Sign-ins at once (the name's sign-in bucket holds 5) are all recorded, each once,
    in one unbroken chain."""
    acct = await new_account(admin)
    results = await asyncio.gather(*(try_login(server.base_url, acct["username"], PASSWORD)
                                     for _ in range(5)))
    assert all(r.status_code == 200 for r in results)
    got = await records(admin, user=acct["username"], kind="signin")
    assert len(got) == 5 and len({x["seq"] for x in got}) == 5
    assert (await chain(server)).ok
