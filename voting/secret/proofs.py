"""The zero-knowledge proofs, made non-interactive with Fiat–Shamir over `Hs`.

Each takes `bound`: the frames hashed after the tag and before the prover's commitments
(the context, indices and statement, docs/BALLOT_CRYPTO.md), so one function serves every
use. A proof is a list of `Pair(c, z)`; verifying recomputes the commitments from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import (
    Point,
    Rng,
    Scalar,
    base_mul,
    hash_to_scalar,
    multiples_of_g,
    random_scalar,
    unhex,
)


class Pair(NamedTuple):
    """A challenge and a response: `(c, z)` (the spec's `(c, u)` for Schnorr)."""

    c: Scalar
    z: Scalar

    def to_json(self) -> list[str]:
        return [self.c.hex(), self.z.hex()]

    @classmethod
    def from_json(cls, doc: object) -> Pair:
        """`[c, z]` in hex exactly; `EncodingError`/`ValueError` otherwise."""
        if not isinstance(doc, list) or len(doc) != 2:
            raise ValueError("a proof pair is [c, z]")
        return cls(Scalar.decode(unhex(doc[0], 32)), Scalar.decode(unhex(doc[1], 32)))


def pairs_from_json(doc: object, count: int) -> tuple[Pair, ...]:
    """Exactly `count` pairs."""
    if not isinstance(doc, list) or len(doc) != count:
        raise ValueError(f"expected {count} proof pairs")
    return tuple(Pair.from_json(p) for p in doc)


# ---- Schnorr: knowledge of log_G A ---------------------------------------------------

def prove_knowledge(tag: str, bound: Sequence[bytes], secret: Scalar,
                    rng: Rng = random_scalar) -> Pair:
    """Proof of knowing `a` with `A = a·G`: `c = Hs(tag, *bound, H)`, `u = w + c·a`.

    `bound` ends with `A` itself (the spec hashes the commitment before `H`).
    """
    w = rng()
    c = hash_to_scalar(tag, *bound, base_mul(w).encode())
    return Pair(c, w + c * secret)


def verify_knowledge(tag: str, bound: Sequence[bytes], public: Point, proof: Pair) -> bool:
    """`H' = u·G − c·A` and `c = Hs(tag, *bound, H')`."""
    h = base_mul(proof.z) - proof.c * public
    return hash_to_scalar(tag, *bound, h.encode()) == proof.c


# ---- Chaum–Pedersen: log_G X = log_A D -----------------------------------------------

def prove_equal_logs(tag: str, bound: Sequence[bytes], secret: Scalar, base: Point,
                     rng: Rng = random_scalar) -> Pair:
    """Proof that `X = x·G` and `D = x·A` share `x`: `P = w·G`, `Q = w·A`,
    `c = Hs(tag, *bound, P, Q)`, `z = w + c·x`. `bound` holds the statement."""
    w = rng()
    c = hash_to_scalar(tag, *bound, base_mul(w).encode(), (w * base).encode())
    return Pair(c, w + c * secret)


def verify_equal_logs(tag: str, bound: Sequence[bytes], base: Point, public: Point,
                      image: Point, proof: Pair) -> bool:
    """`P = z·G − c·X`, `Q = z·A − c·D`, and `c = Hs(tag, *bound, P, Q)`."""
    c, z = proof
    p = base_mul(z) - c * public
    q = z * base - c * image
    return hash_to_scalar(tag, *bound, p.encode(), q.encode()) == c


# ---- disjunctive Chaum–Pedersen: (α, β) encrypts one of `values` -----------------------

def _value_points(values: Sequence[int]) -> list[Point]:
    table = multiples_of_g(max(max(values), 1))
    return [table[v] for v in values]


def prove_one_of(tag: str, bound: Sequence[bytes], key: Point, ciphertext: Ciphertext,
                 values: Sequence[int], index: int, r: Scalar,
                 rng: Rng = random_scalar) -> list[Pair]:
    """Proof that `ciphertext = (r·G, values[index]·G + r·K)` encrypts one of `values`.

    The challenge is `Hs(tag, *bound, α, β, P₀, Q₀, …)`; draws follow the spec's order
    (for each i: `cᵢ, zᵢ` when i ≠ index, `w` when i = index).
    """
    alpha, beta = ciphertext.alpha, ciphertext.beta
    shifted = [beta - m for m in _value_points(values)]
    commitments: list[bytes] = []
    simulated: dict[int, Pair] = {}
    w = Scalar(0)
    for i in range(len(values)):
        if i == index:
            w = rng()
            commitments += [base_mul(w).encode(), (w * key).encode()]
        else:
            c, z = rng(), rng()
            simulated[i] = Pair(c, z)
            commitments += [(base_mul(z) - c * alpha).encode(),
                            (z * key - c * shifted[i]).encode()]
    challenge = hash_to_scalar(tag, *bound, alpha.encode(), beta.encode(), *commitments)
    c_real = challenge
    for pair in simulated.values():
        c_real = c_real - pair.c
    return [simulated[i] if i != index else Pair(c_real, w + c_real * r)
            for i in range(len(values))]


def verify_one_of(tag: str, bound: Sequence[bytes], key: Point, ciphertext: Ciphertext,
                  values: Sequence[int], proof: Sequence[Pair]) -> bool:
    """`Pᵢ = zᵢ·G − cᵢ·α`, `Qᵢ = zᵢ·K − cᵢ·(β − values[i]·G)`, and `Σ cᵢ = Hs(…)`."""
    if len(proof) != len(values):
        return False
    alpha, beta = ciphertext.alpha, ciphertext.beta
    commitments: list[bytes] = []
    total = 0
    for (c, z), m in zip(proof, _value_points(values), strict=True):
        commitments += [(base_mul(z) - c * alpha).encode(),
                        (z * key - c * (beta - m)).encode()]
        total += c.value
    challenge = hash_to_scalar(tag, *bound, alpha.encode(), beta.encode(), *commitments)
    return Scalar.reduce(total) == challenge
