"""An encrypted secret poll driven from the bench: the counting board's members (their key
ceremony and partial decryptions, with `voting.secret`'s client functions, over HTTP as
each member), the voters' ballots made before the burst (`secret_ballots.ballots_for`, on
every core) with their trackers, and the public board checked with `verify_board`.

`vote_burst.py --secret` uses it; the protocol is docs/PROTOCOL.md ("board.") and
docs/BALLOT_CRYPTO.md section 5.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import BenchError, http_request, log
from secret_ballots import Choose, ballots_for  # puts this checkout's voting/ first on sys.path

from phonghop.voting.secret.ballot import Ballot, BallotRules, parse_ballot, tracker
from phonghop.voting.secret.board import verify_board
from phonghop.voting.secret.ceremony import (
    EncryptedShare,
    MemberKey,
    MemberSecrets,
    Round1,
    ceremony_id,
    round1,
    round2,
    round3,
)
from phonghop.voting.secret.count import partial_decrypt
from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import Point

THRESHOLD = 2


@dataclass
class Member:
    """One board member's device: its account, round-1 secrets, then its key share."""

    user_id: int
    token: str
    secrets: MemberSecrets | None = None
    key: MemberKey | None = field(default=None, repr=False)


def _ceremony(board: dict[str, Any]) -> bytes:
    return ceremony_id(board["poll_uid"], len(board["members"]), board["threshold"])


def _accepted(board: dict[str, Any]) -> list[Round1]:
    return [Round1.from_json(m, board["threshold"]) for m in board["round1"].values()]


class Board:
    """The counting board of one poll, its members' devices played by the bench."""

    def __init__(self, http: str, meeting: int, members: Sequence[tuple[int, str]]) -> None:
        self.http = http
        self.meeting = meeting
        self.members = [Member(uid, token) for uid, token in members]
        self.poll: dict[str, Any] | None = None

    def settings(self) -> dict[str, Any]:
        """The `board` argument of `poll.create`."""
        return {"members": [m.user_id for m in self.members], "threshold": THRESHOLD}

    async def poll_as(self, member: Member, poll_id: int) -> dict[str, Any]:
        """The poll as the member's device sees it in the room view."""
        status, body = await http_request("GET", f"{self.http}/api/meetings/{self.meeting}",
                                       member.token)
        if status != 200 or not isinstance(body, dict):
            raise BenchError(f"GET meeting as {member.user_id}: {status} {str(body)[:300]}")
        for poll in body["room"]["polls"]:
            if poll["id"] == poll_id:
                return poll
        raise BenchError(f"poll {poll_id} not in member {member.user_id}'s room view")

    async def send(self, member: Member, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """A room command from the member's device over HTTP; the answer, or BenchError."""
        status, body = await http_request(
            "POST", f"{self.http}/api/meetings/{self.meeting}/commands", member.token,
            {"name": name, "args": args})
        if status != 200:
            raise BenchError(f"{name} from member {member.user_id}: {status} {str(body)[:300]}")
        return body if isinstance(body, dict) else {}

    async def ceremony(self, poll_id: int) -> dict[str, Any]:
        """Every member's device runs the three rounds (as in tests/server/encrypted.py);
        returns the ready poll as the first member sees it."""
        for step in ("round1", "round2", "round3"):
            for member in self.members:
                seen = await self.poll_as(member, poll_id)
                board = seen["board"]
                index = board["members"].index(member.user_id) + 1
                if step == "round1":
                    member.secrets, message = round1(_ceremony(board), index,
                                                     board["threshold"])
                    await self.send(member, "board.round1",
                                    {"poll_id": poll_id, "message": message.to_json()})
                elif step == "round2":
                    assert member.secrets is not None
                    shares = round2(_ceremony(board), member.secrets, _accepted(board))
                    await self.send(member, "board.shares", {
                        "poll_id": poll_id, "shares": [s.to_json() for s in shares]})
                else:
                    assert member.secrets is not None
                    mine = {int(dealer): EncryptedShare.from_json(s)
                            for dealer, shares in board["shares"].items()
                            for s in shares if s["to"] == index}
                    found = round3(_ceremony(board), member.secrets, _accepted(board), mine)
                    if not isinstance(found, MemberKey):
                        raise BenchError(f"member {index} complains: {found}")
                    member.key = found
                    await self.send(member, "board.confirm", {"poll_id": poll_id})
        ready = await self.poll_as(self.members[0], poll_id)
        if ready["board"]["status"] != "ready":
            raise BenchError(f"the board is {ready['board']['status']!r} after the ceremony")
        self.poll = ready
        return ready

    def rules(self) -> BallotRules:
        """What the ballots are made and checked against, from the ready poll."""
        assert self.poll is not None
        board = self.poll["board"]
        return BallotRules(bytes.fromhex(board["context"]), Point.from_hex(board["public_key"]),
                           len(self.poll["options"]), self.poll["min_choices"],
                           self.poll["max_choices"])

    async def partials(self, poll_id: int, aggregate: Sequence[dict[str, str]],
                       count: int = THRESHOLD) -> list[float]:
        """The first `count` members decrypt the aggregate (from `poll.closed`) and send
        their `board.partial` at once; each one's answer time (epoch ms)."""
        assert self.poll is not None
        context = bytes.fromhex(self.poll["board"]["context"])
        totals = [Ciphertext(Point.from_hex(a["alpha"]), Point.from_hex(a["beta"]))
                  for a in aggregate]

        async def one(member: Member) -> float:
            assert member.key is not None
            mine = partial_decrypt(context, member.key, totals)
            await self.send(member, "board.partial",
                            {"poll_id": poll_id, "partials": [p.to_json() for p in mine]})
            return time.time() * 1000

        return list(await asyncio.gather(*(one(m) for m in self.members[:count])))


@dataclass
class Prepared:
    """Every voter's ballot for a poll, made before the burst."""

    option_ids: list[int]
    by_voter: dict[int, dict[str, Any]]  # user id -> {choice, ballot, receipt}
    seconds: float


def _choose(seed: str, options: int) -> Choose:
    """One option per voter (motions: min = max = 1), drawn from the voter's id."""
    def choose(voter: str) -> list[int]:
        pick = random.Random(f"{seed}/{voter}").randrange(options)
        return [int(m == pick) for m in range(options)]
    return choose


def prepare(rules: BallotRules, option_ids: list[int], voters: Sequence[int],
            seed: str) -> Prepared:
    """Every voter's ballot (made on every core; no cache: a poll's context is new every
    run) with its choice as an option id and its tracker (the receipt the ack must carry)."""
    began = time.monotonic()
    casts = ballots_for(rules, [str(v) for v in voters], _choose(seed, rules.options),
                        cache=None)
    out: dict[int, dict[str, Any]] = {}
    for v in voters:
        cast = casts[str(v)]
        parsed = parse_ballot(cast.ballot, rules)
        if not isinstance(parsed, Ballot):
            raise BenchError(f"voter {v}'s own ballot does not parse: {parsed}")
        picked = [option_ids[m] for m, bit in enumerate(cast.choices) if bit]
        out[v] = {"choice": picked[0] if picked else None, "ballot": cast.ballot,
                  "receipt": tracker(rules.context, parsed).hex()}
    return Prepared(option_ids, out, time.monotonic() - began)


def write_for_generator(path: Path, prepared: Prepared, voters: Sequence[int]) -> None:
    """A generator's ballots, in its voters' order (vote.mjs `ballotsFile`)."""
    path.write_text(json.dumps([prepared.by_voter[v] for v in voters]))


async def check_board(http: str, meeting: int, poll_id: int, token: str) -> dict[str, Any]:
    """Download the public board and verify it (`verify_board`): the figures."""
    began = time.monotonic()
    status, doc = await http_request(
        "GET", f"{http}/api/meetings/{meeting}/polls/{poll_id}/board.json", token, wait_s=120)
    download_s = time.monotonic() - began
    if status != 200 or not isinstance(doc, dict):
        raise BenchError(f"GET board.json: {status} {str(doc)[:300]}")
    size = len(json.dumps(doc))
    began_cpu, began = time.process_time(), time.monotonic()
    report = await asyncio.to_thread(verify_board, doc)
    verify_s, verify_cpu = time.monotonic() - began, time.process_time() - began_cpu
    log(f"board.json ({size / 1e6:.1f} MB, {download_s:.2f} s): {report.status} in "
        f"{verify_s:.2f} s ({verify_cpu:.2f} s CPU); counts {report.counts}")
    return {"board_status": str(report.status), "board_counts": report.counts,
            "board_ballots": len(doc.get("ballots") or []),
            "board_problems": [p.to_json() for p in report.problems[:5]],
            "board_mb": round(size / 1e6, 2), "board_download_s": round(download_s, 2),
            "board_verify_s": round(verify_s, 2), "board_verify_cpu_s": round(verify_cpu, 2)}
