"""The worker process's side of the pool: receive a job, run it, send the result back."""

from __future__ import annotations

import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from documents import export, ingest, render

JOBS: dict[str, Any] = {
    "inspect": ingest.inspect_pdf,
    "normalise": ingest.normalise,
    "texts": ingest.page_texts,
    "render": render.render_page,
    "export": export.export_pdf,
}


def main(conn: Connection) -> None:
    """Serve jobs until the pipe closes. Errors go back as (code, detail), never raised."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    try:
        os.nice(5)  # page rendering yields the CPU to the event loop serving the room
    except OSError:
        pass
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result: Any = ("ok", JOBS[name](*args))
        except ingest.IngestError as exc:
            result = ("error", exc.code, exc.detail)
        except Exception as exc:  # a broken page: report it, keep serving
            result = ("error", "render_failed", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
