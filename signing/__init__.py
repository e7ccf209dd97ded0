"""Minutes and signatures: the official minutes PDF (Decree 30/2020/NĐ-CP or Guidance
36-HD/VPTW), PAdES signing with pyHanko (a .p12 file, a PKCS#11 token, or a key held
elsewhere in two steps), RFC 3161 timestamps, and verification.

One concept per module, each usable alone (pyHanko-style layering):

- `minutes`: `MinutesDoc` and its parts, plain data.
- `layout`: `render_minutes(doc) -> bytes`, the PDF with two empty signature fields.
- `fields`: the field names, their order, creating fields, reading their state.
- `devca`: a development CA (users' certificates, .p12 files, a TSA certificate, CRLs).
- `identity`: who a certificate names; `ExpectedSigner`; validity checks.
- `trust`: `Trust`, the trusted roots and CRLs.
- `signers`: `load_pkcs12`, `open_token` (PKCS#11).
- `appearance`: what a signature shows in its field.
- `sign`: `sign_field`, and `prepare` / `finish` for external keys.
- `tsa_dev`: a development RFC 3161 time-stamping service over HTTP.
- `timestamp`: RFC 3161 time-stamps of a digest (the head of a room's log), requested
  and checked.
- `verify`: `verify_pdf(pdf, trust=...) -> VerificationReport`.
- `errors`: every refusal, typed, with Vietnamese and English texts.

The names below are the public surface; everything else may change.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import _quiet  # noqa: F401  (first: before pyHanko is imported)

# Each public name and the module that defines it. They load on first use (PEP 562), so
# that `import signing.minutes` (plain data, what the server drafts minutes with) does not
# load pyHanko: a server that is not signing or verifying right now never pays for it.
_WHERE = {
    "Credential": "devca", "DevCA": "devca",
    "SigningRefused": "errors",
    "CHAIR_FIELD": "fields", "SECRETARY_FIELD": "fields", "SIGNING_ORDER": "fields",
    "FieldState": "fields", "signature_fields": "fields",
    "ExpectedSigner": "identity", "SignerIdentity": "identity",
    "render_minutes": "layout",
    "Absence": "minutes", "AgendaItem": "minutes", "Conclusion": "minutes",
    "LogDigest": "minutes", "MinutesDoc": "minutes", "OnlineSite": "minutes", "Person": "minutes",
    "Speech": "minutes", "Substitute": "minutes", "VoteRecord": "minutes",
    "PreparedSignature": "sign", "finish": "sign", "prepare": "sign", "sign_field": "sign",
    "load_pkcs12": "signers", "open_token": "signers",
    "Trust": "trust",
    "DevTimeStampAuthority": "tsa_dev",
    "Problem": "verify", "SignatureReport": "verify", "VerificationReport": "verify",
    "verify_pdf": "verify",
}

if TYPE_CHECKING:
    from .devca import Credential, DevCA
    from .errors import SigningRefused
    from .fields import (
        CHAIR_FIELD,
        SECRETARY_FIELD,
        SIGNING_ORDER,
        FieldState,
        signature_fields,
    )
    from .identity import ExpectedSigner, SignerIdentity
    from .layout import render_minutes
    from .minutes import (
        Absence,
        AgendaItem,
        Conclusion,
        LogDigest,
        MinutesDoc,
        OnlineSite,
        Person,
        Speech,
        Substitute,
        VoteRecord,
    )
    from .sign import PreparedSignature, finish, prepare, sign_field
    from .signers import load_pkcs12, open_token
    from .trust import Trust
    from .tsa_dev import DevTimeStampAuthority
    from .verify import Problem, SignatureReport, VerificationReport, verify_pdf


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "CHAIR_FIELD",
    "SECRETARY_FIELD",
    "SIGNING_ORDER",
    "Absence",
    "AgendaItem",
    "Conclusion",
    "Credential",
    "DevCA",
    "DevTimeStampAuthority",
    "ExpectedSigner",
    "FieldState",
    "LogDigest",
    "MinutesDoc",
    "OnlineSite",
    "Person",
    "PreparedSignature",
    "Problem",
    "SignatureReport",
    "SignerIdentity",
    "SigningRefused",
    "Speech",
    "Substitute",
    "Trust",
    "VerificationReport",
    "VoteRecord",
    "finish",
    "load_pkcs12",
    "open_token",
    "prepare",
    "render_minutes",
    "sign_field",
    "signature_fields",
    "verify_pdf",
]
