"""Encrypted secret ballots (docs/BALLOT_CRYPTO.md): exponential ElGamal on ristretto255,
zero-knowledge proofs, a threshold key held by the counting board, and the public board.
A sans-I/O core: every function computes, none reads or writes; randomness comes in as
an `rng` so that tests are deterministic.
"""
