"""The browser's secret-ballot cryptography (static/secret_ballot.js) run in Node: the key
ceremony, ballots, partial decryptions and the board verifier, and every forgery the
verifiers refuse (docs/BALLOT_CRYPTO.md)."""

from __future__ import annotations

import copy
import hashlib
import itertools
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest

from tests.voting.secret.js.oracle import JsOracle, JsRefused

SEED = b"phonghop/js".hex()
POLL = {"poll_uid": "test-deployment/7/3", "title": "Chọn địa điểm hội nghị",
        "options": ["Hà Nội", "Huế", "Đà Nẵng"], "min": 1, "max": 2, "n": 3, "t": 2}
VOTES = {"11": [1, 0, 0], "12": [1, 1, 0], "13": [0, 0, 1], "14": [0, 1, 1], "15": [1, 0, 1]}
COUNTS = [3, 2, 3]


@pytest.fixture(scope="module")
def js() -> Iterator[JsOracle]:
    oracle = JsOracle()
    yield oracle
    oracle.close()


@pytest.fixture(scope="module")
def ceremony(js: JsOracle) -> dict[str, Any]:
    return js.call("ceremony", poll=POLL, seed=SEED)


@pytest.fixture(scope="module")
def members(ceremony: dict[str, Any]) -> list[dict[str, Any]]:
    return ceremony["members"]


@pytest.fixture(scope="module")
def ballots(js: JsOracle, members: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """voter -> {ballot, tracker, display}, made by the voters' devices."""
    return {voter: js.call("ballot", poll=POLL, members=members, voter=voter, choices=choices,
                           seed=SEED)
            for voter, choices in VOTES.items()}


@pytest.fixture(scope="module")
def shares(js: JsOracle, ceremony: dict[str, Any], ballots: dict[str, Any]) -> dict[int, Any]:
    """Every member's partial decryptions of the aggregate, by member index."""
    cast = [b["ballot"] for b in ballots.values()]
    return {j: js.call("partials", poll=POLL, members=ceremony["members"], index=j,
                       secret=ceremony["secrets"][str(j)], ballots=cast, seed=SEED)
            for j in range(1, POLL["n"] + 1)}


@pytest.fixture(scope="module")
def board(js: JsOracle, members: list[Any], ballots: dict[str, Any],
          shares: dict[int, Any]) -> dict[str, Any]:
    """The published record after the count, with members 1 and 3's shares."""
    return js.call("board", poll=POLL, members=members,
                   ballots=[b["ballot"] for b in ballots.values()],
                   shares=[shares[1], shares[3]])


def framed(tag: str, *parts: bytes) -> bytes:
    def frame(x: bytes) -> bytes:
        return len(x).to_bytes(4, "big") + x
    text = unicodedata.normalize("NFC", tag).encode()
    return frame(text) + b"".join(frame(p) for p in parts)


# ---- encodings and the ceremony --------------------------------------------------------

def test_ceremony_context_is_the_framed_sha256_of_the_spec(js: JsOracle) -> None:
    # A decomposed "ệ" (e + two combining marks) hashes as its NFC form.
    uid = unicodedata.normalize("NFD", "triển-khai/1/2")
    expected = hashlib.sha256(framed(
        "phonghop/ceremony/v1", unicodedata.normalize("NFC", uid).encode(),
        (3).to_bytes(4, "big"), (2).to_bytes(4, "big"))).hexdigest()
    assert js.call("ceremony_context", poll_uid=uid, n=3, t=2) == expected


def test_board_of_more_than_15_or_a_threshold_above_n_is_refused(js: JsOracle) -> None:
    for n, t in [(16, 2), (3, 4), (3, 0)]:
        with pytest.raises(JsRefused) as refused:
            js.call("ceremony_context", poll_uid="x", n=n, t=t)
        assert refused.value.code == "bad_board"


def test_ceremony_gives_every_member_a_secret_and_one_public_key(
        js: JsOracle, ceremony: dict[str, Any]) -> None:
    assert ceremony["complaints"] == []
    assert all(ceremony["secrets"][str(j)] for j in range(1, 4))
    assert all(js.call("verify_round1", poll=POLL, member=m) for m in ceremony["members"])
    # Each member's envelope goes to each other member, and only the commitments and
    # transport keys are public: the round-2 shares are boxed (48 bytes each).
    assert sorted((e["from"], e["to"]) for e in ceremony["envelopes"]) == [
        (i, j) for i in range(1, 4) for j in range(1, 4) if i != j]
    assert all(len(e["box"]) == 96 for e in ceremony["envelopes"])
    assert len({m["transport_key"] for m in ceremony["members"]}) == 3


def test_seeded_ceremony_is_reproducible(js: JsOracle, ceremony: dict[str, Any]) -> None:
    again = js.call("ceremony", poll=POLL, seed=SEED)
    assert again["members"] == ceremony["members"]
    assert again["envelopes"] == ceremony["envelopes"]
    assert again["public_key"] == ceremony["public_key"]


def test_rogue_key_without_a_valid_proof_is_refused(
        js: JsOracle, ceremony: dict[str, Any]) -> None:
    # Member 3 publishes a first commitment it chose after seeing the others' (it cannot
    # know its logarithm, so it reuses another member's proof).
    rogue = copy.deepcopy(ceremony["members"][2])
    rogue["commitments"][0] = ceremony["members"][0]["commitments"][0]
    assert not js.call("verify_round1", poll=POLL, member=rogue)
    members = [*ceremony["members"][:2], rogue]
    with pytest.raises(JsRefused) as refused:
        js.call("poll", poll=POLL, members=members)
    assert refused.value.code == "bad_members"


def test_member_device_catches_a_board_listing_someone_else_in_its_place(
        js: JsOracle, ceremony: dict[str, Any], board: dict[str, Any]) -> None:
    own = ceremony["members"][1]  # what member 2's tablet published
    assert js.call("own_entry_listed", members=board["members"], own=own)
    # The server ran the ceremony with a member of its own making under index 2 (the
    # board still verifies: names and user ids are bound by no proof).
    substitute = js.call("round1", poll=POLL, index=2)["published"]
    members = [board["members"][0], {**board["members"][1], **substitute},
               board["members"][2]]
    assert not js.call("own_entry_listed", members=members, own=own)


def test_ceremony_refuses_to_go_on_with_an_unproved_member(
        js: JsOracle, ceremony: dict[str, Any]) -> None:
    members = copy.deepcopy(ceremony["members"])
    members[2]["proofs"][0] = members[2]["proofs"][1]
    with pytest.raises(JsRefused) as refused:
        js.call("round2", poll=POLL, secret=ceremony["round1_secrets"][0], members=members)
    assert refused.value.code == "bad_members"


@pytest.mark.parametrize("tamper", ["identity_transport_key", "index_out_of_range",
                                    "missing_commitment", "uppercase_hex"])
def test_malformed_round1_is_refused(js: JsOracle, ceremony: dict[str, Any],
                                     tamper: str) -> None:
    member = copy.deepcopy(ceremony["members"][1])
    if tamper == "identity_transport_key":
        member["transport_key"] = "00" * 32  # a key anybody could open
    elif tamper == "index_out_of_range":
        member["index"] = 4
    elif tamper == "missing_commitment":
        member["commitments"].pop()
    else:
        member["commitments"][0] = member["commitments"][0].upper()
    assert not js.call("verify_round1", poll=POLL, member=member)


def _judge(js: JsOracle, ceremony: dict[str, Any], complaint: dict[str, Any],
           envelope: dict[str, Any]) -> str:
    members = ceremony["members"]
    return js.call("judge_complaint", poll=POLL, complainer=members[complaint["from"] - 1],
                   dealer=members[complaint["dealer"] - 1], envelope=envelope,
                   complaint=complaint)


def _without_proof(complaints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: c[k] for k in ("from", "dealer", "reason")} for c in complaints]


def test_tampered_share_box_is_a_complaint_against_its_dealer(
        js: JsOracle, ceremony: dict[str, Any]) -> None:
    secret = ceremony["round1_secrets"][1]  # member 2's
    envelopes = [e for e in ceremony["envelopes"] if e["to"] == 2]
    box = envelopes[0]["box"]
    envelopes[0] = {**envelopes[0], "box": box[:10] + ("0" if box[10] != "0" else "1") + box[11:]}
    out = js.call("round3", poll=POLL, secret=secret, members=ceremony["members"],
                  envelopes=envelopes)
    assert out["secret"] is None and _without_proof(out["complaints"]) == [
        {"from": 2, "dealer": envelopes[0]["from"], "reason": "undecryptable"}]
    # Its revealed key and proof let anyone judge it: the dealer is at fault.
    assert _judge(js, ceremony, out["complaints"][0], envelopes[0]) == "dealer_at_fault"


def test_share_off_its_dealers_commitments_is_a_complaint(
        js: JsOracle, ceremony: dict[str, Any]) -> None:
    # Dealer 3 sends member 1 a well-encrypted share that is not f₃(1).
    wrong = js.call("seal_share", poll=POLL, **{"from": 3}, to=1,
                    transport_key=ceremony["members"][0]["transport_key"], share="05" + "00" * 31)
    envelopes = [e for e in ceremony["envelopes"] if e["to"] == 1 and e["from"] != 3] + [wrong]
    out = js.call("round3", poll=POLL, secret=ceremony["round1_secrets"][0],
                  members=ceremony["members"], envelopes=envelopes)
    assert out["secret"] is None and _without_proof(out["complaints"]) == [
        {"from": 1, "dealer": 3, "reason": "mismatch"}]
    assert _judge(js, ceremony, out["complaints"][0], wrong) == "dealer_at_fault"


def test_missing_share_is_a_complaint(js: JsOracle, ceremony: dict[str, Any]) -> None:
    envelopes = [e for e in ceremony["envelopes"] if e["to"] == 1 and e["from"] != 2]
    out = js.call("round3", poll=POLL, secret=ceremony["round1_secrets"][0],
                  members=ceremony["members"], envelopes=envelopes)
    assert out["complaints"] == [{"from": 1, "dealer": 2, "reason": "undecryptable",
                                  "key": None, "proof": None}]


def test_a_false_or_forged_complaint_is_told_apart(js: JsOracle,
                                                   ceremony: dict[str, Any]) -> None:
    """A member who complains about an honest dealer is found out (its own key opens a good
    share); a key of its own making, or a proof moved to another envelope, proves nothing."""
    good = next(e for e in ceremony["envelopes"] if e["from"] == 2 and e["to"] == 1)
    false = js.call("make_complaint", poll=POLL, secret=ceremony["round1_secrets"][0],
                    envelope=good, dealer=2, reason="mismatch")
    assert _judge(js, ceremony, false, good) == "complaint_false"
    forged = {**false, "key": ceremony["members"][2]["transport_key"]}
    assert _judge(js, ceremony, forged, good) == "invalid"
    other = next(e for e in ceremony["envelopes"] if e["from"] == 3 and e["to"] == 1)
    assert _judge(js, ceremony, {**false, "dealer": 3}, other) == "invalid"
    assert _judge(js, ceremony, {**false, "proof": None}, good) == "invalid"
    bad_r = {**good, "r": "ff" * 32}  # no point: the dealer's fault, visible to anyone
    assert _judge(js, ceremony, {**false, "key": None, "proof": None}, bad_r) == (
        "dealer_at_fault")


# ---- ballots ---------------------------------------------------------------------------

def test_ballots_verify_and_show_a_short_tracker(
        js: JsOracle, members: list[Any], ballots: dict[str, Any]) -> None:
    for voter, made in ballots.items():
        assert made["ballot"]["voter"] == voter
        assert js.call("verify_ballot", poll=POLL, members=members, ballot=made["ballot"])
        tracker = made["tracker"]
        assert len(tracker) == 64
        assert made["display"] == "-".join(tracker[i:i + 4] for i in range(0, 16, 4))
        assert js.call("tracker", poll=POLL, members=members, ballot=made["ballot"]) == tracker
    # Same choices, different voters: nothing in common (no tracker, no ciphertext).
    assert len({b["tracker"] for b in ballots.values()}) == len(ballots)


def test_ballot_with_the_systems_randomness_verifies_and_differs(
        js: JsOracle, members: list[Any]) -> None:
    one = js.call("ballot", poll=POLL, members=members, voter="21", choices=[0, 1, 0])
    two = js.call("ballot", poll=POLL, members=members, voter="21", choices=[0, 1, 0])
    assert one["tracker"] != two["tracker"]
    assert js.call("verify_ballot", poll=POLL, members=members, ballot=one["ballot"])
    assert js.call("verify_ballot", poll=POLL, members=members, ballot=two["ballot"])


@pytest.mark.parametrize("choices", [[0, 0, 0], [1, 1, 1], [2, 0, 0], [1, 0]])
def test_device_refuses_to_build_a_ballot_outside_the_rules(
        js: JsOracle, members: list[Any], choices: list[int]) -> None:
    with pytest.raises(JsRefused) as refused:
        js.call("ballot", poll=POLL, members=members, voter="30", choices=choices)
    assert refused.value.code == "bad_choices"


def test_value_two_in_an_option_is_refused(js: JsOracle, members: list[Any]) -> None:
    # Two votes for Hà Nội in one ballot, the sum still within max.
    forged = js.call("cheat_ballot", poll=POLL, members=members, voter="31",
                     values=[2, 0, 0], claim=[1, 0, 0])
    assert not js.call("verify_ballot", poll=POLL, members=members, ballot=forged)


def test_negative_option_is_refused(js: JsOracle, members: list[Any]) -> None:
    # +2 for one option paid by −1 for another: the sum is 1, only the choices lie.
    forged = js.call("cheat_ballot", poll=POLL, members=members, voter="31",
                     values=[2, 0, -1], claim=[1, 0, 0])
    assert not js.call("verify_ballot", poll=POLL, members=members, ballot=forged)


def test_too_many_choices_are_refused(js: JsOracle, members: list[Any]) -> None:
    # Each option honestly 0 or 1, but three choices where max is 2.
    forged = js.call("cheat_ballot", poll=POLL, members=members, voter="32",
                     values=[1, 1, 1], claim=[1, 1, 1])
    assert not js.call("verify_ballot", poll=POLL, members=members, ballot=forged)


def test_blank_ballot_below_min_is_refused(js: JsOracle, members: list[Any]) -> None:
    forged = js.call("cheat_ballot", poll=POLL, members=members, voter="33",
                     values=[0, 0, 0], claim=[0, 0, 0])
    assert not js.call("verify_ballot", poll=POLL, members=members, ballot=forged)


def test_copied_ballot_under_another_voter_is_refused(
        js: JsOracle, members: list[Any], ballots: dict[str, Any]) -> None:
    copied = copy.deepcopy(ballots["12"]["ballot"])
    copied["voter"] = "99"  # the copier's own id: the proofs are bound to voter 12
    assert not js.call("verify_ballot", poll=POLL, members=members, ballot=copied)


def test_ballot_of_another_poll_is_refused(
        js: JsOracle, members: list[Any], ballots: dict[str, Any]) -> None:
    other = {**POLL, "poll_uid": "test-deployment/7/4"}
    other_members = js.call("ceremony", poll=other, seed=SEED)["members"]
    assert not js.call("verify_ballot", poll=other, members=other_members,
                       ballot=ballots["11"]["ballot"])
    # Same key and members, relabelled options: the context changes, the proofs fail.
    relabelled = {**POLL, "options": ["Huế", "Hà Nội", "Đà Nẵng"]}
    # (the ceremony binds poll_uid, n and t only: the members' round 1 still verifies)
    assert not js.call("verify_ballot", poll=relabelled, members=members,
                       ballot=ballots["11"]["ballot"])


@pytest.mark.parametrize("tamper", [
    "extra_field", "uppercase_hex", "non_canonical_point", "scalar_not_reduced",
    "voter_leading_zero", "voter_number", "short_count_proof", "missing_choice",
    "swapped_ciphertexts",
])
def test_malformed_ballot_is_refused(js: JsOracle, members: list[Any],
                                     ballots: dict[str, Any], tamper: str) -> None:
    ballot = copy.deepcopy(ballots["14"]["ballot"])
    if tamper == "extra_field":
        ballot["note"] = "x"
    elif tamper == "uppercase_hex":
        ballot["choices"][0]["alpha"] = ballot["choices"][0]["alpha"].upper()
    elif tamper == "non_canonical_point":
        ballot["choices"][0]["alpha"] = "ff" * 32
    elif tamper == "scalar_not_reduced":
        c = int.from_bytes(bytes.fromhex(ballot["count_proof"][0][0]), "little")
        ballot["count_proof"][0][0] = (c + 2**252 + 27742317777372353535851937790883648493
                                       ).to_bytes(32, "little").hex()
    elif tamper == "voter_leading_zero":
        ballot["voter"] = "014"
    elif tamper == "voter_number":
        ballot["voter"] = 14
    elif tamper == "short_count_proof":
        ballot["count_proof"].pop()
    elif tamper == "missing_choice":
        ballot["choices"].pop()
    else:
        ballot["choices"][0], ballot["choices"][1] = ballot["choices"][1], ballot["choices"][0]
    assert not js.call("verify_ballot", poll=POLL, members=members, ballot=ballot)


# ---- the count and the board -------------------------------------------------------------

def test_any_t_members_decrypt_the_same_counts(
        js: JsOracle, members: list[Any], ballots: dict[str, Any],
        shares: dict[int, Any]) -> None:
    cast = [b["ballot"] for b in ballots.values()]
    for j, share in shares.items():
        assert share["index"] == j and len(share["partials"]) == 3
        assert js.call("verify_share", poll=POLL, members=members, ballots=cast, share=share)
    for group in itertools.combinations(sorted(shares), 2):
        out = js.call("combine", poll=POLL, members=members, ballots=cast,
                      shares=[shares[j] for j in group])
        assert out == {"counts": COUNTS, "combined_from": list(group)}
    assert js.call("combine", poll=POLL, members=members, ballots=cast,
                   shares=[shares[2]]) is None  # fewer than t: the poll is void


def test_board_verifies_and_gives_the_counts(board: dict[str, Any], js: JsOracle) -> None:
    assert [e["tracker"] for e in board["ballots"]] == sorted(e["tracker"]
                                                               for e in board["ballots"])
    assert board["result"] == {"counts": COUNTS, "voters": 5, "combined_from": [1, 3]}
    assert js.call("verify_board", board=board) == {"status": "verified", "errors": [],
                                                    "counts": COUNTS}


def test_poll_without_ballots_counts_zero(js: JsOracle, ceremony: dict[str, Any]) -> None:
    members = ceremony["members"]
    shares = [js.call("partials", poll=POLL, members=members, index=j,
                      secret=ceremony["secrets"][str(j)], ballots=[]) for j in (2, 3)]
    empty = js.call("board", poll=POLL, members=members, ballots=[], shares=shares)
    assert empty["result"] == {"counts": [0, 0, 0], "voters": 0, "combined_from": [2, 3]}
    assert js.call("verify_board", board=empty)["status"] == "verified"


def test_open_or_void_poll_has_no_result(js: JsOracle, board: dict[str, Any],
                                         shares: dict[int, Any]) -> None:
    still_open = {**board, "aggregate": None, "shares": None, "result": None}
    assert js.call("verify_board", board=still_open)["status"] == "open"
    void = {**board, "shares": [shares[2]], "result": None}
    assert js.call("verify_board", board=void)["status"] == "void"
    # With t valid shares the result must be there.
    assert js.call("verify_board", board={**board, "result": None})["errors"] == [
        "result: missing with t shares"]


def test_wrong_partial_decryption_is_refused(
        js: JsOracle, members: list[Any], ballots: dict[str, Any], shares: dict[int, Any],
        board: dict[str, Any]) -> None:
    cast = [b["ballot"] for b in ballots.values()]
    # Member 3 publishes option 1's partial for option 0 (shifting the counts).
    shifted = copy.deepcopy(shares[3])
    shifted["partials"][0] = shifted["partials"][1]
    # Member 3 passes off member 2's share as its own.
    borrowed = {**copy.deepcopy(shares[2]), "index": 3}
    for wrong in (shifted, borrowed):
        assert not js.call("verify_share", poll=POLL, members=members, ballots=cast,
                           share=wrong)
        tampered = {**board, "shares": [shares[1], wrong]}
        check = js.call("verify_board", board=tampered)
        assert check["status"] == "invalid"
        assert check["errors"] == ["share 3: partial decryption proof"]


def board_tampered(board: dict[str, Any], how: str) -> dict[str, Any]:
    b = copy.deepcopy(board)
    if how == "count_raised":
        b["result"]["counts"][1] += 1
    elif how == "voters_inflated":
        b["result"]["voters"] += 1
    elif how == "ballot_dropped":  # the aggregate still counts it
        b["ballots"].pop(2)
    elif how == "ballot_replaced":
        b["ballots"][0]["ballot"]["choices"][0] = b["ballots"][1]["ballot"]["choices"][0]
    elif how == "tracker_altered":
        b["ballots"][0]["tracker"] = "0" * 64
    elif how == "ballots_out_of_order":
        b["ballots"].reverse()
    elif how == "ballot_twice":
        b["ballots"].append(copy.deepcopy(b["ballots"][0]))
        b["ballots"].sort(key=lambda e: e["tracker"])
    elif how == "option_relabelled":
        b["poll"]["options"][0], b["poll"]["options"][1] = (b["poll"]["options"][1],
                                                            b["poll"]["options"][0])
    elif how == "title_changed":
        b["poll"]["title"] = "Câu hỏi khác"
    elif how == "public_key_replaced":
        b["public_key"] = b["members"][0]["commitments"][0]
    elif how == "combined_from_changed":
        b["result"]["combined_from"] = [1, 2]
    elif how == "member_commitment_swapped":
        b["members"][0]["commitments"].reverse()
    elif how == "member_field_added":
        b["members"][1]["note"] = "x"
    elif how == "shares_out_of_order":
        b["shares"].reverse()
    elif how == "result_without_t_shares":
        b["shares"] = b["shares"][:1]
    else:
        raise AssertionError(how)
    return b


@pytest.mark.parametrize(("how", "error"), [
    ("count_raised", "result: counts"),
    ("voters_inflated", "result: voters"),
    ("ballot_dropped", "aggregate: not the sum of the ballots"),
    ("ballot_replaced", "ballot 0: invalid"),
    ("tracker_altered", "ballot 0: tracker"),
    ("ballots_out_of_order", "ballot 1: not in tracker order"),
    ("ballot_twice", "ballot 1: voter 12 twice"),
    ("option_relabelled", "context: does not follow from the poll"),
    ("title_changed", "context: does not follow from the poll"),
    ("public_key_replaced", "public_key: not Σ Aᵢ,₀"),
    ("combined_from_changed", "result: combined_from"),
    ("member_commitment_swapped", "member 1: round 1 refused"),
    ("member_field_added", "malformed: members[1]"),
    ("shares_out_of_order", "share 1: out of member order"),
    ("result_without_t_shares", "result: fewer than t shares (void)"),
])
def test_tampered_board_is_caught(js: JsOracle, board: dict[str, Any], how: str,
                                  error: str) -> None:
    check = js.call("verify_board", board=board_tampered(board, how))
    assert check["status"] == "invalid"
    assert check["errors"][0] == error
    assert check["counts"] is None


def test_second_ballot_of_one_voter_is_caught(js: JsOracle, members: list[Any],
                                              board: dict[str, Any]) -> None:
    # A server that counts voter 12 twice, with two valid ballots.
    again = js.call("ballot", poll=POLL, members=members, voter="12", choices=[1, 1, 0])
    stuffed = copy.deepcopy(board)
    stuffed["ballots"].append({"tracker": again["tracker"], "ballot": again["ballot"]})
    stuffed["ballots"].sort(key=lambda e: e["tracker"])
    check = js.call("verify_board", board=stuffed)
    assert check["status"] == "invalid"
    assert any(e.endswith("voter 12 twice") for e in check["errors"])


def test_not_a_board_is_unreadable(js: JsOracle, board: dict[str, Any]) -> None:
    for doc in ({**board, "version": "phonghop-board/2"}, [], "board"):
        assert js.call("verify_board", board=doc)["status"] == "not_a_board"
