"""A development certificate authority: user certificates, a TSA certificate, CRLs, .p12 files.

FOR DEVELOPMENT AND TESTS ONLY. Its subject says so ("KHÔNG DÙNG CHO MÔI TRƯỜNG THẬT / NOT FOR
PRODUCTION"); production signatures use certificates from a licensed CA (e.g. Ban Cơ yếu
Chính phủ). User certificates name the person the way `signing.identity` reads them back:
CN = full name, title = position, O = unit, UID = the phonghop user id (username).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .trust import Trust

DEV_CA_NAME = "phonghop DEV CA"
NOT_FOR_PRODUCTION = "KHÔNG DÙNG CHO MÔI TRƯỜNG THẬT / NOT FOR PRODUCTION"
KeyType = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
_SKEW = dt.timedelta(minutes=5)  # back-date "now" a little so clocks that lag still agree
# Where certificates say the CA's CRL is: never fetched (".invalid" never resolves); trust
# settings are given the CRL itself (`DevCA.crl`), and validators check against it.
CRL_URL = "http://phonghop.invalid/dev-ca.crl"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def new_key(kind: KeyType = "rsa") -> PrivateKey:
    """A fresh private key: RSA-2048 (what signing tokens hold) or EC P-256 (fast)."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Credential:
    """A private key with its certificate and the issuing chain: what a .p12 file holds."""

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def to_p12(self, password: str, friendly_name: str | None = None) -> bytes:
        """PKCS#12 (AES-256, PBKDF2) protected by `password`."""
        name = (friendly_name or _common_name(self.certificate)).encode()
        return pkcs12.serialize_key_and_certificates(
            name, self.key, self.certificate, list(self.chain),
            serialization.BestAvailableEncryption(password.encode()),
        )

    def write_p12(self, path: Path | str, password: str) -> Path:
        """Write `to_p12(password)` to `path` (mode 0600) and return the path."""
        path = Path(path)
        path.write_bytes(self.to_p12(password))
        path.chmod(0o600)
        return path

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (for importing into a test token)."""
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "certificate"


def _ski(public_key: PublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _key_usage(*, signing: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing or ca, content_commitment=signing, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


class DevCA:
    """A self-signed development root that issues everything the tests and the demo need."""

    def __init__(self, key: PrivateKey, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate

    # ------------------------------------------------------------------ creating, storing

    @classmethod
    def create(cls, *, key_type: KeyType = "ec", valid_days: int = 3650,
               now: dt.datetime | None = None) -> DevCA:
        """A new root CA; its subject carries the "not for production" warning."""
        now = now or dt.datetime.now(dt.UTC)
        key = new_key(key_type)
        name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "phonghop"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, NOT_FOR_PRODUCTION),
            x509.NameAttribute(NameOID.COMMON_NAME, DEV_CA_NAME),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW).not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(_ski(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def save(self, directory: Path | str) -> Path:
        """Write `ca.pem` and `ca.key` (mode 0600) into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.pem").write_bytes(self.pem)
        key_path = directory / "ca.key"
        key_path.write_bytes(self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        key_path.chmod(0o600)
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> DevCA:
        directory = Path(directory)
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("unsupported CA key type")
        return cls(key, cert)

    @classmethod
    def load_or_create(cls, directory: Path | str) -> DevCA:
        """The CA kept in `directory`, created there on first use."""
        directory = Path(directory)
        if (directory / "ca.pem").exists() and (directory / "ca.key").exists():
            return cls.load(directory)
        ca = cls.create()
        ca.save(directory)
        return ca

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def trust(self, *crls: bytes) -> Trust:
        """Trust settings with this CA as the only root (what development verifies with)."""
        return Trust.of([self.certificate], crls=crls)

    # ------------------------------------------------------------------ issuing

    def _builder(self, subject: x509.Name, public_key: PublicKey, not_before: dt.datetime,
                 not_after: dt.datetime) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(self.certificate.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_ski(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False)
            .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(CRL_URL)], relative_name=None,
                reasons=None, crl_issuer=None)]), critical=False)
        )

    def issue_certificate(
        self, public_key: PublicKey, *, user_id: str, full_name: str, position: str = "",
        unit: str = "", not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None, valid_days: int = 365,
    ) -> x509.Certificate:
        """A signing certificate for a key held elsewhere (e.g. generated on a token)."""
        now = dt.datetime.now(dt.UTC)
        not_before = not_before or now - _SKEW
        not_after = not_after or not_before + dt.timedelta(days=valid_days)
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
        if unit:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, _nfc(unit)))
        if position:
            attrs.append(x509.NameAttribute(NameOID.TITLE, _nfc(position)))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, _nfc(full_name)))
        attrs.append(x509.NameAttribute(NameOID.USER_ID, _nfc(user_id)))
        return (
            self._builder(x509.Name(attrs), public_key, not_before, not_after)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([
                ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CODE_SIGNING,
            ]), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def issue_user(
        self, *, user_id: str, full_name: str, position: str = "", unit: str = "",
        key_type: KeyType = "rsa", not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None, valid_days: int = 365,
    ) -> Credential:
        """A new key and signing certificate for one person (CN, title, O, UID)."""
        key = new_key(key_type)
        cert = self.issue_certificate(
            key.public_key(), user_id=user_id, full_name=full_name, position=position,
            unit=unit, not_before=not_before, not_after=not_after, valid_days=valid_days)
        return Credential(key, cert, (self.certificate,))

    def issue_expired(self, **user: str) -> Credential:
        """Like `issue_user`, valid for a year that ended yesterday (for tests)."""
        end = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        return self.issue_user(**user, not_before=end - dt.timedelta(days=365), not_after=end)

    def issue_not_yet_valid(self, **user: str) -> Credential:
        """Like `issue_user`, valid only from tomorrow (for tests)."""
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        return self.issue_user(**user, not_before=start, not_after=start + dt.timedelta(days=365))

    def issue_tsa(self, *, name: str = "phonghop DEV TSA", key_type: KeyType = "rsa",
                  valid_days: int = 1825) -> Credential:
        """A time-stamping authority certificate (critical EKU timeStamping, RFC 3161)."""
        key = new_key(key_type)
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "phonghop"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, NOT_FOR_PRODUCTION),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ])
        cert = (
            self._builder(subject, key.public_key(), now - _SKEW,
                          now + dt.timedelta(days=valid_days))
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return Credential(key, cert, (self.certificate,))

    def crl(self, revoked: Iterable[x509.Certificate] = (), *, now: dt.datetime | None = None,
            next_update: dt.timedelta = dt.timedelta(days=7)) -> bytes:
        """A DER CRL listing `revoked` (for trust settings that check revocation)."""
        now = now or dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - _SKEW).next_update(now + next_update)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False)
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                .revocation_date(now - _SKEW).build())
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
