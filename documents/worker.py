"""The worker process's side of the pool: receive a job, run it, send the result back.

A worker leads its own process group (the pool kills the whole group, so whatever a job
started dies with it) and runs under resource limits: an address-space limit for its
whole life (`RLIMIT_AS`), and before each job a CPU-time limit of the job's deadline on
top of what it has used so far (`RLIMIT_CPU`), so a job spinning in C code dies of
`SIGXCPU` even when the pool's wall-clock timer comes late. No core files are written.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import resource
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from phonghop.documents import export, ingest, render

CPU_SLACK = 1  # seconds of CPU beyond the job's deadline before SIGXCPU


def verify(path: str, roots: tuple[bytes, ...], intermediates: tuple[bytes, ...] = (),
           crls: tuple[bytes, ...] = ()) -> Any:
    """The `VerificationReport` of the PDF at `path` against the roots (DER), intermediates
    (DER) and CRLs given; a file that is not a readable PDF is refused `invalid_document`."""
    import logging

    # pyHanko is imported here, by the workers that verify, not by every idle worker.
    from phonghop.signing.errors import InvalidDocument
    from phonghop.signing.trust import Trust
    from phonghop.signing.verify import verify_pdf

    # A hostile file with thousands of signatures would log a traceback (and a signer's
    # name) for each: keep the server's log for the server.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    trust = Trust.of(roots, intermediates=intermediates, crls=crls)
    try:
        return verify_pdf(Path(path).read_bytes(), trust=trust)
    except MemoryError:
        raise
    except InvalidDocument as exc:
        raise ingest.IngestError("invalid_document", str(exc.details["detail"])[:200]) from None
    except Exception as exc:  # pyHanko tripping over a malformed file is the file's fault
        raise ingest.IngestError("invalid_document", f"{type(exc).__name__}: {exc}"[:200]
                                 ) from None


JOBS: dict[str, Any] = {
    "inspect": ingest.inspect_pdf,
    "normalise": ingest.normalise,
    "texts": ingest.page_texts,
    "render": render.render_page,
    "export": export.export_pdf,
    "verify": verify,
}


def limit_resources(memory_bytes: int) -> None:
    """Lead a process group of our own, cap the address space at `memory_bytes` (0: no
    cap), and write no core files (a dying worker could dump gigabytes)."""
    with contextlib.suppress(OSError):
        os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def limit_cpu(seconds: float) -> None:
    """Allow `seconds` more CPU time (and the slack) from now on; then SIGXCPU kills us."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds) + CPU_SLACK
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main(conn: Connection, memory_bytes: int = 0, jobs: str = __name__) -> None:
    """Say ("ready",), then serve jobs until the pipe closes, answering ("ok", result) or
    ("error", code, detail). A job out of memory is answered ("fatal", "too_complex", …)
    and this worker exits (the pool starts a fresh one): its heap may be left huge.
    `jobs` names the module whose JOBS are served."""
    limit_resources(memory_bytes)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    try:
        os.nice(5)  # page rendering yields the CPU to the event loop serving the room
    except OSError:
        pass
    try:
        import pymupdf

        pymupdf.TOOLS.mupdf_display_errors(False)
        pymupdf.TOOLS.mupdf_display_warnings(False)
        served: dict[str, Any] = importlib.import_module(jobs).JOBS
    except Exception as exc:  # the pool fails what waits, instead of starting us again
        with contextlib.suppress(BrokenPipeError, OSError):
            conn.send(("fatal", "render_failed",
                       f"cannot load {jobs}: {type(exc).__name__}: {exc}"[:200]))
        return
    try:
        conn.send(("ready",))
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            name, args, seconds = conn.recv()
        except (EOFError, OSError):
            return
        limit_cpu(seconds)
        fatal = False
        try:
            result: Any = ("ok", served[name](*args))
        except ingest.IngestError as exc:
            result = ("error", exc.code, exc.detail)
        except MemoryError:
            result, fatal = ("fatal", "too_complex", "memory limit"), True
        except Exception as exc:  # a broken page: report it, keep serving
            result = ("error", "render_failed", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
        if fatal:
            return
