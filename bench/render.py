"""Page rendering benchmark: how fast does phonghop turn a PDF into page images, and serve them?

On a generated 100-page A4 document (Vietnamese text in Noto Sans, tables, bar charts with
a line series, a photo on every fifth page), in one run:

1. Throughput at tablet width (1280 px): phonghop's worker pool (`WorkerPool(cpu_count)`,
   every page through the `render` job, i.e. rasterised and WebP-encoded as served) against
   `pdftoppm -png -scale-to-x 1280 -scale-to-y -1` (one process, as commonly used), the
   same as 2 processes over the two halves of the page range, and, for context, one
   `pdftoppm` writing raw PPM (rasterising only, no image encoding). No server runs then.
2. Time to the first page image after upload: `phonghop demo` (embedded SQLite) on a free
   port; the secretary uploads the file (`POST /api/meetings/{id}/files`), attaches it
   (`POST /api/meetings/{id}/documents`) and GETs page 1 at tablet size; the clock runs
   from the start of the upload to the last byte of the image. Each repeat uploads a fresh
   file (another title, so another SHA-256) after the server has gone quiet again (its
   background pre-rendering of the previous file finished).
3. Cached pages under load: 200 clients (one keep-alive connection each, a small asyncio
   HTTP/1.1 client in a separate process) GET random tablet pages of the rendered document
   in a closed loop (each sends its next request as soon as the last answer is in), then
   paced (each client at --paced-rate requests a second, latency from the scheduled send
   time). The same loads run against a baseline: a minimal uvicorn + Starlette app (same
   uvicorn settings) answering the same path with the same bytes from memory.

The shared box is noisy: before each measurement the script waits (at most --calm-timeout)
for other processes to calm down, and reports the CPU they used meanwhile ("others").

The last line on stdout is one JSON object (described in docs/PERFORMANCE.md, "Documents"):

    {"pages", "pdf_bytes", "workers",
     "pool_pages_per_s", "pdftoppm_pages_per_s", "pdftoppm2_pages_per_s" (medians over
     rounds), "ratio" (pool / pdftoppm), "ratio2" (pool / 2 pdftoppm),
     "pdftoppm_ppm_pages_per_s", "pool_runs", "pages_per_cpu_s" ({pool, pdftoppm,
     pdftoppm2, ppm}: pages per CPU second of this run), "cpu_ratio",
     "webp_kib_per_page", "png_kib_per_page", "mupdf_raster_ms_per_page",
     "webp_encode_ms_per_page", "throughput_others_cpu_pct_max",
     "first_page_ms_median", "first_page_ms_max", "first_page_ms", "first_upload_ms_median",
     "first_attach_ms_median", "first_get_ms_median", "first_others_cpu_pct_max",
     "cached_clients", "cached_p50_ms", "cached_p99_ms", "cached_rps" (closed loop),
     "baseline_p50_ms", "baseline_p99_ms", "baseline_rps", "rps_ratio",
     "paced_rate_per_client", "paced_p50_ms", "paced_p99_ms", "paced_rps",
     "baseline_paced_p50_ms", "baseline_paced_p99_ms", "cached_server_cpu_us_per_req",
     "baseline_server_cpu_us_per_req", "cached_cpu_pct", "baseline_cpu_pct" (% of one core:
     server, load generator, others; box: % of all cores), "cached_mb_per_s",
     "failed_requests", "server_errors", "targets_met"}

Usage: python bench/render.py [--quick] [--rounds 3] [--repeats 5] [--clients 200]
                              [--duration 10] [--paced-rate 2]
                              [--only throughput first cached]
Everything but the result line goes to stderr. Exit status: 0 ok; 1 failure; 3 some
requests failed or the server logged errors (the result line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c
from _common import REPO_ROOT, BenchError, Children, fmt, log, percentile, rounded

c.set_name("render")

PDFTOPPM = "/usr/bin/pdftoppm"
TABLET = 1280
DEMO_PASSWORD = "demo1234"
UPLOADER = "thuky"  # the secretary: an organiser, as who uploads documents in practice
READERS = [f"daibieu{i:02d}" for i in range(1, 21)]  # the demo meeting's delegates

# --------------------------------------------------------------------------- the document

SENTENCES = [
    "Ủy ban nhân dân phường báo cáo kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội "
    "trong tháng và phương hướng nhiệm vụ tháng tới.",
    "Tổng thu ngân sách nhà nước trên địa bàn ước đạt 87,4% dự toán năm, tăng 12,6% so với "
    "cùng kỳ năm trước.",
    "Công tác cải cách hành chính tiếp tục được đẩy mạnh; tỷ lệ hồ sơ giải quyết đúng hạn "
    "đạt 99,2%.",
    "Đề nghị các đồng chí đại biểu nghiên cứu tài liệu và cho ý kiến đối với dự thảo nghị "
    "quyết trước ngày họp.",
    "Việc chỉnh trang đô thị, giữ gìn trật tự vỉa hè và lòng đường được các tổ dân phố "
    "hưởng ứng tích cực.",
    "Trung tâm y tế phối hợp với trạm y tế phường tổ chức tiêm chủng mở rộng cho trẻ em "
    "dưới năm tuổi.",
    "Hội đồng thi đua khen thưởng đề xuất biểu dương các tập thể, cá nhân có thành tích "
    "xuất sắc trong phong trào thi đua.",
    "Công an phường duy trì nghiêm chế độ trực, tuần tra kiểm soát; tình hình an ninh "
    "chính trị ổn định.",
    "Phòng Tài chính - Kế hoạch hướng dẫn các đơn vị lập dự toán ngân sách năm 2027 theo "
    "đúng quy định của Luật Ngân sách nhà nước.",
    "Các tổ dân phố đã tổ chức hội nghị lấy ý kiến nhân dân về quy hoạch chi tiết khu vực "
    "hồ Hoàn Kiếm và phụ cận.",
    "Kiến nghị của cử tri về thoát nước, chiếu sáng công cộng và cây xanh đã được chuyển "
    "đến các cơ quan chức năng xem xét, giải quyết.",
    "Ban Chỉ đạo chuyển đổi số phường triển khai ứng dụng phòng họp không giấy tờ, tiết "
    "kiệm chi phí in ấn tài liệu.",
]
HEADINGS = [
    "I. ĐÁNH GIÁ TÌNH HÌNH THỰC HIỆN NHIỆM VỤ",
    "II. NHỮNG TỒN TẠI, HẠN CHẾ",
    "III. PHƯƠNG HƯỚNG, NHIỆM VỤ TRỌNG TÂM",
    "IV. KIẾN NGHỊ, ĐỀ XUẤT",
    "PHỤ LỤC: SỐ LIỆU THỐNG KÊ",
]
INDICATORS = [
    "Thu ngân sách",
    "Hồ sơ đúng hạn",
    "Tiêm chủng",
    "Hộ nghèo giảm",
    "Cây xanh trồng mới",
    "Vỉa hè chỉnh trang",
]
UNITS = ["tỷ đồng", "%", "hộ", "cây", "m²"]
TITLE = "Báo cáo tình hình kinh tế - xã hội tháng 11/2026"


def _photo(rng: random.Random, w: int = 900, h: int = 600) -> bytes:
    """A photo-like JPEG: a gradient, soft discs and sensor noise."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):
        draw.line([(0, y), (w, y)], fill=(90 + y * 100 // h, 140 + y * 60 // h, 200 - y * 80 // h))
    for _ in range(60):
        x, y, r = rng.randrange(w), rng.randrange(h), rng.randrange(10, 90)
        fill = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    img = img.filter(ImageFilter.GaussianBlur(3))
    img = Image.blend(img, Image.effect_noise((w, h), 30).convert("RGB"), 0.15)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def make_pdf(pages: int, title: str = TITLE, seed: int = 1) -> bytes:
    """A realistic A4 report of `pages` pages; every text box is checked to fit."""
    import pymupdf

    rng = random.Random(seed)
    regular, bold = pymupdf.Font("notos"), pymupdf.Font("notosbo")
    photos = [_photo(rng) for _ in range(4)]
    width, height = pymupdf.paper_size("a4")
    margin = 56
    doc = pymupdf.open()

    def text(page: Any, rect: Any, body: str, size: float, **kw: Any) -> float:
        left = page.insert_textbox(
            rect, body, fontname=kw.pop("font", "notos"), fontsize=size, **kw
        )
        if left < 0:
            raise BenchError(f"generator: text does not fit on page {page.number + 1}")
        return float(left)

    def paragraph(page: Any, y: float, sentences: int) -> float:
        body = " ".join(rng.choice(SENTENCES) for _ in range(sentences))
        rect = pymupdf.Rect(margin, y, width - margin, y + 10.5 * 1.45 * (len(body) // 95 + 2))
        return rect.y1 - text(page, rect, body, 10.5, align=pymupdf.TEXT_ALIGN_JUSTIFY) + 8

    for n in range(1, pages + 1):
        page = doc.new_page(width=width, height=height)
        page.insert_font(fontname="notos", fontbuffer=regular.buffer)
        page.insert_font(fontname="notosbo", fontbuffer=bold.buffer)
        grey = (0.4, 0.4, 0.4)
        text(
            page,
            pymupdf.Rect(margin, 30, width - margin, 46),
            f"UBND PHƯỜNG HOÀN KIẾM — {title}",
            8,
            color=grey,
        )
        page.draw_line((margin, 48), (width - margin, 48), color=(0.6, 0.6, 0.6), width=0.5)
        y = 64.0
        if n % 7 == 1:
            text(
                page,
                pymupdf.Rect(margin, y, width - margin, y + 22),
                rng.choice(HEADINGS),
                13,
                font="notosbo",
                align=pymupdf.TEXT_ALIGN_CENTER,
            )
            y += 30
        kind = n % 5
        for _ in range(4 if kind in (0, 1) else 2):
            y = paragraph(page, y, rng.randint(4, 7))
        if kind == 2:  # a table: ruled cells, a shaded header row
            cols = [margin, margin + 30, margin + 250, margin + 340, width - margin]
            rows, rh = 9, 20
            page.draw_rect(
                pymupdf.Rect(margin, y, width - margin, y + rh), color=None, fill=(0.85, 0.9, 0.97)
            )
            for i in range(rows + 1):
                page.draw_line(
                    (margin, y + i * rh),
                    (width - margin, y + i * rh),
                    color=(0.3, 0.3, 0.3),
                    width=0.6,
                )
            for x in cols:
                page.draw_line((x, y), (x, y + rows * rh), color=(0.3, 0.3, 0.3), width=0.6)
            for i in range(rows):
                cells = (
                    ["TT", "Chỉ tiêu", "Đơn vị", "Kết quả / Kế hoạch"]
                    if i == 0
                    else [
                        str(i),
                        rng.choice(INDICATORS),
                        rng.choice(UNITS),
                        f"{rng.uniform(10, 999):,.1f} / {rng.uniform(10, 999):,.1f}",
                    ]
                )
                for j, cell in enumerate(cells):
                    rect = pymupdf.Rect(
                        cols[j] + 3, y + i * rh + 4, cols[j + 1] - 3, y + (i + 1) * rh
                    )
                    text(page, rect, cell, 9, font="notosbo" if i == 0 else "notos")
            y += rows * rh + 14
        elif kind == 3:  # a bar chart with a line series
            chart, base = 180, y + 180
            page.draw_line((margin + 20, y), (margin + 20, base), width=0.8)
            page.draw_line((margin + 20, base), (width - margin, base), width=0.8)
            for k in range(12):
                x0 = margin + 30 + k * 38
                top = base - rng.uniform(0.2, 1.0) * (chart - 10)
                page.draw_rect(
                    pymupdf.Rect(x0, top, x0 + 26, base),
                    color=(0.1, 0.3, 0.6),
                    fill=(0.3 + 0.05 * k, 0.5, 0.8),
                    width=0.4,
                )
                text(
                    page,
                    pymupdf.Rect(x0 - 4, base + 2, x0 + 34, base + 14),
                    f"T{k + 1}",
                    7,
                    align=pymupdf.TEXT_ALIGN_CENTER,
                )
            shape = page.new_shape()
            shape.draw_polyline(
                [
                    pymupdf.Point(margin + 43 + k * 38, base - rng.uniform(0.3, 0.9) * (chart - 10))
                    for k in range(12)
                ]
            )
            shape.finish(color=(0.8, 0.1, 0.1), width=1.5, closePath=False)
            shape.commit()
            y = base + 24
        elif kind == 4:  # a photo with its caption
            page.insert_image(
                pymupdf.Rect(margin + 40, y, width - margin - 40, y + 240),
                stream=photos[n % len(photos)],
                keep_proportion=True,
            )
            text(
                page,
                pymupdf.Rect(margin, y + 244, width - margin, y + 260),
                "Hình: Hiện trạng khu vực chỉnh trang đô thị",
                8.5,
                color=grey,
                align=pymupdf.TEXT_ALIGN_CENTER,
            )
            y += 270
        while y < height - 180:  # fill the page
            y = paragraph(page, y, rng.randint(3, 5))
        page.draw_line(
            (margin, height - 50), (width - margin, height - 50), color=(0.6, 0.6, 0.6), width=0.5
        )
        text(
            page,
            pymupdf.Rect(margin, height - 46, width - margin, height - 30),
            f"Trang {n}/{pages}",
            8,
            align=pymupdf.TEXT_ALIGN_CENTER,
        )
    doc.set_metadata(
        {
            "title": title,
            "author": "Văn phòng UBND phường Hoàn Kiếm",
            "creator": "phonghop bench/render.py",
        }
    )
    doc.subset_fonts()
    data: bytes = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


def retitled(pdf: bytes, title: str) -> bytes:
    """The same document with another title: other bytes, so another SHA-256."""
    import pymupdf

    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        meta = dict(doc.metadata or {})
        meta["title"] = title
        doc.set_metadata({k: v for k, v in meta.items() if k != "format" and v is not None})
        return bytes(doc.tobytes(garbage=1, deflate=True))


# --------------------------------------------------------------------------- the box


def _own_cpu_s() -> float:
    """CPU seconds used so far by this process, its live descendants (workers, servers,
    load generators) and its children already waited for (finished pdftoppm runs)."""
    t = os.times()
    return c.cpu_seconds([os.getpid()]) + t.children_user + t.children_system


class OwnCpu:
    """This run's CPU and everybody else's on the box (the box is shared: others' tests
    running meanwhile show here), from construction to `stop()`, in % of one core."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.own0 = _own_cpu_s()
        self.busy0, _ = c.box_cpu()
        self.own_s = 0.0  # CPU seconds of this run, set by stop()

    def stop(self) -> tuple[float, float]:
        wall = max(time.monotonic() - self.t0, 1e-9)
        own = _own_cpu_s() - self.own0
        busy = c.box_cpu()[0] - self.busy0
        self.own_s = own
        return 100 * own / wall, max(0.0, 100 * (busy - own) / wall)


async def wait_calm(wait_s: float, limit_pct: float = 25.0) -> None:
    """Wait (at most `wait_s`) until other processes use under `limit_pct` % of a core over
    a second, so that a measurement does not start in the middle of someone's test run."""
    deadline = time.monotonic() + wait_s
    others = 0.0
    while True:
        meter = OwnCpu()
        await asyncio.sleep(1.0)
        others = meter.stop()[1]
        if others < limit_pct:
            return
        if time.monotonic() > deadline:
            log(f"the box stays busy: other processes use {others:.0f} % of a core; going on")
            return


# --------------------------------------------------------------------------- 1. throughput


@dataclass
class Throughput:
    pool: list[float] = field(default_factory=list)  # pages/s per round
    pdftoppm: list[float] = field(default_factory=list)
    pdftoppm2: list[float] = field(default_factory=list)
    ppm: list[float] = field(default_factory=list)
    webp_kb: float | None = None
    png_kb: float | None = None
    raster_ms: float | None = None
    encode_ms: float | None = None
    others: list[float] = field(default_factory=list)  # other processes' CPU, % of a core
    # Pages per CPU second of this run (pool workers, or pdftoppm): what each way costs,
    # whatever else the box is doing meanwhile.
    per_cpu_s: dict[str, list[float]] = field(default_factory=dict)


async def run_pdftoppm(children: Children, argv: Sequence[str], wait_s: float) -> None:
    proc = await c.spawn(
        children,
        argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), wait_s)
    except TimeoutError:
        await children.stop(proc, 2)
        raise BenchError(f"{argv[0]} took more than {wait_s:.0f} s") from None
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({proc.returncode}): {err[-300:]!r}")


async def pdftoppm_round(
    children: Children, pdf: Path, pages: int, out: Path, procs: int, png: bool, wait_s: float
) -> tuple[float, int]:
    """Wall time of `procs` pdftoppm processes over equal shares of the pages; bytes out."""
    await asyncio.to_thread(_fresh_dir, out)
    bounds = [(k * pages // procs + 1, (k + 1) * pages // procs) for k in range(procs)]
    fmt_args = ["-png"] if png else []
    argvs = [
        [
            PDFTOPPM,
            *fmt_args,
            "-f",
            str(lo),
            "-l",
            str(hi),
            "-scale-to-x",
            str(TABLET),
            "-scale-to-y",
            "-1",
            str(pdf),
            str(out / f"p{k}"),
        ]
        for k, (lo, hi) in enumerate(bounds)
    ]
    began = time.perf_counter()
    await c.gather_all([run_pdftoppm(children, argv, wait_s) for argv in argvs])
    wall = time.perf_counter() - began
    count, size = await asyncio.to_thread(_count_and_remove, out)
    if count != pages:
        raise BenchError(f"pdftoppm wrote {count} images, expected {pages}")
    return wall, size


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def _count_and_remove(path: Path) -> tuple[int, int]:
    """How many files the directory holds and their bytes; then remove it."""
    files = list(path.iterdir())
    size = sum(f.stat().st_size for f in files)
    shutil.rmtree(path, ignore_errors=True)
    return len(files), size


def _scratch_dir(fallback: Path) -> Path:
    """A scratch directory for pdftoppm's images: in memory (/dev/shm) when there is one,
    like the pool's images, which stay in memory."""
    shm = Path("/dev/shm")
    return Path(
        tempfile.mkdtemp(prefix="phonghop-bench-render-", dir=shm if shm.is_dir() else fallback)
    )


def split_timing(pdf: Path, pages: int) -> tuple[float, float]:
    """In this process: ms per page to rasterise at 1280 px, and to WebP-encode (phonghop's
    own functions), over the first pages."""
    import pymupdf

    from phonghop.documents.render import _pixmap, encode

    raster = encode_s = 0.0
    with pymupdf.open(pdf) as doc:
        for n in range(pages):
            t0 = time.perf_counter()
            pix = _pixmap(doc[n], TABLET)
            t1 = time.perf_counter()
            encode(pix, "webp")
            raster += t1 - t0
            encode_s += time.perf_counter() - t1
    return 1000 * raster / pages, 1000 * encode_s / pages


async def throughput(
    opts: argparse.Namespace, children: Children, tmp: Path, pdf_bytes: bytes, scratch: Path
) -> Throughput:
    from phonghop.documents.pool import WorkerPool

    result = Throughput()
    pages = opts.pages
    base = tmp / "base.pdf"
    base.write_bytes(pdf_bytes)
    warm = tmp / "warm.pdf"
    warm.write_bytes(make_pdf(2, "Khởi động", seed=2))
    workers = os.cpu_count() or 2
    pool = WorkerPool(workers)
    await pool.start()
    try:
        # Start-up is not part of the figure: a server's pool is long running. Opening the
        # measured file is (each round uses a fresh path, so each worker opens it anew).
        await asyncio.gather(
            *(pool.run("render", str(warm), 1 + k % 2, TABLET, "webp") for k in range(2 * workers))
        )
        await run_pdftoppm(
            children,
            [
                PDFTOPPM,
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                "-scale-to-x",
                str(TABLET),
                "-scale-to-y",
                "-1",
                str(warm),
                str(scratch / "warm"),
            ],
            opts.step_timeout,
        )
        for k in range(1, opts.rounds + 1):
            path = tmp / f"round{k}.pdf"
            shutil.copyfile(base, path)
            await wait_calm(opts.calm_timeout)
            meter = OwnCpu()
            began = time.perf_counter()
            images = await asyncio.gather(
                *(
                    pool.run("render", str(path), n, TABLET, "webp", limit=opts.step_timeout)
                    for n in range(1, pages + 1)
                )
            )
            wall = time.perf_counter() - began
            _, others = meter.stop()
            result.others.append(others)
            result.per_cpu_s.setdefault("pool", []).append(pages / max(meter.own_s, 1e-9))
            if not all(isinstance(i, bytes) and i[:4] == b"RIFF" for i in images):
                raise BenchError("the pool returned something that is not WebP")
            result.pool.append(pages / wall)
            result.webp_kb = sum(len(i) for i in images) / pages / 1024
            log(
                f"round {k}: pool ({workers} workers) {pages} pages in {wall:.2f} s = "
                f"{pages / wall:.1f} pages/s ({pages / meter.own_s:.1f} per CPU second), WebP "
                f"{result.webp_kb:.0f} KiB/page; other processes used {others:.0f} % of a core"
            )
            for label, key, procs, png, into in (
                ("pdftoppm -png", "pdftoppm", 1, True, result.pdftoppm),
                ("pdftoppm -png x2", "pdftoppm2", 2, True, result.pdftoppm2),
                ("pdftoppm ppm", "ppm", 1, False, result.ppm),
            ):
                await wait_calm(opts.calm_timeout)
                meter = OwnCpu()
                wall, size = await pdftoppm_round(
                    children, path, pages, scratch / "out", procs, png, opts.step_timeout
                )
                _, others = meter.stop()
                result.others.append(others)
                result.per_cpu_s.setdefault(key, []).append(pages / max(meter.own_s, 1e-9))
                into.append(pages / wall)
                if png and procs == 1:
                    result.png_kb = size / pages / 1024
                log(
                    f"round {k}: {label}: {wall:.2f} s = {pages / wall:.2f} pages/s "
                    f"({pages / meter.own_s:.2f} per CPU second, {size / pages / 1024:.0f} "
                    f"KiB/page); other processes used "
                    f"{others:.0f} % of a core"
                )
            path.unlink(missing_ok=True)
    finally:
        await pool.stop()
    split = min(pages, 20)
    result.raster_ms, result.encode_ms = await asyncio.to_thread(split_timing, base, split)
    log(
        f"in-process, first {split} pages: MuPDF rasterise {result.raster_ms:.1f} ms/page, "
        f"WebP encode {result.encode_ms:.1f} ms/page"
    )
    return result


# --------------------------------------------------------------------------- HTTP helpers


class Api:
    """A tiny JSON client for the phonghop HTTP API (httpx, one keep-alive connection)."""

    def __init__(self, base: str, timeout: float) -> None:
        import httpx

        self.base = base
        self.http = httpx.AsyncClient(base_url=base, timeout=timeout)

    async def login(self, username: str) -> str:
        r = await self.http.post(
            "/api/login",
            json={"username": username, "password": DEMO_PASSWORD, "client": "device"},
        )
        if r.status_code != 200:
            raise BenchError(f"login {username}: {r.status_code} {r.text[:200]}")
        return str(r.json()["token"])

    async def close(self) -> None:
        await self.http.aclose()


@dataclass
class Server:
    proc: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_demo(opts: argparse.Namespace, children: Children, tmp: Path) -> Server:
    """`python -m phonghop demo` (seeds the demo organisation, then serves) on a free port."""
    port = c.free_port()
    log_path = tmp / "demo.log"
    data = tmp / "data"
    with log_path.open("wb") as logf:
        proc = await c.spawn(
            children,
            [
                sys.executable,
                "-m",
                c.entry_module(opts.server_root),
                "demo",
                "--data",
                str(data),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            cwd=opts.server_root,
            env=c.server_env(opts.server_root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
    await c.wait_port(port, proc, opts.start_timeout, log_path)
    log(f"phonghop demo: serving on 127.0.0.1:{port} (pid {proc.pid}, log {log_path})")
    return Server(proc, port, log_path)


async def wait_quiet(pids: Sequence[int], wait_s: float, label: str) -> float:
    """Wait until the process trees use under 5 % of a core for 1.5 s; returns seconds waited."""
    began = time.monotonic()
    calm = 0
    last = c.cpu_seconds(pids)
    while time.monotonic() - began < wait_s:
        await asyncio.sleep(0.5)
        now = c.cpu_seconds(pids)
        calm = calm + 1 if now - last < 0.025 else 0
        last = now
        if calm >= 3:
            return time.monotonic() - began
    raise BenchError(f"{label}: still busy after {wait_s:.0f} s")


# --------------------------------------------------------------------------- 2. first page


@dataclass
class FirstPage:
    total_ms: list[float] = field(default_factory=list)
    upload_ms: list[float] = field(default_factory=list)
    attach_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)  # other processes' CPU, % of a core


async def first_pages(
    opts: argparse.Namespace, server: Server, api: Api, meeting: int, token: str, pdf_bytes: bytes
) -> tuple[FirstPage, int]:
    """Upload, attach, GET page 1, `repeats` times; returns the figures and the last
    document's id."""
    result = FirstPage()
    auth = {"Authorization": f"Bearer {token}"}
    doc_id = 0
    for k in range(1, opts.repeats + 1):
        waited = await wait_quiet([server.proc.pid], opts.quiet_timeout, "phonghop")
        await wait_calm(opts.calm_timeout)
        title = f"{TITLE} (bản {k}, {os.getpid()}-{time.time_ns()})"
        body = await asyncio.to_thread(retitled, pdf_bytes, title)
        meter = OwnCpu()
        began = time.perf_counter()
        r = await api.http.post(
            f"/api/meetings/{meeting}/files",
            params={"name": f"bao-cao-{k}.pdf"},
            content=body,
            headers={**auth, "Content-Type": "application/pdf"},
        )
        uploaded = time.perf_counter()
        if r.status_code != 201:
            raise BenchError(f"upload: {r.status_code} {r.text[:300]}")
        file = r.json()["file"]
        r = await api.http.post(
            f"/api/meetings/{meeting}/documents",
            headers=auth,
            json={"sha256": file["sha256"], "title": title, "classification": "internal"},
        )
        attached = time.perf_counter()
        if r.status_code != 200:
            raise BenchError(f"attach: {r.status_code} {r.text[:300]}")
        docs = [d for d in c.attached_documents(r.json()) if d.get("sha256") == file["sha256"]]
        if not docs:
            raise BenchError(f"attach: the document is not in the answer: {r.text[:300]}")
        doc_id = int(docs[-1]["id"])
        r = await api.http.get(
            f"/api/meetings/{meeting}/documents/{doc_id}/pages/1",
            params={"size": "tablet", "v": "1"},
            headers=auth,
        )
        done = time.perf_counter()
        result.others.append(meter.stop()[1])
        if r.status_code != 200 or r.content[:4] != b"RIFF":
            raise BenchError(f"page 1: {r.status_code} {r.headers.get('content-type')}")
        result.total_ms.append(1000 * (done - began))
        result.upload_ms.append(1000 * (uploaded - began))
        result.attach_ms.append(1000 * (attached - uploaded))
        result.page_ms.append(1000 * (done - attached))
        log(
            f"first page {k}/{opts.repeats}: {result.total_ms[-1]:.0f} ms (upload "
            f"{result.upload_ms[-1]:.0f}, attach {result.attach_ms[-1]:.0f}, page 1 "
            f"{result.page_ms[-1]:.0f}; {len(body) / 1e6:.2f} MB, {file['pages']} pages; "
            f"server was quiet after {waited:.1f} s; other processes used "
            f"{result.others[-1]:.0f} % of a core)"
        )
    return result, doc_id


# --------------------------------------------------------------------------- 3. cached pages


def _request(port: int, path: str, token: str | None) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Accept: image/webp,*/*",
        "User-Agent: phonghop-bench",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; counts the body's bytes
    without keeping them (a light client, so that the server, not the client, is measured)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.future: asyncio.Future[tuple[int, int]] | None = None
        self.head = b""
        self.left = -1
        self.status = 0
        self.size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, request: bytes) -> asyncio.Future[tuple[int, int]]:
        assert self.transport is not None
        self.future = asyncio.get_running_loop().create_future()
        self.head, self.left = b"", -1
        self.transport.write(request)
        return self.future

    def data_received(self, data: bytes) -> None:
        if self.left < 0:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            header = self.head[:end].lower()
            self.status = int(header[9:12])
            at = header.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail(BenchError("response without content-length"))
                return
            stop = header.find(b"\r\n", at + 2)
            self.size = int(header[at + 17 : stop if stop > 0 else len(header)])
            self.left = self.size - (len(self.head) - end - 4)
            self.head = b""
        else:
            self.left -= len(data)
        if self.left <= 0 and self.future is not None and not self.future.done():
            self.future.set_result((self.status, self.size))

    def _fail(self, exc: Exception) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost: {exc!r}"))


async def _load_client(
    cfg: dict[str, Any], index: int, requests: list[bytes], start: float, out: dict[str, Any]
) -> None:
    loop = asyncio.get_running_loop()
    rng = random.Random(index)
    _, conn = await loop.create_connection(_Conn, "127.0.0.1", cfg["port"])
    warm_end = start + cfg["warmup"]
    end = warm_end + cfg["duration"]
    rate = cfg["rate"]
    interval = 1.0 / rate if rate else 0.0
    due = start + rng.random() * interval  # paced: a random phase, then a fixed schedule
    try:
        while True:
            now = time.perf_counter()
            if rate:
                if due > now:
                    await asyncio.sleep(due - now)
                sent_at = due  # latency from the scheduled time: no coordinated omission
                due += interval
            else:
                sent_at = now
            if sent_at >= end:
                break
            try:
                status, size = await asyncio.wait_for(
                    conn.send(rng.choice(requests)), cfg["timeout"]
                )
            except (TimeoutError, ConnectionError, BenchError) as exc:
                out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
                if conn.transport is not None:
                    conn.transport.close()
                _, conn = await loop.create_connection(_Conn, "127.0.0.1", cfg["port"])
                continue
            done = time.perf_counter()
            if sent_at >= warm_end:
                out["lat"].append(done - sent_at)
                out["bytes"] += size
                key = str(status)
                out["status"][key] = out["status"].get(key, 0) + 1
    finally:
        if conn.transport is not None:
            conn.transport.close()


async def _load_main(cfg: dict[str, Any]) -> dict[str, Any]:
    # Client i signs in as reader i % len(tokens) (the baseline takes no token).
    tokens = cfg["tokens"] or [None]
    per_token = [[_request(cfg["port"], p, t) for p in cfg["paths"]] for t in tokens]
    out: dict[str, Any] = {"lat": [], "bytes": 0, "status": {}, "errors": {}}
    start = time.perf_counter() + 0.5
    await asyncio.gather(
        *(
            _load_client(cfg, i, per_token[i % len(per_token)], start, out)
            for i in range(cfg["clients"])
        )
    )
    cpu = os.times()
    out["cpu_s"] = cpu.user + cpu.system
    out["lat"] = sorted(round(v * 1000, 3) for v in out["lat"])
    return out


def load_process(config_path: str) -> int:
    """Hidden mode: the load generator, in its own process. Prints one JSON line."""
    cfg = json.loads(Path(config_path).read_text())
    c.raise_nofile(cfg["clients"] + 256)
    out = asyncio.run(_load_main(cfg))
    print(json.dumps(out), flush=True)
    return 0


def baseline_process(port: int, images: str) -> int:
    """Hidden mode: a minimal uvicorn + Starlette app serving the page images from memory,
    on the same path as phonghop's, with the same uvicorn settings and socket."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    pages = {int(p.stem): p.read_bytes() for p in Path(images).glob("*.webp")}
    headers = {
        "Cache-Control": "private, max-age=31536000, immutable",
        "Vary": "Cookie, Authorization",
    }

    async def page(request: Request) -> Response:
        n = int(request.path_params["page"])
        return Response(
            pages[n], media_type="image/webp", headers={**headers, "ETag": f'"baseline-{n}"'}
        )

    app = Starlette(
        routes=[Route("/api/meetings/{meeting}/documents/{document}/pages/{page}", page)]
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        backlog=8192,
        log_level="warning",
        lifespan="off",
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    uvicorn.Server(config).run(sockets=[sock])
    return 0


@dataclass
class Load:
    """One load run's figures."""

    name: str
    lat: list[float]
    rps: float
    status: dict[str, int]
    errors: dict[str, int]
    cpu: dict[str, float]
    mb_per_s: float

    def p(self, q: float) -> float | None:
        return percentile(self.lat, q)

    @property
    def cpu_us(self) -> float | None:
        """The server's CPU time per request (µs): less sensitive to a busy box than rates."""
        return 10_000 * self.cpu["server"] / self.rps if self.rps else None

    @property
    def failed(self) -> int:
        return sum(v for k, v in self.status.items() if k != "200") + sum(self.errors.values())


async def run_load(
    opts: argparse.Namespace,
    children: Children,
    tmp: Path,
    name: str,
    port: int,
    paths: list[str],
    tokens: list[str],
    server_pids: list[int],
    rate: float,
) -> Load:
    cfg = {
        "port": port,
        "paths": paths,
        "tokens": tokens,
        "clients": opts.clients,
        "warmup": opts.warmup,
        "duration": opts.duration,
        "rate": rate,
        "timeout": opts.request_timeout,
    }
    config = tmp / f"load-{name}.json"
    config.write_text(json.dumps(cfg))
    await wait_calm(opts.calm_timeout)
    out_path = tmp / f"load-{name}.out"
    with out_path.open("wb") as outf:
        proc = await c.spawn(
            children,
            [sys.executable, __file__, "--internal-load", str(config)],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=outf,
            stderr=None,
        )
    meter = c.CpuMeter({"server": server_pids, "load": [proc.pid]})
    await asyncio.sleep(0.5 + opts.warmup)
    meter.start()
    own = OwnCpu()
    await asyncio.sleep(opts.duration)
    cpu = meter.stop()
    cpu["others"] = round(own.stop()[1], 1)
    try:
        await asyncio.wait_for(proc.wait(), opts.duration + opts.request_timeout + 60)
    except TimeoutError:
        await children.stop(proc, 2)
        raise BenchError(f"{name}: the load generator did not finish") from None
    if proc.returncode != 0:
        raise BenchError(f"{name}: the load generator exited with {proc.returncode}")
    lines = [ln for ln in out_path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise BenchError(f"{name}: the load generator printed nothing")
    out = json.loads(lines[-1])
    load = Load(
        name,
        out["lat"],
        len(out["lat"]) / opts.duration,
        out["status"],
        out["errors"],
        cpu,
        out["bytes"] / opts.duration / 1e6,
    )
    log(
        f"{name}: {load.rps:.0f} req/s ({load.mb_per_s:.0f} MB/s), p50 {fmt(load.p(50))} "
        f"p90 {fmt(load.p(90))} p99 {fmt(load.p(99))} max {fmt(load.lat[-1] if load.lat else None)}"
        f" ms; status {load.status} errors {load.errors}; CPU % of one core {cpu}; server "
        f"{fmt(load.cpu_us)} µs CPU/request"
    )
    return load


async def start_baseline(
    opts: argparse.Namespace, children: Children, tmp: Path, images: Path
) -> Server:
    port = c.free_port()
    log_path = tmp / "baseline.log"
    with log_path.open("wb") as logf:
        proc = await c.spawn(
            children,
            [sys.executable, __file__, "--internal-baseline", str(port), str(images)],
            cwd=opts.server_root,
            env=c.server_env(opts.server_root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
    await c.wait_port(port, proc, opts.start_timeout, log_path)
    log(f"baseline: serving on 127.0.0.1:{port} (pid {proc.pid})")
    return Server(proc, port, log_path)


# --------------------------------------------------------------------------- main


async def run(opts: argparse.Namespace, children: Children) -> int:
    c.need_nofile(opts.clients * 2)
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-bench-render-"))
    scratch = _scratch_dir(tmp)
    log(f"work dir {tmp}, image scratch {scratch}")
    summary: dict[str, Any] = {"pages": opts.pages, "workers": os.cpu_count()}
    status = 0
    try:
        began = time.perf_counter()
        pdf = await asyncio.to_thread(make_pdf, opts.pages)
        summary["pdf_bytes"] = len(pdf)
        log(
            f"generated a {opts.pages}-page PDF, {len(pdf) / 1e6:.2f} MB, in "
            f"{time.perf_counter() - began:.1f} s"
        )

        if "throughput" in opts.only:
            if not shutil.which(PDFTOPPM):
                raise BenchError(f"{PDFTOPPM} is missing (apt-get install poppler-utils)")
            t = await throughput(opts, children, tmp, pdf, scratch)
            pool, one, two = (statistics.median(v) for v in (t.pool, t.pdftoppm, t.pdftoppm2))
            summary |= {
                "pool_pages_per_s": rounded(pool, 1),
                "pdftoppm_pages_per_s": rounded(one, 2),
                "pdftoppm2_pages_per_s": rounded(two, 2),
                "ratio": rounded(pool / one, 1),
                "ratio2": rounded(pool / two, 1),
                "pdftoppm_ppm_pages_per_s": rounded(statistics.median(t.ppm), 1),
                "pool_runs": [rounded(v, 1) for v in t.pool],
                "webp_kib_per_page": rounded(t.webp_kb, 0),
                "png_kib_per_page": rounded(t.png_kb, 0),
                "pages_per_cpu_s": {
                    k: rounded(statistics.median(v), 2) for k, v in t.per_cpu_s.items()
                },
                "cpu_ratio": rounded(
                    statistics.median(t.per_cpu_s["pool"])
                    / statistics.median(t.per_cpu_s["pdftoppm"]),
                    1,
                ),
                "throughput_others_cpu_pct_max": rounded(max(t.others), 0),
                "mupdf_raster_ms_per_page": rounded(t.raster_ms, 1),
                "webp_encode_ms_per_page": rounded(t.encode_ms, 1),
            }
            log(
                f"throughput: pool {pool:.1f} pages/s, pdftoppm {one:.2f}, x2 {two:.2f}: "
                f"{pool / one:.1f}x and {pool / two:.1f}x (target >= 1.5x single)"
            )

        if {"first", "cached"} & set(opts.only):
            status = await serve_phases(opts, children, tmp, pdf, summary)
    finally:
        c.leave_work_dir(tmp, opts.keep)
        shutil.rmtree(scratch, ignore_errors=True)
    summary["targets_met"] = {
        name: ok
        for name, ok in (
            ("throughput_1_5x", None if summary.get("ratio") is None else summary["ratio"] >= 1.5),
            (
                "first_page_300ms",
                None
                if summary.get("first_page_ms_median") is None
                else summary["first_page_ms_median"] <= 300,
            ),
            (
                "cached_p99_20ms",
                None if summary.get("cached_p99_ms") is None else summary["cached_p99_ms"] < 20,
            ),
        )
        if ok is not None
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return status


async def serve_phases(
    opts: argparse.Namespace, children: Children, tmp: Path, pdf: bytes, summary: dict[str, Any]
) -> int:
    server = await start_demo(opts, children, tmp)
    api = Api(server.http, opts.request_timeout)
    status = 0
    try:
        admin = await api.login("admin")
        r = await api.http.get(
            "/api/meetings", params={"scope": "all"}, headers={"Authorization": f"Bearer {admin}"}
        )
        meetings = r.json().get("meetings") or []
        if r.status_code != 200 or not meetings:
            raise BenchError(f"GET /api/meetings?scope=all: {r.status_code} {r.text[:200]}")
        meeting = int(meetings[0]["id"])
        uploader = await api.login(UPLOADER)
        log(f"demo meeting {meeting}; uploads as {UPLOADER}")

        first, doc_id = await first_pages(opts, server, api, meeting, uploader, pdf)
        summary |= {
            "first_page_ms_median": rounded(statistics.median(first.total_ms), 1),
            "first_page_ms_max": rounded(max(first.total_ms), 1),
            "first_page_ms": [rounded(v, 1) for v in first.total_ms],
            "first_upload_ms_median": rounded(statistics.median(first.upload_ms), 1),
            "first_attach_ms_median": rounded(statistics.median(first.attach_ms), 1),
            "first_get_ms_median": rounded(statistics.median(first.page_ms), 1),
            "first_others_cpu_pct_max": rounded(max(first.others), 0),
        }
        if "cached" not in opts.only:
            return 0

        # Every page pre-rendered (the server goes quiet), then one warm pass that also
        # keeps the bytes for the baseline.
        waited = await wait_quiet([server.proc.pid], opts.quiet_timeout, "phonghop")
        log(f"pre-rendering of the last upload finished (quiet after {waited:.1f} s)")
        readers = [await api.login(u) for u in READERS]
        images = tmp / "images"
        images.mkdir()
        paths = [
            f"/api/meetings/{meeting}/documents/{doc_id}/pages/{n}?size=tablet&v=1"
            for n in range(1, opts.pages + 1)
        ]
        began = time.perf_counter()
        for n, path in enumerate(paths, 1):
            r = await api.http.get(path, headers={"Authorization": f"Bearer {readers[0]}"})
            if r.status_code != 200 or r.content[:4] != b"RIFF":
                raise BenchError(f"page {n}: {r.status_code} {r.text[:200]}")
            (images / f"{n}.webp").write_bytes(r.content)
        log(f"warm pass: {opts.pages} pages in {time.perf_counter() - began:.2f} s, one at a time")
        await api.close()

        pids = [server.proc.pid]
        closed = await run_load(
            opts, children, tmp, "phonghop", server.port, paths, readers, pids, 0
        )
        paced = await run_load(
            opts,
            children,
            tmp,
            "phonghop-paced",
            server.port,
            paths,
            readers,
            pids,
            opts.paced_rate,
        )
        errors = c.count_errors([server.log_path])
        await children.stop(server.proc)

        base = await start_baseline(opts, children, tmp, images)
        try:
            b_closed = await run_load(
                opts, children, tmp, "baseline", base.port, paths, [], [base.proc.pid], 0
            )
            b_paced = await run_load(
                opts,
                children,
                tmp,
                "baseline-paced",
                base.port,
                paths,
                [],
                [base.proc.pid],
                opts.paced_rate,
            )
        finally:
            await children.stop(base.proc)
        summary |= {
            "cached_clients": opts.clients,
            "cached_p50_ms": rounded(closed.p(50)),
            "cached_p99_ms": rounded(closed.p(99)),
            "cached_rps": rounded(closed.rps, 0),
            "baseline_p50_ms": rounded(b_closed.p(50)),
            "baseline_p99_ms": rounded(b_closed.p(99)),
            "baseline_rps": rounded(b_closed.rps, 0),
            "rps_ratio": rounded(closed.rps / b_closed.rps) if b_closed.rps else None,
            "paced_rate_per_client": opts.paced_rate,
            "paced_p50_ms": rounded(paced.p(50)),
            "paced_p99_ms": rounded(paced.p(99)),
            "paced_rps": rounded(paced.rps, 0),
            "baseline_paced_p50_ms": rounded(b_paced.p(50)),
            "baseline_paced_p99_ms": rounded(b_paced.p(99)),
            "cached_server_cpu_us_per_req": rounded(closed.cpu_us, 0),
            "baseline_server_cpu_us_per_req": rounded(b_closed.cpu_us, 0),
            "cached_cpu_pct": closed.cpu,
            "baseline_cpu_pct": b_closed.cpu,
            "cached_mb_per_s": rounded(closed.mb_per_s, 0),
            "failed_requests": sum(x.failed for x in (closed, paced, b_closed, b_paced)),
            "server_errors": errors,
        }
        if summary["failed_requests"] or errors:
            log(
                f"WARNING: {summary['failed_requests']} failed requests, {errors} error lines "
                f"in the server log"
            )
            status = 3
        return status
    finally:
        await api.close()
        await children.stop(server.proc)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop page rendering benchmark (result: last stdout line, JSON)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 20 pages, 1 round, 2 repeats, 3 s of load"
    )
    parser.add_argument("--pages", type=int, help="pages of the generated PDF (default 100)")
    parser.add_argument(
        "--rounds", type=int, help="throughput rounds, each: pool, pdftoppm, x2, ppm (default 3)"
    )
    parser.add_argument("--repeats", type=int, help="first-page uploads (default 5)")
    parser.add_argument(
        "--clients", type=int, default=200, help="concurrent clients for cached pages (default 200)"
    )
    parser.add_argument("--duration", type=float, help="measured s per load run (default 10)")
    parser.add_argument("--warmup", type=float, help="unmeasured s per load run (default 2)")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=2.0,
        help="paced load: requests a second per client (default 2)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("throughput", "first", "cached"),
        default=["throughput", "first", "cached"],
        help="phases to run",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=30, help="one HTTP request, s (default 30)"
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=600,
        help="one pdftoppm run or page render, s (default 600)",
    )
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=300,
        help="wait for the server's pre-rendering to finish, s (default 300)",
    )
    parser.add_argument(
        "--calm-timeout",
        type=float,
        help="before each measurement, wait at most this long (s) for other processes on the "
        "box to calm down (default 60)",
    )
    parser.add_argument(
        "--start-timeout", type=float, default=60, help="server listening, s (default 60)"
    )
    parser.add_argument(
        "--server-root", type=Path, default=REPO_ROOT, help="dir holding the server package"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs)")
    opts = parser.parse_args(argv)
    quick = opts.quick
    for name, full, small in (
        ("pages", 100, 20),
        ("rounds", 3, 1),
        ("repeats", 5, 2),
        ("duration", 10.0, 3.0),
        ("warmup", 2.0, 1.0),
        ("calm_timeout", 60.0, 5.0),
    ):
        if getattr(opts, name) is None:
            setattr(opts, name, small if quick else full)
    if opts.pages < 2 or opts.rounds < 1 or opts.repeats < 1 or opts.clients < 1:
        parser.error("--pages >= 2, --rounds, --repeats and --clients >= 1")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--internal-load"]:
        return load_process(args[1])
    if args[:1] == ["--internal-baseline"]:
        return baseline_process(int(args[1]), args[2])
    sys.path.insert(0, str(REPO_ROOT))  # documents.pool, documents.render
    return c.run_main(run, parse_args(args))


if __name__ == "__main__":
    sys.exit(main())
