"""A ballot: one ciphertext per option with a proof that it holds 0 or 1, and a proof that
their sum is between min and max (docs/BALLOT_CRYPTO.md, section 2). Made on the voter's
device (`encrypt_ballot`, here for tests and tools), checked by the server and by anyone
(`verify_ballot`). Each proof hashes the poll context and the voter's id, so a ballot
belongs to one voter of one poll."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from phonghop.voting.secret.elgamal import Ciphertext, ciphertext_sum, encrypt
from phonghop.voting.secret.group import (
    EncodingError,
    Point,
    Rng,
    Scalar,
    hash_to_bytes,
    random_scalar,
    text,
    u32,
)
from phonghop.voting.secret.proofs import Pair, pairs_from_json, prove_one_of, verify_one_of

CHOICE_TAG = "phonghop/ballot/v1/choice"
COUNT_TAG = "phonghop/ballot/v1/count"
TRACKER_TAG = "phonghop/tracker/v1"
_VOTER = re.compile(r"0|[1-9][0-9]*")
_BITS = (0, 1)


@dataclass(frozen=True)
class BallotRules:
    """What a ballot is checked against: the poll context, its key, k options, min…max."""

    context: bytes
    key: Point
    options: int
    minimum: int
    maximum: int

    def __post_init__(self) -> None:
        if not (len(self.context) == 32 and self.options >= 1
                and 0 <= self.minimum <= self.maximum <= self.options):
            raise ValueError("need a 32-byte context, k ≥ 1 and 0 ≤ min ≤ max ≤ k")

    @property
    def counts(self) -> list[int]:
        """The number of choices a ballot may make: `[min, …, max]`."""
        return list(range(self.minimum, self.maximum + 1))


@dataclass(frozen=True)
class Ballot:
    """A ballot as sent and published."""

    voter: str
    choices: tuple[Ciphertext, ...]
    choice_proofs: tuple[tuple[Pair, ...], ...]
    count_proof: tuple[Pair, ...]

    def to_json(self) -> dict[str, object]:
        return {"voter": self.voter,
                "choices": [{**c.to_json(), "proof": [p.to_json() for p in proof]}
                            for c, proof in zip(self.choices, self.choice_proofs, strict=True)],
                "count_proof": [p.to_json() for p in self.count_proof]}


class BallotProblem(StrEnum):
    """Why a ballot is refused (the server answers `invalid_ballot` for each)."""

    MALFORMED = "malformed"                  # not the ballot's JSON shape
    BAD_VOTER = "bad_voter"                  # not a canonical decimal id
    WRONG_CHOICES = "wrong_number_of_choices"  # not one ciphertext per option
    BAD_ENCODING = "bad_encoding"            # a point or scalar that does not decode
    CHOICE_PROOF = "choice_proof"            # an option is not proved to hold 0 or 1
    COUNT_PROOF = "count_proof"              # the number of choices is not proved in range


@dataclass(frozen=True)
class BallotRefusal:
    """A refused ballot: the typed reason, and the option concerned when there is one."""

    problem: BallotProblem
    option: int | None = None


def parse_ballot(doc: object, rules: BallotRules) -> Ballot | BallotRefusal:
    """The typed ballot of its JSON, strictly (exact keys, lengths and encodings)."""
    if (not isinstance(doc, dict) or set(doc) != {"voter", "choices", "count_proof"}
            or not isinstance(doc["choices"], list)):
        return BallotRefusal(BallotProblem.MALFORMED)
    voter = doc["voter"]
    if not isinstance(voter, str) or not _VOTER.fullmatch(voter):
        return BallotRefusal(BallotProblem.BAD_VOTER)
    if len(doc["choices"]) != rules.options:
        return BallotRefusal(BallotProblem.WRONG_CHOICES)
    choices: list[Ciphertext] = []
    proofs: list[tuple[Pair, ...]] = []
    try:
        for m, item in enumerate(doc["choices"]):
            if not isinstance(item, dict) or set(item) != {"alpha", "beta", "proof"}:
                return BallotRefusal(BallotProblem.MALFORMED, m)
            choices.append(Ciphertext(Point.from_hex(item["alpha"]),
                                      Point.from_hex(item["beta"])))
            proofs.append(pairs_from_json(item["proof"], len(_BITS)))
        count_proof = pairs_from_json(doc["count_proof"], len(rules.counts))
    except EncodingError:
        return BallotRefusal(BallotProblem.BAD_ENCODING)
    except ValueError:
        return BallotRefusal(BallotProblem.MALFORMED)
    return Ballot(voter, tuple(choices), tuple(proofs), count_proof)


def _choice_bound(context: bytes, voter: str, m: int) -> list[bytes]:
    return [context, text(voter), u32(m)]


def _count_bound(context: bytes, voter: str) -> list[bytes]:
    return [context, text(voter), b""]


def encrypt_ballot(rules: BallotRules, voter: str, choices: Sequence[int],
                   rng: Rng = random_scalar) -> Ballot:
    """Encrypt and prove `choices` (one 0/1 per option, min ≤ Σ ≤ max) for `voter`.

    Draws in the spec's order: per option `rₘ` then its proof, then the count proof.
    """
    if len(choices) != rules.options or any(v not in _BITS for v in choices):
        raise ValueError("one 0 or 1 per option")
    if not rules.minimum <= sum(choices) <= rules.maximum:
        raise ValueError("the number of choices is outside min…max")
    if not _VOTER.fullmatch(voter):
        raise ValueError("the voter is a decimal account id")
    cts: list[Ciphertext] = []
    proofs: list[tuple[Pair, ...]] = []
    total_r = Scalar(0)
    for m, v in enumerate(choices):
        r = rng()
        ct = encrypt(rules.key, v, r)
        proofs.append(tuple(prove_one_of(CHOICE_TAG, _choice_bound(rules.context, voter, m),
                                         rules.key, ct, _BITS, v, r, rng)))
        cts.append(ct)
        total_r = total_r + r
    count_proof = prove_one_of(COUNT_TAG, _count_bound(rules.context, voter), rules.key,
                               ciphertext_sum(cts), rules.counts, sum(choices) - rules.minimum,
                               total_r, rng)
    return Ballot(voter, tuple(cts), tuple(proofs), tuple(count_proof))


def verify_ballot(rules: BallotRules, ballot: Ballot | object) -> BallotRefusal | None:
    """None when every proof of the ballot (typed, or its JSON) holds; the refusal else.

    Runs the fast path (`voting.secret.fast`, per-poll constants cached), which gives the
    same answer as `verify_ballot_reference` for every input."""
    from phonghop.voting.secret.fast import verifier_for  # it builds on this module's types

    return verifier_for(rules).verify(ballot)


def verify_ballot_reference(rules: BallotRules,
                            ballot: Ballot | object) -> BallotRefusal | None:
    """`verify_ballot` written as the spec reads, on typed points and scalars: the
    reference the fast path is tested against, and what names a malformed ballot's
    problem."""
    if not isinstance(ballot, Ballot):
        parsed = parse_ballot(ballot, rules)
        if isinstance(parsed, BallotRefusal):
            return parsed
        ballot = parsed
    if not _VOTER.fullmatch(ballot.voter):
        return BallotRefusal(BallotProblem.BAD_VOTER)
    if len(ballot.choices) != rules.options or len(ballot.choice_proofs) != rules.options:
        return BallotRefusal(BallotProblem.WRONG_CHOICES)
    for m, (ct, proof) in enumerate(zip(ballot.choices, ballot.choice_proofs, strict=True)):
        if not verify_one_of(CHOICE_TAG, _choice_bound(rules.context, ballot.voter, m),
                             rules.key, ct, _BITS, proof):
            return BallotRefusal(BallotProblem.CHOICE_PROOF, m)
    if not verify_one_of(COUNT_TAG, _count_bound(rules.context, ballot.voter), rules.key,
                         ciphertext_sum(ballot.choices), rules.counts, ballot.count_proof):
        return BallotRefusal(BallotProblem.COUNT_PROOF)
    return None


def tracker(context: bytes, ballot: Ballot) -> bytes:
    """`Hb("phonghop/tracker/v1", context, str(voter), α₀, β₀, …, every c and z in order)`."""
    parts: list[bytes] = [context, text(ballot.voter)]
    for ct in ballot.choices:
        parts += [ct.alpha.encode(), ct.beta.encode()]
    for proof in (*ballot.choice_proofs, ballot.count_proof):
        for c, z in proof:
            parts += [c.encode(), z.encode()]
    return hash_to_bytes(TRACKER_TAG, *parts)


def tracker_display(value: bytes) -> str:
    """The first 16 hex digits in groups of four: `7f3a-91c2-0b4e-d5a8`."""
    digits = value.hex()[:16]
    return "-".join(digits[i:i + 4] for i in range(0, 16, 4))
