"""Verification: a good file passes (pyHanko here, poppler's pdfsig independently); a
tampered one, or one changed after the chair's lock, fails with a clear reason."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pymupdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from phonghop.signing.devca import DevCA
from phonghop.signing.errors import InvalidDocument
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from phonghop.signing.trust import Trust
from phonghop.signing.verify import VerificationReport, verify_pdf


def codes(report: VerificationReport) -> list[list[str]]:
    return [[p.code for p in s.problems] for s in report.signatures]


def test_the_good_file_reports_signers_times_and_coverage(signed_by_both: bytes,
                                                          trust: Trust) -> None:
    report = verify_pdf(signed_by_both, trust=trust)
    assert report.all_valid and report.complete and report.unsigned_fields == ()
    secretary, chair = report.signatures
    assert secretary.signer is not None and chair.signer is not None
    assert (secretary.field, secretary.signer.name, secretary.signer.user_id) == (
        SECRETARY_FIELD, "Nguyễn Thị Thư Ký", "thuky")
    assert (chair.field, chair.signer.name) == (CHAIR_FIELD, "Trần Văn Chủ Tọa")
    assert "CN=phonghop DEV CA" in chair.signer.issuer
    assert secretary.signing_time and chair.signing_time
    assert secretary.signing_time <= chair.signing_time
    assert all(s.intact and s.valid and s.trusted and s.changes_allowed
               for s in report.signatures)
    # the secretary's signature covers its revision; the chair's signature followed it
    assert (secretary.coverage, secretary.changes_after) == ("revision", "form_filling")
    # after the chair only validation data (the DSS) was added
    assert (chair.coverage, chair.changes_after) == ("revision", "validation_data")


def test_half_signed_minutes_are_valid_but_not_complete(signed_by_secretary: bytes,
                                                        trust: Trust) -> None:
    report = verify_pdf(signed_by_secretary, trust=trust)
    assert report.all_valid and not report.complete
    assert report.unsigned_fields == (CHAIR_FIELD,)


def test_a_byte_changed_inside_the_signed_range_breaks_both_signatures(
        signed_by_both: bytes, trust: Trust) -> None:
    sig = PdfFileReader(io.BytesIO(signed_by_both)).embedded_regular_signatures[0]
    start, length = sig.byte_range[0], sig.byte_range[1]
    at = signed_by_both.index(b"phonghop", start, start + length)  # in the /Info dictionary
    tampered = bytearray(signed_by_both)
    tampered[at + 7] = ord("q")  # "phonghop" → "phonghoq": same length, offsets unchanged
    report = verify_pdf(bytes(tampered), trust=trust)
    assert not report.all_valid
    assert [s.intact for s in report.signatures] == [False, False]
    assert codes(report)[0][0] == "tampered"
    problem = report.signatures[0].problems[0]
    assert "thay đổi sau khi ký" in problem.vi and "altered after signing" in problem.en


def test_a_page_appended_after_the_chair_signed_is_a_disallowed_change(
        signed_by_both: bytes, trust: Trust, tmp_path: Path) -> None:
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(signed_by_both)
    doc = pymupdf.open(path)
    page = doc.new_page()
    page.insert_text((72, 72), "Trang thêm sau khi ký")
    doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP)
    doc.close()
    changed = path.read_bytes()
    assert changed.startswith(signed_by_both)  # an incremental update: old bytes untouched
    report = verify_pdf(changed, trust=trust)
    assert not report.all_valid
    assert all(s.intact and s.valid for s in report.signatures)  # the bytes they signed hold
    chair = report.signatures[1]
    assert not chair.changes_allowed and chair.changes_after == "other"
    assert "disallowed_changes" in codes(report)[1]
    assert "không được phép" in chair.problems[0].vi


def test_changed_content_after_the_chair_signed_is_a_disallowed_change(
        signed_by_both: bytes, trust: Trust, tmp_path: Path) -> None:
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(signed_by_both)
    doc = pymupdf.open(path)
    doc[0].insert_text((100, 400), "Đã sửa: không thông qua")
    doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP)
    doc.close()
    report = verify_pdf(path.read_bytes(), trust=trust)
    assert not report.all_valid
    assert all("disallowed_changes" in c for c in codes(report))


def test_a_comment_added_after_signing_counts_as_a_change(signed_by_both: bytes,
                                                          trust: Trust, tmp_path: Path) -> None:
    """FIELD.md: validators treat comments as changes, so notes stay out of the minutes."""
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(signed_by_both)
    doc = pymupdf.open(path)
    doc[0].add_text_annot((100, 100), "Ghi chú")
    doc.save(path, incremental=True, encryption=pymupdf.PDF_ENCRYPT_KEEP)
    doc.close()
    assert not verify_pdf(path.read_bytes(), trust=trust).all_valid


def test_an_unknown_authority_is_reported_untrusted(signed_by_both: bytes) -> None:
    report = verify_pdf(signed_by_both, trust=Trust.of([DevCA.create().certificate]))
    assert not report.all_valid
    assert codes(report) == [["untrusted"], ["untrusted"]]


def test_no_signatures_and_not_a_pdf(minutes_pdf: bytes, trust: Trust) -> None:
    report = verify_pdf(minutes_pdf, trust=trust)
    assert not report.all_valid and [p.code for p in report.problems] == ["no_signatures"]
    assert report.unsigned_fields == (SECRETARY_FIELD, CHAIR_FIELD)
    with pytest.raises(InvalidDocument):
        verify_pdf(b"%PDF-1.7\nnonsense", trust=trust)


PDFSIG = shutil.which("pdfsig")


@pytest.mark.skipif(PDFSIG is None, reason="poppler-utils (pdfsig) is not installed; "
                    "scripts/test.sh installs it")
def test_poppler_pdfsig_accepts_the_good_file_and_not_the_tampered_one(
        signed_by_both: bytes, tmp_path: Path) -> None:
    assert PDFSIG is not None
    good = tmp_path / "good.pdf"
    good.write_bytes(signed_by_both)
    out = subprocess.run([PDFSIG, str(good)], capture_output=True, text=True, timeout=60)
    assert out.stdout.count("Signature Validation: Signature is Valid.") == 2, out.stdout
    assert "Signature Field Name: ThuKy" in out.stdout
    assert "Signer Certificate Common Name: Nguyễn Thị Thư Ký" in out.stdout
    assert "ETSI.CAdES.detached" in out.stdout

    start = signed_by_both.index(b"phonghop")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(signed_by_both[:start + 7] + b"q" + signed_by_both[start + 8:])
    out = subprocess.run([PDFSIG, str(bad)], capture_output=True, text=True, timeout=60)
    assert "Signature is Valid." not in out.stdout, out.stdout
