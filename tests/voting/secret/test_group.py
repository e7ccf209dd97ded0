"""ristretto255 through libsodium: canonical encodings only, the identity wherever
libsodium refuses it, the group laws, and the framing of every hash."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonghop.voting.secret.group import (
    IDENTITY,
    ORDER,
    EncodingError,
    G,
    Point,
    Scalar,
    base_mul,
    frame,
    hash_to_bytes,
    hash_to_scalar,
    multiples_of_g,
    random_scalar,
    text,
    u32,
)

scalars = st.integers(min_value=0, max_value=ORDER - 1).map(Scalar)

# RFC 9496, A.1: the encodings of 0·B … 3·B.
SMALL_MULTIPLES = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
]
# Non-canonical field elements, negative field elements and non-square cases (RFC 9496, A.2).
BAD_ENCODINGS = [
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
]


def test_small_multiples_are_the_rfc_encodings() -> None:
    assert [p.hex() for p in multiples_of_g(3)] == SMALL_MULTIPLES
    assert [base_mul(Scalar(i)).hex() for i in range(4)] == SMALL_MULTIPLES
    assert all(Point.from_hex(h).hex() == h for h in SMALL_MULTIPLES)


@pytest.mark.parametrize("encoding", BAD_ENCODINGS)
def test_a_non_canonical_point_is_refused(encoding: str) -> None:
    with pytest.raises(EncodingError):
        Point.from_hex(encoding)


@pytest.mark.parametrize("value", [
    "E2F2AE0A6ABC4E71A884A961C500515F58E30B6AA582DD8DB6A65945E08D2D76",  # upper case
    SMALL_MULTIPLES[1][:-2], SMALL_MULTIPLES[1] + "00", " " + SMALL_MULTIPLES[1][1:],
    None, 7, ["e2"],
])
def test_hex_other_than_the_one_lowercase_form_is_refused(value: object) -> None:
    with pytest.raises(EncodingError):
        Point.from_hex(value)
    with pytest.raises(EncodingError):
        Scalar.from_hex(value)


def test_a_scalar_not_below_the_order_is_refused_never_reduced() -> None:
    assert Scalar.decode((ORDER - 1).to_bytes(32, "little")).value == ORDER - 1
    for bad in (ORDER, ORDER + 1, 2**256 - 1):
        with pytest.raises(EncodingError):
            Scalar.decode(bad.to_bytes(32, "little"))


def test_the_identity_where_libsodium_refuses_it() -> None:
    p = base_mul(random_scalar())
    assert Scalar(0) * p == IDENTITY
    assert base_mul(Scalar(0)) == IDENTITY
    assert random_scalar() * IDENTITY == IDENTITY
    assert p - p == IDENTITY
    assert p + IDENTITY == p and IDENTITY + p == p
    assert -p + p == IDENTITY
    assert Scalar.reduce(-1) * G == -G


@settings(max_examples=30, deadline=None)
@given(scalars, scalars)
def test_group_laws(a: Scalar, b: Scalar) -> None:
    assert base_mul(a + b) == base_mul(a) + base_mul(b)
    assert base_mul(a - b) == base_mul(a) - base_mul(b)
    assert a * base_mul(b) == base_mul(a * b)
    if b.value:
        assert (a * b) * b.inverse() == a


def test_random_scalars_are_fresh_and_in_range() -> None:
    drawn = {random_scalar().value for _ in range(64)}
    assert len(drawn) == 64 and all(0 <= v < ORDER for v in drawn)


def test_hashes_are_over_frames_so_two_sequences_never_collide() -> None:
    assert hash_to_bytes("t", b"ab", b"c") != hash_to_bytes("t", b"a", b"bc")
    assert hash_to_bytes("t", b"") != hash_to_bytes("t")
    assert hash_to_bytes("ta", b"") != hash_to_bytes("t", b"a")
    raw = frame(b"t") + frame(b"ab") + frame(b"")
    assert raw == b"\0\0\0\x01t\0\0\0\x02ab\0\0\0\0"
    assert hash_to_bytes("t", b"ab", b"") == hashlib.sha256(raw).digest()
    wide = int.from_bytes(hashlib.sha512(raw).digest(), "little")
    assert hash_to_scalar("t", b"ab", b"").value == wide % ORDER
    assert u32(258) == b"\0\0\x01\x02"


def test_text_is_hashed_in_nfc() -> None:
    decomposed = "Nguye\u0302\u0303n"  # ễ as e + two combining marks
    assert text(decomposed) == "Nguyễn".encode()
    assert hash_to_bytes("t", text(decomposed)) == hash_to_bytes("t", text("Nguyễn"))
