"""The client side of a phonghop encrypted secret poll, written from docs/BALLOT_CRYPTO.md
alone: a counting-board member's key ceremony and partial decryption, and a voter's
encrypted ballot with its proofs. A second implementation beside the browser's
(static/secret_ballot.js) and the server's (voting/secret/): it imports nothing of
phonghop, only the group and hashing of `verify_poll.py` beside it (pysodium), AES-GCM
from `cryptography` and the standard library. `full_meeting.py` plays its devices with it.

Scalars are Python integers mod L, points their 32-byte encodings, as in verify_poll.py.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from verify_poll import L, add, gmul, hb, hs, mul, point, scalar, string, sub, u32

NONCE = bytes(12)  # each share key encrypts one message


def rand() -> int:
    """A uniform scalar: 64 random bytes reduced mod L."""
    return int.from_bytes(secrets.token_bytes(64), "little") % L


def sc(n: int) -> str:
    return (n % L).to_bytes(32, "little").hex()


def ceremony_id(poll_uid: str, n: int, t: int) -> bytes:
    return hb("phonghop/ceremony/v1", string(poll_uid), u32(n), u32(t))


def at(coefficients: list[bytes], j: int) -> bytes:
    """Σₖ jᵏ·Aₖ: the public image of a dealer's f(j)."""
    total = bytes(32)
    for k, a in enumerate(coefficients):
        total = add(total, mul(pow(j, k, L), a))
    return total


@dataclass
class Member:
    """One counting-board member's device: its round-1 secrets, then its key share."""

    poll_uid: str
    index: int
    n: int
    t: int
    transport: int = 0
    coefficients: list[int] = field(default_factory=list)
    secret: int | None = None  # xⱼ, after round 3

    @property
    def ceremony(self) -> bytes:
        return ceremony_id(self.poll_uid, self.n, self.t)

    def f(self, j: int) -> int:
        return sum(a * pow(j, k, L) for k, a in enumerate(self.coefficients)) % L

    def round1(self) -> dict[str, Any]:
        """Transport key, commitments and Schnorr proofs of the coefficients."""
        self.transport = rand()
        self.coefficients = [rand() for _ in range(self.t)]
        commitments = [gmul(a) for a in self.coefficients]
        proofs = []
        for k, (a, big_a) in enumerate(zip(self.coefficients, commitments, strict=True)):
            w = rand()
            c = hs("phonghop/ceremony/v1/coefficient", self.ceremony, u32(self.index), u32(k),
                   big_a, gmul(w))
            proofs.append([sc(c), sc(w + c * a)])
        return {"index": self.index, "transport_key": gmul(self.transport).hex(),
                "commitments": [a.hex() for a in commitments], "proofs": proofs}

    def round2(self, round1: dict[str, Any]) -> list[dict[str, Any]]:
        """My share fᵢ(j) for each other member j, under j's transport key (AES-256-GCM)."""
        out = []
        for j in range(1, self.n + 1):
            if j == self.index:
                continue
            r = rand()
            big_r = gmul(r)
            s = mul(r, point(round1[str(j)]["transport_key"]))
            key = hb("phonghop/ceremony/v1/share", self.ceremony, u32(self.index), u32(j),
                     big_r, s)
            box = AESGCM(key).encrypt(NONCE, self.f(j).to_bytes(32, "little"),
                                      self.ceremony + u32(self.index) + u32(j))
            out.append({"from": self.index, "to": j, "r": big_r.hex(), "box": box.hex()})
        return out

    def round3(self, round1: dict[str, Any], shares: dict[str, Any]) -> dict[str, Any] | None:
        """Decrypt and check the shares addressed to me: my key share (None), or the
        complaint `{dealer, reason, key, proof}` about the first bad one."""
        total = self.f(self.index)
        for i in range(1, self.n + 1):
            if i == self.index:
                continue
            mine = [s for s in shares.get(str(i), []) if s["to"] == self.index]
            big_r = None
            try:
                share = mine[0]
                big_r = point(share["r"])
                key = hb("phonghop/ceremony/v1/share", self.ceremony, u32(i), u32(self.index),
                         big_r, mul(self.transport, big_r))
                plain = AESGCM(key).decrypt(NONCE, bytes.fromhex(share["box"]),
                                            self.ceremony + u32(i) + u32(self.index))
                value = scalar(plain.hex())
            except Exception:  # missing, not a point, a failed tag, not a scalar
                return self.complaint(i, "undecryptable", big_r)
            commitments = [point(a) for a in round1[str(i)]["commitments"]]
            if gmul(value) != at(commitments, self.index):
                return self.complaint(i, "mismatch", big_r)
            total += value
        self.secret = total % L
        return None

    def complaint(self, i: int, reason: str, big_r: bytes | None) -> dict[str, Any]:
        """A complaint against dealer i that anyone can judge: S = eⱼ·R of its envelope and
        the proof that log_G Eⱼ = log_R S (none when R is missing or not a point)."""
        if big_r is None:
            return {"dealer": i, "reason": reason, "key": None, "proof": None}
        j, e = self.index, self.transport
        s = mul(e, big_r)
        w = rand()
        c = hs("phonghop/ceremony/v1/complaint", self.ceremony, u32(i), u32(j), gmul(e), big_r,
               s, gmul(w), mul(w, big_r))
        return {"dealer": i, "reason": reason, "key": s.hex(), "proof": [sc(c), sc(w + c * e)]}

    def partials(self, board: dict[str, Any]) -> list[dict[str, str]]:
        """Dⱼ,ₘ = xⱼ·Aₘ for every option's aggregate, with the Chaum–Pedersen proof."""
        assert self.secret is not None
        x = self.secret
        context = bytes.fromhex(board["context"])
        key = gmul(x)
        if key.hex() != board["verification_keys"][str(self.index)]:
            raise ValueError("my key share is not the one the board published")
        out = []
        for m, total in enumerate(board["aggregate"]):
            a, b = point(total["alpha"]), point(total["beta"])
            d = mul(x, a)
            w = rand()
            c = hs("phonghop/tally/v1/share", context, u32(self.index), u32(m), a, b, key, d,
                   gmul(w), mul(w, a))
            out.append({"d": d.hex(), "c": sc(c), "z": sc(w + c * x)})
        return out


def _prove_one_of(tag: str, bound: list[bytes], key: bytes, alpha: bytes, beta: bytes,
                  values: list[int], index: int, r: int) -> list[list[str]]:
    """The disjunctive Chaum–Pedersen proof that (alpha, beta) encrypts values[index]."""
    commitments: list[bytes] = []
    pairs: list[list[int]] = []
    w = 0
    for i, v in enumerate(values):
        if i == index:
            w = rand()
            commitments += [gmul(w), mul(w, key)]
            pairs.append([0, 0])
        else:
            c, z = rand(), rand()
            commitments += [sub(gmul(z), mul(c, alpha)),
                            sub(mul(z, key), mul(c, sub(beta, gmul(v))))]
            pairs.append([c, z])
    challenge = hs(tag, *bound, alpha, beta, *commitments)
    real = (challenge - sum(c for i, (c, _z) in enumerate(pairs) if i != index)) % L
    pairs[index] = [real, (w + real * r) % L]
    return [[sc(c), sc(z)] for c, z in pairs]


def ballot(board: dict[str, Any], voter: int, bits: list[int], minimum: int,
           maximum: int) -> dict[str, Any]:
    """An encrypted ballot: one ciphertext per option (`bits`: 0 or 1 each) with its proof,
    and the proof that their number is within minimum … maximum."""
    context = bytes.fromhex(board["context"])
    key = point(board["public_key"])
    who = string(str(voter))
    choices, total_r = [], 0
    alpha_sum = beta_sum = bytes(32)
    for m, v in enumerate(bits):
        r = rand()
        alpha, beta = gmul(r), add(gmul(v), mul(r, key))
        proof = _prove_one_of("phonghop/ballot/v1/choice", [context, who, u32(m)], key,
                              alpha, beta, [0, 1], v, r)
        choices.append({"alpha": alpha.hex(), "beta": beta.hex(), "proof": proof})
        total_r += r
        alpha_sum, beta_sum = add(alpha_sum, alpha), add(beta_sum, beta)
    count = _prove_one_of("phonghop/ballot/v1/count", [context, who, b""], key, alpha_sum,
                          beta_sum, list(range(minimum, maximum + 1)), sum(bits) - minimum,
                          total_r % L)
    return {"voter": str(voter), "choices": choices, "count_proof": count}


def tracker(board: dict[str, Any], doc: dict[str, Any]) -> str:
    """The ballot's tracker (64 hex digits): what the server acknowledges it with."""
    parts = [bytes.fromhex(board["context"]), string(doc["voter"])]
    for item in doc["choices"]:
        parts += [bytes.fromhex(item["alpha"]), bytes.fromhex(item["beta"])]
    for proof in [item["proof"] for item in doc["choices"]] + [doc["count_proof"]]:
        for c, z in proof:
            parts += [bytes.fromhex(c), bytes.fromhex(z)]
    return hb("phonghop/tracker/v1", *parts).hex()
