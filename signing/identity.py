"""Who a certificate names, and whether it is the person expected to sign, now.

A signing certificate names its holder by CN (full name), title (position), O (unit) and,
for certificates phonghop's development CA issues, UID (the phonghop user id). A
certificate matches an expected signer when the names agree (NFC, case and spacing
ignored) and, if it carries a UID, that UID is the expected user id.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .errors import CertificateExpired, CertificateNotYetValid, SignerMismatch

CertificateLike = x509.Certificate | asn1_x509.Certificate | bytes


def to_cryptography(cert: CertificateLike) -> x509.Certificate:
    """Any certificate form used here (cryptography, asn1crypto, DER or PEM bytes)."""
    if isinstance(cert, x509.Certificate):
        return cert
    if isinstance(cert, asn1_x509.Certificate):
        return x509.load_der_x509_certificate(cert.dump())
    if cert.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(cert)
    return x509.load_der_x509_certificate(cert)


def to_asn1(cert: CertificateLike) -> asn1_x509.Certificate:
    """The asn1crypto form pyHanko works with."""
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    der = to_cryptography(cert).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(der)


def normalise_name(name: str) -> str:
    """NFC, case-folded, single spaces: how two spellings of one name are compared."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return unicodedata.normalize("NFC", str(values[0].value)) if values else ""


@dataclass(frozen=True)
class SignerIdentity:
    """The holder of a certificate, as its subject names them."""

    name: str
    position: str
    unit: str
    user_id: str
    subject: str
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime

    @classmethod
    def from_certificate(cls, cert: CertificateLike) -> SignerIdentity:
        c = to_cryptography(cert)
        return cls(
            name=_attr(c.subject, NameOID.COMMON_NAME),
            position=_attr(c.subject, NameOID.TITLE),
            unit=_attr(c.subject, NameOID.ORGANIZATION_NAME),
            user_id=_attr(c.subject, NameOID.USER_ID),
            subject=unicodedata.normalize("NFC", c.subject.rfc4514_string()),
            issuer=unicodedata.normalize("NFC", c.issuer.rfc4514_string()),
            serial=format(c.serial_number, "x"),
            not_before=c.not_valid_before_utc,
            not_after=c.not_valid_after_utc,
        )


@dataclass(frozen=True)
class ExpectedSigner:
    """The person who must sign a field: their phonghop user id and full name."""

    user_id: str
    full_name: str


def check_signer(cert: CertificateLike, expected: ExpectedSigner) -> SignerIdentity:
    """The certificate's identity; raises `SignerMismatch` if it is not `expected`'s."""
    who = SignerIdentity.from_certificate(cert)
    name_ok = normalise_name(who.name) == normalise_name(expected.full_name)
    uid_ok = not who.user_id or who.user_id == unicodedata.normalize("NFC", expected.user_id)
    if not (name_ok and uid_ok):
        actual = who.name + (f" ({who.user_id})" if who.user_id else "")
        raise SignerMismatch(actual=actual,
                             expected=f"{expected.full_name} ({expected.user_id})")
    return who


def check_validity(cert: CertificateLike, at: dt.datetime | None = None) -> None:
    """Raises `CertificateExpired` / `CertificateNotYetValid` outside the validity period."""
    c = to_cryptography(cert)
    at = at or dt.datetime.now(dt.UTC)
    if at < c.not_valid_before_utc:
        raise CertificateNotYetValid(not_before=c.not_valid_before_utc.date().isoformat())
    if at > c.not_valid_after_utc:
        raise CertificateExpired(not_after=c.not_valid_after_utc.date().isoformat())
