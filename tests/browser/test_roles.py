"""The web client and the constitution: substitutes approved by an organiser's button, the
member told where their request stands, and role changes announced on every tablet."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import open_room, sign_in
from tests.conftest import PASSWORD, make_meeting

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_chair_approves_a_substitute_and_role_changes_are_announced(
    server: Any, new_context: Any,
) -> None:
    m = await make_meeting(server.base_url, delegates=2)
    base = f"/api/meetings/{m.id}"
    r = await m.admin.call("POST", "/api/users", {
        "username": f"thay_{m.id}", "password": PASSWORD, "full_name": "Ông Dự Thay"})
    assert r.status_code == 201, r.text
    stranger = r.json()["user"]["id"]
    r = await m["d1"].call("POST", base + "/rsvp", {"answer": "substitute",
                                                   "substitute_user_id": stranger})
    assert r.status_code == 200, r.text

    secretary = await (await new_context()).new_page()
    chair = await (await new_context()).new_page()
    member = await (await new_context()).new_page()
    await sign_in(secretary, server.base_url, m["secretary"].user["username"])
    await sign_in(chair, server.base_url, m["chair"].user["username"])
    await sign_in(member, server.base_url, m["d1"].user["username"])
    await open_room(secretary, server.base_url, m.id)
    await open_room(chair, server.base_url, m.id)
    await open_room(member, server.base_url, m.id)

    # the member sees their request waiting; in session the secretary sees it and may
    # refuse it, but approving (a seat with a vote) is the chair's button
    await expect(member.get_by_test_id("my-substitute-request")).to_contain_text("Ông Dự Thay")
    await expect(member.get_by_test_id("approve-substitute")).to_have_count(0)
    await expect(secretary.get_by_test_id("substitute-request")).to_contain_text("Ông Dự Thay")
    await expect(secretary.get_by_test_id("refuse-substitute")).to_have_count(1)
    await expect(secretary.get_by_test_id("approve-substitute")).to_have_count(0)
    request = chair.get_by_test_id("substitute-request")
    await expect(request).to_contain_text("Ông Dự Thay")
    await request.get_by_test_id("approve-substitute").click()
    await expect(chair.get_by_test_id("substitute-request")).to_have_count(0)
    await expect(secretary.get_by_test_id("substitute-request")).to_have_count(0)

    # approved: the member's own check-in and floor pause, and everyone is told
    await expect(member.get_by_test_id("my-substitute")).to_contain_text("Ông Dự Thay")
    await expect(member.get_by_test_id("check-in")).to_have_count(0)
    await expect(member.get_by_test_id("request-floor")).to_have_count(0)
    await expect(member.get_by_test_id("toast").filter(has_text="dự thay cho")).to_be_visible()

    # the chair hands the chair over: every tablet shows it
    r = await m["chair"].call("PATCH", f"{base}/participants/{m['d2'].user['id']}",
                              {"role": "chair"})
    assert r.status_code == 200, r.text
    for page in (secretary, member):
        await expect(page.get_by_test_id("toast").filter(has_text="Thay đổi vai trò")
                     ).to_have_count(2)
