"""Sample meeting documents for the demo organisation: real PDFs with Vietnamese text."""

from __future__ import annotations

import pymupdf

_PARAGRAPHS = (
    "Thực hiện Nghị quyết của Hội đồng nhân dân phường, Ủy ban nhân dân phường đã tập trung "
    "chỉ đạo các nhiệm vụ trọng tâm: thu ngân sách, chỉnh trang đô thị, chuyển đổi số và "
    "cải cách hành chính.",
    "Tổng thu ngân sách trên địa bàn ước đạt 112% dự toán; tỷ lệ hồ sơ thủ tục hành chính "
    "giải quyết trực tuyến đạt 96%; 100% cuộc họp của Ủy ban được tổ chức không giấy tờ.",
    "Đề nghị các đại biểu nghiên cứu, cho ý kiến về các chỉ tiêu và giải pháp trọng tâm "
    "của năm tới, đặc biệt là nhiệm vụ giải phóng mặt bằng và trật tự đô thị.",
)


def sample_report(title: str, pages: int = 4) -> bytes:
    """An A4 report of `pages` pages: a heading, paragraphs and a table-like drawing."""
    font = pymupdf.Font("notos")
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_font(fontname="notos", fontbuffer=font.buffer)
        page.insert_textbox(pymupdf.Rect(60, 60, 535, 110), title.upper(), fontname="notos",
                            fontsize=13, align=pymupdf.TEXT_ALIGN_CENTER)
        body = "\n\n".join(_PARAGRAPHS)
        page.insert_textbox(pymupdf.Rect(70, 130, 525, 520), body, fontname="notos",
                            fontsize=12, align=pymupdf.TEXT_ALIGN_JUSTIFY)
        for row in range(5):
            y = 560 + row * 36
            page.draw_rect(pymupdf.Rect(70, y, 525, y + 36), color=(0.2, 0.3, 0.5),
                           fill=(0.93, 0.95, 1.0) if row == 0 else None, width=0.8)
            page.insert_text((80, y + 23), f"Chỉ tiêu {row}" if row else "Nội dung",
                             fontname="notos", fontsize=11)
        page.insert_text((285, 810), f"Trang {n}/{pages}", fontname="notos", fontsize=10)
    doc.set_metadata({"title": title})
    return doc.tobytes(garbage=3, deflate=True)
