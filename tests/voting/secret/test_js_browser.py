"""static/secret_ballot.js in Debian's Chromium, served by a real phonghop server under its
Content-Security-Policy: the vendored noble bundle loads (no inline script, no eval), a
voter's tablet builds a ballot the others verify, and a board member's tablet takes part in
the key ceremony (WebCrypto AES-GCM boxes that Node opens, and the other way round)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import TLS, ServerProcess
from tests.voting.secret.js.oracle import JsOracle

POLL = {"poll_uid": "browser-test/1/1", "title": "Thông qua biên bản?",
        "options": ["Đồng ý", "Không đồng ý"], "min": 1, "max": 1, "n": 3, "t": 2}

# The work runs after an await, outside DevTools' own evaluation (which may eval): any
# eval or new Function in the bundle would be refused by the page's CSP and fail the test.
BUILD_BALLOT = """
async ([poll, members, voter, choices]) => {
  const sb = await import("/static/secret_ballot.js");
  const made = sb.buildBallot(sb.pollFromRecord(poll, members), voter, choices);
  return { ...made, display: sb.trackerDisplay(made.tracker) };
}
"""

# Member 2's tablet: round 1, then (given the others' round 1) round 2, then round 3 with
# the shares the others boxed for it. The secret stays in the page (window.__member).
MEMBER_ROUND1 = """
async (poll) => {
  const sb = await import("/static/secret_ballot.js");
  const ceremony = sb.ceremonyContext(poll.poll_uid, poll.n, poll.t);
  window.__member = sb.round1({ ceremony, index: 2, t: poll.t });
  return window.__member.published;
}
"""
MEMBER_ROUND2 = """
async ([poll, members]) => {
  const sb = await import("/static/secret_ballot.js");
  const ceremony = sb.ceremonyContext(poll.poll_uid, poll.n, poll.t);
  return sb.round2({ ceremony, secret: window.__member.secret, members });
}
"""
MEMBER_ROUND3 = """
async ([poll, members, envelopes]) => {
  const sb = await import("/static/secret_ballot.js");
  const ceremony = sb.ceremonyContext(poll.poll_uid, poll.n, poll.t);
  const out = await sb.round3({ ceremony, secret: window.__member.secret, members, envelopes });
  return { complaints: out.complaints,
           key: out.secret === null ? null : sb.pointToHex(sb.G.multiply(out.secret)) };
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The demo server (its static files and edge headers do not depend on the backend)."""
    proc = ServerProcess(tmp_path_factory.mktemp("server"), "demo")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def js() -> Iterator[JsOracle]:
    oracle = JsOracle()
    yield oracle
    oracle.close()


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


@pytest.fixture
async def page(chromium: Browser, server: ServerProcess) -> AsyncIterator[Page]:
    """The app's own page, under the CSP its server sends; fails the test on any CSP
    violation or uncaught error."""
    context = await chromium.new_context()
    problems: list[str] = []
    tab = await context.new_page()
    tab.on("console", lambda m: problems.append(m.text)
           if "Content Security Policy" in m.text else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    response = await tab.goto(server.base_url + "/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    yield tab
    await context.close()
    assert not problems, problems


async def test_tablet_builds_a_ballot_that_verifies(page: Page, js: JsOracle) -> None:
    members = js.call("ceremony", poll=POLL)["members"]
    made: dict[str, Any] = await page.evaluate(BUILD_BALLOT, [POLL, members, "42", [0, 1]])
    assert made["ballot"]["voter"] == "42"
    assert js.call("verify_ballot", poll=POLL, members=members, ballot=made["ballot"])
    assert js.call("tracker", poll=POLL, members=members, ballot=made["ballot"]) == \
        made["tracker"]
    assert made["display"] == "-".join(made["tracker"][i:i + 4] for i in range(0, 16, 4))
    try:
        from phonghop.voting.secret.ballot import verify_ballot
        from phonghop.voting.secret.board import PollInfo
        from phonghop.voting.secret.ceremony import Round1, public_key
    except ImportError:
        return  # the server's side is checked by test_js_cross.py once it is here
    poll = PollInfo.from_json(POLL)
    key = public_key([Round1.from_json(m, poll.t) for m in members])
    assert verify_ballot(poll.rules(key), made["ballot"]) is None


async def test_tablet_takes_part_in_the_key_ceremony(page: Page, js: JsOracle) -> None:
    # Members 1 and 3 in Node, member 2 on the tablet.
    others = {i: js.call("round1", poll=POLL, index=i) for i in (1, 3)}
    mine = await page.evaluate(MEMBER_ROUND1, POLL)
    members = [others[1]["published"], mine, others[3]["published"]]
    assert js.call("verify_round1", poll=POLL, member=mine)
    boxed_by_tablet = await page.evaluate(MEMBER_ROUND2, [POLL, members])
    assert sorted(e["to"] for e in boxed_by_tablet) == [1, 3]
    boxed_by_node = [e for i in (1, 3) for e in js.call(
        "round2", poll=POLL, secret=others[i]["secret"], members=members)]
    for i in (1, 3):  # Node opens what the tablet boxed, and checks it
        inbox = [e for e in [*boxed_by_node, *boxed_by_tablet] if e["to"] == i]
        out = js.call("round3", poll=POLL, secret=others[i]["secret"], members=members,
                      envelopes=inbox)
        assert out["complaints"] == []
    out = await page.evaluate(MEMBER_ROUND3, [POLL, members,
                                              [e for e in boxed_by_node if e["to"] == 2]])
    assert out["complaints"] == []
    # The tablet's secret x₂ matches the verification key anyone computes from round 1.
    assert out["key"] == js.call("verification_keys", members=members)[1]


async def test_vendored_module_is_served_as_javascript(server: ServerProcess) -> None:
    async with httpx.AsyncClient(verify=TLS, base_url=server.base_url) as client:
        for path in ("/static/secret_ballot.js", "/static/vendor/noble-ristretto255.js"):
            response = await client.get(path)
            assert response.status_code == 200
            # Browsers run module scripts only with a JavaScript MIME type (and nosniff).
            assert response.headers["content-type"].startswith(("text/javascript",
                                                                "application/javascript"))
