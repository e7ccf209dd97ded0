"""The key ceremony of the counting board: Pedersen's distributed key generation with
Feldman commitments (docs/BALLOT_CRYPTO.md, section 1).

Member side: `round1` (commitments, their proofs, a transport key), `round2` (each other
member's share, encrypted to their transport key), `round3` (decrypt and check the shares
addressed to me: my secret, or complaints, each revealing that one envelope's key with a
proof). Public side: `check_round1`, `judge_complaint`, `public_key`, `verification_keys`
and the poll `context`, all computable by anyone from the published rounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from phonghop.voting.secret.group import (
    IDENTITY,
    EncodingError,
    Point,
    Rng,
    Scalar,
    base_mul,
    hash_to_bytes,
    random_scalar,
    text,
    u32,
    unhex,
)
from phonghop.voting.secret.proofs import (
    Pair,
    pairs_from_json,
    prove_equal_logs,
    prove_knowledge,
    verify_equal_logs,
    verify_knowledge,
)

MAX_MEMBERS = 15
CEREMONY_TAG = "phonghop/ceremony/v1"
COEFFICIENT_TAG = "phonghop/ceremony/v1/coefficient"
SHARE_TAG = "phonghop/ceremony/v1/share"
COMPLAINT_TAG = "phonghop/ceremony/v1/complaint"
POLL_TAG = "phonghop/poll/v1"
_NONCE = bytes(12)  # each share key encrypts exactly one message


def ceremony_id(poll_uid: str, n: int, t: int) -> bytes:
    """`Hb("phonghop/ceremony/v1", str(poll_uid), u32(n), u32(t))`."""
    if not 1 <= t <= n <= MAX_MEMBERS:
        raise ValueError("need 1 ≤ t ≤ n ≤ 15")
    return hash_to_bytes(CEREMONY_TAG, text(poll_uid), u32(n), u32(t))


# ---- round 1 ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Round1:
    """What member `index` publishes first: transport key, commitments `Aₖ`, proofs."""

    index: int
    transport_key: Point
    commitments: tuple[Point, ...]
    proofs: tuple[Pair, ...]

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "transport_key": self.transport_key.hex(),
                "commitments": [a.hex() for a in self.commitments],
                "proofs": [p.to_json() for p in self.proofs]}

    @classmethod
    def from_json(cls, doc: object, t: int) -> Round1:
        """Parse with exactly t commitments and proofs; `ValueError` otherwise. Extra keys
        are allowed (the board adds `user_id` and `name`)."""
        if not isinstance(doc, dict):
            raise ValueError("round 1 is an object")
        index = doc.get("index")
        if type(index) is not int:
            raise ValueError("index is an integer")
        commitments = doc.get("commitments")
        if not isinstance(commitments, list) or len(commitments) != t:
            raise ValueError(f"expected {t} commitments")
        return cls(index, Point.from_hex(doc.get("transport_key")),
                   tuple(Point.from_hex(a) for a in commitments),
                   pairs_from_json(doc.get("proofs"), t))


@dataclass(frozen=True)
class MemberSecrets:
    """What member `index` keeps from round 1 until round 3 (never published)."""

    index: int
    transport: Scalar = field(repr=False)
    coefficients: tuple[Scalar, ...] = field(repr=False)

    def share_for(self, j: int) -> Scalar:
        """`fᵢ(j) = Σₖ aₖ·jᵏ` (Horner)."""
        total = 0
        for a in reversed(self.coefficients):
            total = total * j + a.value
        return Scalar.reduce(total)


def _coefficient_bound(ceremony: bytes, i: int, k: int, commitment: Point) -> list[bytes]:
    return [ceremony, u32(i), u32(k), commitment.encode()]


def round1(ceremony: bytes, index: int, t: int,
           rng: Rng = random_scalar) -> tuple[MemberSecrets, Round1]:
    """Member `index` draws a transport key and a polynomial of degree t−1, and proves
    knowledge of each coefficient (draws: `e`, `a₀ … aₜ₋₁`, then each proof's `w`)."""
    e = rng()
    coefficients = tuple(rng() for _ in range(t))
    commitments = tuple(base_mul(a) for a in coefficients)
    proofs = tuple(
        prove_knowledge(COEFFICIENT_TAG, _coefficient_bound(ceremony, index, k, commitments[k]),
                        a, rng)
        for k, a in enumerate(coefficients))
    return (MemberSecrets(index, e, coefficients),
            Round1(index, base_mul(e), commitments, proofs))


def check_round1(ceremony: bytes, n: int, t: int, message: Round1) -> str | None:
    """Why a round-1 message is refused (None: accepted)."""
    if not 1 <= message.index <= n:
        return "index out of range"
    if len(message.commitments) != t or len(message.proofs) != t:
        return f"expected {t} commitments and proofs"
    if message.transport_key == IDENTITY:
        return "transport key is the identity"
    for k, (a, proof) in enumerate(zip(message.commitments, message.proofs, strict=True)):
        if not verify_knowledge(COEFFICIENT_TAG, _coefficient_bound(
                ceremony, message.index, k, a), a, proof):
            return f"coefficient proof {k} fails"
    return None


# ---- round 2 ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EncryptedShare:
    """Dealer `dealer`'s share for `recipient`, under the recipient's transport key."""

    dealer: int
    recipient: int
    r: Point
    box: bytes

    def to_json(self) -> dict[str, object]:
        return {"from": self.dealer, "to": self.recipient, "r": self.r.hex(),
                "box": self.box.hex()}

    @classmethod
    def from_json(cls, doc: object) -> EncryptedShare:
        """Parse `{"from", "to", "r", "box"}`; the point `r` is decoded in round 3, where a
        bad one is a complaint rather than a parse error."""
        if not isinstance(doc, dict) or set(doc) != {"from", "to", "r", "box"}:
            raise ValueError("a share is {from, to, r, box}")
        if type(doc["from"]) is not int or type(doc["to"]) is not int:
            raise ValueError("from and to are integers")
        return cls(doc["from"], doc["to"], Point(unhex(doc["r"], 32)), unhex(doc["box"], 48))


def _share_key(ceremony: bytes, i: int, j: int, r: Point, s: Point) -> bytes:
    return hash_to_bytes(SHARE_TAG, ceremony, u32(i), u32(j), r.encode(), s.encode())


def _share_ad(ceremony: bytes, i: int, j: int) -> bytes:
    return ceremony + u32(i) + u32(j)


def encrypt_share(ceremony: bytes, dealer: int, recipient: int, share: Scalar,
                  transport_key: Point, rng: Rng = random_scalar) -> EncryptedShare:
    """`R = r·G`, `S = r·E`, the key `Hb(…, R, S)`, AES-256-GCM with the zero nonce."""
    r = rng()
    big_r = base_mul(r)
    key = _share_key(ceremony, dealer, recipient, big_r, r * transport_key)
    box = AESGCM(key).encrypt(_NONCE, share.encode(), _share_ad(ceremony, dealer, recipient))
    return EncryptedShare(dealer, recipient, big_r, box)


def round2(ceremony: bytes, secrets: MemberSecrets,
           others: Sequence[Round1], rng: Rng = random_scalar) -> list[EncryptedShare]:
    """The encrypted shares `fᵢ(j)` for every other member j (increasing j, one draw each).

    `others` are the accepted round-1 messages (mine may be among them; it is skipped).
    """
    return [encrypt_share(ceremony, secrets.index, m.index, secrets.share_for(m.index),
                          m.transport_key, rng)
            for m in sorted(others, key=lambda m: m.index) if m.index != secrets.index]


# ---- round 3 ---------------------------------------------------------------------------

class ComplaintReason(StrEnum):
    UNDECRYPTABLE = "undecryptable"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Complaint:
    """Member `complainer` accuses `dealer` of a bad share, revealing that one envelope's
    Diffie–Hellman value `key` = S = eⱼ·R with a proof that `log_G Eⱼ = log_R S`, so that
    anyone can open the envelope and judge (`judge_complaint`). `key` and `proof` are None
    only when the envelope's R is not a point (the dealer's fault, visible to all)."""

    complainer: int
    dealer: int
    reason: ComplaintReason
    key: Point | None = None
    proof: Pair | None = None

    def to_json(self) -> dict[str, object]:
        return {"from": self.complainer, "dealer": self.dealer, "reason": str(self.reason),
                "key": None if self.key is None else self.key.hex(),
                "proof": None if self.proof is None else self.proof.to_json()}

    @classmethod
    def from_json(cls, doc: object) -> Complaint:
        """Parse `{from, dealer, reason, key, proof}`; `ValueError` otherwise."""
        if not isinstance(doc, dict) or set(doc) != {"from", "dealer", "reason", "key", "proof"}:
            raise ValueError("a complaint is {from, dealer, reason, key, proof}")
        if type(doc["from"]) is not int or type(doc["dealer"]) is not int:
            raise ValueError("from and dealer are integers")
        key = None if doc["key"] is None else Point.from_hex(doc["key"])
        proof = None if doc["proof"] is None else Pair.from_json(doc["proof"])
        return cls(doc["from"], doc["dealer"], ComplaintReason(doc["reason"]), key, proof)


def _complaint_bound(ceremony: bytes, i: int, j: int, transport_key: Point, r: Point,
                     s: Point) -> list[bytes]:
    return [ceremony, u32(i), u32(j), transport_key.encode(), r.encode(), s.encode()]


def make_complaint(ceremony: bytes, secrets: MemberSecrets, share: EncryptedShare | None,
                   dealer: int, reason: ComplaintReason,
                   rng: Rng = random_scalar) -> Complaint:
    """My complaint against `dealer` about `share`: S = eⱼ·R and its proof (one draw, `w`),
    or neither when there is no envelope or its R is not a point."""
    j = secrets.index
    try:
        if share is None or share.dealer != dealer:
            raise ValueError("missing")
        r = Point.decode(share.r.data)
    except ValueError:  # EncodingError included
        return Complaint(j, dealer, reason)
    s = secrets.transport * r
    bound = _complaint_bound(ceremony, dealer, j, base_mul(secrets.transport), r, s)
    return Complaint(j, dealer, reason, s,
                     prove_equal_logs(COMPLAINT_TAG, bound, secrets.transport, r, rng))


class Verdict(StrEnum):
    DEALER_AT_FAULT = "dealer_at_fault"  # the share is bad: proven against the dealer
    COMPLAINT_FALSE = "complaint_false"  # the share opens and matches: the complaint is false
    INVALID = "invalid"  # the complaint proves nothing (no or a wrong proof, other parties)


def judge_complaint(ceremony: bytes, complainer: Round1, dealer: Round1,
                    share: EncryptedShare, complaint: Complaint) -> Verdict:
    """Judge `complaint` from public data only: the two members' round 1 and the envelope
    `share` the dealer sent to the complainer. The revealed S opens the envelope only if its
    proof verifies; then the share decides who is at fault."""
    i, j = dealer.index, complainer.index
    if (complaint.complainer, complaint.dealer, share.dealer, share.recipient) != (j, i, i, j):
        return Verdict.INVALID
    try:
        r = Point.decode(share.r.data)
    except ValueError:  # R is no point: anyone sees that the envelope cannot open
        return Verdict.DEALER_AT_FAULT
    if complaint.key is None or complaint.proof is None:
        return Verdict.INVALID
    s = complaint.key
    bound = _complaint_bound(ceremony, i, j, complainer.transport_key, r, s)
    if not verify_equal_logs(COMPLAINT_TAG, bound, r, complainer.transport_key, s,
                             complaint.proof):
        return Verdict.INVALID
    try:
        value = _open_share(ceremony, i, j, r, s, share.box)
    except ValueError:
        return Verdict.DEALER_AT_FAULT
    if base_mul(value) != commitment_at(dealer.commitments, j):
        return Verdict.DEALER_AT_FAULT
    return Verdict.COMPLAINT_FALSE


@dataclass(frozen=True)
class MemberKey:
    """Member `index`'s share `xⱼ` of the poll secret, and the public `Xⱼ = xⱼ·G`."""

    index: int
    secret: Scalar = field(repr=False)
    verification_key: Point


def commitment_at(commitments: Sequence[Point], j: int) -> Point:
    """`Σₖ jᵏ·Aₖ` (the public image of the dealer's `f(j)`)."""
    total = IDENTITY
    for a in reversed(commitments):  # Horner: ((A_{t−1})·j + A_{t−2})·j + …
        total = Scalar.reduce(j) * total + a
    return total


def decrypt_share(ceremony: bytes, secrets: MemberSecrets, share: EncryptedShare) -> Scalar:
    """The scalar in a share addressed to me; `ValueError` when it does not decrypt."""
    if share.recipient != secrets.index:
        raise ValueError("not addressed to me")
    r = Point.decode(share.r.data)  # EncodingError is a ValueError
    return _open_share(ceremony, share.dealer, secrets.index, r, secrets.transport * r,
                       share.box)


def _open_share(ceremony: bytes, i: int, j: int, r: Point, s: Point, box: bytes) -> Scalar:
    """The scalar in dealer i's box for j, keyed by S; `ValueError` when it does not open."""
    key = _share_key(ceremony, i, j, r, s)
    try:
        plain = AESGCM(key).decrypt(_NONCE, box, _share_ad(ceremony, i, j))
    except InvalidTag as exc:
        raise ValueError("the tag fails") from exc
    return Scalar.decode(plain)


def round3(ceremony: bytes, secrets: MemberSecrets, accepted: Sequence[Round1],
           shares: Mapping[int, EncryptedShare],
           rng: Rng = random_scalar) -> MemberKey | list[Complaint]:
    """Decrypt and check each dealer's share (`shares` by dealer index): my key
    `xⱼ = Σᵢ sᵢ,ⱼ`, or one complaint per bad dealer (`make_complaint`, drawing in
    increasing dealer order). `accepted` are all n round-1 messages, each already passed
    by `check_round1`."""
    j = secrets.index
    complaints: list[Complaint] = []
    total = secrets.share_for(j)
    for dealer in sorted(accepted, key=lambda m: m.index):
        if dealer.index == j:
            continue
        share = shares.get(dealer.index)
        try:
            if share is None or share.dealer != dealer.index:
                raise ValueError("missing")
            s = decrypt_share(ceremony, secrets, share)
        except (ValueError, EncodingError):
            complaints.append(make_complaint(ceremony, secrets, share, dealer.index,
                                             ComplaintReason.UNDECRYPTABLE, rng))
            continue
        if base_mul(s) != commitment_at(dealer.commitments, j):
            complaints.append(make_complaint(ceremony, secrets, share, dealer.index,
                                             ComplaintReason.MISMATCH, rng))
            continue
        total = total + s
    if complaints:
        return complaints
    return MemberKey(j, total, base_mul(total))


# ---- public results --------------------------------------------------------------------

def public_key(accepted: Sequence[Round1]) -> Point:
    """`K = Σᵢ Aᵢ,₀`."""
    total = IDENTITY
    for m in accepted:
        total = total + m.commitments[0]
    return total


def verification_keys(accepted: Sequence[Round1]) -> dict[int, Point]:
    """Every member's `Xⱼ = Σᵢ Σₖ jᵏ·Aᵢ,ₖ`, computed as `Σₖ jᵏ·Cₖ` over the summed
    commitments `Cₖ = Σᵢ Aᵢ,ₖ` (n·t multiplications instead of n²·t)."""
    t = len(accepted[0].commitments)
    summed = [IDENTITY] * t
    for m in accepted:
        summed = [c + a for c, a in zip(summed, m.commitments, strict=True)]
    return {m.index: commitment_at(summed, m.index) for m in accepted}


def poll_context(ceremony: bytes, poll_uid: str, title: str, options: Sequence[str],
                 minimum: int, maximum: int, key: Point) -> bytes:
    """`Hb("phonghop/poll/v1", ceremony, str(poll_uid), str(title), u32(k), str(option)…,
    u32(min), u32(max), K)`."""
    return hash_to_bytes(POLL_TAG, ceremony, text(poll_uid), text(title), u32(len(options)),
                         *(text(o) for o in options), u32(minimum), u32(maximum), key.encode())
