"""The fast verifiers (libsodium's, and libdecaf's where it is installed) give the
reference's answer on every ballot: honest ones of random polls, and the attacker's:
forged proofs, 2 or −1 in an option, a copy under another id, swapped or replaced points,
out-of-range scalars and broken JSON."""

from __future__ import annotations

import copy

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from phonghop.voting.secret import decaf
from phonghop.voting.secret.ballot import (
    BallotProblem,
    BallotRefusal,
    BallotRules,
    encrypt_ballot,
    parse_ballot,
    tracker,
    verify_ballot,
    verify_ballot_reference,
)
from phonghop.voting.secret.count import aggregate
from phonghop.voting.secret.fast import PollVerifier, add_sums, sum_choices, verifier_for
from phonghop.voting.secret.group import ORDER, G, Scalar, base_mul, random_scalar

from .kit import rng_seq
from .test_ballot import forge

KEY = base_mul(random_scalar())
_IDENTITY = "00" * 32


@st.composite
def polls(draw: st.DrawFn) -> tuple[BallotRules, list[int], str]:
    """A poll (k options, min…max) and an allowed choice of one voter."""
    k = draw(st.integers(1, 4))
    lo = draw(st.integers(0, k))
    hi = draw(st.integers(lo, k))
    count = draw(st.integers(lo, hi))
    picked = set(draw(st.permutations(range(k)))[:count])
    voter = str(draw(st.integers(0, 10**12)))
    context = draw(st.binary(min_size=32, max_size=32))
    return BallotRules(context, KEY, k, lo, hi), [int(m in picked) for m in range(k)], voter


def _scalar_text(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        Scalar(0).hex(), Scalar(1).hex(), Scalar(ORDER - 1).hex(), random_scalar().hex(),
        ORDER.to_bytes(32, "little").hex(),  # ℓ itself: not a scalar
        "ff" * 32, "AB" * 32, "ab" * 31, " " + "ab" * 31 + "a", "zz" * 32,
    ]))


def _point_text(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        _IDENTITY, G.hex(), base_mul(random_scalar()).hex(), KEY.hex(),
        "ff" * 31 + "7f",  # not canonical
        G.hex().upper(), "00" * 31, 12,
    ]))


def mutate(draw: st.DrawFn, doc: dict) -> dict:
    """One change an attacker (or a broken client) might make."""
    doc = copy.deepcopy(doc)
    m = draw(st.integers(0, len(doc["choices"]) - 1))
    choice = doc["choices"][m]
    kind = draw(st.sampled_from([
        "scalar", "bump", "point", "swap", "voter", "copy_proof", "shape", "count_proof",
    ]))
    if kind == "scalar":  # any value where a c or z stands
        proof = draw(st.sampled_from([choice["proof"], doc["count_proof"]]))
        pair = draw(st.sampled_from(proof))
        pair[draw(st.integers(0, 1))] = _scalar_text(draw)
    elif kind == "bump":  # a valid scalar, changed by one
        pair = draw(st.sampled_from([*choice["proof"], *doc["count_proof"]]))
        i = draw(st.integers(0, 1))
        pair[i] = (Scalar.from_hex(pair[i]) + Scalar(1)).hex()
    elif kind == "point":
        choice[draw(st.sampled_from(["alpha", "beta"]))] = _point_text(draw)
    elif kind == "swap":
        choice["alpha"], choice["beta"] = choice["beta"], choice["alpha"]
    elif kind == "voter":
        doc["voter"] = draw(st.sampled_from(["0", "1", "07", "-1", "", "x", 7, None]))
    elif kind == "copy_proof":  # another option's proof, or the count proof's pairs
        other = doc["choices"][draw(st.integers(0, len(doc["choices"]) - 1))]
        choice["proof"] = copy.deepcopy(draw(st.sampled_from(
            [other["proof"], doc["count_proof"][:2]])))
    elif kind == "shape":
        change = draw(st.sampled_from(["extra", "drop", "choices", "pair", "tuple", "list"]))
        if change == "extra":
            doc["note"] = 1
        elif change == "drop":
            choice.pop("proof")
        elif change == "choices":
            doc["choices"] = doc["choices"][:-1] or doc["choices"] * 2
        elif change == "pair":
            choice["proof"][0].append(choice["proof"][0][0])
        elif change == "tuple":
            choice["proof"] = tuple(choice["proof"])
        else:
            doc = [doc]  # type: ignore[assignment]
    else:  # the count proof: one pair more or less, or empty
        doc["count_proof"] = draw(st.sampled_from(
            [doc["count_proof"][:-1], [*doc["count_proof"], doc["count_proof"][0]], []]))
    return doc


def both(rules: BallotRules, doc: object) -> BallotRefusal | None:
    """The fast answer (the engine the server runs), after checking that the reference and
    each engine give the same one: libsodium's, and libdecaf's where libdecaf0 is installed
    (tests/voting/secret/test_decaf_verify.py adds what is particular to it)."""
    fast = verify_ballot(rules, doc)
    assert fast == verify_ballot_reference(rules, doc)
    assert PollVerifier(rules).verify(doc) == fast
    if decaf.AVAILABLE:
        assert decaf.DecafPollVerifier(rules).verify(doc) == fast
    return fast


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls())
def test_honest_ballots_are_accepted_by_both_paths(poll) -> None:  # type: ignore[no-untyped-def]
    rules, choices, voter = poll
    ballot = encrypt_ballot(rules, voter, choices)
    assert both(rules, ballot.to_json()) is None
    assert both(rules, ballot) is None  # the typed ballot too (the board's verifier)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls(), st.data())
def test_altered_ballots_get_the_same_refusal_from_both_paths(poll, data) -> None:  # type: ignore[no-untyped-def]
    rules, choices, voter = poll
    doc = encrypt_ballot(rules, voter, choices).to_json()
    got = both(rules, mutate(data.draw, doc))
    event(str(got))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls(), st.data())
def test_forged_ciphertexts_get_the_same_refusal_from_both_paths(poll, data) -> None:  # type: ignore[no-untyped-def]
    """Ciphertexts of 2, −1 or a sum outside min…max, proved with the honest prover as if
    they were allowed: the attack each proof exists to stop."""
    rules, _choices, voter = poll
    values = data.draw(st.lists(st.integers(-1, 2), min_size=rules.options,
                                max_size=rules.options))
    claims = [data.draw(st.integers(0, 1)) for _ in values]
    claimed = data.draw(st.integers(rules.minimum, rules.maximum))
    doc = forge(rules, voter, values, claims, claimed, rng_seq(bytes(8), voter))
    got = both(rules, doc)
    honest = values == claims and sum(values) == claimed
    assert (got is None) == honest


def test_a_copy_under_another_voter_and_identity_points() -> None:
    rules = BallotRules(bytes(range(32)), KEY, 2, 0, 1)
    doc = encrypt_ballot(rules, "7", [1, 0]).to_json()
    assert both(rules, {**doc, "voter": "8"}) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)
    zero = copy.deepcopy(doc)
    for choice in zero["choices"]:
        choice["alpha"] = choice["beta"] = _IDENTITY
    assert both(rules, zero) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)
    assert both(rules, "not a ballot") == BallotRefusal(BallotProblem.MALFORMED)
    # A poll whose key is the identity (no ceremony would give one): still the same answer.
    open_rules = BallotRules(bytes(32), base_mul(Scalar(0)), 1, 0, 1)
    ballot = encrypt_ballot(open_rules, "3", [1])
    assert both(open_rules, ballot.to_json()) is None


def test_the_poll_verifier_is_built_once_per_poll() -> None:
    rules = BallotRules(bytes(32), KEY, 3, 1, 2)
    assert verifier_for(rules) is verifier_for(BallotRules(bytes(32), KEY, 3, 1, 2))
    doc = encrypt_ballot(rules, "5", [0, 1, 1]).to_json()
    assert verifier_for(rules).verify(doc) is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls(), st.integers(0, 6), st.data())
def test_the_box_parses_a_ballot_to_its_tracker_and_sums_stored_ballots_as_the_reference(
    poll: tuple[BallotRules, list[int], str], n: int, data: st.DataObject
) -> None:
    """What the box does without the proofs: `receive` gives the reference tracker (or the
    reference parser's refusal), `sum_choices` the reference aggregate."""
    rules, choices, voter = poll
    made = [encrypt_ballot(rules, str(int(voter) + i), choices) for i in range(n)]
    verifier = verifier_for(rules)
    for b in made:
        assert verifier.receive(b.to_json()) == tracker(rules.context, b).hex()
    if made:
        broken = copy.deepcopy(made[0].to_json())
        broken["choices"][0]["alpha"] = broken["choices"][0]["alpha"].upper()
        assert verifier.receive(broken) == parse_ballot(broken, rules)
    stored = [orjson.dumps(b.to_json()).decode() for b in made]
    split = data.draw(st.integers(0, n))
    total = add_sums(sum_choices(stored[:split], rules.options),
                     sum_choices(stored[split:], rules.options))
    assert [(a.hex(), b.hex()) for a, b in total] == [
        (c.alpha.hex(), c.beta.hex()) for c in aggregate(made, rules.options)]
