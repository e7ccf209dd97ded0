"""Ballot verification on libdecaf (Debian `libdecaf0`): the same verdicts as
`fast.PollVerifier`, with fewer and cheaper group operations.

libsodium's ristretto255 API takes and returns encodings, so each of its calls decodes
its inputs and encodes its output (an inverse square root each), and it has no table for
a base other than `G`. libdecaf (by the author of Decaf and Ristretto; its `decaf_255_*`
group *is* ristretto255: same encodings, its base point is `G`) works on points in
memory. Per ballot this verifier:
- decodes each ciphertext's α and β once, and adds them in memory for the count proof;
- multiplies by the poll key `K` with a table built once per poll (`decaf_255_precompute`,
  ≈ 25 µs instead of ≈ 70) and by `G` with libdecaf's own table;
- computes both branches' `c₀·α, c₁·α` in one `decaf_255_point_dual_scalarmul` (one
  doubling chain for two scalars), and `c₀·β, c₁·β` in another;
- per branch `Pᵢ = zᵢ·G − cᵢ·α` and `Qᵢ = zᵢ·K − cᵢ·β + (cᵢ·vᵢ)·G` (the same point as
  `zᵢ·K − cᵢ·(β − vᵢ·G)`), and encodes only `Pᵢ` and `Qᵢ`, which are hashed.

Timing: libdecaf's operations used here are constant-time, but nothing here needs to be:
everything a verifier handles (ballots, the poll key, the proofs) is public. The scratch
memory is one buffer per call, so threads may share a verifier.

Where the answer must be libsodium's, it is libsodium's: a ballot this verifier cannot
take as it is goes to `fast.PollVerifier.verify`, which hands malformed ones to
`verify_ballot_reference`. That covers every document that is not a well-formed ballot
and every α, β that libdecaf does not decode. libsodium 1.0.18 also accepts an encoding
with the top bit set (RFC 9496 refuses it; libdecaf too) as the point of the same bytes
with that bit clear; the parser refuses such an α or β before either library sees it
(`fast._encoding`), and a poll key with one (which no decoded key can be) is left to
libsodium. For every other 32 bytes the two libraries
agree on whether they are a point (and libdecaf re-encodes them to the same bytes);
tests/voting/secret/test_decaf_verify.py checks that, and that the two verifiers and the
reference agree on random honest, forged and malformed ballots.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from collections.abc import Sequence

import orjson

from phonghop.voting.secret.ballot import (
    BallotProblem,
    BallotRefusal,
    BallotRules,
    verify_ballot_reference,
)
from phonghop.voting.secret.fast import PollVerifier, _Pair
from phonghop.voting.secret.fast import sum_choices as _sum_choices_libsodium
from phonghop.voting.secret.group import ORDER, G, frame

_POINT = 256  # sizeof(decaf_255_point_t): 4 coordinates of 64 bytes, aligned 32
_SCALAR = 32  # sizeof(decaf_255_scalar_t): 4 little-endian 64-bit limbs
_ALIGN = 32
_YES = 2**64 - 1  # decaf_bool_t true (all ones)
_SUCCESS = -1  # DECAF_SUCCESS
_ZERO = bytes(32)
_F32 = (32).to_bytes(4, "big")  # the frame of a point or scalar
_V = ctypes.c_void_p


def _load() -> ctypes.CDLL | None:
    """libdecaf with the prototypes used here, when it loads and is ristretto255
    (libdecaf before 1.0 encoded Decaf, not Ristretto: its `G` would differ)."""
    name = ctypes.util.find_library("decaf") or "libdecaf.so.0"
    try:
        lib = ctypes.CDLL(name)
        base = ctypes.c_char.in_dll(lib, "decaf_255_point_base")
        lib.decaf_255_sizeof_precomputed_s  # noqa: B018 (present in 1.0's ABI)
    except (OSError, ValueError, AttributeError):
        return None
    lib.decaf_255_point_decode.argtypes = [_V, ctypes.c_char_p, ctypes.c_uint64]
    lib.decaf_255_point_decode.restype = ctypes.c_int
    for name, args in (
        ("decaf_255_point_encode", [_V, _V]),
        ("decaf_255_point_add", [_V, _V, _V]),
        ("decaf_255_point_sub", [_V, _V, _V]),
        ("decaf_255_point_scalarmul", [_V, _V, _V]),
        ("decaf_255_point_dual_scalarmul", [_V, _V, _V, _V, _V]),
        ("decaf_255_precompute", [_V, _V]),
        ("decaf_255_precomputed_scalarmul", [_V, _V, _V]),
    ):
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, None
    out = ctypes.create_string_buffer(32)
    lib.decaf_255_point_encode(out, ctypes.byref(base))
    return lib if out.raw == G.encode() else None


_lib = _load()
AVAILABLE = _lib is not None
"""Whether libdecaf0 loaded here (and is ristretto255)."""


class _Arena:
    """Aligned scratch memory: a bytearray (Python reads and writes its bytes by slice) and
    the address of its first 32-aligned byte (what the C calls take)."""

    __slots__ = ("_view", "base", "data", "offset")

    def __init__(self, size: int) -> None:
        self.data = bytearray(size + _ALIGN)
        self._view = ctypes.c_char.from_buffer(self.data)  # pins the buffer (no resize)
        address = ctypes.addressof(self._view)
        self.offset = -address % _ALIGN
        self.base = address + self.offset


class DecafPollVerifier(PollVerifier):
    """`PollVerifier` whose `verify` computes with libdecaf; build it once per poll
    (`fast.verifier_for` does). Variable time is acceptable: all it handles is public."""

    engine = "libdecaf"

    def __init__(self, rules: BallotRules) -> None:
        super().__init__(rules)
        if _lib is None:
            raise RuntimeError("libdecaf0 is not available")
        lib = _lib
        key = rules.key.encode()
        # A key libdecaf does not decode as libsodium does (top bit set): libsodium checks.
        self._table: _Arena | None = None
        if not key[31] & 0x80:
            size = ctypes.c_size_t.in_dll(lib, "decaf_255_sizeof_precomputed_s").value
            point = _Arena(_POINT)
            if lib.decaf_255_point_decode(point.base, key, _YES) == _SUCCESS:
                self._table = _Arena(size)
                lib.decaf_255_precompute(self._table.base, point.base)
        self._base_table = ctypes.c_void_p.in_dll(lib, "decaf_255_precomputed_base").value
        self._values = rules.counts  # the vᵢ of the count proof's branches
        self._branches = max(2, len(self._values))

    def verify(self, ballot: object) -> BallotRefusal | None:
        """None when the ballot (its JSON, or a typed `Ballot`) is valid; the refusal the
        reference path gives otherwise."""
        if self._table is None:
            return super().verify(ballot)
        parsed = self._parse(ballot, points=False)  # points are decoded below, once
        if parsed is None:  # not a well-formed ballot: the reference names the problem
            return verify_ballot_reference(self.rules, ballot)
        voter, choices, count_proof = parsed
        lib = _lib
        assert lib is not None
        k = len(choices)
        n = self._branches
        # Points: α, β per option; Σα, Σβ; cᵢ·α and cᵢ·β per branch; 2 temporaries.
        # Then 3 scalars per branch (cᵢ, zᵢ, cᵢ·vᵢ), 2 encodings (Pᵢ, Qᵢ) per branch and
        # one more (Σα or Σβ).
        points = 2 * k + 2 + 2 * n + 2
        arena = _Arena(points * _POINT + n * 3 * _SCALAR + n * 64 + 32)
        at = arena.base
        decode = lib.decaf_255_point_decode
        for m, (alpha, beta, _proof) in enumerate(choices):
            if (alpha[31] & 0x80 or beta[31] & 0x80
                    or decode(at + 2 * m * _POINT, alpha, _YES) != _SUCCESS
                    or decode(at + (2 * m + 1) * _POINT, beta, _YES) != _SUCCESS):
                return super().verify(ballot)  # libsodium's answer, whatever it is
        voter_frame = frame(voter.encode())  # digits only: NFC and UTF-8 change nothing
        for m, (alpha, beta, proof) in enumerate(choices):
            prefix = self._choice_prefix + voter_frame + self._option_frames[m]
            a, b = at + 2 * m * _POINT, at + (2 * m + 1) * _POINT
            if not self._proved(arena, k, prefix, a, b, alpha, beta, (0, 1), proof):
                return BallotRefusal(BallotProblem.CHOICE_PROOF, m)
        sum_a, sum_b = at + 2 * k * _POINT, at + (2 * k + 1) * _POINT
        if k == 1:
            sum_alpha, sum_beta = choices[0][0], choices[0][1]
            sum_a, sum_b = at, at + _POINT
        else:
            add = lib.decaf_255_point_add
            add(sum_a, at, at + 2 * _POINT)
            add(sum_b, at + _POINT, at + 3 * _POINT)
            for m in range(2, k):
                add(sum_a, sum_a, at + 2 * m * _POINT)
                add(sum_b, sum_b, at + (2 * m + 1) * _POINT)
            sum_alpha, sum_beta = self._encode(arena, sum_a), self._encode(arena, sum_b)
        prefix = self._count_prefix + voter_frame + frame(b"")
        if not self._proved(arena, k, prefix, sum_a, sum_b, sum_alpha, sum_beta,
                            self._values, count_proof):
            return BallotRefusal(BallotProblem.COUNT_PROOF)
        return None

    def _encode(self, arena: _Arena, point: int) -> bytes:
        """The encoding of the point at `point`, through the arena's last 32 bytes."""
        start = len(arena.data) - _ALIGN + arena.offset - 32  # offset ≤ 31: inside
        _lib.decaf_255_point_encode(arena.base + start - arena.offset, point)  # type: ignore[union-attr]
        return bytes(arena.data[start:start + 32])

    def _proved(self, arena: _Arena, k: int, prefix: bytes, a: int, b: int,
                alpha: bytes, beta: bytes, values: list[int] | tuple[int, ...],
                proof: list[_Pair]) -> bool:
        """The disjunctive Chaum–Pedersen check on the decoded α at `a` and β at `b`
        (`alpha`, `beta` their encodings): `Pᵢ = zᵢ·G − cᵢ·α`,
        `Qᵢ = zᵢ·K − cᵢ·β + (cᵢ·vᵢ)·G` and `Σ cᵢ = Hs(…)`."""
        lib = _lib
        assert lib is not None
        data, off, at = arena.data, arena.offset, arena.base
        n = self._branches
        times_a = at + (2 * k + 2) * _POINT  # cᵢ·α for branch i at times_a + i·_POINT
        times_b = times_a + n * _POINT
        tmp = times_b + n * _POINT
        tmp2 = tmp + _POINT
        scalars = tmp2 + _POINT  # cᵢ, zᵢ, cᵢ·vᵢ of branch i at scalars + 96·i
        encoded = scalars + 3 * _SCALAR * n  # Pᵢ ‖ Qᵢ of branch i at encoded + 64·i
        total = 0
        for i, ((c, ci, z), v) in enumerate(zip(proof, values, strict=True)):
            s = scalars - at + off + 3 * _SCALAR * i
            data[s:s + 32] = c
            data[s + 32:s + 64] = z
            data[s + 64:s + 96] = (ci * v % ORDER).to_bytes(32, "little")
            total += ci
        count = len(proof)
        dual = lib.decaf_255_point_dual_scalarmul
        single = lib.decaf_255_point_scalarmul
        for i in range(0, count - 1, 2):  # two branches' c·α (and c·β) per call
            c0, c1 = scalars + 3 * _SCALAR * i, scalars + 3 * _SCALAR * (i + 1)
            dual(times_a + i * _POINT, times_a + (i + 1) * _POINT, a, c0, c1)
            dual(times_b + i * _POINT, times_b + (i + 1) * _POINT, b, c0, c1)
        if count % 2:
            c0 = scalars + 3 * _SCALAR * (count - 1)
            single(times_a + (count - 1) * _POINT, a, c0)
            single(times_b + (count - 1) * _POINT, b, c0)
        table, base = self._table.base, self._base_table  # type: ignore[union-attr]
        fixed = lib.decaf_255_precomputed_scalarmul
        add, sub, encode = lib.decaf_255_point_add, lib.decaf_255_point_sub, \
            lib.decaf_255_point_encode
        for i, v in enumerate(values):
            sc = scalars + 3 * _SCALAR * i
            fixed(tmp, base, sc + 32)  # zᵢ·G
            sub(tmp, tmp, times_a + i * _POINT)
            encode(encoded + 64 * i, tmp)  # Pᵢ
            fixed(tmp, table, sc + 32)  # zᵢ·K
            sub(tmp, tmp, times_b + i * _POINT)
            if v:
                fixed(tmp2, base, sc + 64)  # (cᵢ·vᵢ)·G
                add(tmp, tmp, tmp2)
            encode(encoded + 64 * i + 32, tmp)  # Qᵢ
        e = encoded - at + off
        parts = [prefix, _F32, alpha, _F32, beta]
        for i in range(count):
            parts += (_F32, data[e + 64 * i:e + 64 * i + 32],
                      _F32, data[e + 64 * i + 32:e + 64 * i + 64])
        digest = hashlib.sha512(b"".join(parts)).digest()
        return int.from_bytes(digest, "little") % ORDER == total % ORDER


def sum_choices(stored: Sequence[str | bytes], options: int) -> list[tuple[bytes, bytes]]:
    """`fast.sum_choices` on libdecaf: each α and β decoded once and added in memory, the
    sums encoded once (≈ 2.4× less CPU: libsodium decodes and encodes at every addition).
    Releases the GIL in its C calls, like libsodium, so threads can share the work.

    Stored ballots were checked, so every point decodes alike in both libraries; a value
    that does not decode here is left to libsodium, whose answer (or error) it is."""
    lib = _lib
    if lib is None:
        raise RuntimeError("libdecaf0 is not available")
    arena = _Arena((2 * options + 1) * _POINT)
    at = arena.base
    decode, add = lib.decaf_255_point_decode, lib.decaf_255_point_add
    for i in range(2 * options):  # the sums start at the identity (its encoding: zeros)
        decode(at + i * _POINT, _ZERO, _YES)
    point = at + 2 * options * _POINT
    for raw in stored:
        items = orjson.loads(raw)["choices"]
        if len(items) != options:
            raise ValueError("a stored ballot with another number of options")
        for m, item in enumerate(items):
            for j, value in enumerate((item["alpha"], item["beta"])):
                encoding = bytes.fromhex(value)
                if (len(encoding) != 32 or encoding[31] & 0x80
                        or decode(point, encoding, _YES) != _SUCCESS):
                    return _sum_choices_libsodium(stored, options)
                total = at + (2 * m + j) * _POINT
                add(total, total, point)
    out = ctypes.create_string_buffer(32)
    sums = []
    for m in range(options):
        pair = []
        for j in range(2):
            lib.decaf_255_point_encode(out, at + (2 * m + j) * _POINT)
            pair.append(out.raw)
        sums.append((pair[0], pair[1]))
    return sums
