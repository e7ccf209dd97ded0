"""Annotated copies: marks become real PDF annotations, where they were drawn."""

from __future__ import annotations

import pymupdf

from phonghop.documents.export import export_pdf
from tests.documents.corpus import rotated


def red_box(page: pymupdf.Page) -> tuple[float, float, float, float]:
    """The bounding box of strongly red pixels on the rendered page, page-relative."""
    pix = page.get_pixmap(alpha=False)
    xs, ys = [], []
    for y in range(0, pix.height, 2):
        for x in range(0, pix.width, 2):
            r, g, b = pix.pixel(x, y)
            if r > 200 and g < 90 and b < 90:
                xs.append(x)
                ys.append(y)
    assert xs, "the stroke is drawn"
    return (min(xs) / pix.width, min(ys) / pix.height, max(xs) / pix.width,
            max(ys) / pix.height)


def test_strokes_land_where_they_were_drawn_even_on_rotated_pages(tmp_path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(rotated())
    stroke = {"id": 1, "page": 0, "kind": "ink", "points": [0.1, 0.1, 0.3, 0.2],
              "color": "#ff0000", "width": 0.01, "owner": 7}
    marks = [{**stroke, "id": n, "page": n} for n in (1, 2, 3)]
    with pymupdf.open(stream=export_pdf(str(path), marks, {7: "Nguyễn Văn An"})) as doc:
        for page in doc:
            x0, y0, x1, y1 = red_box(page)
            assert abs(x0 - 0.1) < 0.03 and abs(y0 - 0.1) < 0.03, (page.number, x0, y0)
            assert abs(x1 - 0.3) < 0.03 and abs(y1 - 0.2) < 0.03, (page.number, x1, y1)
            (annot,) = list(page.annots())
            assert annot.type[1] == "Ink" and annot.info["title"] == "Nguyễn Văn An"


def test_highlights_and_notes_are_pdf_annotations(tmp_path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(rotated())
    marks = [
        {"id": 1, "page": 1, "kind": "highlight", "points": [0.1, 0.5, 0.8, 0.5],
         "color": "#ffeb3b", "width": 0.02, "owner": 7},
        {"id": 2, "page": 1, "kind": "note", "points": [0.5, 0.5], "color": "#1e88e5",
         "width": 0.003, "text": "Đề nghị làm rõ số liệu quý III", "owner": 7},
    ]
    with pymupdf.open(stream=export_pdf(str(path), marks, {7: "An"})) as doc:
        annots = {a.type[1]: a for a in doc[0].annots()}
        assert set(annots) == {"Ink", "Text"}
        assert annots["Ink"].opacity < 1
        assert annots["Text"].info["content"] == "Đề nghị làm rõ số liệu quý III"
        assert not list(doc[1].annots())
