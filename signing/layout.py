"""Render a `MinutesDoc` as an official minutes PDF (A4) with two empty signature fields.

The page follows Decree 30/2020/NĐ-CP (state bodies) or Guidance 36-HD/VPTW (Party bodies):
margins top/bottom 20 mm, left 30 mm, right 15 mm; the two-column heading on page 1
(issuing body and number on the left; the national title and motto, or "ĐẢNG CỘNG SẢN VIỆT
NAM", and the place and date in italics on the right); the centred bold title "BIÊN BẢN";
body text 14 pt justified with a first-line indent; page numbers from page 2, centred in
the top margin. The body flows over as many pages as it needs (PyMuPDF `Story`); the
signature block ("THƯ KÝ" left, "CHỦ TỌA"/"CHỦ TRÌ" right) follows it, kept on one page,
with the two signature fields created by pyHanko (`signing.fields`), the chair's locking.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import pymupdf

from . import fonts
from .fields import CHAIR_FIELD, SECRETARY_FIELD, FieldPlacement, add_signature_fields
from .minutes import VN_TZ, LogDigest, MinutesDoc, Person, VoteRecord

MM = 72 / 25.4
PAGE = pymupdf.Rect(0, 0, 210 * MM, 297 * MM)
TOP, BOTTOM, LEFT, RIGHT = 20 * MM, 20 * MM, 30 * MM, 15 * MM
BODY = pymupdf.Rect(LEFT, TOP, PAGE.width - RIGHT, PAGE.height - BOTTOM)
BODY_SIZE = 14.0  # Crimson Text at 14 pt sets about as wide as Times New Roman at 13.5 pt
HEAD_SIZE = 13.0
TITLE_SIZE = 15.0
_PARAGRAPH_GAP = 6.0
FIELD_SIZE = (190.0, 66.0)  # width, height of each signature box (points)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _esc(text: str) -> str:
    return html.escape(nfc(text).strip(), quote=False)


# --------------------------------------------------------------------------- words


def vn_date(day: dt.date) -> str:
    """"ngày 05 tháng 02 năm 2026": day below 10 and months 1-2 take a leading zero."""
    d = f"{day.day:02d}" if day.day < 10 else str(day.day)
    m = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {d} tháng {m} năm {day.year}"


def vn_time(moment: dt.datetime) -> str:
    """"8 giờ 05 phút" in Vietnam time."""
    t = moment.astimezone(VN_TZ)
    return f"{t.hour} giờ {t.minute:02d} phút"


def hhmm(moment: dt.datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M")


def duration(seconds: int) -> str:
    """"5 phút 30 giây"."""
    minutes, secs = divmod(max(0, seconds), 60)
    if minutes and secs:
        return f"{minutes} phút {secs} giây"
    return f"{minutes} phút" if minutes else f"{secs} giây"


def percent(part: int, whole: int) -> str:
    """Exact integer percentage, two decimals, rounded half up, Vietnamese comma."""
    if whole <= 0:
        return "0,00%"
    hundredths = (part * 20000 + whole) // (2 * whole)
    return f"{hundredths // 100},{hundredths % 100:02d}%"


def number_line(doc: MinutesDoc) -> str:
    """"Số: 12/BB-UBND" (state) or "Số 12-BB/ĐU" (party); a blank number leaves room."""
    number = nfc(doc.number).strip() or " " * 6
    notation = nfc(doc.notation).strip()
    if doc.template == "party":
        return f"Số {number}-{notation}"
    return f"Số: {number}/{notation}"


def _person(p: Person, *, unit: bool = True) -> str:
    parts = [_esc(p.name)]
    details = [x for x in (p.position, p.unit if unit else "") if x.strip()]
    if details:
        parts.append(", ".join(_esc(x) for x in details))
    return " – ".join(parts)


# --------------------------------------------------------------------------- the body (HTML)

_CSS = """
@font-face {font-family: CT; src: url(CrimsonText-Regular.ttf);}
@font-face {font-family: CT; font-style: italic; src: url(CrimsonText-Italic.ttf);}
@font-face {font-family: CT; font-weight: bold; src: url(CrimsonText-Bold.ttf);}
@font-face {font-family: CT; font-weight: bold; font-style: italic;
            src: url(CrimsonText-BoldItalic.ttf);}
body {font-family: CT; font-size: %(size)spt; text-align: justify; margin: 0;}
p {margin: 0 0 6pt 0; text-indent: 1cm; line-height: 1.2;}
p.h {margin: 8pt 0 4pt 0; text-indent: 0; font-weight: bold;}
p.li {margin: 0 0 3pt 1cm; text-indent: 0;}
p.end {margin-top: 8pt;}
p.log {margin: 6pt 0 0 0; text-indent: 0; text-align: left; font-size: 11pt;}
span.hash {font-family: monospace; font-size: 9.5pt;}
"""


def _section(title: str) -> str:
    return f'<p class="h">{_esc(title)}</p>'


def _items(lines: Iterable[str]) -> str:
    return "".join(f'<p class="li">{i}. {line}</p>' for i, line in enumerate(lines, 1))


def _vote_line(v: VoteRecord) -> str:
    kind = "bỏ phiếu kín" if v.secret else "biểu quyết công khai"
    if v.options:
        shares = "; ".join(f"{_esc(label)} {n}/{v.cast} ({percent(n, v.cast)})"
                           for label, n in v.options)
        elected = ", ".join(_esc(name) for name in v.elected) or "không có"
        return (f"{_esc(v.subject)} ({kind}, {v.cast} phiếu): {shares}. Điều kiện trúng "
                f"cử: {_esc(v.rule)} (cơ sở {v.base}). Kết quả: <b>trúng cử: {elected}</b>.")
    counts = "; ".join(
        f"{label} {n}/{v.base} ({percent(n, v.base)})"
        for label, n in (("tán thành", v.votes_for), ("không tán thành", v.votes_against),
                         ("không biểu quyết", v.abstentions)))
    verdict = "THÔNG QUA" if v.passed else "KHÔNG THÔNG QUA"
    return (f"{_esc(v.subject)} ({kind}): {counts}. Điều kiện thông qua: {_esc(v.rule)}. "
            f"Kết quả: <b>{verdict}</b>.")


def body_html(doc: MinutesDoc) -> str:
    """The minutes' body as the HTML the Story lays out (every text escaped, NFC)."""
    chair_role = "Chủ trì" if doc.template == "party" else "Chủ trì (chủ tọa)"
    out = [
        f"<p><b>Thời gian bắt đầu:</b> {vn_time(doc.started_at)}, "
        f"{vn_date(doc.started_at.astimezone(VN_TZ).date())}.</p>",
        # An unknown place leaves a dotted line to fill in, as on a paper form.
        f"<p><b>Địa điểm:</b> {_esc(doc.location.strip()) or '……………………'}.</p>",
        f"<p><b>{chair_role}:</b> {_person(doc.chair)}.</p>",
        f"<p><b>Thư ký (người ghi biên bản):</b> {_person(doc.secretary)}.</p>",
    ]
    total = doc.members_total or len(doc.present) + len(doc.absent)
    summary = [f"có mặt {len(doc.present)}/{total} thành viên", f"vắng mặt {len(doc.absent)}"]
    if doc.substitutes:
        summary.append(f"{len(doc.substitutes)} người dự thay")
    if doc.online_sites:
        online = sum(s.attendees for s in doc.online_sites)
        summary.append(f"{len(doc.online_sites)} điểm cầu trực tuyến ({online} đại biểu)")
    out.append(f"<p><b>Thành phần tham dự:</b> {'; '.join(summary)}.</p>")
    if doc.present:
        out.append(_section("Có mặt:"))
        out.append(_items(_person(p) for p in doc.present))
    if doc.absent:
        out.append(_section("Vắng mặt:"))
        out.append(_items(
            f"{_person(a.person)} "
            + (f"(lý do: {_esc(a.reason)})" if a.reason.strip() else "(không có lý do)")
            for a in doc.absent))
    if doc.substitutes:
        out.append(_section("Người dự thay:"))
        out.append(_items(f"{_person(s.person)}, dự thay {_person(s.replaces, unit=False)}"
                          for s in doc.substitutes))
    if doc.invitees:
        out.append(_section("Khách mời:"))
        out.append(_items(_person(p) for p in doc.invitees))
    if doc.online_sites:
        out.append(_section("Các điểm cầu trực tuyến:"))
        out.append(_items(
            f"{_esc(s.name)}: {s.attendees} đại biểu"
            + (f" (chủ trì điểm cầu: {_esc(s.host)})" if s.host.strip() else "")
            for s in doc.online_sites))

    out.append(_section("Nội dung:"))
    n = 0
    if doc.agenda:
        n += 1
        out.append(_section(f"{n}. Chương trình cuộc họp"))
        lines = []
        for item in doc.agenda:
            line = _esc(item.title)
            if item.presenter.strip():
                line += f". Trình bày: {_esc(item.presenter)}"
            if item.started_at and item.ended_at:
                line += f" ({hhmm(item.started_at)} – {hhmm(item.ended_at)})"
            lines.append(line + ".")
        out.append(_items(lines))
    paragraphs = [p.strip() for p in nfc(doc.proceedings).split("\n\n") if p.strip()]
    if paragraphs:
        n += 1
        out.append(_section(f"{n}. Diễn biến cuộc họp"))
        out.extend(f"<p>{_esc(p).replace(chr(10), '<br/>')}</p>" for p in paragraphs)
    if doc.speeches:
        n += 1
        out.append(_section(f"{n}. Ý kiến phát biểu"))
        lines = []
        for s in doc.speeches:
            line = f"{_person(s.speaker, unit=False)} ({duration(s.seconds)})"
            if s.item.strip():
                line += f", về {_esc(s.item)}"
            line += f": {_esc(s.summary)}" if s.summary.strip() else "."
            lines.append(line)
        out.append(_items(lines))
    if doc.votes:
        n += 1
        out.append(_section(f"{n}. Kết quả biểu quyết"))
        out.append(_items(_vote_line(v) for v in doc.votes))
    if doc.conclusions:
        n += 1
        who = "chủ trì" if doc.template == "party" else "chủ trì (chủ tọa)"
        out.append(_section(f"{n}. Kết luận của {who}"))
        lines = []
        for c in doc.conclusions:
            line = _esc(c.text).rstrip(".") + "."
            if c.owner.strip():
                line += f" Thực hiện: {_esc(c.owner)}."
            if c.deadline:
                line += f" Thời hạn: {c.deadline.strftime('%d/%m/%Y')}."
            lines.append(line)
        out.append(_items(lines))
    end = doc.ended_at.astimezone(VN_TZ)
    same_day = end.date() == doc.started_at.astimezone(VN_TZ).date()
    out.append(f'<p class="end">Cuộc họp kết thúc vào {vn_time(end)}, '
               f"{'cùng ngày' if same_day else vn_date(end.date())}./.</p>")
    if doc.closing_note.strip():
        out.append(f"<p>{_esc(doc.closing_note)}</p>")
    if doc.log is not None:
        out.append(_log_lines(doc.log))
    return "".join(out)


def _log_lines(log: LogDigest) -> str:
    """The meeting log's hash (and its time-stamp): signing the minutes signs them too."""
    if len(log.sha256) != 64 or any(c not in "0123456789abcdef" for c in log.sha256):
        raise ValueError("LogDigest.sha256: 64 lowercase hex digits")
    # In a monospaced font: every digit as wide as the next, and no ligature ("ff") whose
    # extracted text would not read back as the two letters.
    lines = [f'<p class="log">Mã băm nhật ký cuộc họp (SHA-256): <span class="hash">'
             f"{log.sha256}</span> (các sự kiện số 1 đến số {log.seq} của nhật ký).</p>"]
    if log.stamped_at is not None:
        t = log.stamped_at.astimezone(VN_TZ)
        lines.append(f'<p class="log">Dấu thời gian (RFC 3161) của mã băm: {t.hour} giờ '
                     f"{t.minute:02d} phút {t.second:02d} giây, {vn_date(t.date())}"
                     + (f", do {_esc(log.tsa)} cấp" if log.tsa.strip() else "") + ".</p>")
    return "".join(lines)


# --------------------------------------------------------------------------- drawing


@dataclass
class _Line:
    text: str
    style: fonts.Style
    size: float


def _wrap(text: str, style: fonts.Style, size: float, width: float) -> list[str]:
    """Greedy word wrap of one line of `text` to `width` points."""
    lines: list[str] = []
    current = ""
    for word in nfc(text).split():
        candidate = f"{current} {word}" if current else word
        if current and fonts.text_width(candidate, style, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _fit(text: str, style: fonts.Style, size: float, width: float) -> float:
    """The largest size up to `size` at which `text` fits on one line of `width`."""
    length = fonts.text_width(text, style, size)
    return size if length <= width else size * width / length


def _column(text: str, style: fonts.Style, width: float, size: float = HEAD_SIZE,
            smallest: float = 11.5) -> list[_Line]:
    """A heading line for a column: one line, shrunk down to `smallest` if needed, else
    two balanced lines (the way official headings are broken), else as many as it takes."""
    text = " ".join(nfc(text).split())
    fitted = _fit(text, style, size, width)
    if fitted >= smallest:
        return [_Line(text, style, fitted)]
    words = text.split()
    best = min(range(1, len(words)), key=lambda i: max(
        fonts.text_width(" ".join(words[:i]), style, size),
        fonts.text_width(" ".join(words[i:]), style, size)), default=0)
    halves = [" ".join(words[:best]), " ".join(words[best:])] if best else [text]
    if all(_fit(h, style, size, width) >= smallest for h in halves):
        return [_Line(h, style, _fit(h, style, size, width)) for h in halves]
    return [_Line(line, style, size) for line in _wrap(text, style, size, width)]


class _Pen:
    """Draws centred lines and rules on one page (or only measures, with no page).

    Text goes through one `TextWriter` per pen (fonts measured and embedded by MuPDF:
    much faster than `insert_text`); call `flush` to write it onto the page."""

    def __init__(self, page: pymupdf.Page | None) -> None:
        self.page = page
        self.writer = pymupdf.TextWriter(PAGE) if page is not None else None
        if page is not None and not page.is_wrapped:
            page.wrap_contents()  # Story pages leave their coordinate flip unbalanced

    def centred(self, text: str, style: fonts.Style, size: float, cx: float,
                baseline: float) -> float:
        """Draw `text` centred on `cx`; return its width."""
        font = fonts.font(style)
        width = fonts.text_width(text, style, size)
        if self.writer is not None:
            self.writer.append((cx - width / 2, baseline), text, font=font, fontsize=size)
        return width

    def rule(self, cx: float, y: float, width: float) -> None:
        if self.page is not None:
            self.page.draw_line((cx - width / 2, y), (cx + width / 2, y), width=0.6)

    def flush(self) -> None:
        if self.page is not None and self.writer is not None:
            self.writer.write_text(self.page)


def _heading_columns(doc: MinutesDoc) -> tuple[list[_Line], list[_Line], str, str]:
    """Left column lines, right column lines, the number line and the place-date line."""
    width = BODY.width
    left_w, right_w = width * 0.42, width * 0.58
    left: list[_Line] = []
    if doc.parent_body.strip():
        left.extend(_column(nfc(doc.parent_body).upper(), "regular", left_w))
    left.extend(_column(nfc(doc.issuing_body).upper(), "bold", left_w))
    right: list[_Line] = []
    if doc.template == "party":
        title = "ĐẢNG CỘNG SẢN VIỆT NAM"
        right.append(_Line(title, "bold", _fit(title, "bold", 15.0, right_w)))
    else:
        title = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        right.append(_Line(title, "bold", _fit(title, "bold", HEAD_SIZE, right_w)))
        right.append(_Line("Độc lập - Tự do - Hạnh phúc", "bold", BODY_SIZE))
    place_date = f"{nfc(doc.place_name).strip()}, {vn_date(doc.date)}"
    return left, right, number_line(doc), place_date


def draw_heading(page: pymupdf.Page | None, doc: MinutesDoc) -> float:
    """Draw page 1's heading and title (only measure without a page); return the y where
    the body starts."""
    pen = _Pen(page)
    width = BODY.width
    left_cx = BODY.x0 + width * 0.21
    right_cx = BODY.x0 + width * 0.42 + width * 0.29
    left, right, number, place_date = _heading_columns(doc)

    y = BODY.y0
    for line in left:
        y += line.size * 1.2
        pen.centred(line.text, line.style, line.size, left_cx, y)
    if doc.template == "party":
        y += HEAD_SIZE * 1.2
        pen.centred("*", "regular", HEAD_SIZE, left_cx, y)
    else:
        # a short rule under the issuing body: a third of its longest line
        longest = max(fonts.text_width(ln.text, ln.style, ln.size) for ln in left)
        pen.rule(left_cx, y + 4, max(40.0, longest / 3))
    left_end = y + 4

    y = BODY.y0
    last_width = 0.0
    for line in right:
        y += line.size * 1.2
        last_width = pen.centred(line.text, line.style, line.size, right_cx, y)
    pen.rule(right_cx, y + 4, last_width)  # the motto (or the Party's name) is underlined
    right_end = y + 4

    y = max(left_end, right_end) + HEAD_SIZE * 1.6
    pen.centred(number, "regular", HEAD_SIZE, left_cx, y)
    pen.centred(place_date, "italic", BODY_SIZE, right_cx, y)

    y += TITLE_SIZE * 2.2
    pen.centred("BIÊN BẢN", "bold", TITLE_SIZE, BODY.x0 + width / 2, y)
    for t in _wrap(nfc(doc.subject), "bold", BODY_SIZE, width * 0.85):
        y += BODY_SIZE * 1.25
        pen.centred(t, "bold", BODY_SIZE, BODY.x0 + width / 2, y)
    pen.flush()
    return y + BODY_SIZE * 1.4


def _page_number(page: pymupdf.Page, number: int) -> None:
    """The page number, centred over the text in the top margin."""
    pen = _Pen(page)
    pen.centred(str(number), "regular", HEAD_SIZE, BODY.x0 + BODY.width / 2, TOP - 6 * MM)
    pen.flush()


SIGNATURE_BLOCK_HEIGHT = 24 + FIELD_SIZE[1] + 44


def draw_signature_block(page: pymupdf.Page, doc: MinutesDoc, top: float) -> list[FieldPlacement]:
    """Labels and names of the two signers below `top`; returns the two field boxes."""
    pen = _Pen(page)
    half = BODY.width / 2
    chair_label = nfc(doc.chair_label).strip() or ("CHỦ TRÌ" if doc.template == "party"
                                                      else "CHỦ TỌA")
    secretary_label = nfc(doc.secretary_label).strip() or "THƯ KÝ"
    placements = []
    for i, (label, person, name, title, lock) in enumerate((
        (secretary_label, doc.secretary, SECRETARY_FIELD, "Thư ký", False),
        (chair_label, doc.chair, CHAIR_FIELD, "Chủ tọa", True),
    )):
        cx = BODY.x0 + half * i + half / 2
        y = top + HEAD_SIZE * 1.2
        pen.centred(nfc(label).upper(), "bold", HEAD_SIZE, cx, y)
        box_top = y + 8
        w, h = FIELD_SIZE
        placements.append(FieldPlacement(name=name, page=page.number or 0,
                                         box=(cx - w / 2, box_top, cx + w / 2, box_top + h),
                                         label=title, lock=lock))
        y = box_top + h + BODY_SIZE * 1.3
        pen.centred(nfc(person.name), "bold", BODY_SIZE, cx, y)
        if person.position.strip():
            size = _fit(nfc(person.position), "italic", 12.0, half - 10)
            pen.centred(nfc(person.position), "italic", size, cx, y + 15)
    pen.flush()
    return placements


def _chunks(html_text: str, size: int = 6000) -> list[str]:
    """The body cut into runs of paragraphs of about `size` characters, never after a
    heading. MuPDF lays a justified story out again from the start at every page, so the
    body is placed as many short stories rather than one long one (linear, not quadratic)."""
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for block in (b + "</p>" for b in html_text.split("</p>") if b.strip()):
        current.append(block)
        length += len(block)
        if length >= size and not block.startswith('<p class="h"'):
            chunks.append("".join(current))
            current, length = [], 0
    if current:
        chunks.append("".join(current))
    return chunks


def _flow_body(doc: MinutesDoc, body_top: float) -> tuple[bytes, float]:
    """Lay the body out from `body_top` on page 1 over as many pages as it needs; return
    the PDF and the y where the body ends on the last page."""
    css = _CSS % {"size": BODY_SIZE}
    archive = pymupdf.Archive(str(fonts.directory()))
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    device = writer.begin_page(PAGE)
    y = body_top
    for chunk in _chunks(body_html(doc)):
        story = pymupdf.Story(html=chunk, user_css=css, archive=archive)
        more = 1
        while more:
            if y > BODY.y1 - 2 * BODY_SIZE:  # no room for a line: MuPDF must never be
                writer.end_page()  # given an empty (or inverted) rectangle, it loses text
                device = writer.begin_page(PAGE)
                y = BODY.y0
            more, filled = story.place(pymupdf.Rect(BODY.x0, y, BODY.x1, BODY.y1))
            story.draw(device)
            if more:
                writer.end_page()
                device = writer.begin_page(PAGE)
                y = BODY.y0
            else:
                y = pymupdf.Rect(filled).y1 + _PARAGRAPH_GAP
    writer.end_page()
    writer.close()
    return buffer.getvalue(), y


def render_minutes(doc: MinutesDoc) -> bytes:
    """The minutes as a PDF, with the secretary's and the chair's empty signature fields."""
    body_top = draw_heading(None, doc)
    data, end_y = _flow_body(doc, body_top)
    pdf = pymupdf.open("pdf", data)
    draw_heading(pdf[0], doc)
    top = end_y + 10
    if top + SIGNATURE_BLOCK_HEIGHT > BODY.y1:
        pdf.new_page(width=PAGE.width, height=PAGE.height)
        top = BODY.y0
    placements = draw_signature_block(pdf[-1], doc, top)
    for index in range(1, pdf.page_count):
        _page_number(pdf[index], index + 1)
    pdf.set_metadata({
        "title": nfc(f"Biên bản {doc.subject}"),
        "author": nfc(doc.secretary.name),
        "subject": nfc(doc.issuing_body),
        "creator": "phonghop",
        "producer": "phonghop (PyMuPDF, pyHanko)",
    })
    pdf.subset_fonts()
    data = pdf.tobytes(garbage=3, deflate=True)
    pdf.close()
    return add_signature_fields(data, placements)
