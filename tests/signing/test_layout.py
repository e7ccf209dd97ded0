"""The minutes PDF: Decree 30 and Guidance 36 headings, margins, fonts, page numbers,
text flowing over pages, and the two empty signature fields (the chair's locking)."""

from __future__ import annotations

import dataclasses
import io
import unicodedata

import pymupdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD, signature_fields
from phonghop.signing.layout import BODY_SIZE, MM, percent, render_minutes, vn_date
from phonghop.signing.minutes import MinutesDoc, Person
from phonghop.signing.sample import make_minutes, sample_minutes, three_hour_minutes

A4 = (210 * MM, 297 * MM)


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return render_minutes(three_hour_minutes())


@pytest.fixture(scope="module")
def party_pdf() -> bytes:
    return render_minutes(sample_minutes("party"))


def spans(page: pymupdf.Page) -> list[dict]:
    return [s for b in page.get_text("dict")["blocks"] for line in b.get("lines", ())
            for s in line["spans"] if s["text"].strip()]


def find(page: pymupdf.Page, text: str) -> dict:
    for span in spans(page):
        if text in span["text"]:
            return span
    raise AssertionError(f"{text!r} not on page {page.number}")


def test_state_heading_follows_decree_30(minutes_pdf: bytes) -> None:
    doc = pymupdf.open("pdf", minutes_pdf)
    page = doc[0]
    mid = page.rect.width / 2
    body = find(page, "PHƯỜNG BA ĐÌNH")
    assert body["bbox"][2] < mid and "Bold" in body["font"]  # issuing body: top left, bold
    title = find(page, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert title["bbox"][0] > mid - 40 and "Bold" in title["font"]
    motto = find(page, "Độc lập - Tự do - Hạnh phúc")
    assert motto["bbox"][1] > title["bbox"][1] and "Bold" in motto["font"]
    # the motto is underlined by a rule as wide as the motto
    rules = [d for d in page.get_drawings() if d["rect"].height < 1 and
             d["rect"].y0 > motto["bbox"][3] - 1 and d["rect"].y0 < motto["bbox"][3] + 8]
    assert any(abs(r["rect"].width - (motto["bbox"][2] - motto["bbox"][0])) < 2 for r in rules)
    number = find(page, "Số: 12/BB-UBND")
    assert number["bbox"][2] < mid
    date = find(page, "Ba Đình, ngày 20 tháng 11 năm 2026")
    assert "Italic" in date["font"] and date["bbox"][0] > mid - 40
    heading = find(page, "BIÊN BẢN")
    centre = (heading["bbox"][0] + heading["bbox"][2]) / 2
    assert abs(centre - (30 * MM + (page.rect.width - 45 * MM) / 2)) < 2
    assert "Bold" in heading["font"]
    assert "Bold" in find(page, "Phiên họp thường kỳ tháng 11 năm 2026")["font"]


def test_party_heading_follows_guidance_36(party_pdf: bytes) -> None:
    page = pymupdf.open("pdf", party_pdf)[0]
    mid = page.rect.width / 2
    party = find(page, "ĐẢNG CỘNG SẢN VIỆT NAM")
    assert party["bbox"][0] > mid - 40 and "Bold" in party["font"]
    committee = find(page, "ĐẢNG ỦY PHƯỜNG BA ĐÌNH")
    assert committee["bbox"][2] < mid
    star = find(page, "*")
    assert star["bbox"][1] > committee["bbox"][1] and star["bbox"][2] < mid
    assert find(page, "Số 12-BB/ĐU")["bbox"][2] < mid
    assert "CỘNG HÒA XÃ HỘI" not in page.get_text()
    text = pymupdf.open("pdf", party_pdf)[-1].get_text()
    assert "CHỦ TRÌ" in text and "THƯ KÝ" in text


def test_a4_margins_and_body_size(long_pdf: bytes) -> None:
    doc = pymupdf.open("pdf", long_pdf)
    for page in doc:
        assert (round(page.rect.width, 1), round(page.rect.height, 1)) == \
            (round(A4[0], 1), round(A4[1], 1))
        for span in spans(page):
            x0, y0, x1, y1 = span["bbox"]
            assert x0 >= 30 * MM - 0.5 and x1 <= page.rect.width - 15 * MM + 0.5, span
            assert y1 <= page.rect.height - 20 * MM + 0.5, span
            if y1 < 20 * MM:  # only the page number sits in the top margin
                assert span["text"].strip() == str(page.number + 1) != "1"
            else:
                assert y0 >= 20 * MM - 4, span  # (a glyph box may rise above its line)
    sizes = [round(s["size"], 1) for s in spans(doc[3])]
    assert max(set(sizes), key=sizes.count) == BODY_SIZE


def test_page_numbers_from_page_two_at_the_top_centre(long_pdf: bytes) -> None:
    doc = pymupdf.open("pdf", long_pdf)
    assert doc.page_count >= 10
    first_top = [s for s in spans(doc[0]) if s["bbox"][3] < 20 * MM]
    assert first_top == []  # no number on page 1
    centre = 30 * MM + (doc[0].rect.width - 45 * MM) / 2
    for page in doc.pages(1):
        number = [s for s in spans(page) if s["bbox"][3] < 20 * MM]
        assert [s["text"] for s in number] == [str(page.number + 1)]
        assert abs((number[0]["bbox"][0] + number[0]["bbox"][2]) / 2 - centre) < 2


def test_long_proceedings_flow_over_pages_with_nothing_lost(long_pdf: bytes) -> None:
    minutes = three_hour_minutes()
    doc = pymupdf.open("pdf", long_pdf)
    body = [s["text"] for page in doc for s in spans(page) if s["bbox"][3] >= 20 * MM]
    text = " ".join(" ".join(body).split())  # page numbers left out
    paragraphs = [p for p in minutes.proceedings.split("\n\n") if p.strip()]
    assert len(paragraphs) == 60
    for paragraph in paragraphs:  # every word of every paragraph, in order
        assert " ".join(paragraph.split()) in text
    for item in minutes.agenda:
        assert item.title in text
    for c in minutes.conclusions:
        assert c.deadline is not None and c.deadline.strftime("%d/%m/%Y") in text
    assert text.count("Thông qua nội dung") == 6
    assert "Cuộc họp kết thúc vào 11 giờ 00 phút, cùng ngày./." in text


@pytest.mark.parametrize("size", [5, 17, 33, 48])
def test_no_text_is_lost_whatever_falls_on_a_page_break(size: int) -> None:
    minutes = make_minutes("state", members=size, items=size, speeches=size, votes=2,
                           conclusions=size, paragraphs=size, hours=2.0)
    doc = pymupdf.open("pdf", render_minutes(minutes))
    body = [s["text"] for page in doc for s in spans(page) if s["bbox"][3] >= 20 * MM]
    text = " ".join(" ".join(body).split())
    paragraphs = [" ".join(p.split()) for p in minutes.proceedings.split("\n\n")]
    assert sum(p in text for p in paragraphs) == len(paragraphs) == size
    assert text.count("Đề nghị làm rõ nguồn kinh phí") == size  # every speech
    assert text.count("Thời hạn:") == size  # every conclusion
    assert text.count("Giao ") == size


def test_text_is_drawn_nfc_with_embedded_fonts() -> None:
    minutes = sample_minutes()
    nfd = dataclasses.replace(
        minutes, subject=unicodedata.normalize("NFD", minutes.subject),
        chair=Person(unicodedata.normalize("NFD", minutes.chair.name), minutes.chair.position))
    doc = pymupdf.open("pdf", render_minutes(nfd))
    text = "".join(page.get_text() for page in doc)
    assert unicodedata.normalize("NFC", minutes.subject) in text
    assert minutes.chair.name in text
    assert unicodedata.is_normalized("NFC", text)
    fonts = {f for page in doc for f in page.get_fonts()}
    assert fonts and all(f[1] == "ttf" and "+Crimson Text" in f[3] for f in fonts), fonts


def test_the_two_signature_fields_exist_empty_and_only_the_chair_locks(minutes_pdf: bytes
                                                                       ) -> None:
    states = signature_fields(minutes_pdf)
    assert [(s.name, s.signed, s.locks_document) for s in states] == [
        (SECRETARY_FIELD, False, False), (CHAIR_FIELD, False, True)]
    reader = PdfFileReader(io.BytesIO(minutes_pdf))
    fields = {name: ref.get_object() for name, _, ref in enumerate_sig_fields(reader)}
    lock = fields[CHAIR_FIELD]["/Lock"].get_object()
    assert lock["/Action"] == "/All" and lock["/P"] == 1
    assert "/Lock" not in fields[SECRETARY_FIELD]


def test_signature_block_labels_names_and_boxes(minutes_pdf: bytes) -> None:
    doc = pymupdf.open("pdf", minutes_pdf)
    page = doc[-1]
    widgets = {w.field_name: w.rect for w in page.widgets()}
    assert set(widgets) == {SECRETARY_FIELD, CHAIR_FIELD}
    mid = 30 * MM + (page.rect.width - 45 * MM) / 2
    assert widgets[SECRETARY_FIELD].x1 < mid < widgets[CHAIR_FIELD].x0
    secretary, chair = find(page, "THƯ KÝ"), find(page, "CHỦ TỌA")
    assert secretary["bbox"][3] < widgets[SECRETARY_FIELD].y0
    assert chair["bbox"][3] < widgets[CHAIR_FIELD].y0
    assert find(page, "Nguyễn Thị Thư Ký")["bbox"][1] > widgets[SECRETARY_FIELD].y1
    assert find(page, "Trần Văn Chủ Tọa")["bbox"][1] > widgets[CHAIR_FIELD].y1
    end = find(page, "Cuộc họp kết thúc vào")
    assert end["bbox"][3] < secretary["bbox"][1]  # the block follows the text


def test_words_and_numbers() -> None:
    import datetime as dt

    assert vn_date(dt.date(2026, 2, 5)) == "ngày 05 tháng 02 năm 2026"
    assert vn_date(dt.date(2026, 11, 20)) == "ngày 20 tháng 11 năm 2026"
    assert percent(2, 3) == "66,67%" and percent(1, 8) == "12,50%" and percent(0, 0) == "0,00%"


def test_a_minimal_document_renders(minutes_pdf: bytes) -> None:
    base = sample_minutes()
    bare = MinutesDoc(template="state", issuing_body="UBND xã Đông Anh", subject="Họp giao ban",
                      place_name="Đông Anh", date=base.date, started_at=base.started_at,
                      ended_at=base.ended_at, location="Hội trường", chair=base.chair,
                      secretary=base.secretary)
    doc = pymupdf.open("pdf", render_minutes(bare))
    assert doc.page_count == 1
    assert "Số:" in doc[0].get_text() and len(signature_fields(doc.tobytes())) == 2
