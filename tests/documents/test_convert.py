"""LibreOffice is bounded: limits on CPU time and memory, and on timeout nothing survives.

LibreOffice is not installed on every test box; where it is missing, a stand-in `soffice`
on PATH does what a document that hangs LibreOffice does: starts a helper process (as
`soffice` starts `soffice.bin`) and never finishes. It also writes down the limits it runs
under.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from phonghop.documents import convert
from phonghop.documents.ingest import IngestError
from tests.documents.conftest import dead

HANGING_SOFFICE = """#!/bin/sh
echo $$ > {out}/soffice.pid
ulimit -t > {out}/cpu
ulimit -d > {out}/data
sleep 600 &
echo $! > {out}/child.pid
wait
"""


async def test_a_conversion_that_hangs_is_killed_with_everything_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    bin_dir, out = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir()
    out.mkdir()
    fake = bin_dir / "soffice"
    fake.write_text(HANGING_SOFFICE.format(out=out))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert convert.soffice() == str(fake)
    source = tmp_path / "upload.docx"
    source.write_bytes(b"PK\x03\x04 a document that never finishes converting")

    with pytest.raises(IngestError) as failed:
        await convert.to_pdf(source, "docx", limit=2.0)
    assert failed.value.code == "conversion_failed"
    assert "timed out" in failed.value.detail
    # LibreOffice and the process it started are both gone, and it ran under limits.
    assert dead(int((out / "soffice.pid").read_text()))
    assert dead(int((out / "child.pid").read_text()))
    assert int((out / "cpu").read_text()) == 3  # its deadline, rounded up, and a second
    assert int((out / "data").read_text()) == convert.CONVERT_MEMORY_MB * 1024
    # Its working folder is removed.
    assert not [n for n in os.listdir(tmp_path) if n.startswith("phonghop-convert-")]
