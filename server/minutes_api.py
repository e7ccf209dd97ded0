"""HTTP for the minutes: the draft as the official PDF, signatures (the secretary, then the
chair), verification, downloads and the conclusions as tasks.

Signing runs in a worker thread (pyHanko blocks); the signed file is stored as it is,
content-addressed, and only then recorded in the room log (`minutes.signed`, with its
SHA-256). A refusal at any step leaves nothing behind: the room still holds the last
good file. Verification, which reads files from anyone, runs in a PDF worker process
(documents/pool.py) under its time, CPU and memory limits: a hostile file costs a worker,
never the server.

pyHanko, PyMuPDF and the signing modules built on them are imported by the handlers that
use them, on first use: a server that is not signing right now does not load them (they
are most of a start's import time and memory).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import secrets
import uuid
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pydantic import Field
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from phonghop.documents.pool import JobFailed
from phonghop.minutes.commands import MinutesPrepared, MinutesSigned
from phonghop.minutes.draft import assemble
from phonghop.minutes.room import may_sign, signer_role, tasks
from phonghop.rooms import Rejection
from phonghop.rooms.rejections import TEXTS
from phonghop.rooms.roles import Role
from phonghop.server.api import (
    Body,
    Endpoint,
    attachment,
    audit,
    audited,
    current_user,
    is_number,
    is_organiser,
    node_of,
    parse,
    participant_room,
    pdf_download,
    read_json,
)
from phonghop.server.audit import OUTCOME_TEXTS
from phonghop.server.credential_vault import CredentialVault, Unsealable
from phonghop.server.documents_api import INTERNAL  # minutes are the meeting's own: briefly cached
from phonghop.server.http_errors import STATUS, JSONResponse, Refused
from phonghop.server.log_head import TimestampUnavailable
from phonghop.server.node import actor_of
from phonghop.server.room_host import Ack, RoomHost
from phonghop.server.signing_guard import AttemptLimiter, token_near_lockout
from phonghop.signing.errors import InvalidDocument, SigningRefused, WrongPassword, WrongPin
from phonghop.signing.errors import TimestampUnavailable as SigningTimestampUnavailable
from phonghop.signing.identity import ExpectedSigner
from phonghop.signing.minutes import LogDigest
from phonghop.store.base import StoreError
from phonghop.store.records import User

if TYPE_CHECKING:
    from phonghop.signing.signers import FileSigner
    from phonghop.signing.trust import Trust
    from phonghop.signing.verify import Problem, VerificationReport

log = logging.getLogger(__name__)
T = TypeVar("T")
SIGNERS = (Role.SECRETARY, Role.CHAIR)  # the roles that sign, in signing order
MAX_P12 = 40 * 1024  # a key, its certificate and a chain: a few KiB


class SignBody(Body):
    method: Literal["pkcs12", "pkcs11"] = "pkcs12"
    password: Annotated[str, Field(max_length=200)] = ""  # of the user's PKCS#12 file
    pin: Annotated[str, Field(max_length=64)] = ""  # of the server's token


class PrepareBody(Body):
    certificate: Annotated[str, Field(max_length=20_000)]  # PEM, the signer's
    chain: list[Annotated[str, Field(max_length=20_000)]] = Field(default_factory=list,
                                                                  max_length=5)


class FinishBody(Body):
    session: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    signature: Annotated[str, Field(max_length=200_000)]  # base64: raw value or CMS


class CredentialBody(Body):
    # The password travels in the body, never in the address: proxies log addresses.
    pkcs12: Annotated[str, Field(min_length=1)]  # base64 of the file
    password: Annotated[str, Field(max_length=200)] = ""


def _subclasses(cls: type[SigningRefused]) -> list[type[SigningRefused]]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


# Each refusal of the signing library is a refusal code of the API (wrong_password,
# certificate_expired, out_of_order, …), with the library's own texts.
for _cls in _subclasses(SigningRefused):
    TEXTS.setdefault(_cls.code, ("{detail_vi}", "{detail_en}"))
    STATUS.setdefault(_cls.code, 422)
    OUTCOME_TEXTS.setdefault(_cls.code, _cls.texts)  # the access log has no details to fill


def _refused(exc: SigningRefused) -> Refused:
    return Refused(Rejection(exc.code, {"detail_vi": exc.vi, "detail_en": exc.en}))


async def _room(request: Request, organisers: bool = False) -> tuple[User, RoomHost]:
    user = await current_user(request)
    host = await participant_room(request, user)
    if organisers and not is_organiser(host.state, user):
        raise Refused(Rejection("forbidden"))
    return user, host


def trust_of(request: Request) -> Trust | None:
    files = request.app.state.settings.trust_files()
    if not files:
        return None
    from phonghop.signing.trust import Trust

    return Trust.from_pem_files(*files)


def field_of(role: Role) -> str:
    """The signature field of a signing role."""
    from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD

    return {Role.SECRETARY: SECRETARY_FIELD, Role.CHAIR: CHAIR_FIELD}[role]


def signing_trust(request: Request) -> Trust:
    """The trusted roots to sign against; signing is refused (`no_trust_roots`) when none
    are configured, rather than producing signatures nobody can check."""
    trust = trust_of(request)
    if trust is None:
        raise Refused(Rejection("no_trust_roots"))
    return trust


# ---- the draft ----


async def _render(request: Request, host: RoomHost, *, stamp: bool = False) -> bytes:
    """The draft as a PDF; once the session has ended, with the head of the log (its
    time-stamp requested first, with `stamp`, when a service is configured and none is
    kept yet: the signing library's `timestamp_unavailable` if it gives none)."""
    try:
        head = await node_of(request).log_heads.session_end(host.room_id, stamp=stamp)
    except TimestampUnavailable as exc:  # the signing library's refusal, same code and texts
        raise _refused(SigningTimestampUnavailable(exc.detail)) from None
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    log_digest = None
    if head is not None:
        log_digest = LogDigest(seq=head.seq, sha256=head.hash.hex(),
                               stamped_at=head.stamp.stamped_at if head.stamp else None,
                               tsa=head.stamp.tsa if head.stamp else "")
    draft = assemble(host.state, datetime.now(UTC), log=log_digest)
    from phonghop.signing.layout import render_minutes

    return await asyncio.to_thread(render_minutes, draft)


async def preview(request: Request) -> Response:
    """The draft as it stands, rendered now (not recorded)."""
    _, host = await _room(request, organisers=True)
    pdf = await _render(request, host)
    audit(request, "export", meeting=host.room_id, what="minutes.preview")
    return pdf_download(pdf, "bien-ban-du-thao.pdf")


async def prepare_pdf(request: Request) -> Response:
    """Render the draft as the official PDF, keep it, and make it the one to sign."""
    user, host = await _room(request, organisers=True)
    pdf = await _render(request, host, stamp=True)
    node = node_of(request)
    sha = await asyncio.to_thread(node.library.keep, pdf)
    pages = await asyncio.to_thread(_page_count, pdf)
    outcome = await node.execute_in(host, actor_of(user), MinutesPrepared(sha256=sha,
                                                                          pages=pages))
    if isinstance(outcome, Rejection):
        raise Refused(outcome)
    return JSONResponse({"sha256": sha, "pages": pages, "seq": outcome.seq})


def _page_count(pdf: bytes) -> int:
    import pymupdf

    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return doc.page_count


def _files(host: RoomHost, organiser: bool) -> dict[str, int]:
    """The minutes' files this user may fetch, with their page counts."""
    mins = host.state.minutes
    files = {s.sha256: 0 for s in mins.signatures}
    if organiser and mins.prepared_sha256:
        files[mins.prepared_sha256] = mins.prepared_pages
    return files


async def minutes_file(request: Request) -> Response:
    user, host = await _room(request)
    sha = request.path_params["sha"]
    if sha not in _files(host, is_organiser(host.state, user)):
        raise Refused(Rejection("not_found", {"what": "tệp biên bản", "what_en": "Minutes file"}))
    path = node_of(request).library.path(sha)
    signed = bool(host.state.minutes.signatures)
    name = "bien-ban-da-ky.pdf" if signed else "bien-ban.pdf"
    audit(request, "export", meeting=host.room_id, what="minutes.file", signed=signed,
          file=sha[:16])
    return FileResponse(path, media_type="application/pdf", headers={
        "Content-Disposition": attachment(name),
        "Cache-Control": INTERNAL})


async def minutes_page(request: Request) -> Response:
    """A page image of a minutes file (the preview beside the editor)."""
    user, host = await _room(request)
    sha = request.path_params["sha"]
    files = _files(host, is_organiser(host.state, user))
    raw = request.path_params["page"]
    if sha not in files or not is_number(raw, 9) or int(raw) < 1:
        raise Refused(Rejection("not_found", {"what": "trang", "what_en": "Page"}))
    size = request.query_params.get("size", "tablet")
    if size not in ("thumb", "tablet", "hd"):
        raise Refused(Rejection("invalid", {"detail": "size: thumb|tablet|hd"}))
    try:
        image = await node_of(request).library.page(sha, int(raw), size, "webp")
    except Exception:  # past the last page, or a broken file: nothing to show
        raise Refused(Rejection("not_found", {"what": "trang", "what_en": "Page"})) from None
    return Response(image, media_type="image/webp",
                    headers={"Cache-Control": INTERNAL})


# ---- signing ----


def _signing(request: Request, host: RoomHost, user: User) -> tuple[Role, str, bytes]:
    """The role this user signs in, its field, and the file to sign; or a refusal."""
    state = host.state
    # The field that was this user's when the session ended, not their role now.
    role = signer_role(state, user.id)
    if role not in SIGNERS:
        raise Refused(Rejection("forbidden"))
    if refusal := may_sign(state, role, user.id):
        raise Refused(refusal)
    mins = state.minutes
    sha = mins.signatures[-1].sha256 if mins.signatures else mins.prepared_sha256
    assert sha is not None
    return role, field_of(role), node_of(request).library.path(sha).read_bytes()


async def _record(request: Request, host: RoomHost, user: User, role: Role,
                  signed: bytes) -> Response:
    node = node_of(request)
    sha = await asyncio.to_thread(node.library.keep, signed)
    outcome = await node.execute_in(host, actor_of(user), MinutesSigned(
        role=role.value, sha256=sha, full_name=user.full_name))
    if isinstance(outcome, Rejection):
        raise Refused(outcome)
    assert isinstance(outcome, Ack)
    return JSONResponse({"sha256": sha, "status": host.state.minutes.status,
                         "seq": outcome.seq})


async def sign(request: Request) -> Response:
    """Sign with the user's PKCS#12 credential (unlocked by its password) or the server's
    PKCS#11 token (unlocked by its PIN). Wrong passwords and PINs are limited
    (server/signing_guard.py): past the limit, `too_many_attempts` without checking."""
    from phonghop.signing.sign import sign_field
    from phonghop.signing.signers import open_token

    user, host = await _room(request)
    trust = signing_trust(request)
    body = parse(SignBody, await read_json(request))
    role, field, pdf = _signing(request, host, user)
    settings = request.app.state.settings
    expected = ExpectedSigner(user_id=str(user.id), full_name=user.full_name)
    if body.method == "pkcs12":
        signer = await _unlock_pkcs12(request, user, body.password)

        def work() -> bytes:
            return sign_field(pdf, field, signer, expected=expected, position=user.position,
                              tsa_url=settings.tsa_url, trust=trust)

        try:
            signed = await asyncio.to_thread(work)
        except SigningRefused as exc:
            raise _refused(exc) from None
        return await _record(request, host, user, role, signed)
    if not settings.pkcs11_module:
        raise Refused(Rejection("no_token"))
    guard = _guard(request)
    _reserve(guard.pins, user.id)
    if wait := guard.token.reserve(TOKEN_KEY):
        guard.pins.released(user.id)
        raise _too_many(wait)
    try:
        near = await asyncio.to_thread(token_near_lockout, settings.pkcs11_module)
    except BaseException:  # a request cancelled here gives its attempts back
        guard.pins.released(user.id)
        guard.token.released(TOKEN_KEY)
        raise
    if near:  # one more wrong PIN would lock the token for everyone: do not even try
        guard.pins.released(user.id)
        guard.token.released(TOKEN_KEY)
        raise _too_many(int(guard.token.window))
    logged_in = False

    def work_token() -> bytes:
        nonlocal logged_in
        with open_token(settings.pkcs11_module, pin=body.pin,
                        key_label=str(user.id)) as signer:
            logged_in = True
            return sign_field(pdf, field, signer, expected=expected,
                              position=user.position, tsa_url=settings.tsa_url,
                              trust=trust)

    try:
        signed = await _attempt([(guard.pins, user.id), (guard.token, TOKEN_KEY)],
                                work_token, WrongPin, lambda: logged_in)
    except SigningRefused as exc:
        raise _refused(exc) from None
    return await _record(request, host, user, role, signed)


async def _attempt(taken: list[tuple[AttemptLimiter, Hashable]], work: Callable[[], T],
                   wrong: type[Exception], checked: Callable[[], bool] = lambda: True) -> T:
    """Run `work` (in a thread) as the attempt already reserved in each limiter, and count
    how it ended: `wrong` is a failure; success, or another refusal once `checked()`, a
    success; anything else gives the attempt back. Counted when the work ends, even if
    the request is gone by then: a client that hangs up must not get a free guess."""

    def settle(done: asyncio.Future[T]) -> None:
        exc = None if done.cancelled() else done.exception()
        for limiter, key in taken:
            if done.cancelled():
                limiter.released(key)
            elif isinstance(exc, wrong):
                limiter.failed(key)
            elif exc is None or checked():
                limiter.succeeded(key)
            else:
                limiter.released(key)

    future = asyncio.ensure_future(asyncio.to_thread(work))
    future.add_done_callback(settle)
    return await asyncio.shield(future)


async def _unlock_pkcs12(request: Request, user: User, password: str) -> FileSigner:
    """The user's stored credential opened with `password`: one limited attempt."""
    from phonghop.signing.signers import load_pkcs12

    guard = _guard(request)
    vault = vault_of(request)
    _reserve(guard.passwords, user.id)
    try:
        stored = await vault.load(user.id)
    except BaseException as exc:  # a request cancelled here gives its attempt back too
        guard.passwords.released(user.id)
        if isinstance(exc, StoreError):
            raise Refused(Rejection("store_unavailable")) from None
        if isinstance(exc, Unsealable):
            # The class only: what is in the row is nobody's business in a log.
            log.warning("stored credential of user %s does not open: %s", user.id,
                        type(exc).__name__)
            raise Refused(Rejection("credential_unreadable")) from None
        raise
    if stored is None:
        guard.passwords.released(user.id)
        raise Refused(Rejection("no_credential"))
    try:
        signer = await _attempt([(guard.passwords, user.id)],
                                lambda: load_pkcs12(stored["p12"], password), WrongPassword)
    except SigningRefused as exc:
        raise _refused(exc) from None
    if not stored["modern"]:
        # Sealed at start from an older row: now that the password is here, re-export it.
        try:
            await vault.modernised(user.id, stored, password)
        except Exception as exc:  # the signature does not depend on it; next time again
            log.warning("credential of user %s not re-exported: %s", user.id,
                        type(exc).__name__)
    return signer


@dataclass
class _Guard:
    passwords: AttemptLimiter
    pins: AttemptLimiter
    token: AttemptLimiter


TOKEN_KEY = "token"


def _guard(request: Request) -> _Guard:
    state = request.app.state
    guard = getattr(state, "signing_guard", None)
    if guard is None:
        guard = state.signing_guard = _Guard(
            AttemptLimiter(), AttemptLimiter(),
            AttemptLimiter(limit=state.settings.pkcs11_pin_tries))
    return guard


def _reserve(limiter: AttemptLimiter, key: int) -> None:
    if wait := limiter.reserve(key):
        raise _too_many(wait)


def _too_many(wait: int) -> Refused:
    return Refused(Rejection("too_many_attempts", {"retry_after": wait}),
                   {"Retry-After": str(wait)})


def vault_of(request: Request) -> CredentialVault:
    """The app's credential vault (made with the app: server/app.py)."""
    return request.app.state.credential_vault


async def sign_prepare(request: Request) -> Response:
    """Two-step signing, step 1: the digest a key held elsewhere must sign."""
    from phonghop.signing.sign import prepare

    user, host = await _room(request)
    trust = signing_trust(request)
    body = parse(PrepareBody, await read_json(request))
    _, field, pdf = _signing(request, host, user)
    try:
        cert = x509.load_pem_x509_certificate(body.certificate.encode())
        chain = [x509.load_pem_x509_certificate(c.encode()) for c in body.chain]
    except ValueError:
        raise Refused(Rejection("invalid", {"detail": "certificate: not a PEM certificate"})
                      ) from None
    settings = request.app.state.settings
    expected = ExpectedSigner(user_id=str(user.id), full_name=user.full_name)
    try:
        state, digest = await asyncio.to_thread(
            prepare, pdf, field, cert, expected=expected, chain=chain,
            position=user.position, tsa_url=settings.tsa_url, trust=trust)
    except SigningRefused as exc:
        raise _refused(exc) from None
    session = secrets.token_hex(16)
    try:
        await node_of(request).store.save_signing_session(session, host.room_id, user.id,
                                                          state.to_json())
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return JSONResponse({"session": session, "digest": base64.b64encode(digest).decode(),
                         "document_digest": base64.b64encode(state.document_digest).decode(),
                         "algorithm": "sha256"})


async def sign_finish(request: Request) -> Response:
    """Two-step signing, step 2: embed the signature (raw, or a CMS SignedData)."""
    from phonghop.signing.sign import PreparedSignature, finish

    user, host = await _room(request)
    trust = signing_trust(request)
    body = parse(FinishBody, await read_json(request))
    role, _, pdf = _signing(request, host, user)
    try:
        signature = base64.b64decode(body.signature, validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise Refused(Rejection("invalid", {"detail": "signature: not base64"})) from None
    try:
        saved = await node_of(request).store.take_signing_session(body.session, host.room_id,
                                                                  user.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if saved is None:
        raise Refused(Rejection("not_found", {"what": "phiên ký", "what_en": "Signing session"}))
    state = PreparedSignature.from_json(saved)
    try:
        signed = await asyncio.to_thread(finish, state, signature, trust=trust,
                                         current_pdf=pdf)
    except SigningRefused as exc:
        raise _refused(exc) from None
    return await _record(request, host, user, role, signed)


# ---- verification, tasks, credentials ----


MAX_VERIFY = 50 * 1024 * 1024  # bytes of a PDF to verify (signed minutes are far smaller)
_PDF_MAGIC = b"%PDF-"


def report_dict(report: VerificationReport) -> dict[str, Any]:
    """A verification report as JSON: each signature, its problems in both languages."""

    def problems(found: tuple[Problem, ...]) -> list[dict[str, str]]:
        return [{"code": p.code, "detail": p.detail, "vi": p.vi, "en": p.en} for p in found]

    signatures = []
    for s in report.signatures:
        entry = asdict(s)
        entry["ok"] = s.ok
        entry["problems"] = problems(s.problems)
        signatures.append(entry)
    return {"all_valid": report.all_valid, "complete": report.complete,
            "signatures": signatures, "unsigned_fields": list(report.unsigned_fields),
            "problems": problems(report.problems)}


def _der(trust: Trust | None) -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """The trust configuration as the worker receives it: roots and intermediates (DER),
    CRLs."""
    if trust is None:
        return (), (), ()
    der = serialization.Encoding.DER
    return (tuple(c.public_bytes(der) for c in trust.roots),
            tuple(c.public_bytes(der) for c in trust.intermediates), tuple(trust.crls))


def _verify_slots(request: Request) -> asyncio.Semaphore:
    """At most half the PDF workers verify at a time: the rest keep rendering pages."""
    state = request.app.state
    slots = getattr(state, "verify_slots", None)
    if slots is None:
        slots = state.verify_slots = asyncio.Semaphore(
            max(1, node_of(request).library.pool.size // 2))
    return slots


def _verify_timeout(limit: float) -> Refused:
    wait = max(1, math.ceil(limit))
    return Refused(Rejection("verify_timeout", {"retry_after": wait}),
                   {"Retry-After": str(wait)})


async def _verify(request: Request, path: Path) -> dict[str, Any]:
    """The report of the PDF at `path`, checked in a PDF worker within the verify timeout
    (`verify_timeout` past it, or when no worker was free for as long); a file that is not
    a readable PDF is refused `invalid_document`, one that needs too much memory
    `too_complex`."""
    limit = request.app.state.settings.verify_timeout
    trust = _der(trust_of(request))
    slots = _verify_slots(request)
    try:
        await asyncio.wait_for(slots.acquire(), limit)
    except TimeoutError:
        raise _verify_timeout(limit) from None
    try:
        report = await node_of(request).library.pool.run("verify", str(path), *trust,
                                                         limit=limit)
    except JobFailed as failed:
        if failed.code == "render_timeout":
            raise _verify_timeout(limit) from None
        if failed.code == "too_complex":
            raise Refused(Rejection("too_complex")) from None
        detail = failed.detail if failed.code == "invalid_document" else "unreadable"
        raise _refused(InvalidDocument(detail)) from None
    finally:
        slots.release()
    return report_dict(report)


_REPORTS: dict[str, dict[str, Any]] = {}  # signed file -> its report (files never change)
_CHECKING: dict[str, asyncio.Future[dict[str, Any]]] = {}  # signed file -> its check


async def verify_minutes(request: Request) -> Response:
    _, host = await _room(request)
    signatures = host.state.minutes.signatures
    if not signatures:
        raise Refused(Rejection("not_found", {"what": "biên bản đã ký",
                                              "what_en": "Signed minutes"}))
    sha = signatures[-1].sha256
    report = _REPORTS.get(sha)
    if report is None:
        # Every tablet asks when the chair signs: check the file once, answer all.
        checking = _CHECKING.get(sha)
        if checking is None:
            # Its own task: a tablet that hangs up does not cancel the others' answer.
            checking = asyncio.ensure_future(
                _verify(request, node_of(request).library.path(sha)))
            _CHECKING[sha] = checking
            checking.add_done_callback(lambda done: _checked(sha, done))
        report = await asyncio.shield(checking)
        if len(_REPORTS) > 256:
            _REPORTS.clear()
        _REPORTS[sha] = report
    return JSONResponse(report)


def _checked(sha: str, done: asyncio.Future[dict[str, Any]]) -> None:
    _CHECKING.pop(sha, None)
    if not done.cancelled():
        done.exception()  # retrieved: each waiter has its own copy, or nobody waits


async def _receive_pdf(request: Request, folder: Path) -> Path:
    """The body, streamed to a temporary file in `folder`. Refused `too_large` by its
    declared length before a byte is read, or as soon as it passes the limit (a chunked
    body declares none); `empty_file`, or `invalid_document` when it is not a PDF."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_VERIFY:
        raise Refused(Rejection("too_large"))
    path = folder / f"verify-{uuid.uuid4().hex}"
    size, head = 0, b""
    try:
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_VERIFY:
                    raise Refused(Rejection("too_large"))
                if len(head) < 1024:
                    head += chunk[:1024 - len(head)]
                out.write(chunk)
        if size == 0:
            raise Refused(Rejection("empty_file"))
        if _PDF_MAGIC not in head:  # readers accept the header within the first 1 KiB
            raise _refused(InvalidDocument("not a PDF file"))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def verify_upload(request: Request) -> Response:
    """Verify any PDF (the body): each signature, its signer, integrity, trust, changes."""
    await current_user(request)
    path = await _receive_pdf(request, node_of(request).library.tmp)
    try:
        return JSONResponse(await _verify(request, path))
    finally:
        path.unlink(missing_ok=True)


async def log_head(request: Request) -> Response:
    """The head of the meeting's log at the end of the session, as the minutes print it:
    the hash of that event (covering every event before it) and its RFC 3161 token."""
    _, host = await _room(request)
    try:
        head = await node_of(request).log_heads.session_end(host.room_id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if head is None:
        raise Refused(Rejection("not_found", {"what": "mã băm nhật ký cuối phiên họp",
                                              "what_en": "The log's head at the session's end"}))
    return JSONResponse(head.to_json())


async def task_list(request: Request) -> Response:
    _, host = await _room(request, organisers=True)
    audit(request, "export", meeting=host.room_id, what="minutes.tasks")
    return JSONResponse({"meeting": host.room_id, "tasks": tasks(host.state)})


async def upload_credential(request: Request) -> Response:
    """Keep my PKCS#12 file, once it opens with its password, names me and is valid now."""
    from phonghop.signing.signers import load_pkcs12

    user = await current_user(request)
    body = parse(CredentialBody, await read_json(request))
    try:
        data = base64.b64decode(body.pkcs12, validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise Refused(Rejection("invalid", {"detail": "pkcs12: not base64"})) from None
    if len(data) > MAX_P12:
        raise Refused(Rejection("too_large"))
    try:
        signer = await asyncio.to_thread(load_pkcs12, data, body.password)
        from phonghop.signing.identity import check_signer, check_validity

        cert = signer.signing_cert
        check_signer(cert, ExpectedSigner(user_id=str(user.id), full_name=user.full_name))
        check_validity(cert)
    except SigningRefused as exc:
        raise _refused(exc) from None
    c = x509.load_der_x509_certificate(cert.dump())
    try:
        # Re-exported with modern parameters and sealed with the KEK before it is stored.
        await vault_of(request).save(user.id, data, body.password, c.subject.rfc4514_string(),
                                     c.not_valid_after_utc)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    # Which certificate (its SHA-256 fingerprint and expiry): never the file or password.
    audit(request, "credential.upload", fingerprint=c.fingerprint(hashes.SHA256()).hex(),
          not_after=c.not_valid_after_utc.isoformat())
    return JSONResponse({"subject": c.subject.rfc4514_string(),
                         "not_after": c.not_valid_after_utc.isoformat()}, status_code=201)


MIN = "/api/meetings/{meeting}/minutes"
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", MIN + "/preview.pdf", preview, "The draft minutes as PDF, rendered now"),
    Endpoint("POST", MIN + "/prepare", prepare_pdf,
             "Render the draft as the official PDF to sign (organisers)"),
    Endpoint("GET", MIN + "/files/{sha}", minutes_file, "A minutes file (prepared or signed)"),
    Endpoint("GET", MIN + "/files/{sha}/pages/{page}", minutes_page,
             "A page image of a minutes file (?size=thumb|tablet|hd)"),
    Endpoint("POST", MIN + "/sign", sign,
             "Sign: the secretary first, then the chair (PKCS#12 password or token PIN)",
             SignBody),
    Endpoint("POST", MIN + "/sign/prepare", sign_prepare,
             "Two-step signing: the digest for a key held elsewhere", PrepareBody),
    Endpoint("POST", MIN + "/sign/finish", sign_finish,
             "Two-step signing: embed the signature", FinishBody),
    Endpoint("GET", MIN + "/verify", verify_minutes, "Verify the signed minutes"),
    Endpoint("GET", MIN + "/tasks.json", task_list, "The conclusions as tasks"),
    Endpoint("GET", MIN + "/log-head", log_head,
             "The log's hash at the end of the session, as printed, and its time-stamp"),
    Endpoint("POST", "/api/verify", verify_upload, "Verify the signatures of any PDF (body)"),
    Endpoint("POST", "/api/me/credential", audited("credential.upload", upload_credential),
             "Keep my PKCS#12 signing credential (base64 file and its password)",
             CredentialBody),
]
