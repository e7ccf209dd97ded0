"""Stored signing credentials, sealed with a key the database does not hold.

A user's PKCS#12 file is protected by the user's password; a copy of the database alone
would let anyone guess that password offline at leisure. So every stored credential is
sealed (envelope encryption):

- a fresh 256-bit data key per credential encrypts the PKCS#12 file (AES-256-GCM);
- the key-encryption key (KEK) wraps that data key, behind the `KeyWrap` port: the file
  implementation keeps a 256-bit key in a file only the service reads (DATA/secrets/
  credentials.kek by default, made 0600 on first start); a KMS or HSM can take its place;
- both layers authenticate the user id (associated data), so a sealed row moved to another
  user's record does not open.

The PKCS#12 inside is re-exported with modern parameters (PBES2: PBKDF2-HMAC-SHA256 and
AES-256-CBC, an HMAC-SHA256 MAC) whenever the server holds its password: at upload, and at
the first signature of a credential sealed at start from an older row. Rows an older
version stored in the clear are sealed at start (`seal_stored`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import struct
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12

from phonghop.store.ports import Credentials

log = logging.getLogger(__name__)

MAGIC = b"PHK1"  # a sealed row; a bare PKCS#12 file starts with a DER SEQUENCE (0x30)
MODERN = 0x01  # flag: the PKCS#12 inside was re-exported by this server with PBES2
KDF_ROUNDS = 200_000  # PBKDF2-HMAC-SHA256 rounds of the re-exported PKCS#12 (key and MAC)
_NONCE = 12
_HEADER = struct.Struct(">4sBH")  # magic, flags, length of the wrapped data key


class Unsealable(Exception):
    """A sealed credential that does not open here: another KEK, or altered."""


class KeyWrap(Protocol):
    """Wraps and unwraps 256-bit data keys with a key-encryption key kept elsewhere."""

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """`data_key` wrapped, bound to `context` (the same context unwraps it)."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key; raises `Unsealable` when the KEK or the context differ."""
        ...


class FileKeyWrap:
    """The KEK in a file readable only by the service account (AES-256-GCM key wrap)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a KEK is 32 bytes")
        self._aead = AESGCM(key)
        # Names the key inside each wrapped data key: a row wrapped by another KEK (a
        # restored database with a new key file) is told apart from an altered one.
        self.key_id = hashlib.sha256(b"phonghop-kek-id\0" + key).digest()[:8]

    @classmethod
    def load_or_create(cls, path: Path) -> FileKeyWrap:
        """The KEK in `path`, made (0600, in a 0700 directory) if there is none yet."""
        return cls(load_or_create_secret(path))

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return self.key_id + nonce + self._aead.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        kid, nonce, body = wrapped[:8], wrapped[8:8 + _NONCE], wrapped[8 + _NONCE:]
        if kid != self.key_id:
            raise Unsealable("wrapped with another key-encryption key")
        try:
            return self._aead.decrypt(nonce, body, context)
        except InvalidTag:
            raise Unsealable("altered") from None


def load_or_create_secret(path: Path) -> bytes:
    """The 32-byte key kept (as hex) in `path`, made 0600 in a 0700 directory if there is
    none yet."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written aside and linked into place: nodes starting together all end up with the
    # one key that won, and nobody ever reads half a file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32).hex().encode() + b"\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    st = path.stat()
    if st.st_mode & 0o077:
        # Readable by others: tighten it (an operator's copy), and say so.
        path.chmod(0o600)
        log.warning("key file %s was readable by others; now 0600", path)
    raw = path.read_bytes().strip()
    try:
        key = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise SystemExit(f"phonghop: {path} is not a key file "
                         "(64 hexadecimal digits)") from None
    if len(key) != 32:
        raise SystemExit(f"phonghop: {path} is not a key file (64 hexadecimal digits)")
    return key


def _context(user_id: int, header: bytes) -> bytes:
    return b"phonghop-credential\0" + str(user_id).encode() + b"\0" + header


def is_sealed(blob: bytes) -> bool:
    return blob[:4] == MAGIC


def seal(kw: KeyWrap, user_id: int, p12: bytes, *, modern: bool) -> bytes:
    """A PKCS#12 file sealed for `user_id` (see the module docstring for the layout)."""
    data_key = AESGCM.generate_key(bit_length=256)
    flags = MODERN if modern else 0
    # The header's flags and the user id are authenticated by both layers.
    probe = _HEADER.pack(MAGIC, flags, 0)
    wrapped = kw.wrap(data_key, _context(user_id, probe))
    header = _HEADER.pack(MAGIC, flags, len(wrapped))
    nonce = secrets.token_bytes(_NONCE)
    body = AESGCM(data_key).encrypt(nonce, p12, _context(user_id, probe))
    return header + wrapped + nonce + body


def unseal(kw: KeyWrap, user_id: int, blob: bytes) -> tuple[bytes, bool]:
    """The PKCS#12 file in a sealed row, and whether it is already modern."""
    if not is_sealed(blob) or len(blob) < _HEADER.size:
        raise Unsealable("not sealed")
    _, flags, size = _HEADER.unpack_from(blob)
    probe = _HEADER.pack(MAGIC, flags, 0)
    rest = blob[_HEADER.size:]
    wrapped, nonce, body = rest[:size], rest[size:size + _NONCE], rest[size + _NONCE:]
    data_key = kw.unwrap(wrapped, _context(user_id, probe))
    try:
        p12 = AESGCM(data_key).decrypt(nonce, body, _context(user_id, probe))
    except InvalidTag:
        raise Unsealable("altered") from None
    return p12, bool(flags & MODERN)


def modernise(p12: bytes, password: str) -> bytes:
    """The same key and certificates, re-exported with PBES2 (PBKDF2-SHA256, AES-256-CBC)
    and an HMAC-SHA256 MAC under the same password. Raises ValueError on a wrong password."""
    secret = password.encode()
    loaded = pkcs12.load_pkcs12(p12, secret)
    if loaded.key is None or loaded.cert is None:
        raise ValueError("no key and certificate")
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(secret)
    )
    return pkcs12.serialize_key_and_certificates(
        loaded.cert.friendly_name, loaded.key, loaded.cert.certificate,
        [c.certificate for c in loaded.additional_certs], encryption)


class CredentialVault:
    """Stored credentials through one `KeyWrap`: what the signing endpoints use."""

    def __init__(self, store: Credentials, kw: KeyWrap) -> None:
        self.store = store
        self.kw = kw

    async def save(self, user_id: int, p12: bytes, password: str, subject: str,
                   not_after: Any) -> None:
        """Keep a credential whose password the caller has just checked."""
        modern = await asyncio.to_thread(modernise, p12, password)  # PBKDF2: off the loop
        await self.store.save_credential(user_id, seal(self.kw, user_id, modern, modern=True),
                                         subject, not_after)

    async def load(self, user_id: int) -> dict[str, Any] | None:
        """{p12, modern, stored, subject, not_after} of a user's credential, or None
        (`stored`: the row as read). Raises `Unsealable`."""
        row = await self.store.credential(user_id)
        if row is None:
            return None
        blob = row["p12"]
        if not is_sealed(blob):  # stored before this version, and not sealed yet
            return {**row, "stored": blob, "modern": False}
        p12, modern = unseal(self.kw, user_id, blob)
        return {**row, "p12": p12, "stored": blob, "modern": modern}

    async def modernised(self, user_id: int, row: dict[str, Any], password: str) -> None:
        """After a signature opened an older credential with `password`: store it re-exported
        (only if the row is still the one that was read)."""
        p12 = await asyncio.to_thread(modernise, row["p12"], password)
        # Compare-and-set: a credential uploaded meanwhile is newer, and stays.
        await self.store.replace_credential_blob(
            user_id, row["stored"], seal(self.kw, user_id, p12, modern=True))

    async def seal_stored(self) -> int:
        """Seal every credential stored in the clear by an older version; how many."""
        sealed = 0
        for user_id, blob in await self.store.credential_blobs():
            if is_sealed(blob):
                continue
            if await self.store.replace_credential_blob(
                    user_id, blob, seal(self.kw, user_id, blob, modern=False)):
                sealed += 1
        if sealed:
            log.warning("sealed %d stored signing credential(s) with the KEK", sealed)
        return sealed
