"""Office and OpenDocument files to PDF with LibreOffice, when it is installed.

LibreOffice runs in a session (process group) of its own, with a CPU-time limit of its
deadline and a data-segment limit (`RLIMIT_DATA`: what it allocates, not the address
space it reserves, which LibreOffice tolerates); past the deadline, or when the request
is gone, the whole group is killed, so no `soffice.bin` is left spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import tempfile
from pathlib import Path

from phonghop.documents.ingest import IngestError

CONVERT_TIMEOUT = 120.0
CONVERT_MEMORY_MB = 4096  # data segment of LibreOffice (and what it starts)
# The limits are set by a shell between fork and exec: inherited by everything LibreOffice
# starts, and no Python runs in the forked child (preexec_fn is unsafe with threads).
_LIMITED = 'ulimit -t "$1" && ulimit -d "$2" && shift 2 && exec "$@"'


def soffice() -> str | None:
    """The LibreOffice binary, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


async def to_pdf(source: Path, kind: str, limit: float = CONVERT_TIMEOUT) -> Path:
    """Convert `source` (of `kind`, e.g. 'docx') to a PDF beside it; IngestError if not."""
    binary = soffice()
    if binary is None:
        raise IngestError("conversion_unavailable")
    work = Path(tempfile.mkdtemp(prefix="phonghop-convert-", dir=source.parent))
    named = work / f"input.{'doc' if kind == 'ole' else kind}"
    shutil.copyfile(source, named)
    # A private profile per conversion: LibreOffice refuses to run twice on one profile.
    process = await asyncio.create_subprocess_exec(
        "/bin/sh", "-c", _LIMITED, "sh", str(math.ceil(limit) + 1),
        str(CONVERT_MEMORY_MB * 1024), binary,
        f"-env:UserInstallation=file://{work / 'profile'}", "--headless",
        "--norestore", "--convert-to", "pdf", "--outdir", str(work), str(named),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), limit)
    except BaseException as exc:  # past the deadline, or the request is gone
        _kill_group(process.pid)
        with contextlib.suppress(Exception):
            await process.wait()
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, TimeoutError):
            raise IngestError("conversion_failed", f"timed out after {limit:g} s") from None
        raise
    out = work / "input.pdf"
    if process.returncode != 0 or not out.exists():
        shutil.rmtree(work, ignore_errors=True)
        detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise IngestError("conversion_failed", detail[0][:200])
    result = source.with_suffix(".converted.pdf")
    out.replace(result)
    shutil.rmtree(work, ignore_errors=True)
    return result


def _kill_group(pid: int) -> None:
    """Kill the session LibreOffice leads (its id is LibreOffice's pid) and all in it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
