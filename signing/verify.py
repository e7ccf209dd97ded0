"""Verify the signatures of a PDF: who signed, when, and whether each still holds.

For every signature: the signer (from the certificate), the signing time, the timestamp
(if any), whether the signed bytes are intact and the signature value verifies, whether
the certificate chains to a trusted root (`signing.trust.Trust`), what the signature covers
(the whole document, or a revision followed by later updates) and what changed after it,
judged by pyHanko's difference analysis: a later signature or validation data is fine, an
appended page or changed content is not (and after the chair's lock nothing is).
`VerificationReport.all_valid` holds only when every signature is intact, valid, trusted
and followed by no disallowed change. Each problem has a code and Vietnamese/English text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus

from .errors import InvalidDocument
from .fields import open_reader, signature_fields
from .identity import SignerIdentity
from .trust import Trust

Coverage = Literal["whole_document", "revision", "partial", "unclear"]
Changes = Literal["none", "validation_data", "form_filling", "annotations", "other"]

# code -> (Vietnamese, English); placeholders filled from the problem's `detail`.
TEXTS: dict[str, tuple[str, str]] = {
    "no_signatures": ("Văn bản chưa có chữ ký số nào.", "The document has no signatures."),
    "tampered": ("Nội dung đã bị thay đổi sau khi ký: chữ ký không còn nguyên vẹn.",
                 "The signed bytes were altered after signing: the signature is broken."),
    "bad_signature": ("Giá trị chữ ký không hợp lệ với chứng thư số của người ký.",
                      "The signature value does not verify with the signer's certificate."),
    "untrusted": ("Chứng thư số không do tổ chức được tin cậy cấp hoặc không còn hiệu lực.",
                  "The signer's certificate does not chain to a trusted authority or is "
                  "not valid."),
    "revoked": ("Chứng thư số của người ký đã bị thu hồi.",
                "The signer's certificate has been revoked."),
    "disallowed_changes": ("Văn bản bị sửa đổi sau khi ký theo cách không được phép ({detail}).",
                           "The document was changed after signing in a way that is not "
                           "allowed ({detail})."),
    "partial_coverage": ("Chữ ký không bao phủ trọn vẹn phiên bản văn bản đã ký.",
                         "The signature does not cover a whole revision of the document."),
    "timestamp_invalid": ("Dấu thời gian của chữ ký không hợp lệ hoặc không được tin cậy.",
                          "The signature's timestamp is invalid or untrusted."),
    "unreadable": ("Không đọc được chữ ký: {detail}", "The signature cannot be read: {detail}"),
}


@dataclass(frozen=True)
class Problem:
    """Why something does not hold: a stable code and the texts to show."""

    code: str
    detail: str = ""

    @property
    def vi(self) -> str:
        return TEXTS[self.code][0].format(detail=self.detail)

    @property
    def en(self) -> str:
        return TEXTS[self.code][1].format(detail=self.detail)


@dataclass(frozen=True)
class SignatureReport:
    """One signature and what holds of it."""

    field: str
    signer: SignerIdentity | None
    signing_time: dt.datetime | None
    timestamp: dt.datetime | None  # the RFC 3161 time, when the signature carries one
    timestamp_trusted: bool | None
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the signature value verifies
    trusted: bool  # the certificate chains to a trusted root and was valid
    revoked: bool
    coverage: Coverage
    changes_after: Changes
    changes_allowed: bool
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerificationReport:
    """Every signature of a document, in signing order, and the fields still unsigned."""

    signatures: tuple[SignatureReport, ...]
    unsigned_fields: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def all_valid(self) -> bool:
        """Every signature intact, valid, trusted, and no disallowed change after any."""
        return bool(self.signatures) and not self.problems \
            and all(s.ok for s in self.signatures)

    @property
    def complete(self) -> bool:
        """Every signature field is signed, and all of them hold."""
        return self.all_valid and not self.unsigned_fields


_COVERAGE: dict[SignatureCoverageLevel, Coverage] = {
    SignatureCoverageLevel.ENTIRE_FILE: "whole_document",
    SignatureCoverageLevel.ENTIRE_REVISION: "revision",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "partial",
    SignatureCoverageLevel.UNCLEAR: "unclear",
}
_CHANGES: dict[ModificationLevel, Changes] = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation_data",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


def _report(sig: EmbeddedPdfSignature, status: PdfSignatureStatus) -> SignatureReport:
    coverage = _COVERAGE.get(status.coverage, "unclear") if status.coverage else "unclear"
    level = status.modification_level
    changes = _CHANGES.get(level, "other") if level is not None else "other"
    ts = status.timestamp_validity
    ts_ok = None if ts is None else bool(ts.intact and ts.valid and ts.trusted)
    problems: list[Problem] = []
    if not status.intact:
        problems.append(Problem("tampered"))
    elif not status.valid:
        problems.append(Problem("bad_signature"))
    if status.revoked:
        problems.append(Problem("revoked"))
    elif not status.trusted:
        problems.append(Problem("untrusted"))
    if coverage in ("partial", "unclear"):
        problems.append(Problem("partial_coverage"))
    allowed = bool(status.docmdp_ok) and not isinstance(status.diff_result,
                                                        SuspiciousModification)
    if not allowed:
        detail = str(status.diff_result) if isinstance(status.diff_result,
                                                        SuspiciousModification) else changes
        problems.append(Problem("disallowed_changes", detail))
    if ts_ok is False:
        problems.append(Problem("timestamp_invalid"))
    return SignatureReport(
        field=sig.field_name,
        signer=SignerIdentity.from_certificate(status.signing_cert),
        signing_time=status.signer_reported_dt,
        timestamp=ts.timestamp if ts is not None else None,
        timestamp_trusted=ts_ok,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        revoked=bool(status.revoked),
        coverage=coverage,
        changes_after=changes,
        changes_allowed=allowed,
        problems=tuple(problems),
    )


def _unreadable(sig: EmbeddedPdfSignature, exc: Exception) -> SignatureReport:
    return SignatureReport(
        field=sig.field_name, signer=None, signing_time=None, timestamp=None,
        timestamp_trusted=None, intact=False, valid=False, trusted=False, revoked=False,
        coverage="unclear", changes_after="other", changes_allowed=False,
        problems=(Problem("unreadable", f"{type(exc).__name__}: {exc}"),))


def verify_pdf(pdf: bytes, *, trust: Trust) -> VerificationReport:
    """Verify every signature of `pdf` against `trust` (now). Raises `InvalidDocument` if
    the file is not a readable PDF; a broken signature is a report, not an exception."""
    reader = open_reader(pdf)
    try:
        sigs = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError, KeyError) as exc:
        raise InvalidDocument(str(exc)) from exc

    async def run() -> list[SignatureReport]:
        reports = []
        for sig in sigs:
            try:
                status = await async_validate_pdf_signature(
                    sig, signer_validation_context=trust.validation_context(),
                    ts_validation_context=trust.validation_context())
            except (SignatureValidationError, PdfError, ValueError, KeyError,
                    TypeError) as exc:
                reports.append(_unreadable(sig, exc))
                continue
            reports.append(_report(sig, status))
        return reports

    reports = asyncio.run(run())
    unsigned = tuple(s.name for s in signature_fields(reader) if not s.signed)
    problems = () if reports else (Problem("no_signatures"),)
    return VerificationReport(signatures=tuple(reports), unsigned_fields=unsigned,
                              problems=problems)
