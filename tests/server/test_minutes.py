"""The minutes over HTTP: the draft, the official PDF, signing in order, verification."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from phonghop.signing.devca import DevCA
from phonghop.signing.trust import Trust
from phonghop.signing.verify import verify_pdf
from tests.conftest import (
    Api,
    Backend,
    Meeting,
    ServerProcess,
    credential,
    make_meeting,
)
from tests.server.conftest import assert_refusal, uid
from tests.soft_token import SoftToken, put_key, remove_key

PASSWORD = "mật-khẩu-ký-số"


async def cmd(api: Api, m: Meeting, name: str, **args: Any) -> Any:
    return await api.call("POST", f"/api/meetings/{m.id}/commands", {"name": name, "args": args})


def ca_of(server: ServerProcess) -> DevCA:
    return DevCA.load(server.data_dir / "dev-ca")


async def give_credential(server: ServerProcess, m: Meeting, who: str, **cert: Any) -> Any:
    """Issue `who` a credential from the server's development CA and upload it."""
    user = m[who].user
    cred = ca_of(server).issue_user(user_id=str(user["id"]), full_name=user["full_name"],
                                    position=user.get("position", ""), **cert)
    async with m[who].client() as c:
        return await c.post("/api/me/credential",
                            json=credential(cred.to_p12(PASSWORD), PASSWORD))


async def ended_meeting(server: ServerProcess) -> Meeting:
    m = await make_meeting(server.base_url, delegates=2)
    for who in ("chair", "d1"):
        await cmd(m[who], m, "attendance.check_in")
    await cmd(m["secretary"], m, "minutes.settings", issuer="UBND PHƯỜNG KIỂM THỬ",
              number="7/BB-UBND", place="Hoàn Kiếm")
    await cmd(m["secretary"], m, "conclusion.add", text="Hoàn thiện báo cáo",
              owner="Văn phòng", deadline="2026-12-20")
    r = await cmd(m["chair"], m, "session.end")
    assert r.status_code == 200, r.text
    for who in ("secretary", "chair"):
        r = await give_credential(server, m, who)
        assert r.status_code == 201, r.text
    return m


async def test_the_minutes_are_signed_by_the_secretary_then_the_chair_and_verify(
    server: ServerProcess, tmp_path: Path,
) -> None:
    m = await ended_meeting(server)
    base = f"/api/meetings/{m.id}/minutes"
    r = await m["d1"].call("POST", base + "/prepare")
    assert_refusal(r.json(), "forbidden")
    r = await m["secretary"].call("POST", base + "/prepare")
    assert r.status_code == 200, r.text
    prepared = r.json()
    page = await m["secretary"].call("GET", f"{base}/files/{prepared['sha256']}/pages/1")
    assert page.status_code == 200
    assert_refusal((await m["chair"].call("POST", base + "/sign", {"password": PASSWORD})
                    ).json(), "secretary_first")
    wrong = await m["secretary"].call("POST", base + "/sign", {"password": "sai"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
    assert "mật khẩu" in wrong.json()["message"]["vi"].lower()
    r = await m["secretary"].call("POST", base + "/sign", {"password": PASSWORD})
    assert r.status_code == 200 and r.json()["status"] == "signing", r.text
    # Signed by the secretary: the draft is frozen, and nobody signs twice.
    edit = await cmd(m["secretary"], m, "minutes.edit", section="general", text="Sửa thêm",
                     base_version=0)
    assert_refusal(edit.json(), "invalid_state")
    again = await m["secretary"].call("POST", base + "/sign", {"password": PASSWORD})
    assert_refusal(again.json(), "already_signed")
    r = await m["chair"].call("POST", base + "/sign", {"password": PASSWORD})
    assert r.status_code == 200 and r.json()["status"] == "signed", r.text
    signed_sha = r.json()["sha256"]

    report = (await m["d1"].call("GET", base + "/verify")).json()
    assert report["all_valid"] is True and report["complete"] is True
    assert [s["signer"]["name"] for s in report["signatures"]] == [
        m["secretary"].user["full_name"], m["chair"].user["full_name"]]
    async with m["d1"].client() as c:
        pdf = (await c.get(f"{base}/files/{signed_sha}")).content
    summary = (await m["d1"].call("GET", "/api/meetings")).json()
    assert any(x["id"] == m.id and x["status"] == "minutes_signed"
               for x in summary["meetings"]), summary
    text = " ".join(p.get_text() for p in pymupdf.open(stream=pdf, filetype="pdf"))
    assert "BIÊN BẢN" in text and "Hoàn thiện báo cáo" in text

    # A tampered file fails: one changed byte inside the signed range, an appended page.
    trust = Trust.of([ca_of(server).certificate])
    assert (await asyncio.to_thread(verify_pdf, pdf, trust=trust)).all_valid
    flipped = bytearray(pdf)
    at = pdf.index(b"stream", 2000) + 20
    flipped[at] = (flipped[at] + 1) % 256
    assert not (await asyncio.to_thread(verify_pdf, bytes(flipped), trust=trust)).all_valid
    copy = tmp_path / "signed.pdf"
    copy.write_bytes(pdf)
    doc = pymupdf.open(copy)
    doc.new_page().insert_text((72, 72), "Trang thêm sau khi ký")
    doc.saveIncr()  # an incremental update after the chair's lock
    doc.close()
    uploaded = await _verify_upload(m["d1"], copy.read_bytes())
    assert uploaded["all_valid"] is False


async def _verify_upload(api: Api, pdf: bytes) -> dict[str, Any]:
    async with api.client() as c:
        r = await c.post("/api/verify", content=pdf)
    assert r.status_code == 200, r.text
    return r.json()


async def test_credentials_that_are_not_valid_or_not_the_signers_are_refused(
    server: ServerProcess,
) -> None:
    m = await make_meeting(server.base_url, delegates=1)
    ca = ca_of(server)
    user = m["secretary"].user
    me = {"user_id": str(user["id"]), "full_name": user["full_name"]}
    for cred, reason in ((ca.issue_expired(**me), "certificate_expired"),
                         (ca.issue_not_yet_valid(**me), "certificate_not_yet_valid"),
                         (ca.issue_user(user_id=str(uid(m, "chair")),
                                        full_name=m["chair"].user["full_name"]),
                          "signer_mismatch")):
        async with m["secretary"].client() as c:
            r = await c.post("/api/me/credential",
                             json=credential(cred.to_p12(PASSWORD), PASSWORD))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == reason, r.json()
    async with m["secretary"].client() as c:
        r = await c.post("/api/me/credential", json=credential(b"not a pkcs12 file", PASSWORD))
        assert r.status_code == 422 and r.json()["code"] == "invalid_key_file"
        mine = ca.issue_user(**me).to_p12(PASSWORD)
        r = await c.post("/api/me/credential", json=credential(mine, "sai mật khẩu"))
        assert r.json()["code"] == "wrong_password", r.json()
        r = await c.post("/api/me/credential", json={"pkcs12": "không phải base64!",
                                                     "password": PASSWORD})
        assert r.json()["code"] == "invalid", r.json()
        r = await c.post("/api/me/credential", json=credential(bytes(41 * 1024), PASSWORD))
        assert r.json()["code"] == "too_large", r.json()
        # The password is never taken from the address, where proxies would log it.
        r = await c.post("/api/me/credential", params={"password": PASSWORD}, content=mine)
        assert r.json()["code"] == "invalid", r.json()
        r = await c.post("/api/me/credential", json=credential(mine, PASSWORD))
        assert r.status_code == 201, r.text


async def test_the_draft_never_loses_a_secretarys_text_and_exports_tasks(
    server: ServerProcess,
) -> None:
    m = await make_meeting(server.base_url, delegates=1)
    r = await cmd(m["secretary"], m, "minutes.edit", section="general", text="Đoạn một",
                  base_version=0)
    assert r.status_code == 200
    stale = await cmd(m["chair"], m, "minutes.edit", section="general", text="Đoạn hai",
                      base_version=0)
    assert stale.status_code == 409
    assert_refusal(stale.json(), "edit_conflict")
    view = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["minutes"]
    assert view["sections"][0]["text"] == "Đoạn một" and view["sections"][0]["version"] == 1
    delegate = (await m["d1"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["minutes"]
    assert delegate == {"status": "draft", "signatures": []}
    r = await cmd(m["secretary"], m, "conclusion.add", text="Rà soát hồ sơ",
                  owner="Phòng Tư pháp", deadline="2027-01-10", owner_user_id=uid(m, "d1"))
    assert r.status_code == 200
    tasks = (await m["chair"].call("GET", f"/api/meetings/{m.id}/minutes/tasks.json")).json()
    assert [(t["content"], t["owner"], t["deadline"], t["owner_user_id"])
            for t in tasks["tasks"]] == [("Rà soát hồ sơ", "Phòng Tư pháp", "2027-01-10",
                                          uid(m, "d1"))]
    assert (await m["d1"].call("GET", f"/api/meetings/{m.id}/minutes/tasks.json")
            ).status_code == 403


async def test_a_key_held_elsewhere_signs_through_the_two_step_endpoints(
    server: ServerProcess,
) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    m = await ended_meeting(server)
    base = f"/api/meetings/{m.id}/minutes"
    assert (await m["secretary"].call("POST", base + "/prepare")).status_code == 200
    user = m["secretary"].user
    # The USB token at the secretary's desk: its key never reaches the server.
    token = ca_of(server).issue_user(user_id=str(user["id"]), full_name=user["full_name"])
    pem = token.certificate.public_bytes(serialization.Encoding.PEM).decode()
    chain = [c.public_bytes(serialization.Encoding.PEM).decode() for c in token.chain]
    r = await m["secretary"].call("POST", base + "/sign/prepare",
                                  {"certificate": pem, "chain": chain})
    assert r.status_code == 200, r.text
    step = r.json()
    digest = base64.b64decode(step["digest"])
    raw = token.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    forged = await m["secretary"].call("POST", base + "/sign/finish", {
        "session": step["session"], "signature": base64.b64encode(b"\0" * len(raw)).decode()})
    assert forged.status_code == 422, forged.text  # a wrong value is refused, nothing stored
    view = (await m["chair"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["minutes"]
    assert view["status"] == "draft" and view["signatures"] == []
    r = await m["secretary"].call("POST", base + "/sign/prepare",
                                  {"certificate": pem, "chain": chain})
    step = r.json()
    raw = token.key.sign(base64.b64decode(step["digest"]), padding.PKCS1v15(),
                         utils.Prehashed(hashes.SHA256()))
    r = await m["secretary"].call("POST", base + "/sign/finish", {
        "session": step["session"], "signature": base64.b64encode(raw).decode()})
    assert r.status_code == 200 and r.json()["status"] == "signing", r.text
    r = await m["chair"].call("POST", base + "/sign", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    report = (await m["d1"].call("GET", base + "/verify")).json()
    assert report["all_valid"] is True


async def test_the_servers_token_signs_with_the_signers_pin(
    backend: Backend, soft_token: SoftToken, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A PKCS#11 token on the server (an HSM in production, SoftHSM2 here): each signer's
    key is labelled with their user id and unlocked by their PIN at signing."""
    server = ServerProcess(tmp_path_factory.mktemp("token-server"), "demo", backend=backend,
                           env={"PHONGHOP_PKCS11_MODULE": soft_token.module})
    label = ""
    try:
        m = await ended_meeting(server)
        base = f"/api/meetings/{m.id}/minutes"
        assert (await m["secretary"].call("POST", base + "/prepare")).status_code == 200
        user = m["secretary"].user
        label = str(user["id"])
        on_token = put_key(soft_token, ca_of(server), label=label, key_id=label.encode(),
                           user_id=label, full_name=user["full_name"])
        # The chair has no key on the token; a wrong PIN opens nothing. Neither signs.
        r = await m["chair"].call("POST", base + "/sign", {"method": "pkcs11", "pin": "1"})
        assert_refusal(r.json(), "secretary_first")
        r = await m["secretary"].call("POST", base + "/sign",
                                      {"method": "pkcs11", "pin": "000000"})
        assert r.json()["code"] == "wrong_pin", r.json()
        view = (await m["secretary"].call("GET", f"/api/meetings/{m.id}")).json()["room"]
        assert view["minutes"]["signatures"] == []
        r = await m["secretary"].call("POST", base + "/sign",
                                      {"method": "pkcs11", "pin": soft_token.pin})
        assert r.status_code == 200 and r.json()["status"] == "signing", r.text
        r = await m["chair"].call("POST", base + "/sign",
                                  {"method": "pkcs11", "pin": soft_token.pin})
        assert r.json()["code"] == "key_not_found", r.json()
        r = await m["chair"].call("POST", base + "/sign", {"password": PASSWORD})
        assert r.status_code == 200 and r.json()["status"] == "signed", r.text
        report = (await m["d1"].call("GET", base + "/verify")).json()
        assert report["all_valid"] is True, report
        first = report["signatures"][0]["signer"]
        assert first["serial"] == format(on_token.serial_number, "x"), first
    finally:
        if label:
            remove_key(soft_token, label)
        server.stop()
