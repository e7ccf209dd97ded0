"""What is particular to the libdecaf verifier (tests/voting/secret/test_fast_verify.py runs
its honest, altered and forged ballots through every engine): it gives the answer of the
reference and of the libsodium verifier on bad points (the identity, non-canonical and
top-bit encodings, random bytes), decodes what libsodium decodes, handles identity keys.
And each engine is the one that runs when it is asked for, in worker processes too."""

from __future__ import annotations

import asyncio
import copy
import os

import orjson
import pysodium
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from phonghop.voting.secret import decaf, fast
from phonghop.voting.secret.ballot import (
    BallotProblem,
    BallotRefusal,
    BallotRules,
    encrypt_ballot,
    verify_ballot,
    verify_ballot_reference,
)
from phonghop.voting.secret.batch import BatchVerifier
from phonghop.voting.secret.fast import ENGINE_VARIABLE, PollVerifier, engine, verifier_for
from phonghop.voting.secret.group import G, Point, Scalar, base_mul, random_scalar

from .test_fast_verify import KEY, polls

pytestmark = pytest.mark.skipif(not decaf.AVAILABLE, reason="libdecaf0 is not installed")

_P = 2**255 - 19
_HIGH_G = G.encode()[:31] + bytes([G.encode()[31] | 0x80])  # libsodium 1.0.18 takes it


def _answer(verify: object, rules: BallotRules, doc: object) -> object:
    """A verifier's answer, or the type of what it raised (the batch refuses those)."""
    try:
        return verify(rules, doc)  # type: ignore[operator]
    except Exception as exc:  # compared below, not swallowed
        return type(exc)


def all_three(rules: BallotRules, doc: object) -> object:
    """The libdecaf answer, after checking that the reference and libsodium give it."""
    fast = _answer(lambda r, d: PollVerifier(r).verify(d), rules, doc)
    mine = _answer(lambda r, d: decaf.DecafPollVerifier(r).verify(d), rules, doc)
    assert mine == fast == _answer(verify_ballot_reference, rules, doc)
    return mine


def _point_text(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        "00" * 32, G.hex(), base_mul(random_scalar()).hex(), KEY.hex(),
        "ff" * 31 + "7f", (_P + 1).to_bytes(32, "little").hex(),  # not canonical
        (_P - 2).to_bytes(32, "little").hex(),  # negative: not an encoding
        _HIGH_G.hex(), "00" * 31 + "80",  # the top bit set (the identity's: libsodium raises)
        draw(st.binary(min_size=32, max_size=32)).hex(), G.hex().upper(), 12,
    ]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls(), st.data())
def test_bad_points_get_the_same_answer_from_every_verifier(poll, data) -> None:  # type: ignore[no-untyped-def]
    rules, choices, voter = poll
    doc = copy.deepcopy(encrypt_ballot(rules, voter, choices).to_json())
    for _ in range(data.draw(st.integers(1, 2))):
        m = data.draw(st.integers(0, rules.options - 1))
        doc["choices"][m][data.draw(st.sampled_from(["alpha", "beta"]))] = _point_text(
            data.draw)
    event(str(all_three(rules, doc)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**256 - 1).map(lambda n: n.to_bytes(32, "little")),
    st.integers(0, 40).map(lambda n: ((_P + n) % 2**256).to_bytes(32, "little")),
    st.builds(lambda: pysodium.crypto_core_ristretto255_random()),
))
def test_libdecaf_decodes_what_libsodium_does_except_the_top_bit(data: bytes) -> None:
    """Below the top bit the libraries agree on what is a point, and libdecaf encodes it
    back to the same bytes; a set top bit libsodium 1.0.18 ignores, libdecaf refuses (the
    verifier hands those ballots to libsodium)."""
    lib = decaf._lib
    assert lib is not None
    point = decaf._Arena(decaf._POINT)
    decoded = lib.decaf_255_point_decode(point.base, data, decaf._YES) == decaf._SUCCESS
    if data[31] & 0x80:
        assert not decoded
        return
    assert decoded == (pysodium.sodium.crypto_core_ristretto255_is_valid_point(data) == 1)
    if decoded:
        out = decaf._Arena(32)
        lib.decaf_255_point_encode(out.base, point.base)
        assert bytes(out.data[out.offset:out.offset + 32]) == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls(), st.integers(0, 5), st.data())
def test_the_aggregate_on_libdecaf_is_libsodiums(poll, n: int, data) -> None:  # type: ignore[no-untyped-def]
    """What the seal counts: the sums of the box's ballots, the same on both engines, and
    a value libdecaf does not decode (a set top bit) gets libsodium's sum or error."""
    rules, choices, voter = poll
    stored = [orjson.dumps(encrypt_ballot(rules, str(int(voter) + i), choices).to_json())
              for i in range(n)]
    assert decaf.sum_choices(stored, rules.options) == fast.sum_choices(stored, rules.options)
    odd = copy.deepcopy(orjson.loads(stored[0])) if stored else None
    if odd is not None:
        m = data.draw(st.integers(0, rules.options - 1))
        key = data.draw(st.sampled_from(["alpha", "beta"]))
        odd["choices"][m][key] = _point_text(data.draw) if data.draw(st.booleans()) else \
            _HIGH_G.hex()
        mixed = [orjson.dumps(odd), *stored[1:]]
        assert _answer(lambda _, d: decaf.sum_choices(d, rules.options), rules, mixed) == \
            _answer(lambda _, d: fast.sum_choices(d, rules.options), rules, mixed)


def test_identity_points_keys_and_top_bits() -> None:
    rules = BallotRules(bytes(range(32)), KEY, 2, 0, 1)
    doc = encrypt_ballot(rules, "7", [1, 0]).to_json()
    zero = copy.deepcopy(doc)
    for choice in zero["choices"]:
        choice["alpha"] = choice["beta"] = "00" * 32
    assert all_three(rules, zero) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)
    assert all_three(rules, {**doc, "voter": "8"}) == BallotRefusal(
        BallotProblem.CHOICE_PROOF, 0)
    assert all_three(rules, "not a ballot") == BallotRefusal(BallotProblem.MALFORMED)
    # A poll whose key is the identity (no ceremony would give one).
    open_rules = BallotRules(bytes(32), base_mul(Scalar(0)), 1, 0, 1)
    assert all_three(open_rules, encrypt_ballot(open_rules, "3", [1]).to_json()) is None
    # A key sent with its top bit set: libsodium takes it as the key; so does the verifier.
    high_rules = BallotRules(bytes(32), Point(_HIGH_G), 2, 1, 1)
    honest = encrypt_ballot(BallotRules(bytes(32), G, 2, 1, 1), "4", [0, 1]).to_json()
    assert all_three(high_rules, honest) is None
    # An α with its top bit set: the same point to libsodium, but not a canonical encoding
    # (RFC 9496): refused as it is parsed, by every path, before any proof is looked at.
    high = copy.deepcopy(doc)
    alpha = bytes.fromhex(high["choices"][1]["alpha"])
    high["choices"][1]["alpha"] = (alpha[:31] + bytes([alpha[31] | 0x80])).hex()
    refusal = all_three(rules, high)
    assert refusal is not None and refusal.problem != BallotProblem.CHOICE_PROOF
    assert verifier_for(rules).receive(high) == refusal  # refused before it is acked


def test_each_engine_runs_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = BallotRules(bytes(32), KEY, 3, 1, 2)
    doc = encrypt_ballot(rules, "5", [0, 1, 1]).to_json()
    bad = {**doc, "voter": "6"}
    monkeypatch.delenv(ENGINE_VARIABLE, raising=False)
    assert engine() == "libdecaf"  # the default where libdecaf0 loads
    assert type(verifier_for(rules)) is decaf.DecafPollVerifier
    for name, kind in (("libsodium", PollVerifier), ("libdecaf", decaf.DecafPollVerifier)):
        monkeypatch.setenv(ENGINE_VARIABLE, name)
        verifier = verifier_for(rules)
        assert type(verifier) is kind and verifier.engine == name
        assert verifier_for(rules) is verifier  # cached per poll and engine
        assert verify_ballot(rules, doc) is None
        assert verify_ballot(rules, bad) == BallotRefusal(BallotProblem.CHOICE_PROOF, 0)
    monkeypatch.setenv(ENGINE_VARIABLE, "openssl")
    with pytest.raises(ValueError, match=ENGINE_VARIABLE):
        verifier_for(rules)


def engine_of(rules: BallotRules) -> str:
    """Run in a worker: the engine of the verifier it builds."""
    return verifier_for(rules).engine


@pytest.mark.parametrize("name", ["libsodium", "libdecaf"])
def test_the_batch_workers_use_the_forced_engine(name: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_VARIABLE, name)
    rules = BallotRules(bytes(32), KEY, 2, 0, 1)
    docs = [encrypt_ballot(rules, str(i), [i % 2, 0]).to_json() for i in range(3)]

    async def run() -> tuple[str, list[object]]:
        verifier = BatchVerifier(workers=1)
        try:
            await verifier.start()
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(verifier._pool(), engine_of, rules)
            return got, await verifier.verify(rules, [*docs, {**docs[0], "voter": "9"}])
        finally:
            await verifier.aclose()

    got, answers = asyncio.run(run())
    assert got == name and os.environ[ENGINE_VARIABLE] == name
    assert answers == [None, None, None, BallotRefusal(BallotProblem.CHOICE_PROOF, 0)]
