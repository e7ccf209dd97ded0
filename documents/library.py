"""The document library of one node: stored files, page images and annotated exports.

Files are kept by SHA-256 under `root/files` (on a volume every node shares when there are
several); page images are cached under `root/pages` and, for the hot ones, in memory. All
PDF work runs in the worker pool: a hostile file costs a worker, never the server.

A file that is confidential in any meeting is *sealed* (a marker under `root/sealed`, on
the same shared volume, so every node and every meeting sees it): its cached page images
are deleted, and from then on it is never cached again, on disk or in memory; its pages
are rendered afresh for each request (stamped for a confidential document's viewer).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phonghop.documents import convert
from phonghop.documents.ingest import IngestError, Inspection, sniff
from phonghop.documents.pool import BACKGROUND, URGENT, JobFailed, WorkerPool
from phonghop.documents.sizes import FORMATS, WIDTHS

RENDER_VERSION = 1  # part of every ETag: bump when page images change for the same file
RASTER_SECONDS = 0.5  # deadline per page of an image-only (confidential) copy


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 100 * 1024 * 1024
    max_pages: int = 2000
    render_timeout: float = 10.0  # seconds for one page
    inspect_timeout: float = 60.0  # seconds to open and read a whole file


@dataclass
class Received:
    """An upload written to a temporary file, with its hash and first bytes."""

    path: Path
    sha256: str
    size: int
    head: bytes


@dataclass
class Stored:
    """A file in the library: what the store records of it."""

    sha256: str
    size: int
    info: dict[str, Any]  # sizes, title, repaired, converted_from


class Library:
    """Stored files and their pages, rendered in `pool`."""

    def __init__(self, root: Path, pool: WorkerPool, limits: Limits | None = None,
                 memory_bytes: int = 128 * 1024 * 1024) -> None:
        self.root = root
        self.pool = pool
        self.limits = limits or Limits()
        self.files = root / "files"
        self.pages = root / "pages"
        self.tmp = root / "tmp"
        self.sealed_dir = root / "sealed"
        for d in (self.files, self.pages, self.tmp, self.sealed_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._memory: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._memory_bytes = 0
        self._memory_budget = memory_bytes
        self._inflight: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}
        self._prerendering: dict[str, asyncio.Task[None]] = {}
        self._sealed: set[str] = set()  # known sealed here (the marker is the authority)
        # Page images being written to the disk cache, by file: a seal waits for them, since
        # a write runs in a thread that cancelling its task does not stop.
        self._writing: dict[str, set[asyncio.Future[None]]] = {}
        self._clearing: set[asyncio.Future[None]] = set()  # seals' deletions under way

    def path(self, sha256: str) -> Path:
        return self.files / sha256[:2] / f"{sha256}.pdf"

    def keep(self, data: bytes) -> str:
        """Store a PDF exactly as given (no repair, no rewrite: signed files stay signed);
        its SHA-256, under which pages and downloads find it."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = self.tmp / f"keep-{uuid.uuid4().hex}"
            partial.write_bytes(data)
            os.replace(partial, target)  # all or nothing: a reader never sees half a file
        return sha

    # ---- sealed (confidential) files ----

    def sealed(self, sha256: str) -> bool:
        """Whether `sha256` is confidential somewhere (its pages are never cached)."""
        if sha256 in self._sealed:
            return True
        if (self.sealed_dir / sha256).exists():  # sealed by another node
            self._sealed.add(sha256)
            self._forget(sha256)
            return True
        return False

    async def seal(self, sha256: str) -> None:
        """Mark `sha256` confidential for good and delete every unstamped image of it.

        When it returns, no unstamped image of the file is on this node's disk or in its
        memory, and none will be written by this node later. Cancelling it (a dropped
        request) stops only the waiting: the marker and the deletion go on."""
        new = sha256 not in self._sealed
        self._sealed.add(sha256)  # from here no write of its pages starts on this node
        self._forget(sha256)
        task = self._prerendering.pop(sha256, None)
        if task is not None:
            task.cancel()
        clearing = asyncio.ensure_future(self._clear(sha256, new))
        self._clearing.add(clearing)
        clearing.add_done_callback(self._clearing.discard)
        await asyncio.shield(clearing)

    async def _clear(self, sha256: str, new: bool) -> None:
        """The marker, then the folder of cached images, once the writes in flight ended."""
        marker = self.sealed_dir / sha256
        if new and not marker.exists():
            await asyncio.to_thread(_write_atomically, marker, b"")
        # Writes that started before the seal finish (their threads cannot be stopped), then
        # the folder goes with everything they wrote.
        if writing := self._writing.get(sha256):
            await asyncio.wait(set(writing))
        await asyncio.to_thread(shutil.rmtree, self._page_dir(sha256), True)

    def _forget(self, sha256: str) -> None:
        for key in [k for k in self._memory if k[0] == sha256]:
            self._memory_bytes -= len(self._memory.pop(key))

    def _page_dir(self, sha256: str) -> Path:
        return self.pages / sha256[:2] / sha256

    # ---- ingest ----

    async def receive(self, chunks: AsyncIterator[bytes]) -> Received:
        """Write an upload to a temporary file, hashing as it comes; refuse it past the limit."""
        path = self.tmp / f"upload-{uuid.uuid4().hex}"
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with path.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.limits.max_bytes:
                        raise IngestError("too_large")
                    if len(head) < 4096:
                        head += chunk[:4096 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if size == 0:
            path.unlink(missing_ok=True)
            raise IngestError("empty_file")
        return Received(path, digest.hexdigest(), size, head)

    async def ingest(self, received: Received) -> Stored:
        """Turn an upload into a stored PDF (converted, repaired), or raise IngestError."""
        made: list[Path] = [received.path]
        try:
            kind = sniff(received.head, received.path)
            converted_from = None
            source = received.path
            if kind in ("empty", "unknown"):
                raise IngestError("empty_file" if kind == "empty" else "unsupported_type")
            if kind != "pdf":
                source = await convert.to_pdf(received.path, kind)
                made.append(source)
                converted_from = kind
            found = await self._inspect(source)
            repaired = found.repaired
            if repaired or converted_from:
                # Keep a clean copy: later opens (every page render) need no repair.
                clean = source.with_suffix(".clean.pdf")
                made.append(clean)
                await self._job("normalise", str(source), str(clean))
                source = clean
                found = await self._inspect(source)
            sha = received.sha256 if source == received.path else _sha256(source)
            size = source.stat().st_size
            target = self.path(sha)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
            info = {"sizes": found.pages, "title": found.title,
                    "repaired": repaired, "converted_from": converted_from}
            return Stored(sha, size, info)
        finally:
            for p in made:
                p.unlink(missing_ok=True)

    async def _inspect(self, path: Path) -> Inspection:
        return await self._job("inspect", str(path), self.limits.max_pages,
                               limit=self.limits.inspect_timeout)

    async def _job(self, name: str, *args: Any, limit: float | None = None,
                   priority: int = URGENT) -> Any:
        try:
            return await self.pool.run(name, *args, limit=limit or self.limits.render_timeout,
                                       priority=priority)
        except JobFailed as failed:
            if failed.code == "render_timeout" and name in ("inspect", "normalise"):
                raise IngestError("broken_pdf", "the file takes too long to read") from None
            raise IngestError(failed.code, failed.detail) from None

    # ---- pages ----

    @staticmethod
    def etag(sha256: str, page: int, size: str, fmt: str) -> str:
        return f'"{sha256[:20]}-{page}-{size}-{fmt}-r{RENDER_VERSION}"'

    async def page(self, sha256: str, page: int, size: str = "tablet", fmt: str = "webp",
                   label: str | None = None, priority: int = URGENT) -> bytes:
        """The image of one page; identical concurrent requests share one render.

        Unstamped images are cached on disk and in memory, except those of a sealed file.
        """
        assert size in WIDTHS and fmt in FORMATS
        key = (sha256, page, size, fmt, label)
        keep = label is None and not self.sealed(sha256)
        if keep and (hit := self._memory.get(key)) is not None:
            self._memory.move_to_end(key)
            return hit
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            image = await self._make_page(sha256, page, size, fmt, label, priority, keep)
            future.set_result(image)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            self._inflight.pop(key, None)
        if keep and not self.sealed(sha256):
            self._remember(key, image)
        return image

    async def _make_page(self, sha256: str, page: int, size: str, fmt: str,
                         label: str | None, priority: int, keep: bool) -> bytes:
        cached = self._page_dir(sha256) / f"{size}-{page}.{fmt}"
        if keep:
            with contextlib.suppress(FileNotFoundError):
                return await asyncio.to_thread(cached.read_bytes)
        image = await self._job("render", str(self.path(sha256)), page, WIDTHS[size], fmt,
                                label, priority=priority)
        if keep:  # a stamped page belongs to one viewer, a sealed file to nobody: never kept
            await self._cache(sha256, cached, image)
        return image

    async def _cache(self, sha256: str, path: Path, image: bytes) -> None:
        """Write an unstamped page image to the disk cache, unless its file is sealed."""
        if self.sealed(sha256):  # sealed while it rendered
            return
        # Checked and registered with no await between: a seal either sees this write and
        # waits for it, or came first and this write never starts.
        write = asyncio.ensure_future(self._write(sha256, path, image))
        self._writing.setdefault(sha256, set()).add(write)
        # Forgotten when it is done, not when this task is: a cancelled request's write goes
        # on (with its check below), and a seal must still find it.
        write.add_done_callback(lambda done: self._written(sha256, done))
        await asyncio.shield(write)

    async def _write(self, sha256: str, path: Path, image: bytes) -> None:
        await asyncio.to_thread(_write_atomically, path, image)
        if self.sealed(sha256):  # sealed by another node while this one wrote: take it back
            await asyncio.to_thread(shutil.rmtree, self._page_dir(sha256), True)

    def _written(self, sha256: str, write: asyncio.Future[None]) -> None:
        writing = self._writing.get(sha256)
        if writing is not None:
            writing.discard(write)
            if not writing:
                del self._writing[sha256]
        if not write.cancelled():
            write.exception()  # retrieved: the request that waited for it has raised it

    def _remember(self, key: tuple[Any, ...], image: bytes) -> None:
        self._memory[key] = image
        self._memory_bytes += len(image)
        while self._memory_bytes > self._memory_budget and self._memory:
            _, dropped = self._memory.popitem(last=False)
            self._memory_bytes -= len(dropped)

    def prerender(self, sha256: str, pages: int) -> None:
        """Render a file's pages in the background: first pages first, thumbnails too.

        Called once a document is attached as public or internal, never for a sealed file.
        """
        if sha256 in self._prerendering or self.sealed(sha256):
            return
        task = asyncio.get_running_loop().create_task(self._prerender(sha256, pages))
        self._prerendering[sha256] = task
        task.add_done_callback(lambda _: self._prerendering.pop(sha256, None))

    async def _prerender(self, sha256: str, pages: int) -> None:
        # The first page is what a reader opens at once: it goes before anything queued.
        first = asyncio.get_running_loop().create_task(self.page(sha256, 1, "tablet"))
        jobs = [(1, "thumb")]
        jobs += [(n, s) for n in range(2, pages + 1) for s in ("tablet", "thumb")]
        # As many at a time as there are workers: the queue stays short, so a page a user
        # asks for (urgent) waits for at most one background page per worker.
        limit = asyncio.Semaphore(self.pool.size)

        async def one(page: int, size: str) -> None:
            async with limit:
                with contextlib.suppress(IngestError):
                    await self.page(sha256, page, size, priority=BACKGROUND)

        await asyncio.gather(*(one(p, s) for p, s in jobs))
        with contextlib.suppress(IngestError):
            await first

    async def texts(self, sha256: str) -> list[str]:
        """The text of every page (a background job: it waits behind page images)."""
        return await self._job("texts", str(self.path(sha256)),
                               limit=self.limits.inspect_timeout, priority=BACKGROUND)

    # ---- exports ----

    async def export(self, sha256: str, annotations: list[dict[str, Any]],
                     authors: dict[int, str], label: str | None, pages: int = 1) -> bytes:
        """The PDF with annotations added; with `label`, the image-only stamped copy (each
        page rasterised, so its deadline grows with the pages)."""
        limit = max(30.0, self.limits.render_timeout * 3)
        if label is not None:
            limit = max(limit, pages * RASTER_SECONDS)
        return await self._job("export", str(self.path(sha256)), annotations, authors, label,
                               limit=limit)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
