"""The attendance panel of a large meeting: a table of the hall and every site (present of
expected, the most missing first) that filters the list, filters by status, and a list that
paints only the rows in view, where a check-in repaints that person's row alone.

A city-wide conference of 1,200 delegates at 6 sites, seeded by `phonghop bench-seed` (as
the benchmarks do) into a server of its own. The page is what this tests; the server's side
of a large roster (check-ins announced once a batch) is tested on both backends in
tests/server/test_quorum_announce.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PORTRAIT, open_room, sign_in
from tests.conftest import ROOT, TEST_SERVER_ENV, TLS, ServerProcess, WsClient

pytestmark = pytest.mark.asyncio(loop_scope="session")

DELEGATES, SITES = 1200, 6


@pytest.fixture(scope="module")
def conference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Any]]:
    """A server holding one seeded conference, and its bench-tokens.json."""
    data = tmp_path_factory.mktemp("conference")
    seeded = subprocess.run(
        [sys.executable, "-m", "phonghop", "bench-seed", "--data", str(data),
         "--delegates", str(DELEGATES), "--sites", str(SITES), "--items", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **TEST_SERVER_ENV})
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    server = ServerProcess(data, "serve", args=[])
    try:
        yield server, json.loads((data / "bench-tokens.json").read_text())
    finally:
        server.stop()


def expected_by_place() -> dict[str, int]:
    """Delegate i sits at site i % (SITES + 1) (0: the hall); the chair and the secretary
    are in the hall."""
    counts = {n: 0 for n in range(SITES + 1)}
    for i in range(1, DELEGATES + 1):
        counts[i % (SITES + 1)] += 1
    counts[0] += 2
    return {("Hội trường chính" if n == 0 else f"Điểm cầu số {n}"): c for n, c in counts.items()}


async def site_rows(page: Page) -> list[tuple[str, int, int]]:
    rows = page.get_by_test_id("site-table").get_by_test_id("site-row")
    return [(await r.get_by_test_id("site-pick").inner_text(),
             int(await r.get_attribute("data-present") or -1),
             int(await r.get_attribute("data-expected") or -1)) for r in await rows.all()]


async def test_the_secretary_sees_every_site_filters_and_scrolls_a_roster_of_1200(
    conference: tuple[ServerProcess, Any], new_context: Any, artifacts: Any,
) -> None:
    server, seeded = conference
    meeting = int(seeded["meeting"])
    page = await (await new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, server.base_url, "secretary", password="bench")
    await open_room(page, server.base_url, meeting)
    everyone = DELEGATES + 2
    await expect(page.get_by_test_id("attendance-summary")).to_have_text(
        f"Có mặt 0 · Vắng 0 · Chưa điểm danh {everyone}")

    # The table: the hall and the six sites, present of expected, the most missing first.
    expected = expected_by_place()
    rows = await site_rows(page)
    assert {name.strip(): (present, total) for name, present, total in rows} == {
        name: (0, total) for name, total in expected.items()}
    assert [total for _, _, total in rows] == sorted(expected.values(), reverse=True)

    # 1,202 people, a few dozen rows in the page.
    list_ = page.get_by_test_id("attendance")
    painted = await list_.get_by_test_id("attendee").count()
    assert 5 < painted < 60, painted

    # A check-in repaints that person's row, and no other.
    await page.evaluate("""() => document.querySelectorAll('[data-testid=attendee]')
        .forEach((el, i) => { el.dataset.mark = String(i); })""")
    shown = [int(await r.get_attribute("data-user-id") or 0)
             for r in await list_.get_by_test_id("attendee").all()][:6]
    chair = await WsClient.open(server.ws_url, seeded["chair"])
    await chair.join(meeting)
    ack = await chair.command(meeting, "attendance.check_in", user_id=shown[3])
    assert ack["type"] == "ack", ack
    row = list_.locator(f"[data-testid=attendee][data-user-id='{shown[3]}']")
    await expect(row.get_by_test_id("attendance-status")).to_contain_text("Có mặt")
    marks = await page.evaluate("""(ids) => ids.map((id) => (document.querySelector(
        `[data-testid=attendee][data-user-id='${id}']`) || {dataset: {}}).dataset.mark)""",
                                shown)
    assert marks[3] is None and all(m is not None for i, m in enumerate(marks) if i != 3), marks

    # Everyone at site 1 but one checks in on their own tablet, at once: site 1 drops to
    # the bottom of the table, one missing.
    tokens = seeded["tokens"]
    first_site = min(t["site_id"] for t in tokens if t["site_id"] is not None)
    site1 = [t for t in tokens if t["site_id"] == first_site]
    missing = site1[-1]["user_id"]
    async with httpx.AsyncClient(base_url=server.base_url, verify=TLS, timeout=60) as http:
        async def check_in(token: str) -> None:
            r = await http.post(f"/api/meetings/{meeting}/commands",
                                json={"name": "attendance.check_in"},
                                headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
        for first in range(0, len(site1) - 1, 25):
            await asyncio.gather(*(check_in(t["token"]) for t in site1[first:len(site1) - 1]
                                   [:25]))
    last = page.get_by_test_id("site-row").last
    await expect(last).to_have_attribute("data-present", str(len(site1) - 1))
    await expect(last).to_have_attribute("data-expected", str(len(site1)))
    assert (await last.get_by_test_id("site-pick").inner_text()).strip() == "Điểm cầu số 1"
    await expect(page.get_by_test_id("attendance-summary")).to_have_text(
        f"Có mặt {len(site1)} · Vắng 0 · Chưa điểm danh {everyone - len(site1)}")
    await page.get_by_test_id("site-table").scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / "attendance-sites-1280x800.png")

    # The site's row filters the list to it; then "Chưa điểm danh": the one still missing.
    await last.get_by_test_id("site-pick").tap()
    await expect(page.get_by_test_id("attendance-filter-site")).to_have_value(str(first_site))
    await page.get_by_test_id("attendance-filter-status").select_option("pending")
    await expect(list_.get_by_test_id("attendee")).to_have_count(1)
    await expect(list_.get_by_test_id("attendee")).to_have_attribute(
        "data-user-id", str(missing))
    await expect(list_.get_by_test_id("attendee")).to_contain_text("Điểm cầu số 1")
    await page.get_by_test_id("attendance-filter-status").select_option("present")
    await expect(list_.get_by_test_id("attendee").first).to_have_attribute(
        "data-status", "present")
    # All sites and statuses again; scrolled to the end, the last delegate is there.
    await page.get_by_test_id("attendance-filter-status").select_option("")
    await page.get_by_test_id("attendance-filter-site").select_option("")
    await list_.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    last_delegate = tokens[-1]["user_id"]
    await expect(list_.locator(f"[data-user-id='{last_delegate}']")).to_be_visible()
    assert 5 < await list_.get_by_test_id("attendee").count() < 60

    # The search folds diacritics: "nguyen van" finds the Nguyễn Văn …
    await page.get_by_test_id("attendance-search").fill("nguyen van")
    await expect(page.get_by_test_id("attendance-summary")).to_contain_text("Có mặt")
    await expect(list_.locator("[data-testid=attendee] .att-name").first).to_contain_text(
        "Nguyễn Văn")  # painted in one frame: once the first row matches, all rows do
    names = await list_.locator("[data-testid=attendee] .att-name").all_inner_texts()
    assert names and all(n.startswith("Nguyễn Văn") for n in names), names[:5]
    await page.set_viewport_size(PORTRAIT)  # a tablet held upright
    await page.get_by_test_id("attendance-search").fill("")
    await page.locator(".col-attendance").screenshot(
        path=artifacts / "attendance-panel-768x1024.png")
    await chair.close()
    assert errors == [], errors
