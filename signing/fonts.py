"""The fonts of the minutes and of the signature stamps.

Crimson Text (package `fontpkg-crimson-text`, SIL OFL 1.1): a classic book serif close to
Times New Roman in set width, in static Regular, Italic, Bold and Bold Italic with every
Vietnamese letter, installed by pip with phonghop (Decree 30 asks for Times New Roman,
which no package may ship). The same Regular draws the signature stamps through pyHanko.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Literal

import fontpkg_crimson_text
import pymupdf
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

Style = Literal["regular", "italic", "bold", "bolditalic"]
FAMILY = "Crimson Text"
_FILES: dict[Style, str] = {
    "regular": "CrimsonText-Regular.ttf",
    "italic": "CrimsonText-Italic.ttf",
    "bold": "CrimsonText-Bold.ttf",
    "bolditalic": "CrimsonText-BoldItalic.ttf",
}


def directory() -> Path:
    """Where the font files are installed."""
    return Path(fontpkg_crimson_text.ROOT) / "files"


def path(style: Style = "regular") -> Path:
    return directory() / _FILES[style]


@functools.cache
def data(style: Style = "regular") -> bytes:
    """The font file's bytes (read once per process)."""
    return path(style).read_bytes()


@functools.cache
def font(style: Style = "regular") -> pymupdf.Font:
    """A PyMuPDF font object, for measuring text."""
    return pymupdf.Font(fontbuffer=data(style))


_advances: dict[Style, dict[str, float]] = {}


def text_width(text: str, style: Style, size: float) -> float:
    """The width of `text` in points, as `font(style).text_length` measures it (the sum of
    the glyph advances) but from a per-character cache: PyMuPDF 2 takes about 50 µs per
    character, and a page of minutes measures thousands."""
    advances = _advances.setdefault(style, {})
    total = 0.0
    for ch in text:
        advance = advances.get(ch)
        if advance is None:
            advance = advances[ch] = font(style).text_length(ch, 1.0)
        total += advance
    return total * size


class StampFontFactory(FontEngineFactory):
    """pyHanko font engine over an in-memory TrueType font; the stamp embeds a subset."""

    def __init__(self, font_bytes: bytes, font_size: int = 10) -> None:
        self.font_bytes = font_bytes
        self.font_size = font_size

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:  # type: ignore[no-untyped-def]
        return GlyphAccumulator(writer=writer, font_handle=io.BytesIO(self.font_bytes),
                                font_size=self.font_size, obj_stream=obj_stream)


# What a stamp writes: names, positions and dates in Vietnamese (NFC: every letter is one
# precomposed character), digits and punctuation.
_STAMP_REPERTOIRE = [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370),
                     *range(0x1E00, 0x1F00), *range(0x2000, 0x2070), 0x20AB, 0x2116]


@functools.cache
def stamp_data() -> bytes:
    """The stamps' font: the Regular cut to `_STAMP_REPERTOIRE`, without its layout tables
    (GSUB, GPOS, GDEF). pyHanko subsets the font again for every stamp with fontTools, and
    reading those tables was most of that work (about 50-100 ms a signature here)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF"]
    options.name_IDs = ["*"]  # keep the licence and the names
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_STAMP_REPERTOIRE)
    font_file = TTFont(io.BytesIO(data("regular")))
    subsetter.subset(font_file)
    out = io.BytesIO()
    font_file.save(out)
    return out.getvalue()


def stamp_font_factory() -> StampFontFactory:
    return StampFontFactory(stamp_data())
