"""The per-viewer watermark on confidential pages: the viewer's name, unit and the time.

Drawn into the page itself (not over the image), so the page image and a downloaded copy
carry the same mark, in a font with every Vietnamese diacritic.
"""

from __future__ import annotations

import pymupdf

FONT_NAME = "phwm"
_font: pymupdf.Font | None = None


def font() -> pymupdf.Font:
    """Noto Sans (from pymupdf-fonts): covers Vietnamese in full."""
    global _font
    if _font is None:
        _font = pymupdf.Font("notos")
    return _font


def stamp(page: pymupdf.Page, label: str) -> None:
    """Draw `label` diagonally across `page`, three times, light grey and translucent."""
    page.insert_font(fontname=FONT_NAME, fontbuffer=font().buffer)
    rect = page.rect  # as displayed (rotation applied)
    size = max(10.0, min(rect.width, rect.height) / 28)
    length = font().text_length(label, fontsize=size)
    for frac in (0.25, 0.5, 0.75):
        centre = pymupdf.Point(rect.x0 + rect.width / 2, rect.y0 + rect.height * frac)
        # Lay the text out centred on `centre`, then turn it 30 degrees about that point;
        # coordinates are the displayed page's, turned back to the unrotated page's.
        start = pymupdf.Point(centre.x - length / 2, centre.y + size / 3)
        pivot = centre * page.derotation_matrix
        page.insert_text(
            start * page.derotation_matrix, label, fontname=FONT_NAME, fontsize=size,
            color=(0.45, 0.45, 0.45), fill_opacity=0.35, stroke_opacity=0.35,
            rotate=page.rotation, morph=(pivot, pymupdf.Matrix(-30)),
        )
