"""Signing with a .p12 key: PAdES, visible, in order, by the expected person, or refused
with a typed error and nothing written."""

from __future__ import annotations

import hashlib
import io

import pymupdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from phonghop.signing.devca import DevCA
from phonghop.signing.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    CertificateUntrusted,
    DocumentLocked,
    FieldAlreadySigned,
    FieldNotFound,
    InvalidDocument,
    OutOfOrder,
    SignerMismatch,
    SigningRefused,
)
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD, signature_fields
from phonghop.signing.identity import ExpectedSigner
from phonghop.signing.sign import sign_field
from phonghop.signing.trust import Trust
from phonghop.signing.verify import verify_pdf

from .conftest import User, make_user


def test_secretary_then_chair_gives_two_valid_pades_signatures(
        signed_by_both: bytes, trust: Trust) -> None:
    reader = PdfFileReader(io.BytesIO(signed_by_both))
    sigs = reader.embedded_regular_signatures
    assert [s.field_name for s in sigs] == [SECRETARY_FIELD, CHAIR_FIELD]
    for sig in sigs:
        assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
        assert sig.sig_object["/Filter"] == "/Adobe.PPKLite"
    assert "/DSS" in reader.root  # validation data embedded after signing
    report = verify_pdf(signed_by_both, trust=trust)
    assert report.all_valid and report.complete
    assert [s.signer.user_id for s in report.signatures if s.signer] == ["thuky", "chutri"]
    assert [s.signed for s in signature_fields(signed_by_both)] == [True, True]


def test_each_signature_is_visible_with_name_position_and_time(signed_by_both: bytes) -> None:
    doc = pymupdf.open("pdf", signed_by_both)
    page = doc[-1]
    boxes = {w.field_name: w.rect for w in page.widgets()}
    doc.bake(annots=False, widgets=True)  # draw the fields' appearances into the page
    text = doc[-1].get_text("text", clip=boxes[SECRETARY_FIELD] + (-2, -2, 2, 2))
    flat = " ".join(text.split())
    assert "Ký số bởi / Signed by: Nguyễn Thị Thư Ký" in flat
    assert "Chánh Văn phòng HĐND - UBND phường" in flat
    assert "Thời gian / Time:" in flat and "(GMT+7)" in flat
    chair = " ".join(doc[-1].get_text("text", clip=boxes[CHAIR_FIELD] + (-2, -2, 2, 2)).split())
    assert "Trần Văn Chủ Tọa" in chair and "Chủ tịch Ủy ban nhân dân phường" in chair


def test_the_chair_cannot_sign_first(minutes_pdf: bytes, chair: User, trust: Trust) -> None:
    with pytest.raises(OutOfOrder) as caught:
        sign_field(minutes_pdf, CHAIR_FIELD, chair.signer(), expected=chair.expected,
                   trust=trust)
    assert caught.value.code == "out_of_order"
    assert caught.value.details["missing"] == SECRETARY_FIELD


def test_a_field_cannot_be_signed_twice(signed_by_secretary: bytes, secretary: User) -> None:
    with pytest.raises(FieldAlreadySigned):
        sign_field(signed_by_secretary, SECRETARY_FIELD, secretary.signer(),
                   expected=secretary.expected)


def test_nothing_is_signed_after_the_chair(signed_by_both: bytes, chair: User) -> None:
    with pytest.raises(FieldAlreadySigned):
        sign_field(signed_by_both, CHAIR_FIELD, chair.signer(), expected=chair.expected)


def test_unknown_field_and_not_a_pdf(minutes_pdf: bytes, secretary: User) -> None:
    with pytest.raises(FieldNotFound):
        sign_field(minutes_pdf, "KhongCo", secretary.signer(), expected=secretary.expected)
    with pytest.raises(InvalidDocument):
        sign_field(b"not a pdf", SECRETARY_FIELD, secretary.signer(),
                   expected=secretary.expected)


@pytest.mark.parametrize("issue, error", [
    ("issue_expired", CertificateExpired),
    ("issue_not_yet_valid", CertificateNotYetValid),
])
def test_a_certificate_outside_its_validity_is_refused(
        minutes_pdf: bytes, ca: DevCA, issue: str, error: type[SigningRefused]) -> None:
    cred = getattr(ca, issue)(user_id="thuky", full_name="Nguyễn Thị Thư Ký")
    user = make_user(ca, "thuky", "Nguyễn Thị Thư Ký", credential=cred)
    before = hashlib.sha256(minutes_pdf).digest()
    with pytest.raises(error):
        sign_field(minutes_pdf, SECRETARY_FIELD, user.signer(), expected=user.expected)
    assert hashlib.sha256(minutes_pdf).digest() == before


@pytest.mark.parametrize("expected", [
    ExpectedSigner("chutri", "Nguyễn Thị Thư Ký"),  # another user id
    ExpectedSigner("thuky", "Nguyễn Thị Thu Ký"),  # another name (one accent differs)
])
def test_a_certificate_of_someone_else_is_refused(minutes_pdf: bytes, secretary: User,
                                                  expected: ExpectedSigner) -> None:
    with pytest.raises(SignerMismatch) as caught:
        sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(), expected=expected)
    assert "Nguyễn Thị Thư Ký (thuky)" in caught.value.vi


def test_names_match_ignoring_case_spacing_and_normalisation(minutes_pdf: bytes,
                                                             secretary: User) -> None:
    import unicodedata

    expected = ExpectedSigner("thuky", unicodedata.normalize("NFD", " nguyễn  thị THƯ ký "))
    signed = sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(), expected=expected)
    assert signature_fields(signed)[0].signed


def test_an_untrusted_or_revoked_certificate_is_refused(minutes_pdf: bytes, ca: DevCA,
                                                        secretary: User) -> None:
    stranger = DevCA.create()
    with pytest.raises(CertificateUntrusted):
        sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(),
                   expected=secretary.expected, trust=Trust.of([stranger.certificate]))
    revoked = Trust.of([ca.certificate], crls=[ca.crl([secretary.credential.certificate])])
    with pytest.raises(CertificateRevoked):
        sign_field(minutes_pdf, SECRETARY_FIELD, secretary.signer(),
                   expected=secretary.expected, trust=revoked)


def test_a_locked_document_takes_no_other_signature(signed_by_both: bytes, ca: DevCA) -> None:
    """A third, empty field added after the chair signed cannot be signed: locked."""
    from phonghop.signing.fields import FieldPlacement, add_signature_fields

    extra = add_signature_fields(signed_by_both, [FieldPlacement("Khac", 0, (100, 100, 200,
                                                                             150))])
    user = make_user(ca, "khac", "Lê Văn Khác")
    with pytest.raises(DocumentLocked):
        sign_field(extra, "Khac", user.signer(), expected=user.expected)
