"""The zero-knowledge proofs: each holds for the honest prover and fails for any change
of statement, binding or response (the forgeries an attacker would try)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phonghop.voting.secret.elgamal import Ciphertext, encrypt
from phonghop.voting.secret.group import G, Scalar, base_mul, random_scalar
from phonghop.voting.secret.proofs import (
    Pair,
    prove_equal_logs,
    prove_knowledge,
    prove_one_of,
    verify_equal_logs,
    verify_knowledge,
    verify_one_of,
)

ONE = Scalar(1)


def test_schnorr_holds_and_binds_its_statement() -> None:
    a = random_scalar()
    big_a = base_mul(a)
    bound = [b"ctx", big_a.encode()]
    proof = prove_knowledge("tag", bound, a)
    assert verify_knowledge("tag", bound, big_a, proof)
    assert not verify_knowledge("tag2", bound, big_a, proof)
    assert not verify_knowledge("tag", [b"ctx2", big_a.encode()], big_a, proof)
    other = big_a + G
    assert not verify_knowledge("tag", [b"ctx", other.encode()], other, proof)
    assert not verify_knowledge("tag", bound, big_a, Pair(proof.c, proof.z + ONE))


def test_schnorr_without_the_secret_fails() -> None:
    """A rogue key: a commitment whose log the member does not know, with a 'proof' made
    from a different secret."""
    target = base_mul(random_scalar())
    fake = prove_knowledge("tag", [target.encode()], random_scalar())
    assert not verify_knowledge("tag", [target.encode()], target, fake)


def test_equal_logs_holds_and_refuses_a_different_log() -> None:
    x = random_scalar()
    base = base_mul(random_scalar())
    big_x, d = base_mul(x), x * base
    bound = [b"ctx", big_x.encode(), d.encode()]
    proof = prove_equal_logs("tag", bound, x, base)
    assert verify_equal_logs("tag", bound, base, big_x, d, proof)
    wrong = d + G
    assert not verify_equal_logs("tag", [b"ctx", big_x.encode(), wrong.encode()], base, big_x,
                                 wrong, proof)
    # D made with another secret, proved with that one: fails against X.
    y = random_scalar()
    d_y = y * base
    bound_y = [b"ctx", big_x.encode(), d_y.encode()]
    assert not verify_equal_logs("tag", bound_y, base, big_x, d_y,
                                 prove_equal_logs("tag", bound_y, y, base))


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=4), st.integers(min_value=1, max_value=4))
def test_one_of_holds_for_every_value(low: int, width: int) -> None:
    values = list(range(low, low + width))
    key = base_mul(random_scalar())
    for j, v in enumerate(values):
        r = random_scalar()
        ct = encrypt(key, v, r)
        proof = prove_one_of("tag", [b"ctx"], key, ct, values, j, r)
        assert verify_one_of("tag", [b"ctx"], key, ct, values, proof)
        assert not verify_one_of("tag", [b"ctx2"], key, ct, values, proof)
        shifted = [w + 1 for w in values]  # the same proof read against other values
        assert not verify_one_of("tag", [b"ctx"], key, ct, shifted, proof)


def test_one_of_refuses_a_value_outside_the_list() -> None:
    key = base_mul(random_scalar())
    r = random_scalar()
    for outside in (2, 5):
        ct = encrypt(key, outside, r)
        for j in (0, 1):  # the prover claims 0 or 1 with the true randomness
            proof = prove_one_of("tag", [b"ctx"], key, ct, [0, 1], j, r)
            assert not verify_one_of("tag", [b"ctx"], key, ct, [0, 1], proof)
    minus_one = Ciphertext(base_mul(r), -G + r * key)
    for j in (0, 1):
        proof = prove_one_of("tag", [b"ctx"], key, minus_one, [0, 1], j, r)
        assert not verify_one_of("tag", [b"ctx"], key, minus_one, [0, 1], proof)


def test_one_of_refuses_altered_responses_and_ciphertexts() -> None:
    key = base_mul(random_scalar())
    r = random_scalar()
    ct = encrypt(key, 1, r)
    proof = prove_one_of("tag", [b"ctx"], key, ct, [0, 1], 1, r)
    for i in range(2):
        for bumped in (Pair(proof[i].c + ONE, proof[i].z), Pair(proof[i].c, proof[i].z + ONE)):
            forged = list(proof)
            forged[i] = bumped
            assert not verify_one_of("tag", [b"ctx"], key, ct, [0, 1], forged)
    # Both challenges shifted so that they still sum to the hash: the responses betray it.
    shifted = [Pair(proof[0].c + ONE, proof[0].z), Pair(proof[1].c - ONE, proof[1].z)]
    assert not verify_one_of("tag", [b"ctx"], key, ct, [0, 1], shifted)
    rerandomised = Ciphertext(ct.alpha + G, ct.beta + key)
    assert not verify_one_of("tag", [b"ctx"], key, rerandomised, [0, 1], proof)
    assert not verify_one_of("tag", [b"ctx"], key, ct, [0, 1], proof[:1])
