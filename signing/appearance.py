"""What a signature looks like in its field: signer, position and time, Vietnamese first.

    Ký số bởi / Signed by: Nguyễn Thị Thư Ký
    Chánh Văn phòng HĐND - UBND phường
    Thời gian / Time: 20/11/2026 11:20:05 (GMT+7)

Drawn by pyHanko in the field's box (scaled down to fit), in Crimson Text so every
diacritic shows; the time is Vietnam time.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

from . import fonts
from .minutes import VN_TZ

STAMP_TEXT = ("Ký số bởi / Signed by: %(signer)s\n%(position)s\n"
              "Thời gian / Time: %(time)s")


def stamp_style() -> TextStampStyle:
    """The pyHanko style of every phonghop signature: a thin frame, text, no logo."""
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(font=fonts.stamp_font_factory(), font_size=10,
                                    leading=13),
        border_width=1,
        background=None,
    )


def format_time(moment: dt.datetime) -> str:
    """"20/11/2026 11:20:05 (GMT+7)"."""
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S") + " (GMT+7)"


def text_params(signer: str, position: str, moment: dt.datetime) -> dict[str, str]:
    """The values the stamp text is filled with (NFC)."""
    return {
        "signer": unicodedata.normalize("NFC", signer).strip(),
        "position": unicodedata.normalize("NFC", position).strip(),
        "time": format_time(moment),
    }
