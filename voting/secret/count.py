"""The count (docs/BALLOT_CRYPTO.md, section 3): the aggregate of the ballots, each board
member's partial decryptions of it with their proofs, and the combination of t of them by
Lagrange interpolation into `countₘ·G`, read off a table of small multiples of G.
Individual ballots are never decrypted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from phonghop.voting.secret.ballot import Ballot
from phonghop.voting.secret.ceremony import MemberKey
from phonghop.voting.secret.elgamal import ZERO, Ciphertext
from phonghop.voting.secret.group import (
    IDENTITY,
    Point,
    Rng,
    Scalar,
    multiples_of_g,
    random_scalar,
    u32,
)
from phonghop.voting.secret.proofs import Pair, prove_equal_logs, verify_equal_logs

SHARE_TAG = "phonghop/tally/v1/share"


def aggregate(ballots: Iterable[Ballot], options: int) -> list[Ciphertext]:
    """`(Aₘ, Bₘ) = (Σ αₘ, Σ βₘ)` over the ballots, per option (ZERO with none)."""
    totals = [ZERO] * options
    for ballot in ballots:
        totals = [t + c for t, c in zip(totals, ballot.choices, strict=True)]
    return totals


@dataclass(frozen=True)
class Partial:
    """`Dⱼ,ₘ = xⱼ·Aₘ` and the proof that it uses the same `xⱼ` as `Xⱼ = xⱼ·G`."""

    d: Point
    proof: Pair

    def to_json(self) -> dict[str, str]:
        return {"d": self.d.hex(), "c": self.proof.c.hex(), "z": self.proof.z.hex()}

    @classmethod
    def from_json(cls, doc: object) -> Partial:
        """`{"d", "c", "z"}` exactly; `ValueError` (or `EncodingError`) otherwise."""
        if not isinstance(doc, dict) or set(doc) != {"d", "c", "z"}:
            raise ValueError("a partial decryption is {d, c, z}")
        return cls(Point.from_hex(doc["d"]),
                   Pair(Scalar.from_hex(doc["c"]), Scalar.from_hex(doc["z"])))


def _bound(context: bytes, j: int, m: int, total: Ciphertext, key: Point,
           d: Point) -> list[bytes]:
    return [context, u32(j), u32(m), total.alpha.encode(), total.beta.encode(), key.encode(),
            d.encode()]


def partial_decrypt(context: bytes, member: MemberKey, totals: Sequence[Ciphertext],
                    rng: Rng = random_scalar) -> list[Partial]:
    """Member j's partial decryption of every option's aggregate (one draw per option)."""
    out = []
    for m, total in enumerate(totals):
        d = member.secret * total.alpha
        proof = prove_equal_logs(
            SHARE_TAG, _bound(context, member.index, m, total, member.verification_key, d),
            member.secret, total.alpha, rng)
        out.append(Partial(d, proof))
    return out


def verify_partials(context: bytes, index: int, key: Point, totals: Sequence[Ciphertext],
                    partials: Sequence[Partial]) -> list[int]:
    """The options whose partial decryption by member `index` (key `Xⱼ`) fails: [] if all
    hold (a wrong number of partials fails every option)."""
    if len(partials) != len(totals):
        return list(range(len(totals)))
    return [m for m, (total, p) in enumerate(zip(totals, partials, strict=True))
            if not verify_equal_logs(SHARE_TAG, _bound(context, index, m, total, key, p.d),
                                     total.alpha, key, p.d, p.proof)]


def lagrange_at_zero(indices: Sequence[int]) -> dict[int, Scalar]:
    """`λⱼ = Π_{l≠j} l·(l − j)⁻¹ mod ℓ` for the distinct member indices given."""
    if len(set(indices)) != len(indices) or any(i < 1 for i in indices):
        raise ValueError("distinct positive indices")
    out = {}
    for j in indices:
        num, den = Scalar(1), Scalar(1)
        for other in indices:
            if other != j:
                num = num * Scalar.reduce(other)
                den = den * Scalar.reduce(other - j)
        out[j] = num * den.inverse()
    return out


def combine(totals: Sequence[Ciphertext], shares: Mapping[int, Sequence[Point]]) -> list[Point]:
    """`Mₘ = Bₘ − Σⱼ λⱼ·Dⱼ,ₘ` over the given members' partials (exactly t of them)."""
    lambdas = lagrange_at_zero(sorted(shares))
    out = []
    for m, total in enumerate(totals):
        unmasked = IDENTITY
        for j, lam in lambdas.items():
            unmasked = unmasked + lam * shares[j][m]
        out.append(total.beta - unmasked)
    return out


class DlogTable:
    """`c·G ↦ c` for c = 0 … `limit`, built by repeated addition."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._table = {p.data: c for c, p in enumerate(multiples_of_g(max(limit, 1)))
                       if c <= limit}

    def lookup(self, point: Point) -> int | None:
        """c with `point = c·G`, or None when it is no count in 0 … limit."""
        return self._table.get(point.data)


def counts(totals: Sequence[Ciphertext], shares: Mapping[int, Sequence[Partial]],
           voters: int) -> list[int] | None:
    """The counts from exactly t members' valid partials; None if one is off the table."""
    table = DlogTable(voters)
    found = [table.lookup(p) for p in combine(
        totals, {j: [p.d for p in partials] for j, partials in shares.items()})]
    if any(c is None for c in found):
        return None
    return [c for c in found if c is not None]
