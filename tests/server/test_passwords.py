"""Passwords: argon2id with the RFC 9106 parameters by default; a changed profile never
locks anyone out, since every stored hash keeps its own parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from phonghop.server import auth


@pytest.fixture(autouse=True)
def _default_profile() -> None:
    auth.use_password_profile("rfc9106-low-memory")


def test_passwords_are_hashed_with_argon2id_at_the_rfc_9106_parameters() -> None:
    stored = auth.hash_password("Mật khẩu dài 2026")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(stored, "Mật khẩu dài 2026")
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(stored, "mật khẩu dài 2026")


def test_a_hash_made_under_another_profile_still_verifies() -> None:
    auth.use_password_profile("test-only-cheapest")
    cheap = auth.hash_password("demo1234")
    auth.use_password_profile("rfc9106-low-memory")
    assert not cheap.startswith("$argon2id$v=19$m=65536")
    assert PasswordHasher().verify(cheap, "demo1234")


def test_an_unknown_profile_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="rfc9106-low-memory"):
        auth.use_password_profile("md5")
