"""A ballot: what the voter's device sends verifies, and each forgery an attacker would
send is refused with its typed reason: a forged proof, 2 or −1 in an option, too many or
too few choices, the wrong number of options, a copy under another voter's id, a ballot
made for another poll, and anything not in the one canonical JSON form."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonghop.voting.secret.ballot import (
    CHOICE_TAG,
    COUNT_TAG,
    Ballot,
    BallotProblem,
    BallotRefusal,
    BallotRules,
    encrypt_ballot,
    parse_ballot,
    tracker,
    tracker_display,
    verify_ballot,
)
from phonghop.voting.secret.elgamal import Ciphertext, encrypt
from phonghop.voting.secret.group import G, Rng, Scalar, base_mul, random_scalar, text, u32
from phonghop.voting.secret.proofs import Pair, prove_one_of

from .kit import poll_info

POLL = poll_info(n=1, t=1, options=("A", "B", "C"), minimum=1, maximum=2)
SECRET = random_scalar()
KEY = base_mul(SECRET)
RULES = POLL.rules(KEY)


def refusal(doc: object, rules: BallotRules = RULES) -> BallotRefusal | None:
    return verify_ballot(rules, doc)


def forge(rules: BallotRules, voter: str, values: list[int],
          claims: list[int] | None = None, claimed_count: int | None = None,
          rng: Rng = random_scalar) -> dict:
    """The ballot an attacker builds by hand: ciphertexts of any integers (−1, 2, …),
    proved with the honest prover's algorithm as if each held `claims[m]`."""
    claims = claims if claims is not None else [min(max(v, 0), 1) for v in values]
    rs = [rng() for _ in values]
    cts = [Ciphertext(base_mul(r), Scalar.reduce(v) * G + r * rules.key)
           for v, r in zip(values, rs, strict=True)]
    proofs = [tuple(prove_one_of(CHOICE_TAG, [rules.context, text(voter), u32(m)], rules.key,
                                 ct, [0, 1], claims[m], r, rng))
              for m, (ct, r) in enumerate(zip(cts, rs, strict=True))]
    total = Ciphertext(base_mul(sum(rs, Scalar(0))),
                       sum(rs, Scalar(0)) * rules.key + Scalar.reduce(sum(values)) * G)
    count = claimed_count if claimed_count is not None else min(
        max(sum(values), rules.minimum), rules.maximum)
    count_proof = prove_one_of(COUNT_TAG, [rules.context, text(voter), b""], rules.key, total,
                               rules.counts, count - rules.minimum, sum(rs, Scalar(0)), rng)
    return Ballot(voter, tuple(cts), tuple(proofs), tuple(count_proof)).to_json()


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=3, max_size=3).filter(lambda v: 1 <= sum(v) <= 2),
       st.integers(min_value=0, max_value=10**9))
def test_an_honest_ballot_verifies_and_decrypts_to_its_choices(choices: list[int],
                                                               voter_id: int) -> None:
    ballot = encrypt_ballot(RULES, str(voter_id), choices)
    doc = ballot.to_json()
    assert verify_ballot(RULES, ballot) is None
    assert refusal(doc) is None
    assert parse_ballot(doc, RULES) == ballot
    for ct, v in zip(ballot.choices, choices, strict=True):
        assert ct.beta - SECRET * ct.alpha == Scalar(v) * G


def test_the_device_refuses_to_make_an_invalid_ballot() -> None:
    for bad in ([1, 1, 1], [0, 0, 0], [2, 0, 0], [1, 0], [-1, 1, 1]):
        with pytest.raises(ValueError):
            encrypt_ballot(RULES, "7", bad)
    with pytest.raises(ValueError):
        encrypt_ballot(RULES, "07", [1, 0, 0])


def test_a_forged_proof_is_refused() -> None:
    doc = encrypt_ballot(RULES, "7", [1, 0, 0]).to_json()
    forged = copy.deepcopy(doc)
    c = Scalar.from_hex(forged["choices"][1]["proof"][0][0])
    forged["choices"][1]["proof"][0][0] = (c + Scalar(1)).hex()
    assert refusal(forged) == BallotRefusal(BallotProblem.CHOICE_PROOF, 1)
    forged = copy.deepcopy(doc)
    z = Scalar.from_hex(forged["count_proof"][1][1])
    forged["count_proof"][1][1] = (z + Scalar(1)).hex()
    assert refusal(forged) == BallotRefusal(BallotProblem.COUNT_PROOF)


@pytest.mark.parametrize("values", [[2, 0, 0], [-1, 1, 1], [1, 2, -1]])
def test_a_ballot_with_2_or_minus_1_in_an_option_is_refused(values: list[int]) -> None:
    """Two votes for A (or −1 for B to cancel someone's): the option's 0/1 proof fails
    whatever the attacker claims; the sum alone would have passed the count proof."""
    m = next(i for i, v in enumerate(values) if v not in (0, 1))
    for claim in (0, 1):
        claims = [min(max(v, 0), 1) for v in values]
        claims[m] = claim
        got = refusal(forge(RULES, "7", values, claims))
        assert got == BallotRefusal(BallotProblem.CHOICE_PROOF, m)


@pytest.mark.parametrize("values", [[1, 1, 1], [0, 0, 0]])
def test_too_many_or_too_few_choices_are_refused(values: list[int]) -> None:
    for claimed in (1, 2):  # min = 1, max = 2
        got = refusal(forge(RULES, "7", values, claimed_count=claimed))
        assert got == BallotRefusal(BallotProblem.COUNT_PROOF)


def test_the_wrong_number_of_options_is_refused() -> None:
    doc = encrypt_ballot(RULES, "7", [1, 0, 0]).to_json()
    assert refusal({**doc, "choices": doc["choices"][:2]}) == \
        BallotRefusal(BallotProblem.WRONG_CHOICES)
    assert refusal({**doc, "choices": [*doc["choices"], doc["choices"][0]]}) == \
        BallotRefusal(BallotProblem.WRONG_CHOICES)


def test_a_copied_ballot_under_another_voter_is_refused() -> None:
    """The attack on Helios's privacy: voter 8 resubmits voter 7's ballot as their own to
    learn 7's vote from the count. The proofs hash the voter's id."""
    doc = encrypt_ballot(RULES, "7", [0, 1, 1]).to_json()
    assert refusal({**doc, "voter": "8"}) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)
    # Re-randomising the ciphertexts (adding an encryption of 0) breaks the proofs too.
    r = random_scalar()
    moved = copy.deepcopy(doc)
    ct = Ciphertext.from_json({k: moved["choices"][0][k] for k in ("alpha", "beta")})
    shifted = ct + encrypt(KEY, 0, r)
    moved["choices"][0].update(shifted.to_json())
    assert refusal(moved) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)


def test_a_ballot_made_for_another_poll_is_refused() -> None:
    doc = encrypt_ballot(RULES, "7", [1, 0, 0]).to_json()
    other = poll_info(n=1, t=1, options=("A", "B", "C"), minimum=1, maximum=2,
                      uid="test-deployment/1/2").rules(KEY)
    assert refusal(doc, other) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)
    relabelled = poll_info(n=1, t=1, options=("B", "A", "C"), minimum=1,
                           maximum=2).rules(KEY)
    assert refusal(doc, relabelled) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)


@pytest.mark.parametrize("mutate, problem", [
    (lambda d: d.update(extra=1), BallotProblem.MALFORMED),
    (lambda d: d.pop("count_proof"), BallotProblem.MALFORMED),
    (lambda d: d["choices"][0].update(note="x"), BallotProblem.MALFORMED),
    (lambda d: d["choices"][0]["proof"].pop(), BallotProblem.MALFORMED),
    (lambda d: d["count_proof"].append(d["count_proof"][0]), BallotProblem.MALFORMED),
    (lambda d: d.update(voter="07"), BallotProblem.BAD_VOTER),
    (lambda d: d.update(voter="-7"), BallotProblem.BAD_VOTER),
    (lambda d: d.update(voter=7), BallotProblem.BAD_VOTER),
    (lambda d: d["choices"][0].update(alpha=d["choices"][0]["alpha"].upper()),
     BallotProblem.BAD_ENCODING),
    (lambda d: d["choices"][0].update(beta="ff" * 31 + "7f"), BallotProblem.BAD_ENCODING),
    (lambda d: d["count_proof"][0].__setitem__(0, "ff" * 32), BallotProblem.BAD_ENCODING),
])
def test_anything_but_the_canonical_form_is_refused(mutate, problem) -> None:  # type: ignore[no-untyped-def]
    doc = encrypt_ballot(RULES, "7", [1, 0, 0]).to_json()
    mutate(doc)
    got = refusal(doc)
    assert got is not None and got.problem == problem
    assert refusal("not a ballot") == BallotRefusal(BallotProblem.MALFORMED)


def test_the_tracker_names_the_whole_ballot() -> None:
    ballot = encrypt_ballot(RULES, "7", [1, 0, 0])
    value = tracker(RULES.context, ballot)
    assert len(value) == 32
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", tracker_display(value))
    assert tracker_display(value).replace("-", "") == value.hex()[:16]
    assert tracker(RULES.context, ballot) == value
    again = encrypt_ballot(RULES, "7", [1, 0, 0])
    assert tracker(RULES.context, again) != value  # fresh randomness, fresh tracker
    bumped = Ballot(ballot.voter, ballot.choices, ballot.choice_proofs,
                    (*ballot.count_proof[:-1], Pair(ballot.count_proof[-1].c,
                                                    ballot.count_proof[-1].z + Scalar(1))))
    assert tracker(RULES.context, bumped) != value
