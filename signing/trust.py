"""Which certificate authorities are trusted, and checking a certificate against them.

`Trust` is configuration: root certificates (the development CA in development, the
licensed CAs' roots in production), optional intermediates and CRLs. It builds the
pyHanko/certvalidator `ValidationContext` used when signing (to embed validation data) and
when verifying. Nothing is fetched from the network: revocation is checked against the
CRLs given here, or not at all when there are none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, RevokedError, ValidationError

from .errors import CertificateRevoked, CertificateUntrusted
from .identity import CertificateLike, to_asn1, to_cryptography

# What a signing certificate must allow (nonRepudiation = contentCommitment).
SIGNING_KEY_USAGE = frozenset({"non_repudiation"})


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle."""
    return x509.load_pem_x509_certificates(data)


@dataclass(frozen=True)
class Trust:
    """Trusted roots, known intermediates and CRLs."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, roots: Iterable[CertificateLike], *, intermediates: Iterable[CertificateLike] = (),
           crls: Iterable[bytes] = ()) -> Trust:
        return cls(tuple(to_cryptography(c) for c in roots),
                   tuple(to_cryptography(c) for c in intermediates), tuple(crls))

    @classmethod
    def from_pem_files(cls, *paths: Path | str) -> Trust:
        """Roots from PEM files (each may hold several certificates)."""
        roots: list[x509.Certificate] = []
        for path in paths:
            roots.extend(load_pem_certificates(Path(path).read_bytes()))
        return cls(tuple(roots))

    def with_crls(self, *crls: bytes) -> Trust:
        return Trust(self.roots, self.intermediates, (*self.crls, *crls))

    def validation_context(self, *, at: dt.datetime | None = None,
                           extra_certs: Sequence[CertificateLike] = ()) -> ValidationContext:
        """A fresh context (they cache, so make one per operation); `at` is the time of
        validation, now by default."""
        return ValidationContext(
            trust_roots=[to_asn1(c) for c in self.roots],
            other_certs=[to_asn1(c) for c in (*self.intermediates, *extra_certs)],
            crls=list(self.crls),
            allow_fetching=False,
            revocation_mode="soft-fail",
            moment=at,
        )

    def check(self, cert: CertificateLike, chain: Sequence[CertificateLike] = (), *,
              at: dt.datetime | None = None) -> None:
        """Raises `CertificateUntrusted` (or `CertificateRevoked`) unless `cert` chains to
        a root here, is valid at `at` and allows signing (nonRepudiation)."""
        validator = CertificateValidator(
            to_asn1(cert), intermediate_certs=[to_asn1(c) for c in chain],
            validation_context=self.validation_context(at=at))
        try:
            asyncio.run(validator.async_validate_usage(set(SIGNING_KEY_USAGE)))
        except RevokedError as exc:
            raise CertificateRevoked(str(exc)) from exc
        except (PathBuildingError, ValidationError) as exc:
            raise CertificateUntrusted(str(exc)) from exc

