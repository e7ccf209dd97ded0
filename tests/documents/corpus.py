"""A corpus of files the tests generate, each with the outcome ingest must give it.

Real files of the kinds that reach a meeting server: multi-page reports in Vietnamese,
scans (images), rotated and oversized pages, protected and damaged PDFs, and things that
are not PDFs at all, whatever their names say.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pymupdf
from PIL import Image

VIETNAMESE = (
    "Nghị quyết về nhiệm vụ phát triển kinh tế - xã hội năm 2026 của phường Hoàn Kiếm. "
    "Ủy ban nhân dân phường báo cáo kết quả thực hiện; đề nghị các đại biểu cho ý kiến."
)


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    outcome: str  # "ok" or the refusal code
    pages: int = 0
    sizes: tuple[tuple[float, float], ...] = ()  # expected displayed sizes, when checked


def _font() -> pymupdf.Font:
    return pymupdf.Font("notos")


def text_page(doc: pymupdf.Document, n: int, width: float = 595, height: float = 842,
              rotate: int = 0) -> pymupdf.Page:
    """A page with a heading and paragraphs of Vietnamese text (fits on the page)."""
    page = doc.new_page(width=width, height=height)
    page.insert_font(fontname="notos", fontbuffer=_font().buffer)
    margin = min(width, height) * 0.1
    box = pymupdf.Rect(margin, margin, width - margin, height - margin)
    left = page.insert_textbox(box, f"Trang {n}\n{VIETNAMESE}\n{VIETNAMESE}",
                               fontname="notos", fontsize=max(4.0, min(width, height) / 50))
    assert left >= 0, "the text must fit on the page"
    if rotate:
        page.set_rotation(rotate)
    return page


def report(pages: int = 5, image: bool = True) -> bytes:
    """A multi-page report with Vietnamese text, a drawing and a photo-like image."""
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = text_page(doc, n)
        page.draw_rect(pymupdf.Rect(60, 600, 300, 780), color=(0, 0, 0.6), fill=(0.8, 0.9, 1))
        if image and n == 1:
            page.insert_image(pymupdf.Rect(320, 600, 540, 780), stream=_png())
    doc.set_metadata({"title": "Báo cáo tình hình kinh tế - xã hội"})
    return doc.tobytes(garbage=3, deflate=True)


def _png() -> bytes:
    img = Image.new("RGB", (160, 120))
    img.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256)
                 for y in range(120) for x in range(160)])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def rotated() -> bytes:
    doc = pymupdf.open()
    text_page(doc, 1)
    text_page(doc, 2, rotate=90)
    text_page(doc, 3, rotate=270)
    return doc.tobytes()


def oversized() -> bytes:
    """A map-sized page (5 m square) and a long strip: both must render to bounded images."""
    doc = pymupdf.open()
    text_page(doc, 1, width=14400, height=14400)
    text_page(doc, 2, width=200, height=14000)
    return doc.tobytes()


def encrypted(user_password: str = "matkhau") -> bytes:
    doc = pymupdf.open()
    text_page(doc, 1)
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=user_password,
                       owner_pw="chu-so-huu")


def owner_protected() -> bytes:
    """Encrypted with only an owner password (no printing): anyone may open and read it."""
    doc = pymupdf.open()
    text_page(doc, 1)
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="chu-so-huu",
                       permissions=pymupdf.PDF_PERM_ACCESSIBILITY)


def truncated_xref() -> bytes:
    """A report cut off in transfer just before its cross-reference table: repairable."""
    doc = pymupdf.open()
    for n in range(1, 4):
        text_page(doc, n)
    data = doc.tobytes()
    return data[: data.rindex(b"xref")]


def truncated_half() -> bytes:
    """A report cut off half way: its page tree is gone."""
    doc = pymupdf.open()
    for n in range(1, 4):
        text_page(doc, n)
    data = doc.tobytes()
    return data[: len(data) // 2]


def header_only() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog"


def nested(depth: int = 50_000) -> bytes:
    """A PDF whose one object nests arrays 50,000 deep (parsers that recurse blow up)."""
    doc = pymupdf.open()
    text_page(doc, 1)
    base = doc.tobytes()
    deep = b"[" * depth + b"]" * depth
    marker = b"%%EOF"
    return base[: base.rindex(marker)] + b"\n99 0 obj\n" + deep + b"\nendobj\n" + marker + b"\n"


def docx() -> bytes:
    """A minimal Word document (OOXML): a zip whose name would not tell."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://'
                   'schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def many_pages(pages: int) -> bytes:
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=200, height=200)
    return doc.tobytes()


def heavy_page(paths: int = 400_000) -> bytes:
    """One page with a huge number of tiny vector paths: rendering it takes seconds."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    ops = [b"0.2 0.3 0.5 rg"]
    for i in range(paths):
        x, y = (i * 7) % 590, (i * 13) % 840
        ops.append(b"%d %d m %d %d l %d %d l f" % (x, y, x + 5, y, x + 2, y + 5))
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, b"\n".join(ops))
    doc.xref_set_key(page.xref, "Contents", f"{xref} 0 R")
    return doc.tobytes(deflate=True)


A4 = (595.0, 842.0)
A4_LANDSCAPE = (842.0, 595.0)


def corpus() -> list[Case]:
    """Every case with its expected outcome."""
    return [
        Case("report.pdf", report(5), "ok", 5, (A4,) * 5),
        Case("rotated.pdf", rotated(), "ok", 3, (A4, A4_LANDSCAPE, A4_LANDSCAPE)),
        Case("oversized.pdf", oversized(), "ok", 2, ((14400.0, 14400.0), (200.0, 14000.0))),
        Case("owner-protected.pdf", owner_protected(), "ok", 1, (A4,)),
        Case("truncated-xref.pdf", truncated_xref(), "ok", 3, (A4,) * 3),  # repaired
        Case("truncated-half.pdf", truncated_half(), "broken_pdf"),
        Case("nested.pdf", nested(), "ok", 1, (A4,)),
        Case("encrypted.pdf", encrypted(), "encrypted_pdf"),
        Case("header-only.pdf", header_only(), "broken_pdf"),
        Case("empty.pdf", b"", "empty_file"),
        Case("photo.pdf", _png(), "unsupported_type"),
        Case("notes.pdf", "Biên bản họp\n".encode() * 50, "unsupported_type"),
        Case("to-trinh.docx", docx(), "office"),  # converted, or refused without LibreOffice
    ]
