"""Where signing keys come from: a PKCS#12 file, or a PKCS#11 token (USB token, HSM).

Both give a pyHanko `Signer`, which `signing.sign.sign_field` uses; a key held by someone
else (a USB-token agent on the client, a CSC-style remote service) signs through the
two-step `signing.sign.prepare` / `finish` instead. Failures are typed (`signing.errors`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pkcs11
from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import PKCS11Error, TokenFlag
from pkcs11 import exceptions as p11
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.general import SigningError
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import (
    InvalidKeyFile,
    KeyNotFound,
    TokenError,
    TokenNotFound,
    WrongPassword,
    WrongPin,
)
from .identity import to_asn1, to_cryptography

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def signer_certificate(signer: Signer) -> x509.Certificate:
    """The signer's certificate (cryptography form); `KeyNotFound` if it has none."""
    try:
        cert = signer.signing_cert
    except SigningError as exc:
        raise KeyNotFound(str(exc)) from exc
    if cert is None:
        raise KeyNotFound("no certificate")
    return to_cryptography(cert)


def signer_chain(signer: Signer) -> list[x509.Certificate]:
    """The other certificates the signer carries (issuers), cryptography form."""
    own = signer.signing_cert
    own_der = own.dump() if own is not None else b""
    return [to_cryptography(c) for c in signer.cert_registry if c.dump() != own_der]


class FileSigner(SimpleSigner):
    """A key loaded from a file and kept in memory, parsed once (pyHanko's SimpleSigner
    parses it again for every signature)."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
                 certificate: x509.Certificate, chain: list[x509.Certificate]) -> None:
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        super().__init__(
            signing_cert=to_asn1(certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
        )
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        algo = _HASHES.get(digest_algorithm.lower())
        if algo is not None and mechanism == "rsassa_pkcs1v15" \
                and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algo())
        if algo is not None and mechanism == "ecdsa" \
                and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(algo()))
        return super().sign_raw(data, digest_algorithm)


def _is_pfx(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        pfx["auth_safe"]["content_type"].native  # noqa: B018 - forces parsing
        return True
    except (ValueError, TypeError, KeyError):
        return False


def load_pkcs12(data: bytes | os.PathLike[str], password: str | bytes) -> FileSigner:
    """A signer from a .p12/.pfx file (its bytes, or its path). Raises `WrongPassword` or
    `InvalidKeyFile`."""
    if not isinstance(data, bytes):
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            raise InvalidKeyFile(str(exc)) from exc
    secret = password.encode() if isinstance(password, str) else password
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        if _is_pfx(data):
            raise WrongPassword() from exc
        raise InvalidKeyFile("not a PKCS#12 file") from exc
    if key is None or cert is None:
        raise InvalidKeyFile("the file holds no private key and certificate")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidKeyFile(f"unsupported key type {type(key).__name__}")
    return FileSigner(key, cert, list(extra))


# ------------------------------------------------------------------------------ tokens

SOFTHSM2_MODULE = "/usr/lib/softhsm/libsofthsm2.so"  # Debian softhsm2, for development


def _only_token(module: str) -> str:
    """The label of the one initialised token the module sees (a USB token plugged in)."""
    labels = [t.label for t in pkcs11.lib(module).get_tokens()
              if TokenFlag.TOKEN_INITIALIZED in t.flags]
    if not labels:
        raise TokenNotFound()
    if len(labels) > 1:
        raise TokenError(f"several tokens ({', '.join(labels)}): give token_label")
    return labels[0]


@contextmanager
def open_token(module: str, *, pin: str, token_label: str | None = None,
               key_label: str | None = None, key_id: bytes | None = None,
               cert_label: str | None = None) -> Iterator[Signer]:
    """A signer over a key on a PKCS#11 token (the module is the vendor's .so; SoftHSM2's
    in development), open for the `with` block: the session is closed on exit.

    The token is found by `token_label` (the only initialised token if not given), the key
    by `key_label` or `key_id` (the certificate by the same, unless `cert_label` says
    otherwise). Raises `TokenNotFound`, `WrongPin`, `KeyNotFound` or
    `TokenError`."""
    try:
        if token_label is None:
            token_label = _only_token(module)
        session = open_pkcs11_session(module, token_criteria=TokenCriteria(label=token_label),
                                      user_pin=pin)
    except (p11.PinIncorrect, p11.PinLocked, p11.PinLenRange, p11.PinInvalid,
            p11.PinExpired) as exc:
        raise WrongPin() from exc
    except (p11.NoSuchToken, p11.TokenNotPresent, p11.SlotIDInvalid) as exc:
        raise TokenNotFound(token_label or "") from exc
    except PKCS11Error as exc:
        if "No token" in str(exc):
            raise TokenNotFound(token_label or "") from exc
        raise TokenError(f"{type(exc).__name__} {exc}") from exc
    except OSError as exc:  # the module itself cannot be loaded
        raise TokenError(f"{module}: {exc}") from exc
    try:
        signer = PKCS11Signer(session, key_label=key_label, key_id=key_id,
                              cert_label=cert_label or key_label, cert_id=key_id)
        try:
            signer_certificate(signer)  # finds key and certificate: fail now, not mid-signing
        except PKCS11Error as exc:
            raise KeyNotFound(str(exc) or key_label or (key_id or b"").hex()) from exc
        yield signer
    finally:
        session.close()
