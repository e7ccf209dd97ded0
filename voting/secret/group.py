"""The group ristretto255 (RFC 9496) through libsodium, and the hashing every proof uses.

`Point` and `Scalar` are immutable values. Decoding is strict (docs/BALLOT_CRYPTO.md,
"Notation and encodings"): a non-canonical point, a scalar ≥ ℓ or hex that is not exactly
lowercase of the right length is refused with `EncodingError`. Scalar arithmetic is done on
Python integers mod ℓ (exact and faster than a call into C); point arithmetic in libsodium.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import overload

import pysodium

ORDER = 2**252 + 27742317777372353535851937790883648493
"""ℓ, the prime order of ristretto255."""

_HEX = re.compile(r"[0-9a-f]*")


class EncodingError(ValueError):
    """A value that is not the one canonical encoding of a point, a scalar or hex bytes."""


def unhex(text: object, size: int) -> bytes:
    """`size` bytes from exactly 2·size lowercase hex digits; anything else is refused."""
    if not isinstance(text, str) or len(text) != 2 * size or not _HEX.fullmatch(text):
        raise EncodingError(f"expected {2 * size} lowercase hex digits")
    return bytes.fromhex(text)


@dataclass(frozen=True, slots=True)
class Scalar:
    """An integer mod ℓ."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < ORDER:
            raise EncodingError("scalar out of range")

    @classmethod
    def reduce(cls, n: int) -> Scalar:
        """The scalar `n mod ℓ` (any integer, negative included)."""
        return cls(n % ORDER)

    @classmethod
    def decode(cls, data: bytes) -> Scalar:
        """32 bytes little-endian; a value ≥ ℓ is refused (never reduced)."""
        if len(data) != 32:
            raise EncodingError("a scalar is 32 bytes")
        return cls(int.from_bytes(data, "little"))

    @classmethod
    def from_hex(cls, text: object) -> Scalar:
        return cls.decode(unhex(text, 32))

    def encode(self) -> bytes:
        return self.value.to_bytes(32, "little")

    def hex(self) -> str:
        return self.encode().hex()

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar((self.value + other.value) % ORDER)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar((self.value - other.value) % ORDER)

    def __neg__(self) -> Scalar:
        return Scalar(-self.value % ORDER)

    @overload
    def __mul__(self, other: Scalar) -> Scalar: ...
    @overload
    def __mul__(self, other: Point) -> Point: ...

    def __mul__(self, other: Scalar | Point) -> Scalar | Point:
        if isinstance(other, Scalar):
            return Scalar(self.value * other.value % ORDER)
        if isinstance(other, Point):
            return other._times(self)
        return NotImplemented

    def inverse(self) -> Scalar:
        """The multiplicative inverse; 0 has none."""
        if self.value == 0:
            raise ZeroDivisionError("0 has no inverse mod ℓ")
        return Scalar(pow(self.value, -1, ORDER))

    def __repr__(self) -> str:  # short: tests print many of them
        return f"Scalar({self.hex()[:16]}…)"


@dataclass(frozen=True, slots=True)
class Point:
    """A group element, held as its canonical 32-byte encoding.

    Build one with `Point.decode` / `Point.from_hex` (checked) or from group operations;
    the constructor trusts its bytes.
    """

    data: bytes

    @classmethod
    def decode(cls, data: bytes) -> Point:
        """The point of a canonical encoding (32 zero bytes is the identity)."""
        if len(data) != 32:
            raise EncodingError("a point is 32 bytes")
        # libsodium (1.0.18) takes an encoding with the top bit set as the point of the
        # same bytes with that bit clear; RFC 9496 refuses it, and so do we: two encodings
        # of one point would make a ballot's hashes and tracker malleable.
        if data[31] & 0x80 or not pysodium.crypto_core_ristretto255_is_valid_point(data):
            raise EncodingError("not a canonical ristretto255 encoding")
        return cls(bytes(data))

    @classmethod
    def from_hex(cls, text: object) -> Point:
        return cls.decode(unhex(text, 32))

    def encode(self) -> bytes:
        return self.data

    def hex(self) -> str:
        return self.data.hex()

    @property
    def is_identity(self) -> bool:
        return self.data == _ZERO

    def __add__(self, other: Point) -> Point:
        if self.data == _ZERO:
            return other
        if other.data == _ZERO:
            return self
        return Point(pysodium.crypto_core_ristretto255_add(self.data, other.data))

    def __sub__(self, other: Point) -> Point:
        if other.data == _ZERO:
            return self
        return Point(pysodium.crypto_core_ristretto255_sub(self.data, other.data))

    def __neg__(self) -> Point:
        return IDENTITY - self

    def _times(self, scalar: Scalar) -> Point:
        # libsodium refuses a product that is the identity; in a group of prime order that
        # happens exactly for the scalar 0 or the identity point, answered here.
        if scalar.value == 0 or self.data == _ZERO:
            return IDENTITY
        if self.data == G.data:  # libsodium's fixed-base multiplication is 3x faster
            return Point(pysodium.crypto_scalarmult_ristretto255_base(scalar.encode()))
        return Point(pysodium.crypto_scalarmult_ristretto255(scalar.encode(), self.data))

    def __repr__(self) -> str:
        return f"Point({self.hex()[:16]}…)"


_ZERO = bytes(32)
IDENTITY = Point(_ZERO)
G = Point(pysodium.crypto_scalarmult_ristretto255_base((1).to_bytes(32, "little")))
"""The standard base point; `s * G` uses libsodium's faster fixed-base multiplication."""


def base_mul(s: Scalar) -> Point:
    """`s·G`."""
    return G._times(s)


def point_sum(points: list[Point] | tuple[Point, ...]) -> Point:
    """Σ points (the identity for none)."""
    total = IDENTITY
    for p in points:
        total = total + p
    return total


@lru_cache(maxsize=8)
def multiples_of_g(n: int) -> tuple[Point, ...]:
    """`(0·G, 1·G, …, n·G)` by repeated addition (one addition each, no multiplication)."""
    out = [IDENTITY, G]
    for _ in range(n - 1):
        out.append(out[-1] + G)
    return tuple(out[: n + 1])


# ---- hashing -------------------------------------------------------------------------

def u32(n: int) -> bytes:
    """4 bytes big-endian."""
    return n.to_bytes(4, "big")


def text(s: str) -> bytes:
    """The UTF-8 bytes of the NFC form of `s`."""
    return unicodedata.normalize("NFC", s).encode("utf-8")


def frame(x: bytes) -> bytes:
    """u32(len(x)) ‖ x."""
    return len(x).to_bytes(4, "big") + x


def _framed(tag: str, parts: tuple[bytes, ...]) -> bytes:
    return b"".join([frame(text(tag)), *(frame(p) for p in parts)])


def hash_to_scalar(tag: str, *parts: bytes) -> Scalar:
    """Hs: SHA-512 of the framed tag and parts, as a little-endian integer mod ℓ."""
    digest = hashlib.sha512(_framed(tag, parts)).digest()
    return Scalar(int.from_bytes(digest, "little") % ORDER)


def hash_to_bytes(tag: str, *parts: bytes) -> bytes:
    """Hb: SHA-256 of the framed tag and parts (32 bytes)."""
    return hashlib.sha256(_framed(tag, parts)).digest()


# ---- randomness ----------------------------------------------------------------------

Rng = Callable[[], Scalar]
"""Where a function draws its random scalars; tests pass a deterministic one."""


def random_scalar() -> Scalar:
    """A uniform scalar from libsodium's CSPRNG (64 random bytes reduced mod ℓ)."""
    return Scalar.decode(pysodium.crypto_core_ristretto255_scalar_random())
