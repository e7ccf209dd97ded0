"""What the access log records outside rooms, on both backends: who did what, to whom, in
which meeting, from where, and how it ended; and never a password, a token, a document's
name or text, or a ballot."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import (
    PASSWORD,
    Api,
    ServerProcess,
    WsClient,
    changed,
    login,
    make_meeting,
)
from tests.documents.corpus import report
from tests.security._accounts import new_account, try_login
from tests.server.conftest import uid
from tests.server.test_documents import attach, get
from tests.server.test_minutes import give_credential

SECRET_TITLE = "Phương án nhân sự mật"


async def log_of(admin: Api, **params: Any) -> list[dict[str, Any]]:
    """The administrator's view of the log (newest first)."""
    r = await admin.call("GET", f"/api/admin/audit?{httpx.QueryParams(params)}")
    assert r.status_code == 200, r.text
    return r.json()["records"]


def brief(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(kind, outcome, actor id, target id) of each record, oldest first."""
    return [(r["kind"], r["outcome"], r["actor"] and r["actor"]["id"],
             r["target"] and r["target"]["id"]) for r in reversed(records)]


async def test_account_changes_sign_ins_and_sign_outs(server: ServerProcess) -> None:
    admin = await login(server.base_url, "admin", "demo1234")
    acct = await new_account(admin)
    me, you = admin.user["id"], acct["id"]
    assert (await admin.call("PATCH", f"/api/users/{you}", {"unit": "Sở Tài chính",
                                                            "is_admin": True})).is_success
    assert (await admin.call("PATCH", f"/api/users/{you}", {"is_admin": False})).is_success
    assert (await admin.call("POST", f"/api/users/{you}/disable")).is_success
    assert (await try_login(server.base_url, acct["username"], PASSWORD)).status_code == 403
    assert (await admin.call("POST", f"/api/users/{you}/enable")).is_success
    new = "Mat-khau-moi-2026"
    assert (await admin.call("POST", f"/api/users/{you}/password",
                             {"new_password": new})).is_success
    user = await login(server.base_url, acct["username"], new)
    r = await user.call("POST", "/api/me/password", {"old_password": "sai-mat-khau-cu",
                                                     "new_password": PASSWORD})
    assert r.status_code == 401
    assert (await user.call("POST", "/api/me/password", {"old_password": new,
                                                         "new_password": PASSWORD})).is_success
    # a non-administrator trying an administrator's action
    r = await user.call("POST", f"/api/users/{me}/disable")
    assert r.status_code == 403
    other = await login(server.base_url, acct["username"])
    assert (await other.call("POST", "/api/logout")).is_success
    assert (await user.call("POST", "/api/me/sessions/revoke")).is_success
    got = await log_of(admin, user=acct["username"])
    assert brief(got) == [
        ("account.create", "ok", me, you),
        ("account.update", "ok", me, you),
        ("account.update", "ok", me, you),
        ("account.disable", "ok", me, you),
        ("signin", "account_disabled", you, None),
        ("account.enable", "ok", me, you),
        ("account.password_reset", "ok", me, you),
        ("signin", "ok", you, None),
        ("password.change", "bad_credentials", you, None),
        ("password.change", "ok", you, None),
        ("account.disable", "forbidden", you, me),
        ("signin", "ok", you, None),
        ("signout", "ok", you, None),
        ("sessions.revoke", "ok", you, None),
    ]
    first, second = got[-2]["detail"], got[-3]["detail"]
    assert first == {"changed": "unit,is_admin", "is_admin": True}
    assert second == {"changed": "is_admin", "is_admin": False}
    assert got[0]["detail"] == {"ended": 1}
    assert {r["address"] for r in got} == {"127.0.0.1"}
    blob = str(got)
    for secret in (new, PASSWORD, user.token, other.token, "sai-mat-khau-cu"):
        assert secret not in blob


async def test_confidential_views_downloads_and_refusals(server: ServerProcess) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    secret = await attach(m["chair"], m.id, report(3), classification="confidential",
                          viewers=[uid(m, "d1")], title=SECRET_TITLE)
    public = await attach(m["chair"], m.id, report(2), classification="public")
    base = f"/api/meetings/{m.id}/documents/{secret['id']}"
    assert (await get(m["d1"], base + "/pages/2?size=thumb")).status_code == 200
    assert (await get(m["d1"], base + "/file")).status_code == 200
    assert (await get(m["d1"], base + "/export?with=mine")).status_code == 200
    # the secretary is an organiser, not a viewer: refused, and that is recorded too
    assert (await get(m["secretary"], base + "/pages/1")).status_code == 403
    assert (await get(m["secretary"], base + "/text")).status_code == 403
    # public pages are not recorded (the hot path), downloads of any document are
    pub = f"/api/meetings/{m.id}/documents/{public['id']}"
    assert (await get(m["d2"], pub + "/pages/1?size=thumb")).status_code == 200
    assert (await get(m["d2"], pub + "/file")).status_code == 200
    got = await log_of(m.admin, meeting=m.id, kind="document.page_view,document.download")
    assert [(r["kind"], r["outcome"], r["actor"]["id"], r["detail"]) for r in reversed(got)] \
        == [
        ("document.page_view", "ok", uid(m, "d1"),
         {"document": secret["id"], "page": 2, "version": 1}),
        ("document.download", "ok", uid(m, "d1"),
         {"document": secret["id"], "version": 1, "classification": "confidential",
          "copy": "original"}),
        ("document.download", "ok", uid(m, "d1"),
         {"document": secret["id"], "version": 1, "classification": "confidential",
          "copy": "mine"}),
        ("document.page_view", "confidential_viewers_only", uid(m, "secretary"),
         {"document": secret["id"], "page": 1}),
        ("document.download", "confidential_viewers_only", uid(m, "secretary"),
         {"document": secret["id"]}),
        ("document.download", "ok", uid(m, "d2"),
         {"document": public["id"], "version": 1, "classification": "public",
          "copy": "original"}),
    ]
    assert all(r["meeting_id"] == m.id for r in got)
    # the administrators who read the log never learn the confidential document's name
    assert SECRET_TITLE not in str(got)
    csv_text = (await m.admin.call("GET", f"/api/admin/audit.csv?meeting={m.id}")).text
    assert SECRET_TITLE not in csv_text and "Báo cáo" not in csv_text


async def test_role_changes_over_http_and_websocket(server: ServerProcess) -> None:
    m = await make_meeting(server.base_url, delegates=2, start=False)
    r = await m.admin.call("PATCH", f"/api/meetings/{m.id}/participants/{uid(m, 'd1')}",
                           {"voting": False})
    assert r.status_code == 200, r.text
    ws = await WsClient.open(server.ws_url, m.admin.token)
    try:
        await ws.join(m.id)
        for _ in range(2):  # the same command id twice: one change, one record
            ack = await ws.command(m.id, "participant.update", cid="vai-tro-1",
                                   user_id=uid(m, "d2"), role="secretary")
            assert ack["type"] == "ack", ack
    finally:
        await ws.close()
    got = await log_of(m.admin, meeting=m.id, kind="role.change")
    newest = [(r["target"]["id"], r["detail"], r["address"]) for r in reversed(got)][-2:]
    assert newest == [
        (uid(m, "d1"), {"command": "participant.update", "voting": False}, "127.0.0.1"),
        (uid(m, "d2"), {"command": "participant.update", "role": "secretary"}, "127.0.0.1"),
    ]
    assert all(r["actor"]["id"] == m.admin.user["id"] for r in got)


async def test_exports_and_credential_uploads(server: ServerProcess) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    r = await m["chair"].call("POST", f"/api/meetings/{m.id}/polls", {
        "title": "Biểu quyết giơ tay", "kind": "hands"})
    poll = changed(r, "poll.created")["poll"]
    p = f"/api/meetings/{m.id}/polls/{poll['id']}"
    assert (await m["chair"].call("POST", p + "/open")).is_success
    assert (await m["secretary"].call("POST", p + "/record", {"counts": [2, 1, 0]})).is_success
    assert (await m["chair"].call("GET", p + "/result.csv")).status_code == 200
    assert (await m["chair"].call("GET", f"/api/meetings/{m.id}/minutes/preview.pdf")
            ).status_code == 200
    assert (await m["secretary"].call("GET", f"/api/meetings/{m.id}/minutes/tasks.json")
            ).status_code == 200
    assert (await give_credential(server, m, "chair")).status_code == 201
    async with m["secretary"].client() as c:
        from phonghop.signing.devca import DevCA
        from tests.conftest import credential

        user = m["secretary"].user
        p12 = DevCA.load(server.data_dir / "dev-ca").issue_user(
            user_id=str(user["id"]), full_name=user["full_name"]).to_p12(PASSWORD)
        r = await c.post("/api/me/credential", json=credential(p12, "Sai-mat-khau-p12"))
        assert r.status_code == 422, r.text
    exports = await log_of(m.admin, meeting=m.id, kind="export")
    assert [(r["actor"]["id"], r["detail"]) for r in reversed(exports)] == [
        (uid(m, "chair"), {"poll": poll["id"], "what": "poll.result_csv"}),
        (uid(m, "chair"), {"what": "minutes.preview"}),
        (uid(m, "secretary"), {"what": "minutes.tasks"}),
    ]
    uploads = await log_of(m.admin, kind="credential.upload", limit=2)
    assert [(r["actor"]["id"], r["outcome"]) for r in uploads] == [
        (uid(m, "secretary"), "wrong_password"), (uid(m, "chair"), "ok")]
    assert uploads[0]["outcome_text"]["vi"] == "Mật khẩu tệp chứng thư số (.p12) không đúng."
    ok = uploads[1]["detail"]
    assert set(ok) == {"fingerprint", "not_after"} and len(ok["fingerprint"]) == 64
    assert "Sai-mat-khau-p12" not in str(uploads) and PASSWORD not in str(uploads)


async def test_the_api_answers_in_pages_with_users_resolved(server: ServerProcess) -> None:
    admin = await login(server.base_url, "admin", "demo1234")
    acct = await new_account(admin, full_name="Lê Thị Hồng Nhung")
    for n in range(5):
        r = await admin.call("PATCH", f"/api/users/{acct['id']}", {"position": f"Tổ {n}"})
        assert r.is_success
    page = await admin.call("GET", f"/api/admin/audit?user={acct['username']}&limit=2")
    body = page.json()
    assert [r["detail"]["changed"] for r in body["records"]] == ["position", "position"]
    assert body["next"] == body["records"][-1]["seq"]
    rest = (await admin.call("GET", f"/api/admin/audit?user={acct['username']}&limit=200"
                                    f"&before={body['next']}")).json()
    assert len(rest["records"]) == 4 and rest["next"] is None  # 3 edits and the creation
    first = rest["records"][-1]
    assert first["kind"] == "account.create"
    assert first["kind_text"] == {"vi": "Tạo tài khoản", "en": "Account created"}
    assert first["outcome_text"] == {"vi": "Thành công", "en": "Succeeded"}
    assert first["target"] == {"id": acct["id"], "username": acct["username"],
                               "full_name": "Lê Thị Hồng Nhung"}
    assert first["at"].endswith("Z") and len(first["hash"]) == 64
    assert {k["kind"] for k in body["kinds"]} >= {"signin", "export", "role.change"}

