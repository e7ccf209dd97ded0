"""Exponential ElGamal: the holder of the key reads v·G, and ciphertexts add up."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phonghop.voting.secret.elgamal import (
    ZERO,
    Ciphertext,
    ciphertext_sum,
    decrypt_point,
    encrypt,
    encrypt_random,
)
from phonghop.voting.secret.group import IDENTITY, base_mul, multiples_of_g, random_scalar

small = st.lists(st.integers(min_value=0, max_value=20), min_size=0, max_size=6)


@settings(max_examples=20, deadline=None)
@given(small)
def test_the_sum_of_encryptions_decrypts_to_the_sum(values: list[int]) -> None:
    x = random_scalar()
    key = base_mul(x)
    cts = [encrypt_random(key, v)[0] for v in values]
    assert decrypt_point(ciphertext_sum(cts), x) == multiples_of_g(120)[sum(values)]


def test_fresh_randomness_hides_equal_values() -> None:
    key = base_mul(random_scalar())
    a, b = encrypt_random(key, 1)[0], encrypt_random(key, 1)[0]
    assert a != b and a.alpha != b.alpha and a.beta != b.beta


def test_randomness_zero_and_no_ciphertexts() -> None:
    key = base_mul(random_scalar())
    assert encrypt(key, 0, random_scalar().__class__(0)) == ZERO == ciphertext_sum([])
    assert ZERO.to_json() == {"alpha": IDENTITY.hex(), "beta": IDENTITY.hex()}
    assert Ciphertext.from_json(ZERO.to_json()) == ZERO
