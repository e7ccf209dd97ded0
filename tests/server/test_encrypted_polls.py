"""Encrypted secret polls on a real server, on both backends: the counting board's key
ceremony over websockets, encrypted ballots acknowledged with their trackers, forged and
copied ballots refused, the count from two of three members, a public board that
verifies, and a store that holds no plaintext choice anywhere."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from phonghop.server.intake import TRICKLE
from phonghop.store.records import EncryptedIn
from phonghop.voting.secret.ballot import Ballot, parse_ballot, tracker
from phonghop.voting.secret.board import BoardStatus, verify_board
from tests.conftest import ROOT, ServerProcess, WsClient, make_meeting
from tests.server.conftest import assert_refusal, barrier, uid
from tests.server.encrypted import (
    all_rows,
    cast,
    ceremony,
    create_secret,
    decrypt,
    heap_pages,
    poll_as,
    store_of,
)
from tests.server.pg_wal import WalUnreadable, WalWatch
from tests.server.test_voting import check_in, poll_cmd
from tests.voting.board_kit import ballot, rules_of

FOR, AGAINST, ABSTAIN = 1, 2, 3
HEX = re.compile(r"^[0-9a-f]{64}$")
PLAINTEXT = re.compile(rb'"choices":\s*\[\s*\d')  # a plaintext ballot's choices


def tracker_of(poll: dict[str, Any], doc: dict[str, Any]) -> str:
    parsed = parse_ballot(doc, rules_of(poll))
    assert isinstance(parsed, Ballot)
    return tracker(rules_of(poll).context, parsed).hex()


async def board_json(m: Any, who: str, poll_id: int) -> dict[str, Any]:
    r = await m[who].call("GET", f"/api/meetings/{m.id}/polls/{poll_id}/board.json")
    assert r.status_code == 200, r.text
    return r.json()


async def board_listing(m: Any, who: str, poll_id: int, trackers: Any,
                        timeout: float = 20.0) -> dict[str, Any]:
    """The open board once it lists exactly these trackers: a ballot is listed once its
    proofs are checked, a moment after its ack."""
    want = sorted(trackers)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        doc = await board_json(m, who, poll_id)
        listed = sorted(b["tracker"] for b in doc["ballots"])
        if listed == want or loop.time() > deadline:
            assert listed == want
            return doc
        await asyncio.sleep(0.05)


async def taken_out(ws: WsClient, m: Any, poll: dict[str, Any], doc: dict[str, Any],
                    details: dict[str, Any]) -> None:
    """Cast a ballot that parses but whose proofs fail: acknowledged with its tracker, then
    taken out of the box with `ballot_refused` naming the problem; its voter has not
    voted."""
    cid = f"bad-{next(_bad)}"
    ack = await ws.command(m.id, "vote.cast", cid, poll_id=poll["id"], ballot=doc)
    assert ack["type"] == "ack" and ack["receipt"] == tracker_of(poll, doc), ack
    out = await ws.until(lambda e: e["type"] == "ballot_refused" and e["id"] == cid)
    assert_refusal(out, "invalid_ballot")
    assert out["details"] == details
    assert out["poll"] == poll["id"] and out["receipt"] == ack["receipt"]


_bad = itertools.count(1)


async def test_an_encrypted_poll_from_key_ceremony_to_a_verified_result(
    server: ServerProcess, joined: Any, tmp_path: Path
) -> None:
    m = await make_meeting(server.base_url, delegates=5, invitees=0)
    voters = ["chair", "d1", "d2", "d3", "d4", "d5"]
    await check_in(m, *voters)
    ws: dict[str, WsClient] = {w: await joined(m, w) for w in voters}
    draft = await create_secret(m, ("d1", "d2", "d3"), 2)
    base = f"/api/meetings/{m.id}/polls/{draft['id']}"
    assert draft["board"]["status"] == "collecting"
    assert draft["board"]["poll_uid"].startswith(f"{m.id}/{draft['id']}/")
    # A draft is the organisers' and the board's: d4 sees nothing of it yet.
    assert (await m["d4"].call("GET", base + "/board.json")).status_code == 404
    r = await m["chair"].call("POST", base + "/open")
    assert r.status_code == 409 and r.json()["code"] == "board_not_ready"
    devices = await ceremony(m, draft, ws)
    # Every step reached the other members' devices as events.
    await ws["d2"].until(lambda e: e.get("kind") == "board.ready")
    for w in ("d4", "chair"):
        await barrier(ws[w])
    kinds = [e["kind"] for e in ws["d2"].events() if e["kind"].startswith("board.")]
    assert kinds.count("board.round1") == 3 and "board.ready" in kinds
    assert kinds.count("board.shares") == 3  # the members' own: encrypted to each other
    assert not [e for e in ws["d4"].events() if e["kind"].startswith("board.")]
    assert not [e for e in ws["chair"].events() if e["kind"] == "board.shares"]
    poll = await poll_cmd(m, "chair", draft, "open")
    opened = await ws["d4"].until(lambda e: e.get("kind") == "poll.opened")
    poll = opened["data"]["poll"]
    assert poll["board"]["status"] == "ready" and poll["board"]["shares"] == {}

    choices = {"chair": FOR, "d1": FOR, "d2": AGAINST, "d3": FOR, "d4": ABSTAIN}
    trackers: dict[str, str] = {}
    for who, choice in choices.items():
        doc = ballot(poll, uid(m, who), choice)
        ack = await ws[who].command(m.id, "vote.cast", f"{who}-ballot", poll_id=poll["id"],
                                    ballot=doc)
        assert ack["type"] == "ack" and ack["poll"] == poll["id"], ack
        assert ack["receipt"] == tracker_of(poll, doc)  # the tracker is the receipt
        trackers[who] = ack["receipt"]
        if who == "d1":  # the retry of a ballot whose ack was lost: the same ack
            again = await ws[who].command(m.id, "vote.cast", f"{who}-ballot",
                                          poll_id=poll["id"], ballot=doc)
            assert again["type"] == "ack" and again["duplicate"] is True
            assert again["receipt"] == ack["receipt"]
            assert_refusal(await cast(ws[who], m, poll, who, AGAINST), "already_voted")
    # d5: a forged proof, a copy of d1's ballot, a ballot relabelled as d5's, a malformed
    # one, plaintext. A ballot that parses enters the box and is acknowledged; its proofs
    # are checked right after, and one that fails is taken out and its device told.
    forged = ballot(poll, uid(m, "d5"), FOR)
    forged["choices"][0]["proof"][0] = forged["choices"][0]["proof"][1]
    await taken_out(ws["d5"], m, poll, forged, {"problem": "choice_proof", "option": 0})
    d1s = ballot(poll, uid(m, "d1"), AGAINST)
    assert_refusal(await ws["d5"].command(m.id, "vote.cast", poll_id=poll["id"], ballot=d1s),
                   "not_eligible")
    relabelled = {**d1s, "voter": str(uid(m, "d5"))}
    await taken_out(ws["d5"], m, poll, relabelled, {"problem": "choice_proof", "option": 0})
    short = {**forged, "choices": forged["choices"][:2]}  # refused at once: nothing stored
    refused = await ws["d5"].command(m.id, "vote.cast", poll_id=poll["id"], ballot=short)
    assert_refusal(refused, "invalid_ballot")
    assert refused["details"] == {"problem": "wrong_number_of_choices"}
    assert_refusal(await ws["d5"].command(m.id, "vote.cast", poll_id=poll["id"],
                                          choices=[FOR], receipt="AAAAA-11111"), "invalid")
    me5 = (await m["d5"].call("GET", base + "/me")).json()
    assert me5 == {"poll_id": poll["id"], "eligible": True, "voted": False}
    me1 = (await m["d1"].call("GET", base + "/me")).json()
    assert me1 == {"poll_id": poll["id"], "eligible": True, "voted": True,
                   "receipt": trackers["d1"]}

    # While open the board lists every checked ballot by tracker; anyone in the meeting
    # checks it.
    open_board = await board_listing(m, "d5", poll["id"], trackers.values())
    assert verify_board(open_board).status == BoardStatus.OPEN

    closed = await poll_cmd(m, "chair", poll, "close")
    assert closed["status"] == "closed" and closed["counting"] is True
    assert closed["result"] is None and closed["board"]["cast"] == 5
    event = await ws["d5"].until(lambda e: e.get("kind") == "poll.closed")
    assert event["data"]["counting"] is True and len(event["data"]["aggregate"]) == 3
    # A ballot whose ack was lost before the close, sent again: still "it is in"; a new
    # one is too late.
    d1_doc = next(b["ballot"] for b in open_board["ballots"] if b["tracker"] == trackers["d1"])
    after = await ws["d1"].command(m.id, "vote.cast", "d1-ballot", poll_id=poll["id"],
                                   ballot=d1_doc)
    assert after["type"] == "ack" and after["duplicate"] is True
    assert after["receipt"] == trackers["d1"]
    assert_refusal(await cast(ws["d5"], m, poll, "d5", FOR), "poll_closed")
    # Members 1 and 3 decrypt the aggregate; member 2 is away. A member's device that
    # sends a partial of another key is refused.
    wrong = devices["d1"].partials(await poll_as(m, "d1", poll["id"]))
    assert_refusal(await ws["d3"].command(m.id, "board.partial", **wrong), "invalid_partial")
    [a1, a3] = await decrypt(m, poll["id"], devices, "d1", "d3", sockets=ws)
    assert a1["type"] == "ack" and a3["type"] == "ack", (a1, a3)
    published = await ws["d5"].until(lambda e: e.get("kind") == "poll.published")
    result = published["data"]["result"]
    assert result["verified"] is True and result["cast"] == 5
    assert {c["option_id"]: c["votes"] for c in result["counts"]} == {FOR: 3, AGAINST: 1,
                                                                      ABSTAIN: 1}
    assert result["passed"] is False  # 3 of 6 voting members is not more than half
    receipts = (await m["d5"].call("GET", base + "/receipts")).json()["receipts"]
    assert receipts == sorted(trackers.values())

    doc = await board_json(m, "d4", poll["id"])
    report = verify_board(doc)
    assert report.status == BoardStatus.VERIFIED, report.to_json()
    assert report.counts == [3, 1, 1] and doc["result"]["combined_from"] == [1, 3]
    assert [mb["user_id"] for mb in doc["members"]] == [str(uid(m, w))
                                                       for w in ("d1", "d2", "d3")]
    path = tmp_path / "board.json"
    path.write_text(json.dumps(doc))
    independent = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "examples" / "verify_poll.py"), str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(independent.communicate(), 120)
    assert independent.returncode == 0, out.decode()


async def test_allow_change_replaces_only_the_callers_own_ballot(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=3, invitees=0)
    await check_in(m, "chair", "d1", "d2", "d3")
    draft = await create_secret(m, ("d1", "d2"), 2, kind="multi", seats=1, min_choices=0,
                                max_choices=2, options=["Ứng viên A", "Ứng viên B",
                                                        "Ứng viên C"], allow_change=True)
    devices = await ceremony(m, draft)
    await poll_cmd(m, "chair", draft, "open")
    d1, d2 = await joined(m, "d1"), await joined(m, "d2")
    poll = await poll_as(m, "d1", draft["id"])
    first = await cast(d1, m, poll, "d1", 1, 2)
    other = await cast(d2, m, poll, "d2", 3)
    assert first["type"] == "ack" and other["type"] == "ack"
    changed = await cast(d1, m, poll, "d1", 3)
    assert changed["type"] == "ack" and changed["receipt"] != first["receipt"]
    blank = await cast(d1, m, poll, "d1")  # min 0: a blank ballot is a ballot
    assert blank["type"] == "ack"
    base = f"/api/meetings/{m.id}/polls/{poll['id']}"
    await board_listing(m, "d2", poll["id"], [blank["receipt"], other["receipt"]])
    await poll_cmd(m, "chair", poll, "close")
    await decrypt(m, poll["id"], devices, "d2", "d1")
    published = (await m["d3"].call("GET", f"/api/meetings/{m.id}")).json()["room"]["polls"]
    result = next(p for p in published if p["id"] == poll["id"])["result"]
    assert result["cast"] == 2 and result["verified"] is True
    assert {c["option_id"]: c["votes"] for c in result["counts"]} == {1: 0, 2: 0, 3: 1}
    assert verify_board(await board_json(m, "d3", poll["id"])).counts == [0, 0, 1]
    assert (await m["d1"].call("GET", base + "/me")).json()["receipt"] == blank["receipt"]


async def test_a_poll_the_board_cannot_decrypt_is_declared_void(
    server: ServerProcess, joined: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=3, invitees=0)
    await check_in(m, "chair", "d1", "d2", "d3")
    draft = await create_secret(m, ("d1", "d2", "d3"), 3)
    devices = await ceremony(m, draft)
    poll = await poll_cmd(m, "chair", draft, "open")
    d3 = await joined(m, "d3")
    poll = await poll_as(m, "d3", poll["id"])
    assert (await cast(d3, m, poll, "d3", FOR))["type"] == "ack"
    await poll_cmd(m, "chair", poll, "close")
    [ok] = await decrypt(m, poll["id"], devices, "d1")
    assert ok["type"] == "ack"
    r = await m["secretary"].call("POST", f"/api/meetings/{m.id}/polls/{poll['id']}/void")
    assert r.status_code == 403
    voided = await poll_cmd(m, "chair", poll, "void")
    assert voided["status"] == "void" and voided["result"] is None
    event = await d3.until(lambda e: e.get("kind") == "poll.voided")
    assert event["data"] == {"poll_id": poll["id"], "status": "void"}
    report = verify_board(await board_json(m, "d3", poll["id"]))
    assert report.status == BoardStatus.VOID and report.exit_code == 3


@pytest.fixture
async def pg_wal(server: ServerProcess) -> AsyncIterator[WalWatch | None]:
    """PostgreSQL: the WAL written from the start of the test on, kept until it is read."""
    args = server.backend_args
    if "--database" not in args:
        yield None
        return
    watch = await WalWatch.start(args[args.index("--database") + 1])
    yield watch
    await watch.close()


async def test_the_store_holds_ciphertexts_only_and_no_choice_of_any_voter(
    server: ServerProcess, joined: Any, pg_wal: WalWatch | None
) -> None:
    m = await make_meeting(server.base_url, delegates=6, invitees=0)
    voters = [f"d{i}" for i in range(1, 7)]
    await check_in(m, "chair", *voters)
    draft = await create_secret(m, ("d1", "d2", "d3"), 2, kind="single",
                                options=["Phương án Một", "Phương án Hai"])
    devices = await ceremony(m, draft)
    await poll_cmd(m, "chair", draft, "open")
    poll = await poll_as(m, "d1", draft["id"])
    choices = {w: 1 + i % 2 for i, w in enumerate(voters)}
    for w in voters:
        assert (await cast(await joined(m, w), m, poll, w, choices[w]))["type"] == "ack"
    await poll_cmd(m, "chair", poll, "close")
    await decrypt(m, poll["id"], devices, "d2", "d3")

    rows = await all_rows(server)
    mine = [r for r in rows["encrypted_ballots"]
            if r["room_id"] == m.id and r["poll_id"] == poll["id"]]
    assert len(mine) == 6 and set(mine[0]) == {"room_id", "poll_id", "voter_id", "tracker",
                                              "ballot", "checked"}
    assert all(r["checked"] for r in mine)  # the seal counted checked ballots only
    for row in mine:
        doc = json.loads(row["ballot"])
        # Ciphertexts and proofs only: every value a 32-byte point or scalar.
        assert set(doc) == {"voter", "choices", "count_proof"}
        assert doc["voter"] == str(row["voter_id"]) and HEX.match(row["tracker"])
        for item in doc["choices"]:
            assert set(item) == {"alpha", "beta", "proof"}
            assert all(HEX.match(x) for x in (item["alpha"], item["beta"],
                                               *(v for pair in item["proof"] for v in pair)))
        assert all(HEX.match(v) for pair in doc["count_proof"] for v in pair)
    for table in ("secret_ballots", "named_ballots", "poll_voters"):
        assert not [r for r in rows[table] if r["room_id"] == m.id], table
    # No room event names a voter's choice: the log holds the lifecycle and the board.
    ids = {uid(m, w) for w in voters}
    members = {uid(m, w) for w in ("d1", "d2", "d3")}
    for event in rows["room_events"]:
        data = json.loads(event["data"])
        if event["room_id"] != m.id or data.get("poll_id", poll["id"]) != poll["id"]:
            continue
        if event["kind"].startswith("board."):
            assert event["actor"] in members
        elif event["kind"].startswith(("poll.", "vote.")):
            assert event["kind"] in ("poll.created", "poll.opened", "poll.progress",
                                     "poll.closed", "poll.published"), event["kind"]
            # The chair, the server, or (the count) the board member who completed it.
            assert event["actor"] not in ids - members, event
    # The database's bytes themselves: no plaintext ballot (`"choices":[1`) in any page.
    # SQLite: the file and its WAL. PostgreSQL: every heap and TOAST page of the database,
    # dead tuples included, then the WAL written during the test (below).
    if "--database" not in server.backend_args:
        files = _database_files(Path(server.data_dir))
        assert "phonghop.db" in files  # and its -wal, while the server runs
    else:
        files = await heap_pages(server)
        assert "encrypted_ballots" in files and len(files["encrypted_ballots"]) >= 8192
        # the ciphertexts are there, readable: the check below would see a plaintext
        assert mine[0]["tracker"].encode() in b"".join(files.values())
    for name, raw in files.items():
        assert not PLAINTEXT.search(raw), name
    if pg_wal is not None:
        await _scan_wal(pg_wal, server, [r["tracker"] for r in mine])


async def _scan_wal(watch: WalWatch, server: ServerProcess, trackers: list[str]) -> None:
    """PostgreSQL's WAL from the start of the test to now, as its segment files hold it
    (what a base backup, an archive or a replica keeps): every record of the server's
    database, full-page images included, holds no plaintext ballot either."""
    args = server.backend_args
    database = args[args.index("--database") + 1].rsplit("/", 1)[1]
    try:
        records = await watch.read(database)
    except WalUnreadable as exc:
        pytest.skip(f"every other check passed, but the PostgreSQL WAL could not be "
                    f"read here: {exc}")
    wal = b"".join(r.data for r in records)
    # The scan sees the ballots: each one's tracker went through the WAL in clear.
    assert all(t.encode() in wal for t in trackers), "the ballots are not in the WAL read"
    for record in records:
        assert not PLAINTEXT.search(record.data), f"WAL record at {record.lsn:X}"


def _database_files(data_dir: Path) -> dict[str, bytes]:
    """The SQLite database file and its WAL, as bytes."""
    return {p.name: p.read_bytes() for p in data_dir.glob("phonghop.db*")}


async def test_an_encrypted_ballot_racing_the_close_is_counted_or_refused_never_lost(
    server: ServerProcess, open_ws: Any
) -> None:
    m = await make_meeting(server.base_url, delegates=24, invitees=0)
    draft = await create_secret(m, ("d1", "d2"), 2, eligibility="members")
    devices = await ceremony(m, draft)
    await poll_cmd(m, "chair", draft, "open")
    poll = await poll_as(m, "d1", draft["id"])
    voters = [f"d{i}" for i in range(1, 25)]
    sockets = []
    for w in voters:
        ws = await open_ws(m[w])
        await ws.join(m.id)
        sockets.append(ws)
    # Made on the devices beforehand: the race is the server's.
    ballots = [ballot(poll, uid(m, w), FOR if i % 2 else AGAINST) for i, w in enumerate(voters)]

    async def send_one(ws: WsClient, i: int) -> dict[str, Any]:
        await asyncio.sleep(0.003 * i)
        return await ws.command(m.id, "vote.cast", poll_id=poll["id"], ballot=ballots[i])

    racing = [asyncio.create_task(send_one(ws, i)) for i, ws in enumerate(sockets)]
    await asyncio.sleep(0.03)
    closed = await poll_cmd(m, "chair", poll, "close")
    answers = await asyncio.gather(*racing)
    acked = [a for a in answers if a["type"] == "ack"]
    refused = [a for a in answers if a["type"] == "rejected"]
    assert all(a["code"] == "poll_closed" for a in refused), refused
    assert len(acked) + len(refused) == 24
    assert closed["board"]["cast"] == len(acked)
    doc = await board_json(m, "d1", poll["id"])
    assert sorted(b["tracker"] for b in doc["ballots"]) == sorted(a["receipt"] for a in acked)
    await decrypt(m, poll["id"], devices, "d1", "d2")
    report = verify_board(await board_json(m, "d1", poll["id"]))
    assert report.status == BoardStatus.VERIFIED and report.voters == len(acked)


async def test_ballots_a_node_acknowledged_but_never_checked_are_checked_at_the_seal(
    server: ServerProcess, joined: Any
) -> None:
    """A node that acknowledged ballots and died before checking their proofs (the
    ballots written here straight into the box, as it left them): the close checks them,
    counts the valid one and takes out the forged one."""
    m = await make_meeting(server.base_url, delegates=4, invitees=0)
    await check_in(m, "chair", "d1", "d2", "d3", "d4")
    draft = await create_secret(m, ("d1", "d2"), 2)
    devices = await ceremony(m, draft)
    await poll_cmd(m, "chair", draft, "open")
    poll = await poll_as(m, "d1", draft["id"])
    checked = await cast(await joined(m, "d1"), m, poll, "d1", FOR)
    good = ballot(poll, uid(m, "d3"), AGAINST)
    forged = ballot(poll, uid(m, "d4"), FOR)
    forged["choices"][1]["proof"][0] = forged["choices"][1]["proof"][1]
    store = store_of(server)
    await store.open()
    try:
        fates, _ = await store.cast_encrypted(m.id, poll["id"], False, [
            EncryptedIn(uid(m, w), tracker_of(poll, doc), json.dumps(doc))
            for w, doc in (("d3", good), ("d4", forged))])
    finally:
        await store.close()
    assert fates == ["cast", "cast"]
    # Unchecked ballots are not on the board yet.
    await board_listing(m, "d2", poll["id"], [checked["receipt"]])
    closed = await poll_cmd(m, "chair", poll, "close")
    assert closed["board"]["cast"] == 2
    base = f"/api/meetings/{m.id}/polls/{poll['id']}"
    assert (await m["d4"].call("GET", base + "/me")).json()["voted"] is False
    assert (await m["d3"].call("GET", base + "/me")).json()["receipt"] == tracker_of(poll, good)
    await decrypt(m, poll["id"], devices, "d1", "d2")
    doc = await board_json(m, "d2", poll["id"])
    assert sorted(b["tracker"] for b in doc["ballots"]) == sorted(
        [checked["receipt"], tracker_of(poll, good)])
    report = verify_board(doc)
    assert report.status == BoardStatus.VERIFIED and report.counts == [1, 1, 0]


async def test_a_burst_is_checked_once_it_has_passed_without_waiting_for_the_close(
    server: ServerProcess, open_ws: Any
) -> None:
    """A hundred ballots at once, one forged: while they pour in the box checks one group
    of them at a time (server/intake.py), the rest once they have passed, without a close:
    the board lists every valid one, the forged one's voter is told, and the close counts
    the valid ones."""
    N = 100
    assert N > TRICKLE  # more than one group is held back
    m = await make_meeting(server.base_url, delegates=N, invitees=0)
    draft = await create_secret(m, ("d1", "d2"), 2, eligibility="members")
    devices = await ceremony(m, draft)
    await poll_cmd(m, "chair", draft, "open")
    poll = await poll_as(m, "d1", draft["id"])
    voters = [f"d{i}" for i in range(1, N + 1)]
    sockets = await asyncio.gather(*(open_ws(m[w]) for w in voters))
    await asyncio.gather(*(ws.join(m.id) for ws in sockets))
    ballots = [ballot(poll, uid(m, w), FOR if i % 3 else AGAINST) for i, w in enumerate(voters)]
    forged = 77
    ballots[forged]["choices"][0]["proof"][0] = ballots[forged]["choices"][0]["proof"][1]
    answers = await asyncio.gather(*(
        ws.command(m.id, "vote.cast", f"burst-{i}", poll_id=poll["id"], ballot=b)
        for i, (ws, b) in enumerate(zip(sockets, ballots, strict=True))))
    assert [a["type"] for a in answers] == ["ack"] * N  # acknowledged before any check
    out = await sockets[forged].until(
        lambda e: e["type"] == "ballot_refused" and e["id"] == f"burst-{forged}")
    assert_refusal(out, "invalid_ballot")
    valid = [a["receipt"] for i, a in enumerate(answers) if i != forged]
    await board_listing(m, "d3", poll["id"], valid)
    closed = await poll_cmd(m, "chair", poll, "close")
    assert closed["board"]["cast"] == N - 1
    await decrypt(m, poll["id"], devices, "d1", "d2")
    report = verify_board(await board_json(m, "d2", poll["id"]))
    against = len([i for i in range(N) if i % 3 == 0 and i != forged])
    assert report.status == BoardStatus.VERIFIED and report.counts == [N - 1 - against, against, 0]
