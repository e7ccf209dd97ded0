"""Ballot verification at server speed: the same checks as `ballot.verify_ballot_reference`,
on bytes, with the per-poll constants computed once.

Where the time goes (k = 2, max = 1, one core of the 2-core box): a ballot carries three
disjunctive proofs of two branches. Each branch recomputes its commitments
`P = z·G − c·α` and `Q = z·K − c·(β − v·G)`: one fixed-base and three variable-base
multiplications and two subtractions in libsodium (≈ 12 + 3 × 37 + 2 × 11 µs: every
libsodium call decodes its ristretto255 inputs and encodes its output, an inverse square
root each). That is ≈ 0.9 ms of the ≈ 1 ms a ballot costs; the rest was Python (objects
per point and scalar, the regex for hex, the framing). This module keeps points and
scalars as their 32-byte encodings, calls libsodium through the `ctypes` handle pysodium
opened (its wrappers only add argument checks done here once), checks hex with a round
trip instead of a regex, and takes from a per-poll cache the hash prefixes, the frames of
`u32(m)` and the points `v·G` of the count proof.

Why there is no batch (random linear combination) check: small-exponent batch
verification combines equations `z·G = P + c·A` of many proofs into one multi-scalar
multiplication, which is sound when the verifier *knows* each `P` (it was sent) and only
checks the equation. Our proofs send `(c, z)` (docs/BALLOT_CRYPTO.md, section 2): the
verifier must compute every `P` and `Q` exactly, to hash their encodings and compare with
`Σ cᵢ`. Once they are computed the group equations hold by construction and the hash is
the only check left, which does not combine. The cost is the exact recomputation, and
libsodium offers no multi-scalar, variable-time or precomputed-table multiplication for a
base other than `G` (`K` is fixed per poll, but `z·K` is a full multiplication). libdecaf
has those: `voting.secret.decaf` computes the same checks on it, and `verifier_for` builds
that verifier when libdecaf0 is installed (`engine()`); this one is the fallback and the
yardstick. The other lever is more cores: `voting.secret.batch`.

The fast path accepts only what the reference parser accepts, with the same verdict; any
document that is not a well-formed ballot (wrong shape, types, encodings) is handed to the
reference path, which names its problem exactly as before. tests/voting/secret/
test_fast_verify.py checks that both paths agree on random valid and invalid ballots.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache

import orjson
import pysodium

from phonghop.voting.secret.ballot import (
    _BITS,
    _VOTER,
    CHOICE_TAG,
    COUNT_TAG,
    TRACKER_TAG,
    Ballot,
    BallotProblem,
    BallotRefusal,
    BallotRules,
    parse_ballot,
    tracker,
    verify_ballot_reference,
)
from phonghop.voting.secret.group import ORDER, G, frame, multiples_of_g, text, u32

_lib = pysodium.sodium  # the library pysodium loaded and initialised (sodium_init)
_SCALARMULT = _lib.crypto_scalarmult_ristretto255
_SCALARMULT_BASE = _lib.crypto_scalarmult_ristretto255_base
_ADD = _lib.crypto_core_ristretto255_add
_SUB = _lib.crypto_core_ristretto255_sub
_IS_VALID = _lib.crypto_core_ristretto255_is_valid_point
_buffer = ctypes.create_string_buffer

_ZERO = bytes(32)
_F32 = frame(_ZERO)[:4]  # the length frame of every point and scalar
_G = G.encode()

# A branch: its challenge as bytes and as an integer, its response as bytes.
_Pair = tuple[bytes, int, bytes]


def _mul(s: bytes, p: bytes) -> bytes:
    """`s·P`; the identity when s = 0 or P = 0 (libsodium refuses those, docs: Notation)."""
    if s == _ZERO or p == _ZERO:
        return _ZERO
    out = _buffer(32)
    if _SCALARMULT(out, s, p) != 0:
        raise ValueError("not a point")  # only for bytes that never passed decoding
    return out.raw


def _base(s: bytes) -> bytes:
    """`s·G` with libsodium's fixed-base table."""
    if s == _ZERO:
        return _ZERO
    out = _buffer(32)
    _SCALARMULT_BASE(out, s)
    return out.raw


def _sub(p: bytes, q: bytes) -> bytes:
    if q == _ZERO:
        return p
    out = _buffer(32)
    if _SUB(out, p, q) != 0:
        raise ValueError("not a point")
    return out.raw


def _add(p: bytes, q: bytes) -> bytes:
    if p == _ZERO:
        return q
    if q == _ZERO:
        return p
    out = _buffer(32)
    if _ADD(out, p, q) != 0:
        raise ValueError("not a point")
    return out.raw


def _hex32(value: object) -> bytes | None:
    """The 32 bytes of exactly 64 lowercase hex digits, else None (the round trip refuses
    upper case, spaces and anything `fromhex` would tolerate)."""
    if type(value) is not str or len(value) != 64:
        return None
    try:
        data = bytes.fromhex(value)
    except ValueError:
        return None
    return data if data.hex() == value else None


def _encoding(value: object) -> bytes | None:
    """A point's 32 bytes, without the group check: the top bit clear (RFC 9496; libsodium
    would take it as the same point with the bit clear, `group.Point.decode`)."""
    data = _hex32(value)
    return data if data is not None and not data[31] & 0x80 else None


def _point(value: object) -> bytes | None:
    data = _encoding(value)
    return data if data is not None and _IS_VALID(data) == 1 else None


def _pairs(doc: object, count: int) -> list[_Pair] | None:
    if type(doc) is not list or len(doc) != count:
        return None
    out: list[_Pair] = []
    for pair in doc:
        if type(pair) is not list or len(pair) != 2:
            return None
        c, z = _hex32(pair[0]), _hex32(pair[1])
        if c is None or z is None:
            return None
        ci = int.from_bytes(c, "little")
        if ci >= ORDER or int.from_bytes(z, "little") >= ORDER:
            return None
        out.append((c, ci, z))
    return out


_Choice = tuple[bytes, bytes, list[_Pair]]
_KEYS = {"voter", "choices", "count_proof"}
_CHOICE_KEYS = {"alpha", "beta", "proof"}


class PollVerifier:
    """Checks ballots of one poll; build it once per poll (`verifier_for` caches it)."""

    engine = "libsodium"

    def __init__(self, rules: BallotRules) -> None:
        self.rules = rules
        self._key = rules.key.encode()
        context = frame(rules.context)
        self._choice_prefix = frame(text(CHOICE_TAG)) + context
        self._count_prefix = frame(text(COUNT_TAG)) + context
        self._tracker_prefix = frame(text(TRACKER_TAG)) + context
        self._option_frames = [frame(u32(m)) for m in range(rules.options)]
        table = multiples_of_g(max(rules.maximum, 1))
        self._count_points = [table[v].encode() for v in rules.counts]

    def verify(self, ballot: object) -> BallotRefusal | None:
        """None when the ballot (its JSON, or a typed `Ballot`) is valid; the refusal the
        reference path gives otherwise."""
        parsed = self._parse(ballot)
        if parsed is None:  # not a well-formed ballot: the reference names the problem
            return verify_ballot_reference(self.rules, ballot)
        voter, choices, count_proof = parsed
        voter_frame = frame(voter.encode())  # digits only: NFC and UTF-8 change nothing
        alpha_sum = beta_sum = _ZERO
        for m, (alpha, beta, proof) in enumerate(choices):
            prefix = self._choice_prefix + voter_frame + self._option_frames[m]
            if not self._one_of(prefix, alpha, beta, [beta, _sub(beta, _G)], proof):
                return BallotRefusal(BallotProblem.CHOICE_PROOF, m)
            alpha_sum, beta_sum = _add(alpha_sum, alpha), _add(beta_sum, beta)
        prefix = self._count_prefix + voter_frame + frame(b"")
        shifted = [_sub(beta_sum, v) for v in self._count_points]
        if not self._one_of(prefix, alpha_sum, beta_sum, shifted, count_proof):
            return BallotRefusal(BallotProblem.COUNT_PROOF)
        return None

    def receive(self, ballot: object) -> str | BallotRefusal:
        """What the box does when a ballot arrives, before its proofs are checked: the
        ballot's tracker (64 hex digits) when it is well formed in every respect, else the
        reference parser's refusal. No group operation: whether α and β are points is
        checked with the proofs (a ballot whose do not decode is refused then)."""
        parsed = self._parse(ballot, points=False)
        if parsed is None:  # the reference parser names the problem, or takes it after all
            typed = ballot if isinstance(ballot, Ballot) else parse_ballot(ballot, self.rules)
            return typed if isinstance(typed, BallotRefusal) else tracker(
                self.rules.context, typed).hex()
        voter, choices, count_proof = parsed
        # `hash_to_bytes(TRACKER_TAG, context, voter, α₀, β₀, …, every c and z)`, framed
        # here: every part after the voter is 32 bytes, so its frame is `_F32`.
        parts = [self._tracker_prefix, frame(voter.encode())]
        for alpha, beta, _proof in choices:
            parts += (_F32, alpha, _F32, beta)
        for _a, _b, proof in choices:
            for c, _ci, z in proof:
                parts += (_F32, c, _F32, z)
        for c, _ci, z in count_proof:
            parts += (_F32, c, _F32, z)
        return hashlib.sha256(b"".join(parts)).hexdigest()

    def _one_of(self, prefix: bytes, alpha: bytes, beta: bytes, shifted: list[bytes],
                proof: list[_Pair]) -> bool:
        """The disjunctive Chaum–Pedersen check: `Pᵢ = zᵢ·G − cᵢ·α`,
        `Qᵢ = zᵢ·K − cᵢ·(β − vᵢ·G)` (`shifted[i]` is `β − vᵢ·G`) and `Σ cᵢ = Hs(…)`."""
        key = self._key
        parts = [prefix, _F32, alpha, _F32, beta]
        total = 0
        for (c, ci, z), target in zip(proof, shifted, strict=True):
            parts += (_F32, _sub(_base(z), _mul(c, alpha)),
                      _F32, _sub(_mul(z, key), _mul(c, target)))
            total += ci
        digest = hashlib.sha512(b"".join(parts)).digest()
        return int.from_bytes(digest, "little") % ORDER == total % ORDER

    def _parse(self, ballot: object, points: bool = True
               ) -> tuple[str, list[_Choice], list[_Pair]] | None:
        """The ballot as bytes when it is well formed in every respect; None otherwise."""
        rules = self.rules
        if isinstance(ballot, Ballot):
            if (not _VOTER.fullmatch(ballot.voter) or len(ballot.choices) != rules.options
                    or len(ballot.choice_proofs) != rules.options
                    or any(len(p) != len(_BITS) for p in ballot.choice_proofs)
                    or len(ballot.count_proof) != len(self._count_points)):
                return None
            return (ballot.voter,
                    [(ct.alpha.encode(), ct.beta.encode(),
                      [(c.encode(), c.value, z.encode()) for c, z in proof])
                     for ct, proof in zip(ballot.choices, ballot.choice_proofs, strict=True)],
                    [(c.encode(), c.value, z.encode()) for c, z in ballot.count_proof])
        if type(ballot) is not dict or ballot.keys() != _KEYS:
            return None
        voter, items = ballot["voter"], ballot["choices"]
        if (type(voter) is not str or not _VOTER.fullmatch(voter) or type(items) is not list
                or len(items) != rules.options):
            return None
        choices: list[_Choice] = []
        for item in items:
            if type(item) is not dict or item.keys() != _CHOICE_KEYS:
                return None
            read = _point if points else _encoding
            alpha, beta = read(item["alpha"]), read(item["beta"])
            proof = _pairs(item["proof"], len(_BITS))
            if alpha is None or beta is None or proof is None:
                return None
            choices.append((alpha, beta, proof))
        count_proof = _pairs(ballot["count_proof"], len(self._count_points))
        if count_proof is None:
            return None
        return voter, choices, count_proof


def sum_choices(stored: Sequence[str | bytes], options: int) -> list[tuple[bytes, bytes]]:
    """`(Σ αₘ, Σ βₘ)` per option over checked ballots as stored (their JSON), as 32-byte
    encodings: what `count.aggregate` gives, without an object per point (≈ 6 µs an
    addition instead of ≈ 20). libsodium runs without the GIL, so threads can share the
    work (`ballot_checks.aggregate_ballots`)."""
    alphas, betas = [_ZERO] * options, [_ZERO] * options
    for raw in stored:
        items = orjson.loads(raw)["choices"]
        if len(items) != options:
            raise ValueError("a stored ballot with another number of options")
        for m, item in enumerate(items):
            alphas[m] = _add(alphas[m], bytes.fromhex(item["alpha"]))
            betas[m] = _add(betas[m], bytes.fromhex(item["beta"]))
    return list(zip(alphas, betas, strict=True))


def add_sums(a: list[tuple[bytes, bytes]], b: list[tuple[bytes, bytes]]
             ) -> list[tuple[bytes, bytes]]:
    """Two `sum_choices` of disjoint ballots added up."""
    return [(_add(x[0], y[0]), _add(x[1], y[1])) for x, y in zip(a, b, strict=True)]


ENGINE_VARIABLE = "PHONGHOP_BALLOT_VERIFIER"
"""Forces the engine `verifier_for` builds on: `libsodium` or `libdecaf` (tests, benchmarks)."""


def engine() -> str:
    """The engine ballots are verified with: `libdecaf` when libdecaf0 loads here (2–3×
    fewer CPU cycles, `voting.secret.decaf`), else `libsodium` (this module); the
    environment variable PHONGHOP_BALLOT_VERIFIER forces one. Forcing `libdecaf` where it
    does not load, or naming another engine, is an error rather than a silent fallback."""
    from phonghop.voting.secret import decaf  # it builds on this module

    forced = os.environ.get(ENGINE_VARIABLE, "")
    if forced == "":
        return "libdecaf" if decaf.AVAILABLE else "libsodium"
    if forced not in ("libsodium", "libdecaf"):
        raise ValueError(f"{ENGINE_VARIABLE} is libsodium or libdecaf, not {forced!r}")
    if forced == "libdecaf" and not decaf.AVAILABLE:
        raise RuntimeError(f"{ENGINE_VARIABLE}=libdecaf but libdecaf0 does not load")
    return forced


def verifier_for(rules: BallotRules) -> PollVerifier:
    """The poll's verifier on the current `engine()`, built once per `rules` and engine
    (the rules are hashable values). Worker processes (`voting.secret.batch`) call this
    too, and inherit the environment."""
    return _built(rules, engine())


@lru_cache(maxsize=64)
def _built(rules: BallotRules, name: str) -> PollVerifier:
    if name == "libdecaf":
        from phonghop.voting.secret.decaf import DecafPollVerifier

        return DecafPollVerifier(rules)
    return PollVerifier(rules)
