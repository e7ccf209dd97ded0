"""Office and OpenDocument files to PDF with LibreOffice, when it is installed."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path

from documents.ingest import IngestError

CONVERT_TIMEOUT = 120.0


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
        binary, f"-env:UserInstallation=file://{work / 'profile'}", "--headless",
        "--norestore", "--convert-to", "pdf", "--outdir", str(work), str(named),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        shutil.rmtree(work, ignore_errors=True)
        raise IngestError("conversion_failed", f"timed out after {limit:g} s") from None
    out = work / "input.pdf"
    if process.returncode != 0 or not out.exists():
        shutil.rmtree(work, ignore_errors=True)
        detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise IngestError("conversion_failed", detail[0][:200])
    result = source.with_suffix(".converted.pdf")
    out.replace(result)
    shutil.rmtree(work, ignore_errors=True)
    return result
