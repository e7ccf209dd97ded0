"""Bounded work: what one signed-in user can make the server do with `POST /api/verify`.

The attacker has an account (any account may verify a PDF) and sends: a body that claims
400 MB, a chunked body that never ends, files that are not PDFs, and a PDF built to keep
the verifier busy (20,000 signatures). Each gets its typed refusal, the server holds none
of it in memory, and the next honest file is verified as usual.

Verification hardly touches the store, so these run on the embedded backend only, on a
server of their own (its verify timeout is shortened to keep the suite fast).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pymupdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from tests.conftest import PASSWORD, Api, ServerProcess, login
from tests.server.conftest import assert_refusal

VERIFY_TIMEOUT = 6  # seconds: PHONGHOP_VERIFY_TIMEOUT of the server under attack
MIB = 1 << 20
MAX_VERIFY = 50 * MIB  # server/minutes_api.py MAX_VERIFY


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("bounded"), "demo",
                         env={"PHONGHOP_VERIFY_TIMEOUT": str(VERIFY_TIMEOUT)})
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
async def attacker(server: ServerProcess) -> Api:
    """An ordinary signed-in account, no meeting needed."""
    admin = await login(server.base_url, "admin", "demo1234")
    r = await admin.call("POST", "/api/users", {"username": "ke_tan_cong", "password": PASSWORD,
                                                "full_name": "Kẻ tấn công"})
    assert r.status_code == 201, r.text
    return await login(server.base_url, "ke_tan_cong")


def rss_bytes(pid: int) -> int:
    """The resident memory of a process now (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def leftovers(server: ServerProcess) -> list[str]:
    """Temporary files of verifications still on disk."""
    tmp = server.data_dir / "documents" / "tmp"
    return [n for n in os.listdir(tmp) if n.startswith("verify-")]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response: status, headers (lower-case names), body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip()
               for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def request_head(server: ServerProcess, api: Api, *extra: str) -> bytes:
    lines = ["POST /api/verify HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
             f"Authorization: Bearer {api.token}", "Content-Type: application/pdf", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_body_that_claims_400_mb_is_refused_before_a_byte_of_it_is_sent(
    server: ServerProcess, attacker: Api,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        # Only the headers: the refusal must come without the server waiting for the body.
        writer.write(request_head(server, attacker, "Content-Length: 400000000"))
        await writer.drain()
        status, _, body = await asyncio.wait_for(read_response(reader), 30)
    finally:
        writer.close()
    assert status == 413
    assert_refusal(orjson.loads(body), "too_large")
    assert not leftovers(server)


async def test_a_chunked_body_that_never_ends_is_cut_off_at_the_limit_and_never_held(
    server: ServerProcess, attacker: Api,
) -> None:
    pid = server.proc.pid
    before = rss_bytes(pid)
    peak, sent, chunk = before, 0, b"%PDF-1.7\n" + b"\0" * (MIB - 9)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    answer = asyncio.ensure_future(read_response(reader))
    try:
        writer.write(request_head(server, attacker, "Transfer-Encoding: chunked"))
        # Up to 400 MiB, 1 MiB a chunk, until the server answers or stops reading.
        while not answer.done() and sent < 400 * MIB:
            writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            try:
                await asyncio.wait_for(writer.drain(), 10)
            except (ConnectionError, TimeoutError):
                break
            sent += len(chunk)
            peak = max(peak, rss_bytes(pid))
        status, _, body = await asyncio.wait_for(answer, 30)
    finally:
        answer.cancel()
        writer.close()
    assert status == 413
    assert_refusal(orjson.loads(body), "too_large")
    # Refused once past the limit (give or take the sockets' buffers), not at the end...
    assert sent < MAX_VERIFY + 32 * MIB, sent
    # ...and the body went to disk as it came, not into the server's memory.
    assert peak - before < 32 * MIB, (before, peak)
    assert not leftovers(server)


async def test_files_that_are_not_readable_pdfs_are_refused_typed_not_with_an_error(
    server: ServerProcess, attacker: Api,
) -> None:
    real = pymupdf.open()
    real.new_page().insert_text((72, 72), "Biên bản")
    pdf = real.tobytes()
    cases = {
        "an image": (b"GIF89a" + os.urandom(2000), "invalid_document"),
        "a PDF header over noise": (b"%PDF-1.7\n" + os.urandom(20000), "invalid_document"),
        "a PDF cut in half": (pdf[: len(pdf) // 2], "invalid_document"),
        "nothing": (b"", "empty_file"),
    }
    async with attacker.client() as c:
        for what, (body, code) in cases.items():
            r = await c.post("/api/verify", content=body)
            assert r.status_code == 422, (what, r.status_code, r.text)
            assert_refusal(r.json(), code)
        # The worker that read them still verifies an honest (unsigned) file.
        r = await c.post("/api/verify", content=pdf)
    assert r.status_code == 200, r.text
    assert r.json()["problems"][0]["code"] == "no_signatures"
    assert not leftovers(server)


def many_signatures(count: int) -> bytes:
    """A small PDF with `count` signature fields, each with a (self-signed, mismatched)
    CMS signature: about 2 ms of pyHanko each, 40 s in all."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kẻ tấn công")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cms = (pkcs7.PKCS7SignatureBuilder().set_data(b"x").add_signer(cert, key, hashes.SHA256())
           .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature]))
    objects = [b"", b"<< /Type /Pages /Kids [] /Count 0 >>",
               b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
               b"/ByteRange [0 10 20 10] /Contents <" + cms.hex().encode() + b"> >>"]
    fields = []
    for i in range(count):
        objects.append(b"<< /FT /Sig /T (s%d) /V 3 0 R >>" % i)
        fields.append(b"%d 0 R" % len(objects))
    objects[0] = (b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["
                  + b" ".join(fields) + b"] >> >>")
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


async def test_a_pdf_built_to_keep_the_verifier_busy_is_stopped_at_the_timeout(
    server: ServerProcess, attacker: Api,
) -> None:
    bomb = many_signatures(20_000)
    assert len(bomb) < 2 * MIB
    async with attacker.client() as c:
        r = await c.post("/api/verify", content=bomb, timeout=VERIFY_TIMEOUT * 10)
        assert r.status_code == 503, r.text
        body: dict[str, Any] = r.json()
        assert_refusal(body, "verify_timeout")
        assert int(r.headers["retry-after"]) == VERIFY_TIMEOUT
        assert str(VERIFY_TIMEOUT) in body["message"]["en"]
        # The stuck worker was replaced: the next honest file is verified.
        honest = pymupdf.open()
        honest.new_page()
        r = await c.post("/api/verify", content=honest.tobytes(), timeout=VERIFY_TIMEOUT * 10)
    assert r.status_code == 200, r.text
    assert r.json()["all_valid"] is False
    assert not leftovers(server)
