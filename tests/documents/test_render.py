"""Page images: sizes, bounded output, the per-viewer watermark, and hostile pages."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from phonghop.documents import library as library_module
from phonghop.documents.ingest import IngestError
from phonghop.documents.library import Library, Limits
from phonghop.documents.pool import WorkerPool
from phonghop.documents.render import WIDTHS, render_page
from tests.documents.conftest import store
from tests.documents.corpus import heavy_page, oversized, report, rotated


def size_of(image: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(image)) as img:
        return img.size


async def test_pages_render_at_the_three_widths(library: Library) -> None:
    stored = await store(library, report(2))
    for name, width in WIDTHS.items():
        image = await library.page(stored.sha256, 2, name)
        assert image[:4] == b"RIFF" and image[8:12] == b"WEBP"
        w, h = size_of(image)
        assert w == width and abs(h - round(width * 842 / 595)) <= 1
    png = await library.page(stored.sha256, 1, "thumb", "png")
    assert png.startswith(b"\x89PNG")


async def test_rotated_and_oversized_pages_give_bounded_upright_images(library: Library) -> None:
    rot = await store(library, rotated())
    w, h = size_of(await library.page(rot.sha256, 2, "tablet"))
    assert w == 1280 and h < w  # landscape as displayed
    big = await store(library, oversized())
    assert size_of(await library.page(big.sha256, 1, "tablet")) == (1280, 1280)
    w, h = size_of(await library.page(big.sha256, 2, "tablet"))
    assert h <= 4 * 1280 and w <= 1280  # a 70:1 strip is scaled down, not 90,000 px tall


async def test_pages_are_cached_on_disk_and_shared_by_concurrent_requests(
    library: Library,
) -> None:
    stored = await store(library, report(3, image=False))
    images = await asyncio.gather(*(library.page(stored.sha256, 3, "hd") for _ in range(20)))
    assert len(set(images)) == 1
    cached = library.pages / stored.sha256[:2] / stored.sha256 / "hd-3.webp"
    assert cached.read_bytes() == images[0]


async def test_a_page_that_renders_too_long_is_stopped_and_the_pool_recovers(
    tmp_path: Path,
) -> None:
    # One worker and a 0.5 s limit: the hostile page (seconds of vector paths) hits it.
    library = Library(tmp_path, WorkerPool(1), Limits(render_timeout=0.5, inspect_timeout=30))
    await library.pool.start()
    try:
        slow = await store(library, heavy_page())
        quick = await store(library, report(1, image=False))
        with pytest.raises(IngestError) as refused:
            await library.page(slow.sha256, 1, "tablet")
        assert refused.value.code == "render_timeout"
        assert library.pool.timeouts == 1
        # The stuck worker was replaced: other pages render as before (given time to start
        # on a busy box), and nothing was cached.
        image = await library.pool.run("render", str(library.path(quick.sha256)), 1, 240,
                                       "webp", None, limit=60.0)
        assert size_of(image)[0] == 240
        assert not (library.pages / slow.sha256[:2] / slow.sha256).exists()
    finally:
        await library.pool.stop()


async def test_a_page_asked_for_overtakes_background_rendering(library: Library) -> None:
    many = await store(library, report(40, image=False))
    library.prerender(many.sha256, 40)
    await asyncio.sleep(0.05)
    await library.page(many.sha256, 37, "hd")
    # The reader's page came before the background work got anywhere near page 37.
    folder = library.pages / many.sha256[:2] / many.sha256
    assert (folder / "hd-37.webp").exists()
    assert not (folder / "tablet-30.webp").exists()
    assert many.sha256 in library._prerendering


def test_the_watermark_carries_the_viewer_and_only_their_copy(tmp_path) -> None:
    path = tmp_path / "mat.pdf"
    path.write_bytes(report(1, image=False))
    clean = render_page(str(path), 1, 1280, "png")
    anh = render_page(str(path), 1, 1280, "png", "Nguyễn Văn Ánh · Sở Tư pháp · 14:05 22/11/2026")
    binh = render_page(str(path), 1, 1280, "png", "Phạm Thị Bình · Sở Nội vụ · 14:05 22/11/2026")
    assert len({clean, anh, binh}) == 3
    # The same viewer at the same minute gets the same image: the mark is deterministic.
    assert anh == render_page(str(path), 1, 1280, "png",
                              "Nguyễn Văn Ánh · Sở Tư pháp · 14:05 22/11/2026")
    # A stamped export is pictures of the stamped pages: no text, font or metadata to lift,
    # no stamp object to delete, and each viewer's pixels differ (changed deliberately: the
    # stamp used to be a removable text object).
    from phonghop.documents.export import export_pdf
    copies = [export_pdf(str(path), [], {}, label)
              for label in ("Nguyễn Văn Ánh · Sở Tư pháp", "Phạm Thị Bình · Sở Nội vụ")]
    pictures = []
    for data in copies:
        with pymupdf.open(stream=data) as d:
            page = d[0]
            assert page.get_text() == "" and page.get_fonts() == []
            assert len(page.get_images()) == 1 and d.metadata["title"] == ""
            pictures.append(page.get_pixmap(dpi=72).samples)
    assert pictures[0] != pictures[1]


async def test_a_sealed_file_loses_its_cached_pages_and_is_never_cached_again(
    library: Library,
) -> None:
    stored = await store(library, report(2, image=False))
    sha = stored.sha256
    clean = await library.page(sha, 1, "tablet")
    folder = library.pages / sha[:2] / sha
    assert (folder / "tablet-1.webp").exists() and library._memory
    await library.seal(sha)
    assert not folder.exists() and not [k for k in library._memory if k[0] == sha]
    assert await library.page(sha, 1, "tablet") == clean  # rendered afresh, not kept
    library.prerender(sha, 2)
    assert not folder.exists() and not [k for k in library._memory if k[0] == sha]
    assert sha not in library._prerendering
    # Another node (another Library on the same volume) sees the seal too.
    other = Library(library.files.parent, library.pool)
    assert other.sealed(sha)


async def test_a_seal_during_a_slow_write_leaves_no_page_behind(
    library: Library, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attack, with the data directory of a node on a slow shared volume (NFS: a write takes
    tens of milliseconds): seal a file while its pages are being written, then look for them.

    The write is the real one, made slow; cancelling the task that waits for it does not stop
    its thread, so a seal that does not wait for it finds the folder empty and the page lands
    after (this happened in CI on a local disk)."""
    started, finished = threading.Event(), threading.Event()
    write = library_module._write_atomically

    def slow_write(path: Path, data: bytes) -> None:
        if path.is_relative_to(library.pages):
            started.set()
            time.sleep(0.05)
        write(path, data)
        if path.is_relative_to(library.pages):
            finished.set()

    monkeypatch.setattr(library_module, "_write_atomically", slow_write)
    stored = await store(library, report(6, image=False))
    sha = stored.sha256
    library.prerender(sha, 6)
    assert await asyncio.to_thread(started.wait, 30)  # a page is being written now
    await library.seal(sha)
    assert await asyncio.to_thread(finished.wait, 30)  # and has been written
    folder = library.pages / sha[:2] / sha
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    assert not [k for k in library._memory if k[0] == sha] and sha not in library._writing
