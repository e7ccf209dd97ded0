"""Measure the costs that matter for a large secret poll (not a test: timings vary).

    python -m tests.voting.secret.measure [BALLOTS]

Prints CPU µs (process time: other load on the box counts less) per libsodium operation,
per ballot verification for k = 2 and k = 5, and the CPU time to verify a whole board of
BALLOTS ballots (default 300) with k = 2."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from phonghop.voting.secret.ballot import BallotRules, encrypt_ballot, verify_ballot
from phonghop.voting.secret.board import verify_board
from phonghop.voting.secret.group import G, base_mul, random_scalar

from .kit import board, poll_info, run_ceremony


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def main(ballots: int) -> None:
    s, p = random_scalar(), base_mul(random_scalar())
    for name, fn in (("scalar·P (crypto_scalarmult_ristretto255)", lambda: s * p),
                     ("scalar·G (crypto_scalarmult_ristretto255_base)", lambda: s * G),
                     ("P + Q (crypto_core_ristretto255_add)", lambda: p + G)):
        print(f"{name:48s} {per_call(fn, 2000):7.1f} µs")
    key = base_mul(random_scalar())
    for k, hi in ((2, 1), (2, 2), (5, 1), (5, 5)):
        rules = BallotRules(bytes(32), key, k, 0, hi)
        choices = [1] + [0] * (k - 1)
        docs = [encrypt_ballot(rules, str(i), choices).to_json() for i in range(40)]
        it = iter(docs * 10)
        verify = per_call(lambda r=rules, i=it: verify_ballot(r, next(i)), 200)
        make = per_call(lambda r=rules, c=choices: encrypt_ballot(r, "1", c), 40)
        print(f"ballot k={k} min=0 max={hi}: verify {verify:7.0f} µs, encrypt {make:7.0f} µs")
    ceremony = run_ceremony(poll_info(n=3, t=2, options=("A", "B"), minimum=0, maximum=1))
    doc = board(ceremony, {str(i): [i % 2, 1 - i % 2] for i in range(ballots)})
    start = time.process_time()
    report = verify_board(doc)
    took = time.process_time() - start
    assert report.counts is not None
    print(f"verify_board, {ballots} ballots k=2: {took:.2f} s "
          f"({took / ballots * 1e3:.2f} ms per ballot; 6,300 ballots ≈ "
          f"{took / ballots * 6300:.0f} s on one core)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
