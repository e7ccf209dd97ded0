"""Signing a field of the minutes: PAdES, visible, in order, by the right person.

Two ways in:

* `sign_field(pdf, field, signer, expected=...)`: the key is here (a PKCS#12 file or a
  PKCS#11 token, see `signing.signers`); returns the signed PDF.
* `prepare(pdf, field, certificate, expected=...)` → `(state, digest)`; the key's holder
  signs `digest` elsewhere (a USB-token agent on the client, a CSC-style remote service);
  `finish(state, signature)` → the signed PDF. `signature` is either the raw signature
  value over `digest` or a whole CMS SignedData over `state.document_digest`.

Both check, before anything is signed: the field exists and is empty, the fields before it
in `order` are signed (the secretary before the chair), the document is not locked, the
certificate is within its validity period, names the expected signer and (with `trust`)
chains to a trusted root. Any refusal raises a `signing.errors.SigningRefused`; a signed
PDF is returned only when everything succeeded (the input bytes are never modified).

Signatures are PAdES (ETSI.CAdES.detached, SHA-256) with a visible stamp (signer,
position, time, `signing.appearance`); with `tsa_url` they carry an RFC 3161 signature
timestamp (PAdES B-T); with `trust` the validation data (certificates, CRLs) goes into the
document security store after the signature. These functions block (pyHanko runs its own
event loop): call them from a worker thread or process, not on an event loop.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import PKCS11Error
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import ExternalSigner, PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.sign.validation import async_add_validation_info
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import appearance
from .errors import (
    DocumentLocked,
    FieldAlreadySigned,
    FieldNotFound,
    InvalidSignatureValue,
    OutOfOrder,
    SigningFailed,
    StaleDocument,
    TimestampUnavailable,
    TokenError,
)
from .fields import SIGNING_ORDER, open_reader, signature_fields
from .identity import (
    CertificateLike,
    ExpectedSigner,
    SignerIdentity,
    check_signer,
    check_validity,
    to_asn1,
    to_cryptography,
)
from .signers import signer_certificate, signer_chain
from .trust import Trust

MD = "sha256"
TSA_TIMEOUT = 10  # seconds for one time-stamping request


class _NoFetchingNotice(logging.Filter):
    """pyHanko warns at every signature that it embeds validation data without fetching
    any: that is by design here (CRLs come with `Trust`), so the notice is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NoFetchingNotice())


def check_field(pdf: bytes | PdfFileReader, field: str,
                order: Sequence[str] = SIGNING_ORDER) -> None:
    """Raises unless `field` may be signed now: it exists and is empty, every field before
    it in `order` that the document has is signed, and no signature locks the document."""
    states = signature_fields(pdf)
    by_name = {s.name: s for s in states}
    target = by_name.get(field)
    if target is None:
        raise FieldNotFound(field=field)
    if target.signed:
        raise FieldAlreadySigned(field=field)
    if any(s.signed and s.locks_document for s in states):
        raise DocumentLocked()
    if field in order:
        for earlier in order[:order.index(field)]:
            state = by_name.get(earlier)
            if state is not None and not state.signed:
                raise OutOfOrder(field=field, missing=earlier)


def _check_certificate(cert: CertificateLike, chain: Sequence[CertificateLike],
                       expected: ExpectedSigner, trust: Trust | None) -> SignerIdentity:
    now = dt.datetime.now(dt.UTC)
    check_validity(cert, now)
    who = check_signer(cert, expected)
    if trust is not None:
        trust.check(cert, chain, at=now)
    return who


def _metadata(field: str, who: SignerIdentity, trust: Trust | None, reason: str | None,
              location: str | None) -> PdfSignatureMetadata:
    return PdfSignatureMetadata(
        field_name=field,
        md_algorithm=MD,
        subfilter=SigSeedSubFilter.PADES,
        name=who.name or None,
        reason=reason,
        location=location,
        embed_validation_info=trust is not None,
        validation_context=trust.validation_context() if trust is not None else None,
        # only a field with a lock (the chair's) applies it; say what the lock says
        docmdp_permissions=MDPPerm.NO_CHANGES,
    )


def _timestamper(tsa_url: str | None) -> HTTPTimeStamper | None:
    return HTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT) if tsa_url else None


def _reserve(cert: x509.Certificate, chain: Sequence[x509.Certificate], timestamped: bool
             ) -> int:
    """Room for the CMS in the PDF (hex, so twice the DER): the certificates, the signature,
    signed attributes and, with a timestamp, the token and its certificates. Generous, so
    pyHanko's estimate (one more signature and time-stamp request) is not needed."""
    der = 4096 + len(_der(cert)) + sum(len(_der(c)) for c in chain) + _placeholder_size(cert)
    if timestamped:
        der += 12288
    return 2 * der


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _refusal(exc: Exception) -> Exception:
    """The typed error for a failure inside pyHanko."""
    if isinstance(exc, TimestampRequestError):
        return TimestampUnavailable(str(exc))
    if isinstance(exc, PKCS11Error):
        return TokenError(f"{type(exc).__name__} {exc}")
    if isinstance(exc, SigningError) and isinstance(exc.__cause__, TimestampRequestError):
        return TimestampUnavailable(str(exc.__cause__))
    return SigningFailed(f"{type(exc).__name__}: {exc}")


_PYHANKO_FAILURES = (SigningError, TimestampRequestError, PKCS11Error, PdfError, ValueError,
                     OSError)


def sign_field(pdf: bytes, field: str, signer: Signer, *, expected: ExpectedSigner,
               position: str | None = None, tsa_url: str | None = None,
               trust: Trust | None = None, order: Sequence[str] = SIGNING_ORDER,
               reason: str | None = None, location: str | None = None) -> bytes:
    """Sign `field` of `pdf` with `signer`'s key; return the signed PDF.

    `expected` is who must sign (user id and full name); `position` is shown in the stamp
    (the certificate's title by default). Raises `FieldNotFound`, `FieldAlreadySigned`,
    `OutOfOrder`, `DocumentLocked`, `InvalidDocument`, `CertificateExpired`,
    `CertificateNotYetValid`, `SignerMismatch`, `CertificateUntrusted`,
    `CertificateRevoked`, `TimestampUnavailable`, `TokenError` or `SigningFailed`."""
    reader = open_reader(pdf)
    check_field(reader, field, order)
    cert = signer_certificate(signer)
    chain = signer_chain(signer)
    who = _check_certificate(cert, chain, expected, trust)
    pdf_signer = PdfSigner(_metadata(field, who, trust, reason, location), signer,
                           timestamper=_timestamper(tsa_url),
                           stamp_style=appearance.stamp_style())
    params = appearance.text_params(who.name, position or who.position,
                                    dt.datetime.now(dt.UTC))
    try:
        out = pdf_signer.sign_pdf(_writer(pdf), existing_fields_only=True,
                                  bytes_reserved=_reserve(cert, chain, bool(tsa_url)),
                                  appearance_text_params=params)
    except _PYHANKO_FAILURES as exc:
        raise _refusal(exc) from exc
    return out.getvalue()


# ------------------------------------------------------------------ two-step (external key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class PreparedSignature:
    """Everything `finish` needs, serialisable (`to_json` / `from_json`) so the signing
    can wait for the key holder (another request, another process).

    `digest_to_sign` (SHA-256 of `signed_attrs`) is what a raw signer signs;
    `document_digest` is what a signer producing its own CMS SignedData must cover."""

    field: str
    pdf: bytes  # the document with the field's signature placeholder
    base_sha256: str  # the document `prepare` was given
    reserved_start: int
    reserved_end: int
    document_digest: bytes
    signed_attrs: bytes
    certificate: bytes
    chain: tuple[bytes, ...]
    tsa_url: str | None
    created_at: dt.datetime

    @property
    def digest_to_sign(self) -> bytes:
        return hashlib.sha256(self.signed_attrs).digest()

    def to_json(self) -> str:
        return json.dumps({
            "field": self.field, "pdf": _b64(self.pdf), "base_sha256": self.base_sha256,
            "reserved": [self.reserved_start, self.reserved_end],
            "document_digest": _b64(self.document_digest),
            "signed_attrs": _b64(self.signed_attrs), "certificate": _b64(self.certificate),
            "chain": [_b64(c) for c in self.chain], "tsa_url": self.tsa_url,
            "created_at": self.created_at.isoformat(),
        })

    @classmethod
    def from_json(cls, text: str) -> PreparedSignature:
        d = json.loads(text)
        b = base64.b64decode
        return cls(field=d["field"], pdf=b(d["pdf"]), base_sha256=d["base_sha256"],
                   reserved_start=d["reserved"][0], reserved_end=d["reserved"][1],
                   document_digest=b(d["document_digest"]), signed_attrs=b(d["signed_attrs"]),
                   certificate=b(d["certificate"]), chain=tuple(b(c) for c in d["chain"]),
                   tsa_url=d["tsa_url"], created_at=dt.datetime.fromisoformat(d["created_at"]))


def _placeholder_size(cert: x509.Certificate) -> int:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size // 8
    if isinstance(key, ec.EllipticCurvePublicKey):
        return 2 * ((key.curve.key_size + 7) // 8) + 9  # DER ECDSA-Sig-Value, at most
    raise SigningFailed(f"unsupported key type {type(key).__name__}")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def prepare(pdf: bytes, field: str, certificate: CertificateLike, *,
            expected: ExpectedSigner, chain: Sequence[CertificateLike] = (),
            position: str | None = None, tsa_url: str | None = None,
            trust: Trust | None = None, order: Sequence[str] = SIGNING_ORDER,
            reason: str | None = None, location: str | None = None,
            ) -> tuple[PreparedSignature, bytes]:
    """Prepare `field` for a signature by a key held elsewhere; return the state for
    `finish` and the SHA-256 digest the key holder must sign (PKCS#1 v1.5 for RSA keys,
    ECDSA for EC keys, over the digest as given). Raises what `sign_field` raises."""
    reader = open_reader(pdf)
    check_field(reader, field, order)
    cert = to_cryptography(certificate)
    chain_certs = [to_cryptography(c) for c in chain]
    who = _check_certificate(cert, chain_certs, expected, trust)
    ext = ExternalSigner(
        signing_cert=to_asn1(cert),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain_certs]),
        signature_value=bytes(_placeholder_size(cert)),
    )
    meta = _metadata(field, who, None, reason, location)  # validation data: added by finish
    timestamper = _timestamper(tsa_url)
    pdf_signer = PdfSigner(meta, ext, timestamper=timestamper,
                           stamp_style=appearance.stamp_style())
    params = appearance.text_params(who.name, position or who.position,
                                    dt.datetime.now(dt.UTC))

    async def run() -> tuple[PreparedByteRangeDigest, cms.CMSAttributes, bytes]:
        digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
            _writer(pdf), existing_fields_only=True, appearance_text_params=params,
            bytes_reserved=_reserve(cert, chain_certs, bool(tsa_url)))
        attrs = await ext.signed_attrs(digest.document_digest, MD, use_pades=True)
        return digest, attrs, output.getvalue()

    try:
        digest, attrs, prepared = asyncio.run(run())
    except _PYHANKO_FAILURES as exc:
        raise _refusal(exc) from exc
    state = PreparedSignature(
        field=field, pdf=prepared, base_sha256=hashlib.sha256(pdf).hexdigest(),
        reserved_start=digest.reserved_region_start, reserved_end=digest.reserved_region_end,
        document_digest=digest.document_digest, signed_attrs=attrs.dump(),
        certificate=_der(cert), chain=tuple(_der(c) for c in chain_certs), tsa_url=tsa_url,
        created_at=dt.datetime.now(dt.UTC))
    return state, state.digest_to_sign


def _verify_raw(cert: x509.Certificate, signature: bytes, data: bytes) -> None:
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise InvalidSignatureValue(f"unsupported key type {type(key).__name__}")
    except InvalidSignature as exc:
        raise InvalidSignatureValue("it does not verify with the signer's certificate") from exc


def _as_cms(data: bytes) -> cms.ContentInfo | None:
    """`data` parsed as a CMS SignedData, or None if it is something else (a raw value)."""
    if not data.startswith(b"\x30"):
        return None
    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native != "signed_data":
            return None
        info["content"]["signer_infos"][0]
        return info
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _check_cms(state: PreparedSignature, info: cms.ContentInfo) -> None:
    signed = info["content"]
    signer_info = signed["signer_infos"][0]
    cert = to_asn1(state.certificate)
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        ok = sid.chosen["serial_number"].native == cert.serial_number \
            and sid.chosen["issuer"] == cert.issuer
    else:
        ok = sid.chosen.native == cert.key_identifier
    if not ok:
        raise InvalidSignatureValue("the CMS is signed by another certificate")
    try:
        intact, valid = validate_sig_integrity(signer_info, cert, "data",
                                               state.document_digest)
    except (ValueError, KeyError, SigningError) as exc:
        raise InvalidSignatureValue(str(exc)) from exc
    if not (intact and valid):
        raise InvalidSignatureValue("the CMS does not cover this document or does not verify")


def finish(state: PreparedSignature, signature: bytes, *, trust: Trust | None = None,
           current_pdf: bytes | None = None) -> bytes:
    """Complete a prepared signature with `signature` (a raw value over
    `state.digest_to_sign`, or a CMS SignedData over `state.document_digest`) and return
    the signed PDF. With `current_pdf` (the document as stored now) it is refused with
    `StaleDocument` if that changed since `prepare`. Raises `InvalidSignatureValue`,
    `CertificateExpired`, `TimestampUnavailable`, `StaleDocument` or `SigningFailed`;
    nothing is returned unless the signature verifies."""
    if current_pdf is not None and hashlib.sha256(current_pdf).hexdigest() != state.base_sha256:
        raise StaleDocument()
    cert = to_cryptography(state.certificate)
    check_validity(cert)
    info = _as_cms(signature)
    if info is not None:
        _check_cms(state, info)
    else:
        _verify_raw(cert, signature, state.signed_attrs)
    output = io.BytesIO(state.pdf)
    prepared = PreparedByteRangeDigest(state.document_digest, state.reserved_start,
                                       state.reserved_end)

    async def run() -> None:
        nonlocal info
        if info is None:
            ext = ExternalSigner(
                signing_cert=to_asn1(cert),
                cert_registry=SimpleCertificateStore.from_certs(
                    [to_asn1(c) for c in state.chain]),
                signature_value=signature)
            info = await ext.async_sign_prescribed_attributes(
                MD, cms.CMSAttributes.load(state.signed_attrs),
                timestamper=_timestamper(state.tsa_url))
        prepared.fill_with_cms(output, info)
        if trust is not None:
            await _add_validation_info(output, state.field, trust)

    try:
        asyncio.run(run())
    except _PYHANKO_FAILURES as exc:
        raise _refusal(exc) from exc
    return output.getvalue()


async def _add_validation_info(output: io.BytesIO, field: str, trust: Trust) -> None:
    """Append the validation data of `field`'s signature to the DSS (in place)."""
    reader = PdfFileReader(output, strict=False)
    for sig in reader.embedded_regular_signatures:
        if sig.field_name == field:
            embedded: EmbeddedPdfSignature = sig
            break
    else:
        raise SigningFailed(f"signature {field} not found after signing")
    await async_add_validation_info(embedded, trust.validation_context(), in_place=True)
