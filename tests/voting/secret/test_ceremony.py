"""The key ceremony: any n in 1…5 and every t give a key that any t members can use and
t − 1 cannot; a tampered share is a proven complaint naming its dealer, and a false
complaint or a forged one is told apart by anyone; a round-1 message without
valid proofs (the rogue-key attack) or with a transport key anyone could open is refused."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonghop.voting.secret.ceremony import (
    Complaint,
    ComplaintReason,
    EncryptedShare,
    MemberKey,
    Round1,
    Verdict,
    check_round1,
    encrypt_share,
    judge_complaint,
    make_complaint,
    round1,
    round3,
)
from phonghop.voting.secret.count import combine, counts, lagrange_at_zero
from phonghop.voting.secret.group import IDENTITY, G, Scalar, base_mul

from .kit import cast, decrypt_shares, poll_info, run_ceremony


@st.composite
def sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(min_value=1, max_value=5))
    return n, draw(st.integers(min_value=1, max_value=n))


@settings(max_examples=25, deadline=None)
@given(sizes(), st.binary(min_size=1, max_size=8))
def test_any_t_members_count_and_t_minus_one_cannot(size: tuple[int, int], seed: bytes) -> None:
    n, t = size
    ceremony = run_ceremony(poll_info(n=n, t=t, options=("A", "B"), minimum=0, maximum=2), seed)
    # Each member's key matches the public verification key anyone computes.
    for j, key in ceremony.keys.items():
        assert key.verification_key == base_mul(key.secret) == ceremony.x_keys[j]
    # The poll key is the interpolation at 0 of any t members' keys (nobody computed it).
    for group in itertools.combinations(ceremony.keys, t):
        lam = lagrange_at_zero(list(group))
        secret = Scalar(0)
        for j in group:
            secret = secret + lam[j] * ceremony.keys[j].secret
        assert base_mul(secret) == ceremony.key
    ballots = cast(ceremony, {"1": [1, 0], "2": [1, 1], "3": [0, 0]})
    totals, shares = decrypt_shares(ceremony, ballots, list(ceremony.keys))
    results = {tuple(counts(totals, {j: shares[j] for j in group}, len(ballots)) or ())
               for group in itertools.combinations(shares, t)}
    assert results == {(2, 1)}
    if t > 1:
        for group in itertools.combinations(shares, t - 1):
            assert counts(totals, {j: shares[j] for j in group}, len(ballots)) is None
            masked = combine(totals, {j: [p.d for p in shares[j]] for j in group})
            assert masked != [G + G, G]  # not the counts (2, 1)·G



def test_a_tampered_share_is_a_complaint_naming_its_dealer() -> None:
    ceremony = run_ceremony(poll_info(n=3, t=2))
    cer = ceremony.poll.ceremony
    inbox = ceremony.inbox(3)
    # The server (or anyone on the way) flips one bit of dealer 1's box to member 3.
    box = bytearray(inbox[1].box)
    box[5] ^= 1
    inbox[1] = dataclasses.replace(inbox[1], box=bytes(box))
    # Dealer 2 sends a share that decrypts but is not f₂(3): it does not match A₂,ₖ.
    wrong = ceremony.secrets[2].share_for(3) + Scalar(1)
    inbox[2] = encrypt_share(cer, 2, 3, wrong, ceremony.round1[2].transport_key)
    outcome = round3(cer, ceremony.secrets[3], ceremony.round1, inbox)
    assert isinstance(outcome, list)
    assert [(c.complainer, c.dealer, c.reason) for c in outcome] == [
        (3, 1, ComplaintReason.UNDECRYPTABLE), (3, 2, ComplaintReason.MISMATCH)]
    doc = outcome[0].to_json()
    assert {k: doc[k] for k in ("from", "dealer", "reason")} == {
        "from": 3, "dealer": 1, "reason": "undecryptable"}
    assert Complaint.from_json(doc) == outcome[0]
    # Both complaints are proven: anyone judges them against their dealers.
    for c in outcome:
        assert judge_complaint(cer, ceremony.round1[2], ceremony.round1[c.dealer - 1],
                               inbox[c.dealer], c) == Verdict.DEALER_AT_FAULT


_FAULTS = ("bit flip", "wrong share", "other ceremony", "bad R")


@settings(max_examples=20, deadline=None)
@given(sizes().filter(lambda s: s[0] >= 2), st.data())
def test_a_complaint_is_judged_from_public_data(size: tuple[int, int], data: st.DataObject
                                               ) -> None:
    """A true complaint is judged against the dealer, a false one (the share is good) is
    refused, and a forged proof or key proves nothing."""
    n, t = size
    ceremony = run_ceremony(poll_info(n=n, t=t), data.draw(st.binary(min_size=1, max_size=4)))
    cer = ceremony.poll.ceremony
    j = data.draw(st.integers(1, n))
    i = data.draw(st.integers(1, n).filter(lambda i: i != j))
    me, dealer = ceremony.round1[j - 1], ceremony.round1[i - 1]
    good = ceremony.inbox(j)[i]
    reason = data.draw(st.sampled_from(ComplaintReason))
    # A false complaint: the share opens and matches, whatever the reason given.
    false = make_complaint(cer, ceremony.secrets[j], good, i, reason)
    assert judge_complaint(cer, me, dealer, good, false) == Verdict.COMPLAINT_FALSE
    # A true one, whatever the fault.
    fault = data.draw(st.sampled_from(_FAULTS))
    if fault == "bit flip":
        box = bytearray(good.box)
        box[data.draw(st.integers(0, 47))] ^= 1 << data.draw(st.integers(0, 7))
        bad = dataclasses.replace(good, box=bytes(box))
    elif fault == "wrong share":
        wrong = ceremony.secrets[i].share_for(j) + Scalar(data.draw(st.integers(1, 9)))
        bad = encrypt_share(cer, i, j, wrong, me.transport_key)
    elif fault == "other ceremony":
        other = poll_info(n=n, t=t, uid="test-deployment/1/2").ceremony
        bad = encrypt_share(other, i, j, ceremony.secrets[i].share_for(j), me.transport_key)
    else:
        bad = dataclasses.replace(good, r=type(good.r)(b"\xff" * 32))
    outcome = round3(cer, ceremony.secrets[j], ceremony.round1, {**ceremony.inbox(j), i: bad})
    assert isinstance(outcome, list) and [c.dealer for c in outcome] == [i]
    true = outcome[0]
    assert judge_complaint(cer, me, dealer, bad, true) == Verdict.DEALER_AT_FAULT
    if fault == "bad R":
        return
    # Forgeries: a key that is not eⱼ·R (to blame an honest dealer), a proof for another
    # key or another envelope, or no proof at all, prove nothing.
    other_key = dataclasses.replace(false, key=false.key + G)
    assert judge_complaint(cer, me, dealer, good, other_key) == Verdict.INVALID
    if bad.r != good.r:  # a proof binds R (the same R has the same S: the same verdict)
        assert judge_complaint(cer, me, dealer, good,
                               dataclasses.replace(false, proof=true.proof)) == Verdict.INVALID
    assert judge_complaint(cer, me, dealer, good,
                           dataclasses.replace(false, key=None, proof=None)) == Verdict.INVALID
    # Nor does a complaint by someone else than the envelope's recipient.
    stranger = dataclasses.replace(false, complainer=i)
    assert judge_complaint(cer, me, dealer, good, stranger) == Verdict.INVALID


def test_a_share_readdressed_or_missing_does_not_decrypt() -> None:
    ceremony = run_ceremony(poll_info(n=3, t=2))
    cer = ceremony.poll.ceremony
    # Member 2's share from dealer 1, relabelled for member 3: the key and the associated
    # data name the recipient, so member 3 cannot open it.
    moved = dataclasses.replace(ceremony.inbox(2)[1], recipient=3)
    outcome = round3(cer, ceremony.secrets[3], ceremony.round1, {**ceremony.inbox(3), 1: moved})
    assert isinstance(outcome, list) and outcome[0].dealer == 1
    inbox = ceremony.inbox(3)
    del inbox[2]
    outcome = round3(cer, ceremony.secrets[3], ceremony.round1, inbox)
    assert isinstance(outcome, list)
    assert [(c.dealer, c.reason) for c in outcome] == [(2, ComplaintReason.UNDECRYPTABLE)]
    # A share whose R is not a canonical point is a complaint too, not a crash.
    bad_r = dataclasses.replace(ceremony.inbox(3)[1], r=type(ceremony.key)(b"\xff" * 32))
    outcome = round3(cer, ceremony.secrets[3], ceremony.round1, {**ceremony.inbox(3), 1: bad_r})
    assert isinstance(outcome, list) and outcome[0].dealer == 1


def test_a_share_from_another_ceremony_does_not_decrypt() -> None:
    poll = poll_info(n=2, t=2)
    ceremony = run_ceremony(poll)
    other = poll_info(n=2, t=2, uid="test-deployment/1/2").ceremony
    share = ceremony.secrets[1].share_for(2)
    replayed = encrypt_share(other, 1, 2, share, ceremony.round1[1].transport_key)
    outcome = round3(poll.ceremony, ceremony.secrets[2], ceremony.round1, {1: replayed})
    assert isinstance(outcome, list) and outcome[0].reason == ComplaintReason.UNDECRYPTABLE


def test_round_one_without_valid_proofs_is_refused() -> None:
    poll = poll_info(n=3, t=2)
    cer = poll.ceremony
    _secrets, honest = round1(cer, 2, 2)
    assert check_round1(cer, 3, 2, honest) is None
    # Rogue key: member 2 replaces its first commitment by one chosen after seeing the
    # others' (here: minus member 1's), keeping the old proof since it cannot make one.
    _s1, first = round1(cer, 1, 2)
    rogue = dataclasses.replace(honest, commitments=(
        base_mul(Scalar(5)) - first.commitments[0], honest.commitments[1]))
    assert check_round1(cer, 3, 2, rogue) == "coefficient proof 0 fails"
    # The same message replayed under another index, or into another ceremony.
    assert check_round1(cer, 3, 2, dataclasses.replace(honest, index=3)) is not None
    other = poll_info(n=3, t=2, uid="elsewhere").ceremony
    assert check_round1(other, 3, 2, honest) is not None
    assert check_round1(cer, 3, 2, dataclasses.replace(honest, transport_key=IDENTITY)) == \
        "transport key is the identity"
    assert check_round1(cer, 3, 2, dataclasses.replace(honest, index=4)) == "index out of range"
    assert check_round1(cer, 3, 3, honest) is not None  # t commitments expected


def test_round_one_json_round_trip_and_strict_parse() -> None:
    cer = poll_info().ceremony
    _s, message = round1(cer, 1, 2)
    doc = message.to_json()
    assert Round1.from_json(doc, 2) == message
    with pytest.raises(ValueError):
        Round1.from_json(doc, 3)
    with pytest.raises(ValueError):
        Round1.from_json({**doc, "transport_key": doc["transport_key"].upper()}, 2)
    with pytest.raises(ValueError):
        Round1.from_json({**doc, "index": "1"}, 2)


def test_encrypted_share_json_round_trip() -> None:
    ceremony = run_ceremony(poll_info(n=2, t=1))
    share = ceremony.round2[1][0]
    doc = share.to_json()
    assert set(doc) == {"from", "to", "r", "box"} and len(doc["box"]) == 96
    assert EncryptedShare.from_json(doc) == share
    key = round3(ceremony.poll.ceremony, ceremony.secrets[2], ceremony.round1,
                 {1: EncryptedShare.from_json(doc)})
    assert isinstance(key, MemberKey)
