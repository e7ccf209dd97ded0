"""A board member's secrets in a passphrase-protected file (docs/BALLOT_CRYPTO.md, section 6).

PBKDF2-HMAC-SHA256 (600,000 iterations by default) makes the key, AES-256-GCM seals the
secrets with the poll and the member's index as associated data. The browser writes and
reads the same files (`static/board_key_file.js`); this side serves tests, tools and
API clients.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from phonghop.voting.secret.group import Scalar, frame, text, u32

VERSION = "phonghop-board-key/1"
ITERATIONS = 600_000
MIN_ITERATIONS, MAX_ITERATIONS = 600_000, 10_000_000
MIN_PASSPHRASE = 10


class KeyFileError(ValueError):
    """The file is not a key file, or the passphrase does not open it (`code` says which:
    `malformed`, `weak_passphrase`, `wrong_passphrase`)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def _key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode()
    return hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, 32)


def _aad(poll_uid: str, index: int) -> bytes:
    return frame(text(VERSION)) + frame(text(poll_uid)) + u32(index)


def seal_key(secrets: dict[str, Any], poll_uid: str, index: int, passphrase: str, *,
             iterations: int = ITERATIONS,
             random_bytes: Callable[[int], bytes] = os.urandom) -> dict[str, Any]:
    """The key file (JSON object) holding `secrets` ({transport_secret, coefficients,
    share}) of member `index` of poll `poll_uid`."""
    if len(unicodedata.normalize("NFC", passphrase)) < MIN_PASSPHRASE:
        raise KeyFileError("weak_passphrase", f"at least {MIN_PASSPHRASE} characters")
    _check_secrets(secrets)
    salt, nonce = random_bytes(16), random_bytes(12)
    plaintext = json.dumps(secrets, separators=(",", ":"), sort_keys=True).encode()
    box = AESGCM(_key(passphrase, salt, iterations)).encrypt(
        nonce, plaintext, _aad(poll_uid, index))
    return {"version": VERSION, "poll_uid": poll_uid, "index": index,
            "kdf": {"name": "PBKDF2-SHA256", "iterations": iterations, "salt": salt.hex()},
            "nonce": nonce.hex(), "box": box.hex()}


def open_key(doc: object, passphrase: str) -> dict[str, Any]:
    """The secrets a key file holds; KeyFileError if it is malformed or does not open."""
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise KeyFileError("malformed", "not a phonghop board key file")
    poll_uid, index, kdf = doc.get("poll_uid"), doc.get("index"), doc.get("kdf")
    iterations = kdf.get("iterations") if isinstance(kdf, dict) else None
    if not (isinstance(poll_uid, str) and type(index) is int and 1 <= index <= 15
            and isinstance(kdf, dict) and kdf.get("name") == "PBKDF2-SHA256"
            and type(iterations) is int and MIN_ITERATIONS <= iterations <= MAX_ITERATIONS):
        raise KeyFileError("malformed", "fields")
    try:
        salt = bytes.fromhex(kdf["salt"])
        nonce = bytes.fromhex(doc["nonce"])
        box = bytes.fromhex(doc["box"])
    except (KeyError, TypeError, ValueError):
        raise KeyFileError("malformed", "fields") from None
    if len(salt) != 16 or len(nonce) != 12 or len(box) < 16:
        raise KeyFileError("malformed", "lengths")
    try:
        plaintext = AESGCM(_key(passphrase, salt, iterations)).decrypt(
            nonce, box, _aad(poll_uid, index))
    except InvalidTag:
        raise KeyFileError("wrong_passphrase") from None
    try:
        secrets = json.loads(plaintext)
        _check_secrets(secrets)
    except (ValueError, TypeError):
        raise KeyFileError("malformed", "contents") from None
    return secrets


def _check_secrets(secrets: object) -> None:
    if not isinstance(secrets, dict) or set(secrets) != {"transport_secret", "coefficients",
                                                         "share"}:
        raise KeyFileError("malformed", "secrets: transport_secret, coefficients, share")
    try:
        scalars = [secrets["transport_secret"], *secrets["coefficients"]]
        if secrets["share"] is not None:
            scalars.append(secrets["share"])
        for value in scalars:
            Scalar.from_hex(value)  # ValueError for anything but a canonical scalar
    except (ValueError, TypeError):
        raise KeyFileError("malformed", "secrets: canonical scalars in hex") from None
