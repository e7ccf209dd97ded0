"""examples/full_meeting.py end to end: a fresh demo server, the example run against it as
a user would run it, and the signed minutes it writes checked by phonghop's own verifier
and independently by poppler's pdfsig."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, ServerProcess

EXAMPLE = ROOT / "examples" / "full_meeting.py"
PDFSIG = shutil.which("pdfsig")
CERTUTIL = shutil.which("certutil")  # Debian libnss3-tools: only for the trusted check


@dataclass
class Outcome:
    server: ServerProcess
    out: Path
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """The example, run once against a fresh demo server (which stays up for the module)."""
    tmp = tmp_path_factory.mktemp("full_meeting")
    server = ServerProcess(tmp / "data", "demo")
    try:
        out = tmp / "out" / "bien-ban.pdf"
        run = subprocess.run(
            [sys.executable, str(EXAMPLE), "--url", server.base_url, "--out", str(out)],
            cwd=tmp, capture_output=True, text=True, timeout=150)
        yield Outcome(server, out, run)
    finally:
        server.stop()


def pdfsig(*args: str) -> str:
    assert PDFSIG is not None
    done = subprocess.run([PDFSIG, *args], capture_output=True, text=True, timeout=60)
    return done.stdout


def test_the_example_runs_a_whole_meeting_and_writes_the_signed_minutes(
        outcome: Outcome) -> None:
    run = outcome.run
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert outcome.out.read_bytes().startswith(b"%PDF-")
    for said in ("quorum: 14/17", "THÔNG QUA / PASSED", "← elected", "key ready",
                 "public board verified", "(Đã kiểm chứng / verified)",
                 "verification: all_valid=True complete=True", "HOÀN THÀNH / DONE"):
        assert said in run.stdout, run.stdout


def test_phonghop_verify_accepts_the_signed_minutes(outcome: Outcome) -> None:
    assert outcome.run.returncode == 0, outcome.run.stderr
    done = subprocess.run(
        [sys.executable, "-m", "phonghop", "verify", str(outcome.out), "--dev-ca",
         "--data", str(outcome.server.data_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ALL VALID" in done.stdout


def test_phonghop_verify_trusts_no_development_ca_unless_told(outcome: Outcome) -> None:
    """The demo's data directory holds a development CA: a verification that was not asked
    to trust it must not call the signatures trusted (exit 1, and it says why)."""
    assert outcome.run.returncode == 0, outcome.run.stderr
    done = subprocess.run(
        [sys.executable, "-m", "phonghop", "verify", str(outcome.out),
         "--data", str(outcome.server.data_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ALL VALID" not in done.stdout
    assert "trusted=False" in done.stdout and "no trusted roots given" in done.stderr


@pytest.mark.skipif(PDFSIG is None, reason="poppler-utils (pdfsig) is not installed; "
                    "scripts/test.sh installs it")
def test_poppler_finds_both_signatures_valid(outcome: Outcome, tmp_path: Path) -> None:
    assert outcome.run.returncode == 0, outcome.run.stderr
    report = pdfsig(str(outcome.out))
    assert report.count("Signature Validation: Signature is Valid.") == 2, report
    assert "Signature Field Name: ThuKy" in report and "Signature Field Name: ChuToa" in report
    if CERTUTIL is None:
        return  # without an NSS database the development CA is "issuer isn't Trusted"
    # With the server's development CA in an NSS database, poppler trusts the signers too.
    nss = tmp_path / "nss"
    nss.mkdir()
    for argv in (["-N", "-d", f"sql:{nss}", "--empty-password"],
                 ["-A", "-d", f"sql:{nss}", "-n", "phonghop-dev-ca", "-t", "CT,C,C",
                  "-i", str(outcome.server.data_dir / "dev-ca" / "ca.pem")]):
        subprocess.run([CERTUTIL, *argv], check=True, capture_output=True, timeout=30)
    report = pdfsig("-nssdir", f"sql:{nss}", str(outcome.out))
    assert report.count("Signature Validation: Signature is Valid.") == 2, report
    assert report.count("Certificate Validation: Certificate is Trusted.") == 2, report


def test_a_refused_step_stops_the_run_with_the_servers_code_and_message(
        tmp_path: Path) -> None:
    """Against a server without the demo accounts, the first sign-in is refused."""
    server = ServerProcess(tmp_path / "data", "serve")
    try:
        run = subprocess.run(
            [sys.executable, str(EXAMPLE), "--url", server.base_url,
             "--out", str(tmp_path / "out.pdf"), "--timeout", "10"],
            capture_output=True, text=True, timeout=60)
    finally:
        server.stop()
    assert run.returncode == 1, run.stdout + run.stderr
    assert "admin: login (HTTP 401): bad_credentials" in run.stderr, run.stderr
    assert "vi: Tên đăng nhập hoặc mật khẩu không đúng." in run.stderr
    assert "en: Wrong username or password." in run.stderr
    assert not (tmp_path / "out.pdf").exists()
