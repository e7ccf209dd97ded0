"""The browser's secret-ballot code (static/secret_ballot.js) and the server's
(voting/secret/) interoperate bit for bit: with the spec's test rng both produce the same
bytes, and whatever one side makes the other verifies (docs/BALLOT_CRYPTO.md)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("phonghop.voting.secret.board",
                    reason="the server's voting/secret/ is not here")

from phonghop.voting.secret.ballot import (
    BallotProblem,
    encrypt_ballot,
    parse_ballot,
    tracker,
    verify_ballot,
)
from phonghop.voting.secret.board import (
    BoardMember,
    BoardStatus,
    PollInfo,
    build_board,
    verify_board,
)
from phonghop.voting.secret.ceremony import (
    Complaint,
    ComplaintReason,
    EncryptedShare,
    MemberKey,
    MemberSecrets,
    Round1,
    Verdict,
    check_round1,
    judge_complaint,
    make_complaint,
    public_key,
    round1,
    round2,
    round3,
    verification_keys,
)
from phonghop.voting.secret.count import Partial, aggregate, partial_decrypt, verify_partials
from phonghop.voting.secret.group import Scalar, base_mul, hash_to_scalar, text, u32
from tests.voting.secret.js.oracle import ROOT, JsOracle

SEED = b"phonghop/js-cross"
POLL = {"poll_uid": "test-deployment/9/2", "title": "Bầu thư ký cuộc họp",
        "options": ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Dung", "Võ Em"],
        "min": 0, "max": 2, "n": 4, "t": 3}
VOTES = {"7": [1, 0, 0, 0, 1], "8": [0, 0, 0, 0, 0], "9": [0, 1, 1, 0, 0], "10": [0, 0, 1, 0, 0]}
COUNTS = [1, 1, 2, 0, 1]


class Stream:
    """The spec's test rng: draw n of stream `label` is Hs("phonghop/test/rng/v1", seed,
    str(label), u32(n))."""

    def __init__(self, seed: bytes, label: str) -> None:
        self.seed, self.label, self.n = seed, label, 0

    def __call__(self) -> Scalar:
        self.n += 1
        return hash_to_scalar("phonghop/test/rng/v1", self.seed, text(self.label),
                              u32(self.n - 1))


@pytest.fixture(scope="module")
def js() -> Iterator[JsOracle]:
    oracle = JsOracle()
    yield oracle
    oracle.close()


@pytest.fixture(scope="module")
def poll() -> PollInfo:
    return PollInfo.from_json(POLL)


@pytest.fixture(scope="module")
def ceremony(js: JsOracle) -> dict[str, Any]:
    return js.call("ceremony", poll=POLL, seed=SEED.hex())


@pytest.fixture(scope="module")
def round1s(ceremony: dict[str, Any]) -> list[Round1]:
    return [Round1.from_json(m, POLL["t"]) for m in ceremony["members"]]


@pytest.fixture(scope="module")
def js_ballots(js: JsOracle, ceremony: dict[str, Any]) -> dict[str, Any]:
    return {voter: js.call("ballot", poll=POLL, members=ceremony["members"], voter=voter,
                           choices=choices, seed=SEED.hex())
            for voter, choices in VOTES.items()}


# ---- the same bytes from the same draws --------------------------------------------------

def test_seeded_ceremony_is_byte_identical(poll: PollInfo, ceremony: dict[str, Any]) -> None:
    messages, secrets = [], {}
    for i in range(1, poll.n + 1):
        secrets[i], message = round1(poll.ceremony, i, poll.t, Stream(SEED, f"member/{i}/round1"))
        messages.append(message)
    assert [m.to_json() for m in messages] == ceremony["members"]
    sent = [s.to_json() for i in secrets
            for s in round2(poll.ceremony, secrets[i], messages,
                            Stream(SEED, f"member/{i}/round2"))]
    assert sent == ceremony["envelopes"]
    key = public_key(messages)
    assert key.hex() == ceremony["public_key"]
    assert poll.context(key).hex() == ceremony["context"]
    assert [x.hex() for x in verification_keys(messages).values()] == \
        ceremony["verification_keys"]


def test_seeded_ballots_and_partials_are_byte_identical(
        js: JsOracle, poll: PollInfo, ceremony: dict[str, Any], round1s: list[Round1],
        js_ballots: dict[str, Any]) -> None:
    rules = poll.rules(public_key(round1s))
    for voter, choices in VOTES.items():
        mine = encrypt_ballot(rules, voter, choices, Stream(SEED, f"ballot/{voter}"))
        assert mine.to_json() == js_ballots[voter]["ballot"]
        assert tracker(rules.context, mine).hex() == js_ballots[voter]["tracker"]
    ballots = [encrypt_ballot(rules, v, c, Stream(SEED, f"ballot/{v}")) for v, c in VOTES.items()]
    totals = aggregate(ballots, len(POLL["options"]))
    x_keys = verification_keys(round1s)
    for j in (1, 4):
        member = MemberKey(j, Scalar.from_hex(ceremony["secrets"][str(j)]), x_keys[j])
        partials = partial_decrypt(rules.context, member, totals, Stream(SEED, f"partial/{j}"))
        theirs = js.call("partials", poll=POLL, members=ceremony["members"], index=j,
                         secret=ceremony["secrets"][str(j)],
                         ballots=[b.to_json() for b in ballots], seed=SEED.hex())
        assert theirs == {"index": j, "partials": [p.to_json() for p in partials]}


# ---- what the browser makes, the server verifies -----------------------------------------

def test_js_ceremony_verifies_in_python(poll: PollInfo, ceremony: dict[str, Any],
                                        round1s: list[Round1]) -> None:
    assert all(check_round1(poll.ceremony, poll.n, poll.t, m) is None for m in round1s)
    assert ceremony["complaints"] == []


def test_mixed_ceremony_of_browsers_and_python(js: JsOracle, poll: PollInfo) -> None:
    """Members 1 and 3 on JS devices, 2 and 4 in Python: the shares they box for each
    other open on the other side, and everyone ends with xⱼ·G = Xⱼ."""
    cer = poll.ceremony
    js_side = {i: js.call("round1", poll=POLL, index=i) for i in (1, 3)}
    py_side = {i: round1(cer, i, poll.t) for i in (2, 4)}
    published = sorted([*(r["published"] for r in js_side.values()),
                        *(m.to_json() for _, m in py_side.values())], key=lambda m: m["index"])
    messages = [Round1.from_json(m, poll.t) for m in published]
    envelopes = [*(e for r in js_side.values()
                   for e in js.call("round2", poll=POLL, secret=r["secret"], members=published)),
                 *(s.to_json() for secret, _ in py_side.values()
                   for s in round2(cer, secret, messages))]
    x_keys = verification_keys(messages)
    for j, r in js_side.items():
        out = js.call("round3", poll=POLL, secret=r["secret"], members=published,
                      envelopes=[e for e in envelopes if e["to"] == j])
        assert out["complaints"] == []
        assert base_mul(Scalar.from_hex(out["secret"])) == x_keys[j]
    for j, (secret, _) in py_side.items():
        inbox = {e["from"]: EncryptedShare.from_json(e) for e in envelopes if e["to"] == j}
        key = round3(cer, secret, messages, inbox)
        assert isinstance(key, MemberKey), key
        assert key.verification_key == x_keys[j]


def test_complaints_are_judged_alike_on_both_sides(js: JsOracle, poll: PollInfo,
                                                  ceremony: dict[str, Any],
                                                  round1s: list[Round1]) -> None:
    """A JS complaint is judged by Python and a Python one by JS, with the same verdict:
    true (a tampered box) against the dealer, false (a good share) refused, forged invalid."""
    cer = poll.ceremony
    good = next(e for e in ceremony["envelopes"] if e["from"] == 2 and e["to"] == 1)
    box = bytearray.fromhex(good["box"])
    box[3] ^= 4
    bad = {**good, "box": box.hex()}
    js_secret = ceremony["round1_secrets"][0]
    py_secret = MemberSecrets(1, Scalar.from_hex(js_secret["e"]),
                              tuple(Scalar.from_hex(a) for a in js_secret["coefficients"]))
    for envelope, verdict in ((bad, Verdict.DEALER_AT_FAULT), (good, Verdict.COMPLAINT_FALSE)):
        share = EncryptedShare.from_json(envelope)
        made_in_js = js.call("make_complaint", poll=POLL, secret=js_secret, envelope=envelope,
                             dealer=2, reason="mismatch")
        made_in_py = make_complaint(cer, py_secret, share, 2, ComplaintReason.MISMATCH)
        for made in (made_in_js, made_in_py.to_json()):
            assert judge_complaint(cer, round1s[0], round1s[1], share,
                                   Complaint.from_json(made)) == verdict
            assert js.call("judge_complaint", poll=POLL, complainer=ceremony["members"][0],
                           dealer=ceremony["members"][1], envelope=envelope,
                           complaint=made) == str(verdict)
        forged = {**made_in_js, "key": ceremony["members"][3]["transport_key"]}
        assert judge_complaint(cer, round1s[0], round1s[1], share,
                               Complaint.from_json(forged)) == Verdict.INVALID
        assert js.call("judge_complaint", poll=POLL, complainer=ceremony["members"][0],
                       dealer=ceremony["members"][1], envelope=envelope,
                       complaint=forged) == "invalid"


def test_js_ballots_verify_in_python(poll: PollInfo, round1s: list[Round1],
                                     js_ballots: dict[str, Any], js: JsOracle,
                                     ceremony: dict[str, Any]) -> None:
    rules = poll.rules(public_key(round1s))
    for made in js_ballots.values():
        assert verify_ballot(rules, made["ballot"]) is None
        parsed = parse_ballot(made["ballot"], rules)
        assert tracker(rules.context, parsed).hex() == made["tracker"]
    # And the forgeries the JS side refuses, Python refuses too.
    members = ceremony["members"]
    two = js.call("cheat_ballot", poll=POLL, members=members, voter="31",
                  values=[2, 0, 0, 0, 0], claim=[1, 0, 0, 0, 0])
    assert verify_ballot(rules, two).problem == BallotProblem.CHOICE_PROOF
    three = js.call("cheat_ballot", poll=POLL, members=members, voter="32",
                    values=[1, 1, 1, 0, 0], claim=[1, 1, 1, 0, 0])
    assert verify_ballot(rules, three).problem == BallotProblem.COUNT_PROOF
    copied = {**copy.deepcopy(js_ballots["9"]["ballot"]), "voter": "33"}
    assert verify_ballot(rules, copied).problem == BallotProblem.CHOICE_PROOF


def test_python_ballots_verify_in_js(js: JsOracle, poll: PollInfo, round1s: list[Round1],
                                     ceremony: dict[str, Any]) -> None:
    rules = poll.rules(public_key(round1s))
    for voter, choices in VOTES.items():
        ballot = encrypt_ballot(rules, voter, choices)
        assert js.call("verify_ballot", poll=POLL, members=ceremony["members"],
                       ballot=ballot.to_json())
        assert js.call("tracker", poll=POLL, members=ceremony["members"],
                       ballot=ballot.to_json()) == tracker(rules.context, ballot).hex()


def test_js_partials_verify_in_python(js: JsOracle, poll: PollInfo, ceremony: dict[str, Any],
                                      round1s: list[Round1],
                                      js_ballots: dict[str, Any]) -> None:
    rules = poll.rules(public_key(round1s))
    cast = [b["ballot"] for b in js_ballots.values()]
    totals = aggregate([parse_ballot(b, rules) for b in cast], len(POLL["options"]))
    x_keys = verification_keys(round1s)
    for j in range(1, poll.n + 1):
        share = js.call("partials", poll=POLL, members=ceremony["members"], index=j,
                        secret=ceremony["secrets"][str(j)], ballots=cast)
        partials = [Partial.from_json(p) for p in share["partials"]]
        assert verify_partials(rules.context, j, x_keys[j], totals, partials) == []
        # A partial for the wrong option fails there.
        shifted = [partials[1], *partials[1:]]
        assert verify_partials(rules.context, j, x_keys[j], totals, shifted) == [0]


# ---- the board: each side verifies the other's ----------------------------------------------

@pytest.fixture(scope="module")
def js_board(js: JsOracle, ceremony: dict[str, Any], js_ballots: dict[str, Any]) -> Any:
    cast = [b["ballot"] for b in js_ballots.values()]
    shares = [js.call("partials", poll=POLL, members=ceremony["members"], index=j,
                      secret=ceremony["secrets"][str(j)], ballots=cast) for j in (2, 3, 4)]
    return js.call("board", poll=POLL, members=ceremony["members"], ballots=cast, shares=shares)


def test_js_board_verifies_in_python(js_board: dict[str, Any]) -> None:
    assert js_board["result"] == {"counts": COUNTS, "voters": 4, "combined_from": [2, 3, 4]}
    report = verify_board(js_board)
    assert report.status == BoardStatus.VERIFIED, report.to_json()
    assert report.counts == COUNTS


def test_python_board_verifies_in_js(js: JsOracle, js_board: dict[str, Any]) -> None:
    poll = PollInfo.from_json(POLL)
    round1s = [Round1.from_json(m, poll.t) for m in js_board["members"]]
    members = [BoardMember(r, m["user_id"], m["name"])
               for r, m in zip(round1s, js_board["members"], strict=True)]
    rules = poll.rules(public_key(round1s))
    ballots = [parse_ballot(e["ballot"], rules) for e in js_board["ballots"]]
    shares = {s["index"]: [Partial.from_json(p) for p in s["partials"]]
              for s in js_board["shares"]}
    doc = build_board(poll, members, ballots, True, shares)
    assert doc == js_board  # the same document, byte for byte once serialised
    open_doc = build_board(poll, members, ballots, False)
    assert js.call("verify_board", board=open_doc)["status"] == "open"
    void = build_board(poll, members, ballots, True, {4: shares[4]})
    assert js.call("verify_board", board=void)["status"] == "void"


@pytest.mark.parametrize("how", [
    "count_raised", "ballot_dropped", "ballot_replaced", "option_relabelled",
    "combined_from_changed", "share_of_another_member", "voter_twice",
])
def test_tampered_board_refused_by_both(js: JsOracle, js_board: dict[str, Any],
                                        how: str) -> None:
    b = copy.deepcopy(js_board)
    if how == "count_raised":
        b["result"]["counts"][0] += 1
    elif how == "ballot_dropped":
        b["ballots"].pop(0)
    elif how == "ballot_replaced":
        b["ballots"][0]["ballot"]["choices"][1] = b["ballots"][1]["ballot"]["choices"][1]
    elif how == "option_relabelled":
        b["poll"]["options"].reverse()
    elif how == "combined_from_changed":
        b["result"]["combined_from"] = [2, 3, 1]
    elif how == "share_of_another_member":
        b["shares"][0]["partials"] = copy.deepcopy(b["shares"][1]["partials"])
    else:
        b["ballots"][1]["ballot"]["voter"] = b["ballots"][0]["ballot"]["voter"]
    assert verify_board(b).status == BoardStatus.INVALID
    assert js.call("verify_board", board=b)["status"] == "invalid"


EXAMPLE = ROOT / "examples" / "verify_poll.py"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/verify_poll.py is not here")
def test_independent_verifier_checks_the_js_board(js_board: dict[str, Any],
                                                  tmp_path: Path) -> None:
    """examples/verify_poll.py (nothing of phonghop, only the spec) agrees with both."""
    def run(board: dict[str, Any]) -> int:
        path = tmp_path / "board.json"
        path.write_text(json.dumps(board, ensure_ascii=False), encoding="utf-8")
        return subprocess.run([sys.executable, str(EXAMPLE), str(path)], capture_output=True,
                              timeout=120).returncode

    assert run(js_board) == 0
    tampered = copy.deepcopy(js_board)
    tampered["result"]["counts"][2] -= 1
    assert run(tampered) == 1
    assert run({**js_board, "aggregate": None, "shares": None, "result": None}) == 3
