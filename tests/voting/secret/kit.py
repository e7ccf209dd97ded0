"""Test helpers: the spec's deterministic test rng (docs/BALLOT_CRYPTO.md, appendix), and a
whole secret poll run in memory: ceremony, ballots, partial decryptions, board."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from phonghop.voting.secret.ballot import Ballot, BallotRules, encrypt_ballot
from phonghop.voting.secret.board import BoardMember, PollInfo, build_board
from phonghop.voting.secret.ceremony import (
    EncryptedShare,
    MemberKey,
    MemberSecrets,
    Round1,
    public_key,
    round1,
    round2,
    round3,
    verification_keys,
)
from phonghop.voting.secret.count import Partial, aggregate, partial_decrypt
from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import Point, Rng, Scalar, hash_to_scalar, text, u32

RNG_TAG = "phonghop/test/rng/v1"


class SeededRng:
    """Draw n of stream `label` is `Hs("phonghop/test/rng/v1", seed, str(label), u32(n))`;
    every draw is kept in `draws`."""

    def __init__(self, seed: bytes, label: str) -> None:
        self.seed, self.label = seed, label
        self.draws: list[Scalar] = []
        self._n = itertools.count()

    def __call__(self) -> Scalar:
        s = hash_to_scalar(RNG_TAG, self.seed, text(self.label), u32(next(self._n)))
        self.draws.append(s)
        return s


def rng_for(seed: bytes) -> dict[str, SeededRng]:
    """Streams made on first use, kept by label (for the vectors' `draws`)."""
    return _Streams(seed)


class _Streams(dict):  # type: ignore[type-arg]
    def __init__(self, seed: bytes) -> None:
        super().__init__()
        self.seed = seed

    def __missing__(self, label: str) -> SeededRng:
        self[label] = SeededRng(self.seed, label)
        return self[label]


@dataclass
class Ceremony:
    """A finished ceremony: everyone's round 1 and 2, the members' keys."""

    poll: PollInfo
    secrets: dict[int, MemberSecrets]
    round1: list[Round1]
    round2: dict[int, list[EncryptedShare]]
    keys: dict[int, MemberKey]
    streams: dict[str, SeededRng] = field(default_factory=dict)

    @property
    def key(self) -> Point:
        return public_key(self.round1)

    @property
    def x_keys(self) -> dict[int, Point]:
        return verification_keys(self.round1)

    @property
    def rules(self) -> BallotRules:
        return self.poll.rules(self.key)

    def inbox(self, j: int) -> dict[int, EncryptedShare]:
        """The shares addressed to member j, by dealer."""
        return {s.dealer: s for shares in self.round2.values() for s in shares
                if s.recipient == j}

    def members(self) -> list[BoardMember]:
        return [BoardMember(m, str(100 + m.index), f"Thành viên {m.index}")
                for m in self.round1]


def run_ceremony(poll: PollInfo, seed: bytes = b"test") -> Ceremony:
    streams = rng_for(seed)
    cer = poll.ceremony
    secrets, messages = {}, []
    for i in range(1, poll.n + 1):
        s, m = round1(cer, i, poll.t, streams[f"member/{i}/round1"])
        secrets[i] = s
        messages.append(m)
    sent = {i: round2(cer, secrets[i], messages, streams[f"member/{i}/round2"])
            for i in secrets}
    out = Ceremony(poll, secrets, messages, sent, {}, streams)
    for j in secrets:
        key = round3(cer, secrets[j], messages, out.inbox(j))
        assert isinstance(key, MemberKey), key
        out.keys[j] = key
    return out


def cast(ceremony: Ceremony, votes: Mapping[str, Sequence[int]]) -> list[Ballot]:
    streams = ceremony.streams
    return [encrypt_ballot(ceremony.rules, voter, choices, streams[f"ballot/{voter}"])
            for voter, choices in votes.items()]


def decrypt_shares(ceremony: Ceremony, ballots: Sequence[Ballot],
                   members: Sequence[int]) -> tuple[list[Ciphertext], dict[int, list[Partial]]]:
    totals = aggregate(ballots, len(ceremony.poll.options))
    return totals, {j: partial_decrypt(ceremony.rules.context, ceremony.keys[j], totals,
                                       ceremony.streams[f"partial/{j}"]) for j in members}


def poll_info(n: int = 3, t: int = 2, options: Sequence[str] = ("Đồng ý", "Không", "Khác"),
              minimum: int = 0, maximum: int = 2, uid: str = "test-deployment/1/1") -> PollInfo:
    return PollInfo(uid, "Thông qua nghị quyết số 7?", tuple(options), minimum, maximum, n, t)


def board(ceremony: Ceremony, votes: Mapping[str, Sequence[int]],
          members: Sequence[int] | None = None, closed: bool = True) -> dict:
    """A whole board; `members` send their shares (default: all)."""
    ballots = cast(ceremony, votes)
    chosen = list(ceremony.keys) if members is None else list(members)
    _totals, shares = decrypt_shares(ceremony, ballots, chosen)
    return build_board(ceremony.poll, ceremony.members(), ballots, closed,
                       shares if closed else None)


def rng_seq(seed: bytes, label: str = "test") -> Rng:
    return SeededRng(seed, label)
