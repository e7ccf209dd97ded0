"""The count: partial decryptions of the aggregate only, each proved; a wrong partial is
refused; any t valid ones give the counts; the table reads 0 … N and nothing else."""

from __future__ import annotations

import dataclasses

import pytest

from phonghop.voting.secret.ceremony import MemberKey
from phonghop.voting.secret.count import (
    DlogTable,
    Partial,
    aggregate,
    counts,
    lagrange_at_zero,
    partial_decrypt,
    verify_partials,
)
from phonghop.voting.secret.elgamal import ZERO
from phonghop.voting.secret.group import IDENTITY, G, Scalar, base_mul, multiples_of_g
from phonghop.voting.secret.proofs import Pair

from .kit import cast, decrypt_shares, poll_info, run_ceremony

CEREMONY = run_ceremony(poll_info(n=3, t=2), b"count")
VOTES = {"1": [1, 0, 0], "2": [1, 1, 0], "3": [0, 0, 0], "4": [0, 1, 1], "5": [1, 0, 1]}
BALLOTS = cast(CEREMONY, VOTES)
TOTALS, SHARES = decrypt_shares(CEREMONY, BALLOTS, [1, 2, 3])
CONTEXT = CEREMONY.rules.context


def test_every_honest_partial_verifies_and_any_two_count() -> None:
    for j, partials in SHARES.items():
        assert verify_partials(CONTEXT, j, CEREMONY.x_keys[j], TOTALS, partials) == []
    for group in ([1, 2], [1, 3], [2, 3], [1, 2, 3]):
        assert counts(TOTALS, {j: SHARES[j] for j in group}, len(BALLOTS)) == [3, 2, 2]


def test_a_wrong_partial_decryption_is_refused() -> None:
    """A member who wants another result publishes D' = D + G for option 0, with the proof
    of the true D, or a fresh proof made with another secret: both fail against Xⱼ."""
    x2 = CEREMONY.x_keys[2]
    shifted = list(SHARES[2])
    shifted[0] = dataclasses.replace(shifted[0], d=shifted[0].d + G)
    assert verify_partials(CONTEXT, 2, x2, TOTALS, shifted) == [0]
    impostor = MemberKey(2, CEREMONY.keys[2].secret + Scalar(1), x2)
    assert verify_partials(CONTEXT, 2, x2, TOTALS,
                           partial_decrypt(CONTEXT, impostor, TOTALS)) == [0, 1, 2]
    # Member 3's honest partials presented as member 2's; a partial of another poll.
    assert verify_partials(CONTEXT, 2, x2, TOTALS, SHARES[3]) == [0, 1, 2]
    other = bytes(32)
    assert verify_partials(other, 2, x2, TOTALS, SHARES[2]) == [0, 1, 2]
    assert verify_partials(CONTEXT, 2, x2, TOTALS, SHARES[2][:2]) == [0, 1, 2]
    # Unchecked, the shifted D would move the count (λ₂ = −1 for {1, 2}): 3 becomes 4.
    assert counts(TOTALS, {1: SHARES[1], 2: shifted}, len(BALLOTS)) == [4, 2, 2]


def test_partials_of_a_single_ballot_are_refused_when_checked_against_the_aggregate() -> None:
    """A member who decrypts one ballot instead of the aggregate cannot pass it off."""
    single = aggregate(BALLOTS[:1], 3)
    leaked = partial_decrypt(CONTEXT, CEREMONY.keys[1], single)
    assert verify_partials(CONTEXT, 1, CEREMONY.x_keys[1], TOTALS, leaked) == [0, 1, 2]


def test_a_poll_without_ballots_counts_zero() -> None:
    totals = aggregate([], 3)
    assert totals == [ZERO] * 3
    shares = {j: partial_decrypt(CONTEXT, CEREMONY.keys[j], totals) for j in (1, 2)}
    assert all(p.d == IDENTITY for p in shares[1])
    for j in (1, 2):
        assert verify_partials(CONTEXT, j, CEREMONY.x_keys[j], totals, shares[j]) == []
    assert counts(totals, shares, 0) == [0, 0, 0]


def test_lagrange_coefficients_interpolate_at_zero() -> None:
    lam = lagrange_at_zero([1, 2])
    assert lam[1] == Scalar(2) and lam[2] == Scalar.reduce(-1)

    def f(x: int) -> Scalar:  # degree 2: any 3 points give f(0) = 7 back
        return Scalar(7 + 3 * x + 2 * x * x)

    for group in ([1, 2, 3], [2, 4, 5], [1, 3, 15]):
        lam = lagrange_at_zero(group)
        assert sum((lam[j] * f(j) for j in group), Scalar(0)) == Scalar(7)
    with pytest.raises(ValueError):
        lagrange_at_zero([1, 1])


def test_the_table_reads_exactly_zero_to_n() -> None:
    table = DlogTable(5)
    assert [table.lookup(p) for p in multiples_of_g(6)] == [0, 1, 2, 3, 4, 5, None]
    assert table.lookup(base_mul(Scalar(10**6))) is None
    assert DlogTable(0).lookup(IDENTITY) == 0 and DlogTable(0).lookup(G) is None


def test_partial_json_round_trip() -> None:
    p = SHARES[1][0]
    assert Partial.from_json(p.to_json()) == p
    with pytest.raises(ValueError):
        Partial.from_json({**p.to_json(), "extra": "x"})
    assert isinstance(p.proof, Pair)
