"""Exponential ElGamal on ristretto255: `(r·G, v·G + r·K)`, added component by component."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from phonghop.voting.secret.group import (
    IDENTITY,
    Point,
    Rng,
    Scalar,
    base_mul,
    multiples_of_g,
    random_scalar,
)


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """An encryption `(α, β)`; the sum of two encrypts the sum of their values."""

    alpha: Point
    beta: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha + other.alpha, self.beta + other.beta)

    def to_json(self) -> dict[str, str]:
        return {"alpha": self.alpha.hex(), "beta": self.beta.hex()}

    @classmethod
    def from_json(cls, doc: object) -> Ciphertext:
        """`{"alpha": P, "beta": P}` exactly; `EncodingError`/`ValueError` otherwise."""
        if not isinstance(doc, dict) or set(doc) != {"alpha", "beta"}:
            raise ValueError("a ciphertext is {alpha, beta}")
        return cls(Point.from_hex(doc["alpha"]), Point.from_hex(doc["beta"]))


ZERO = Ciphertext(IDENTITY, IDENTITY)
"""The encryption of 0 with randomness 0: the sum of no ciphertexts."""


def encrypt(key: Point, value: int, r: Scalar) -> Ciphertext:
    """`(r·G, value·G + r·K)`; `value` is small and non-negative (a count)."""
    if value < 0:
        raise ValueError("a count is never negative")
    return Ciphertext(base_mul(r), multiples_of_g(max(value, 1))[value] + r * key)


def encrypt_random(key: Point, value: int, rng: Rng = random_scalar) -> tuple[Ciphertext, Scalar]:
    """An encryption of `value` under `key` with a fresh randomness, and that randomness."""
    r = rng()
    return encrypt(key, value, r), r


def ciphertext_sum(items: Iterable[Ciphertext]) -> Ciphertext:
    """Σ items (ZERO for none)."""
    total = ZERO
    for c in items:
        total = total + c
    return total


def decrypt_point(ciphertext: Ciphertext, secret: Scalar) -> Point:
    """`β − x·α = value·G` for the holder of the whole secret `x` (tests; nobody holds it)."""
    return ciphertext.beta - secret * ciphertext.alpha
