"""Data at rest: an attacker with a read on the host, a copy of the database or the logs.

- another account on the host reads the data directory: every file is 0600, every
  directory 0700, also what an older version left readable (tightened at start);
- a copy of the database (a backup, a stolen dump) and the user's password do not open a
  stored signing credential: it is sealed with a key-encryption key the database does not
  hold; rows an older version stored bare are sealed at start;
- a stolen session guesses the signing password: the 6th wrong guess is not even checked;
- the logs of a run with a failed sign-in, a ballot and a failed credential upload hold no
  password, ballot or token.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12
from sqlalchemy.ext.asyncio import create_async_engine

from phonghop.server.credential_vault import FileKeyWrap, Unsealable, unseal
from phonghop.server.signing_guard import AttemptLimiter
from phonghop.signing.devca import DevCA
from phonghop.signing.errors import SigningRefused
from phonghop.signing.signers import load_pkcs12
from phonghop.store.sql import sqlite_url
from tests.conftest import (
    TLS,
    Api,
    Backend,
    Meeting,
    ServerProcess,
    WsClient,
    changed,
    credential,
    login,
    make_meeting,
)
from tests.server.conftest import assert_refusal, uid
from tests.server.encrypted import ceremony, create_secret, poll_as
from tests.soft_token import SoftToken, put_key, remove_key
from tests.voting.board_kit import ballot

SIGNING_PASSWORD = "Khoá-ký-số-7c1e9a"
LOG_MARKERS_OF_SECRETS = ("Sai-MatKhau-41d0b7", "Tep-Sai-MatKhau-8e2f6c")


# ---- helpers ----


async def cmd(api: Api, m: Meeting, name: str, **args: Any) -> Any:
    r = await api.call("POST", f"/api/meetings/{m.id}/commands", {"name": name, "args": args})
    return r


def p12_for(server: ServerProcess, api: Api, legacy: bool = False) -> bytes:
    """A PKCS#12 file naming `api`'s user, from the server's development CA."""
    user = api.user
    cred = DevCA.load(server.data_dir / "dev-ca").issue_user(
        user_id=str(user["id"]), full_name=user["full_name"], position="Chuyên viên")
    if not legacy:
        return cred.to_p12(SIGNING_PASSWORD)
    # What older tools (and older versions of this server's users) produce: 3DES, SHA-1.
    old = (PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
           .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
           .hmac_hash(hashes.SHA1()).build(SIGNING_PASSWORD.encode()))
    return pkcs12.serialize_key_and_certificates(b"cu", cred.key, cred.certificate,
                                                 list(cred.chain), old)


async def ended_meeting(server: ServerProcess, document: bool = False) -> Meeting:
    """A meeting whose session ended, its minutes prepared, the secretary's credential kept
    (and a document attached and shown, with `document`)."""
    m = await make_meeting(server.base_url, delegates=1)
    if document:
        await show_document(m)
    assert (await cmd(m["chair"], m, "session.end")).status_code == 200
    r = await m["secretary"].call("POST", "/api/me/credential",
                                  credential(p12_for(server, m["secretary"]), SIGNING_PASSWORD))
    assert r.status_code == 201, r.text
    r = await m["secretary"].call("POST", f"/api/meetings/{m.id}/minutes/prepare")
    assert r.status_code == 200, r.text
    return m


async def show_document(m: Meeting) -> None:
    """Upload and attach a file, and have its first page rendered."""
    async with m["chair"].client() as c:
        r = await c.post(f"/api/meetings/{m.id}/files", params={"name": "Tờ trình.pdf"},
                         content=_pdf(), headers={"Content-Type": "application/pdf"})
        assert r.status_code == 201, r.text
        sha = r.json()["file"]["sha256"]
        r = await c.post(f"/api/meetings/{m.id}/documents", json={"sha256": sha})
        assert r.status_code == 200, r.text
        doc = changed(r, "document.attached")["document"]
        assert doc["sha256"] == sha
        page = await c.get(f"/api/meetings/{m.id}/documents/{doc['id']}/pages/1")
        assert page.status_code == 200


async def sign(m: Meeting, password: str) -> Any:
    return await m["secretary"].call("POST", f"/api/meetings/{m.id}/minutes/sign",
                                     {"password": password})


def store_url(server: ServerProcess) -> str:
    args = server.backend_args
    if "--database" in args:
        return "postgresql+asyncpg://" + args[args.index("--database") + 1].removeprefix(
            "postgresql://")
    return sqlite_url(server.data_dir)


async def sql(server: ServerProcess, statement: str, **params: Any) -> list[Any]:
    """Run one statement straight on the server's database (as someone with a copy would)."""
    engine = create_async_engine(store_url(server))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def stored_row(server: ServerProcess, user_id: int) -> bytes:
    rows = await sql(server, "SELECT p12 FROM user_credentials WHERE user_id = :u", u=user_id)
    return bytes(rows[0][0])


def kek(server: ServerProcess) -> FileKeyWrap:
    return FileKeyWrap.load_or_create(server.data_dir / "secrets" / "credentials.kek")


def loose_modes(root: Path) -> list[str]:
    """Everything under `root` that someone else than the owner could read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        if path.name.startswith("server.log"):  # the test's own capture of stdout
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode & 0o077 or (path.is_dir() and mode != want):
            found.append(f"{path.relative_to(root)} {oct(mode)}")
    return found


def mac_hash(p12: bytes) -> str:
    return asn1_pkcs12.Pfx.load(p12)["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native


# ---- the attacks ----


async def test_another_account_on_the_host_reads_nothing_in_the_data_directory(
    server: ServerProcess,
) -> None:
    m = await ended_meeting(server, document=True)
    assert (await sign(m, SIGNING_PASSWORD)).status_code == 200
    assert loose_modes(server.data_dir) == []
    names = {p.name for p in server.data_dir.rglob("*")}
    assert "credentials.kek" in names and any(n.endswith(".p12") for n in names)
    if server.backend.name == "embedded":
        assert {"phonghop.db", "phonghop.db-wal"} <= names


async def test_a_copy_of_the_database_and_the_password_do_not_open_a_credential(
    server: ServerProcess,
) -> None:
    m = await ended_meeting(server)
    user_id = int(m["secretary"].user["id"])
    row = await stored_row(server, user_id)
    # What the thief has: the row and the user's password. Not a PKCS#12 file at all.
    with pytest.raises(SigningRefused):
        load_pkcs12(row, SIGNING_PASSWORD)
    assert b"CN=" not in row and m["secretary"].user["full_name"].encode() not in row
    # With the service's key file it opens, but only as this user's row.
    with pytest.raises(Unsealable):
        unseal(kek(server), user_id + 1, row)
    inner, modern = unseal(kek(server), user_id, row)
    assert modern and mac_hash(inner) == "sha256"
    assert load_pkcs12(inner, SIGNING_PASSWORD).signing_cert is not None


async def test_a_stolen_session_cannot_guess_the_signing_password(
    server: ServerProcess,
) -> None:
    m = await ended_meeting(server)
    # 20 guesses at once: at most 5 are checked, the others refused before checking.
    answers = await asyncio.gather(*(sign(m, f"doan-{i}") for i in range(20)))
    codes = sorted(r.json()["code"] for r in answers)
    assert codes == ["too_many_attempts"] * 15 + ["wrong_password"] * 5, codes
    # The right password now is refused too: it is not checked at all.
    r = await sign(m, SIGNING_PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    assert_refusal(r.json(), "too_many_attempts")
    minutes = (await m["secretary"].call("GET", f"/api/meetings/{m.id}")).json()
    assert minutes["room"]["minutes"]["signatures"] == []


async def test_wrong_pins_never_walk_the_servers_token_into_its_lockout(
    soft_token: SoftToken, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The token has one user PIN for every signer: after 2 wrong PINs in a row (set below
    the token's own lockout), nobody's PIN is tried until the window has passed, not even
    the right one. Counted in memory: the embedded backend is enough."""
    server = ServerProcess(tmp_path_factory.mktemp("token"), "demo", env={
        "PHONGHOP_PKCS11_MODULE": soft_token.module, "PHONGHOP_PKCS11_PIN_TRIES": "2"})
    label = ""
    try:
        m = await ended_meeting(server)
        user = m["secretary"].user
        label = str(user["id"])
        put_key(soft_token, DevCA.load(server.data_dir / "dev-ca"), label=label,
                key_id=label.encode(), user_id=label, full_name=user["full_name"])
        base = f"/api/meetings/{m.id}/minutes/sign"
        for guess in ("111111", "222222"):
            r = await m["secretary"].call("POST", base, {"method": "pkcs11", "pin": guess})
            assert_refusal(r.json(), "wrong_pin")
        r = await m["secretary"].call("POST", base, {"method": "pkcs11",
                                                     "pin": soft_token.pin})
        assert_refusal(r.json(), "too_many_attempts")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
        view = (await m["secretary"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
        assert view["minutes"]["signatures"] == []
    finally:
        if label:
            remove_key(soft_token, label)
        server.stop()


async def test_the_log_holds_no_password_ballot_or_token(server: ServerProcess) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    for who in ("chair", "d1"):
        await cmd(m[who], m, "attendance.check_in")
    bad_login, bad_file = LOG_MARKERS_OF_SECRETS
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url) as c:
        r = await c.post("/api/login", json={"username": "admin", "password": bad_login})
        assert r.status_code == 401
    r = await m["d1"].call("POST", "/api/me/credential",
                           credential(p12_for(server, m["d1"]), bad_file))
    assert_refusal(r.json(), "wrong_password")
    draft = await create_secret(m, ("d1",), 1)
    await ceremony(m, draft)
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls/{draft['id']}/open")
    assert r.status_code == 200, r.text
    poll = await poll_as(m, "d1", draft["id"])
    ws = await WsClient.open(server.ws_url, m["d1"].token)
    try:
        await ws.join(m.id)
        doc = ballot(poll, uid(m, "d1"), 2)
        ack = await ws.command(m.id, "vote.cast", poll_id=poll["id"], ballot=doc)
        assert ack["type"] == "ack", ack
        receipt = ack["receipt"]  # the ballot's tracker
    finally:
        await ws.close()
    relogin = await login(server.base_url, "admin", "demo1234")
    text = server.log.read_text(errors="replace")
    # (the demo banner prints the demo password on purpose: not a log of a sign-in)
    for secret in (bad_login, bad_file, receipt, doc["choices"][0]["alpha"], SIGNING_PASSWORD,
                   m["d1"].token, m["chair"].token, relogin.token):
        assert secret not in text


async def test_an_older_data_directory_is_tightened_and_its_credentials_sealed_at_start(
    tmp_path_factory: pytest.TempPathFactory, backend: Backend,
) -> None:
    data = tmp_path_factory.mktemp("older")
    first = ServerProcess(data, "demo", backend=backend)
    try:
        m = await ended_meeting(first)
    finally:
        first.stop()
    user_id = int(m["secretary"].user["id"])
    # As an older version left it: the credential stored bare (and with old parameters),
    # the files readable by everyone.
    legacy = p12_for(first, m["secretary"], legacy=True)
    assert mac_hash(legacy) == "sha1"
    await sql(first, "UPDATE user_credentials SET p12 = :p WHERE user_id = :u",
              p=legacy, u=user_id)
    for path in [data, *data.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    again = ServerProcess(data, "serve", backend=backend, args=first.backend_args)
    try:
        assert loose_modes(data) == []
        row = await stored_row(again, user_id)
        with pytest.raises(SigningRefused):
            load_pkcs12(row, SIGNING_PASSWORD)
        inner, modern = unseal(kek(again), user_id, row)
        assert inner == legacy and not modern  # sealed as it was: no password at start
        m.members["secretary"] = Api(again.base_url, m["secretary"].token,
                                     m["secretary"].user)
        r = await sign(m, SIGNING_PASSWORD)
        assert r.status_code == 200, r.text
        # The password was there: the file inside is re-exported with modern parameters.
        inner, modern = unseal(kek(again), user_id, await stored_row(again, user_id))
        assert modern and mac_hash(inner) == "sha256"
        assert load_pkcs12(inner, SIGNING_PASSWORD).signing_cert is not None
    finally:
        again.stop()


def _pdf() -> bytes:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "To trinh")
    return doc.tobytes()


def test_the_attempt_limiter_reserves_before_checking_and_forgets_after_its_window() -> None:
    """The limiter itself, on a clock of our own: what the endpoints above rely on."""
    now = [1000.0]
    limiter = AttemptLimiter(limit=5, window=900, clock=lambda: now[0])
    # Five checks in flight at once take every attempt: a sixth is refused unchecked.
    assert [limiter.reserve(7) for _ in range(5)] == [None] * 5
    assert limiter.reserve(7) == 900
    for _ in range(5):
        limiter.failed(7)
    now[0] += 600
    assert limiter.reserve(7) == 300  # the oldest failure leaves the window in 300 s
    assert limiter.reserve(8) is None  # another user is not affected
    now[0] += 300
    assert limiter.reserve(7) is None  # the window has passed
    limiter.succeeded(7)  # and a right password forgets the failures
    assert [limiter.reserve(7) for _ in range(5)] == [None] * 5
    for _ in range(5):
        limiter.released(7)  # attempts that checked nothing are given back
    assert limiter.reserve(7) is None
