"""The HTTP API: sign-in, accounts and the meeting catalogue, all as JSON.

Every meeting edit is a room command: it goes through the same core, log and fan-out as
the websocket, so a change made here appears live in every open room at once.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from phonghop.meeting_room import me_view, parse_command, parse_create, room_view
from phonghop.rooms import Rejection
from phonghop.rooms import commands as c
from phonghop.rooms.roles import ORGANISERS
from phonghop.server import metrics
from phonghop.server.auth import password_problem, session_cookie, token_hash
from phonghop.server.client_address import client_address
from phonghop.server.http_errors import JSONResponse, Refused
from phonghop.server.log_audit import RoomRefused
from phonghop.server.login_limits import Attempt, attempt_for
from phonghop.server.node import Node, actor_of
from phonghop.server.password_hashing import PasswordsBusy
from phonghop.server.room_host import Outcome, RoomHost
from phonghop.store.base import Duplicate, StoreError
from phonghop.store.records import User

MAX_BODY = 64 * 1024


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_nfc)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Password = Annotated[str, Field(min_length=1, max_length=256)]
Text200 = Annotated[str, Field(max_length=200), AfterValidator(_nfc)]


class LoginBody(Body):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password
    # "device": an API client that keeps the token itself (the answer carries it);
    # "browser" (the default): the token travels only in the HttpOnly cookie.
    client: Literal["browser", "device"] = "browser"


class NewUserBody(Body):
    username: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_.@-]{2,64}$")]
    password: Password
    full_name: Name
    position: Text200 = ""
    unit: Text200 = ""
    is_admin: bool = False


class EditUserBody(Body):
    full_name: Name | None = None
    position: Text200 | None = None
    unit: Text200 | None = None
    is_admin: bool | None = None


class NewPasswordBody(Body):
    new_password: Password


class ChangePasswordBody(Body):
    old_password: Password
    new_password: Password


class CommandBody(Body):
    name: str
    args: dict[str, Any] = {}
    id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Callable[[Request], Awaitable[Response]]
    summary: str
    body: type[BaseModel] | None = None
    public: bool = False


# ---- request helpers ----


async def read_json(request: Request) -> Any:
    """The request's JSON body, bounded in size; refusals for anything else."""
    if "application/json" not in request.headers.get("content-type", ""):
        raise Refused(Rejection("invalid", {"detail": "Content-Type must be application/json"}))
    size = int(request.headers.get("content-length") or 0)
    if size > MAX_BODY:
        raise Refused(Rejection("too_large"))
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(Rejection("too_large"))
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refused(Rejection("malformed_json")) from None


def parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        raise Refused(Rejection("invalid", {"detail": f"{where}: {err['msg']}"[:200]})) from None


def cookie_name(request: Request) -> str:
    return session_cookie(request.app.state.settings.secure_cookies)


def bearer(request: Request) -> str | None:
    """The session token: `Authorization: Bearer …` (API clients) or the session cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(cookie_name(request))


async def current_session(request: Request) -> tuple[User, str]:
    """The signed-in user and their session's token hash, or `unauthenticated`."""
    node: Node = request.app.state.node
    token = bearer(request)
    try:
        user = await node.accounts.user_for_token(token)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if user is None or token is None:
        raise Refused(Rejection("unauthenticated"))
    request.state.user = user  # who acts, for the access log's record of a refusal
    return user, token_hash(token)


async def current_user(request: Request) -> User:
    return (await current_session(request))[0]


async def current_admin(request: Request) -> User:
    """The signed-in administrator, or `forbidden` (checked before the body is read)."""
    user = await current_user(request)
    if not user.is_admin:
        raise Refused(Rejection("forbidden"))
    return user


def node_of(request: HTTPConnection) -> Node:
    return request.app.state.node


def audit(request: HTTPConnection, kind: str, outcome: str = "ok", **fields: Any) -> None:
    """Record `kind` in the access log (server/audit.py), from this client's address; the
    actor is the signed-in user unless `actor` (or a sign-in's `username`) is given."""
    if "actor" not in fields and "username" not in fields:
        user = getattr(request.state, "user", None)
        fields["actor"] = user.id if user is not None else None
    node_of(request).audit.record(kind, outcome, address=address_of(request), **fields)


def audited(kind: str, handler: Callable[[Request], Awaitable[Response]], *,
            refusals: frozenset[str] | None = None, target: str | None = None,
            ) -> Callable[[Request], Awaitable[Response]]:
    """`handler`, with its refusals to a signed-in user recorded as `kind` (all of them, or
    only the codes in `refusals`); `target` names the path parameter of the account acted
    upon. Successes are recorded by the handler itself, which knows what to say."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refused:
            code = refused.rejection.code
            if getattr(request.state, "user", None) is not None and (
                    refusals is None or code in refusals):
                # The path's ids (meeting, document, poll, account…), never its text.
                ids = {k: int(v) for k, v in request.path_params.items()
                       if isinstance(v, str) and is_number(v)}
                audit(request, kind, code, meeting=ids.pop("meeting", None),
                      target=ids.pop(target, None) if target else None, **ids,
                      **_reason(refused))
            raise

    return wrapped


def _reason(refused: Refused) -> dict[str, str]:
    """What was wrong with an `invalid` request (a field's name and rule: our own words,
    never the value sent), for the access log."""
    detail = refused.rejection.details.get("detail")
    return {"reason": detail} if refused.rejection.code == "invalid" and \
        isinstance(detail, str) else {}


def is_number(raw: str, digits: int = 10) -> bool:
    """At most `digits` ASCII digits: what an id, page or count in a path or query may be
    (`str.isdigit` also admits '²' and other digits `int` refuses)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= digits


def _id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not is_number(raw):
        raise Refused(Rejection("not_found", {"what": "mục", "what_en": "Item"}))
    return int(raw)


# ---- sign-in ----


async def login(request: Request) -> Response:
    node = node_of(request)
    data = await read_json(request)
    typed = data.get("username") if isinstance(data, dict) else None
    name = typed if isinstance(typed, str) else None
    try:
        user, token, client = await _sign_in(request, node, data)
    except Refused as refused:
        # The name as an account id, or its keyed hash (server/audit.py); never the text,
        # nor the password. An overlong name is told by its length.
        extra = {"name_length": len(name)} if name is not None and len(name) > 64 else {}
        audit(request, "signin", refused.rejection.code, username=name,
              **extra, **_reason(refused))
        raise
    audit(request, "signin", actor=user.id, client=client)
    answer: dict[str, Any] = {"user": user.public()}
    if client == "device":
        answer["token"] = token
    response = JSONResponse(answer)
    _set_cookie(request, response, token)
    return response


async def _sign_in(request: Request, node: Node, data: Any) -> tuple[User, str, str]:
    """Check the name and password: the user, a new session's token, and the client kind."""
    body = parse(LoginBody, data)
    attempt = attempt_for(body.username, address_of(request))
    async with _password_check(node, attempt) as check:
        user = await node.accounts.verify(body.username, body.password)
        if user is None:
            raise Refused(Rejection("bad_credentials"))
        check.right = True
        if user.disabled:  # told only to whoever knows the password, after the same work
            raise Refused(Rejection("account_disabled"))
    try:
        token = await node.accounts.open_session(user)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return user, token, body.client


def address_of(request: HTTPConnection) -> str:
    """The client's address (X-Forwarded-For believed only from trusted proxies)."""
    return client_address(request.client.host if request.client else None,
                          request.headers.getlist("x-forwarded-for"),
                          request.app.state.trusted_proxies)


class _Check:
    right = False


@contextlib.asynccontextmanager
async def _password_check(node: Node, attempt: Attempt) -> AsyncIterator[_Check]:
    """Reserve an attempt before a password is checked, and settle it afterwards.

    Wrong (the block raised before setting `right`): the attempt stays spent. Right: the
    account's bucket refills. Nothing checked (busy, store down): the attempt comes back.
    """
    wait = await node.accounts.limits.reserve(attempt)
    if wait:
        raise Refused(Rejection("too_many_attempts", {"retry_after": wait}),
                      {"Retry-After": str(wait)})
    limits = node.accounts.limits
    check = _Check()
    try:
        yield check
    except PasswordsBusy:
        await limits.released(attempt)
        raise Refused(Rejection("busy"), {"Retry-After": "1"}) from None
    except StoreError:
        await limits.released(attempt)
        raise Refused(Rejection("store_unavailable")) from None
    except Refused:  # a refusal after the check (wrong password, disabled account)
        await (limits.succeeded if check.right else limits.failed)(attempt)
        raise
    except BaseException:
        await limits.released(attempt)
        raise
    else:
        await (limits.succeeded if check.right else limits.failed)(attempt)


async def _new_hash(node: Node, password: str) -> str:
    try:
        return await node.accounts.hash_password(password)
    except PasswordsBusy:
        raise Refused(Rejection("busy"), {"Retry-After": "1"}) from None


def _set_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        cookie_name(request), token, max_age=int(settings.session_days * 86400),
        httponly=True, samesite="lax", secure=settings.secure_cookies, path="/",
    )


def _clear_cookie(request: Request, response: Response) -> None:
    secure = request.app.state.settings.secure_cookies
    response.delete_cookie(cookie_name(request), path="/", secure=secure, httponly=True,
                           samesite="lax")


async def logout(request: Request) -> Response:
    """End this session, on every node at once."""
    _, key = await current_session(request)
    try:
        await node_of(request).keeper.end_session(key)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    audit(request, "signout")
    response = JSONResponse({"ok": True})
    _clear_cookie(request, response)
    return response


async def revoke_my_sessions(request: Request) -> Response:
    """Sign out everywhere: every session of the account ends, this one included."""
    user, _ = await current_session(request)
    node = node_of(request)
    try:
        ended = await node.store.end_sessions(user.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    await node.keeper.ended_for_user(user.id)
    audit(request, "sessions.revoke", ended=ended)
    response = JSONResponse({"ok": True, "ended": ended})
    _clear_cookie(request, response)
    return response


async def change_my_password(request: Request) -> Response:
    """Change one's own password (the old one is required); the account's other sessions
    end on every node, this one stays."""
    user, key = await current_session(request)
    node = node_of(request)
    body = parse(ChangePasswordBody, await read_json(request))
    # Guessing the old password here is limited like signing in.
    async with _password_check(node, attempt_for(user.username, address_of(request))) as check:
        if await node.accounts.verify(user.username, body.old_password) is None:
            raise Refused(Rejection("bad_credentials"))
        check.right = True
    if body.new_password == body.old_password:
        raise Refused(Rejection("weak_password", {"detail": "same as the old password"}))
    _check_password(body.new_password, user.username)
    new_hash = await _new_hash(node, body.new_password)
    try:
        await node.store.set_password(user.id, new_hash, datetime.now(UTC), keep=key)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    await node.keeper.ended_for_user(user.id, keep=key)
    audit(request, "password.change")
    return JSONResponse({"ok": True})


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise Refused(Rejection("weak_password", {"detail": problem}))


async def me(request: Request) -> Response:
    return JSONResponse({"user": (await current_user(request)).public()})


# ---- accounts ----


async def list_users(request: Request) -> Response:
    await current_admin(request)
    try:
        users = await node_of(request).store.list_users()
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    return JSONResponse({"users": [u.account() for u in users]})


async def create_user(request: Request) -> Response:
    await current_admin(request)
    body = parse(NewUserBody, await read_json(request))
    _check_password(body.password, body.username)
    try:
        created = await node_of(request).store.create_user(
            body.username, await _new_hash(node_of(request), body.password),
            body.full_name, body.position,
            body.unit, body.is_admin,
        )
    except Duplicate:
        taken = Rejection("duplicate", {"what": "Tên đăng nhập", "what_en": "Username"})
        raise Refused(taken) from None
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    audit(request, "account.create", target=created.id, is_admin=created.is_admin)
    return JSONResponse({"user": created.account()}, status_code=201)


async def _target(request: Request, admin: User, own: bool = False) -> User:
    """The path's {user} account; `own_account` when it is the administrator's own and
    `own` forbids that (so that no administrator can lock themselves out)."""
    user_id = _id(request, "user")
    if own and user_id == admin.id:
        raise Refused(Rejection("own_account"))
    try:
        found = (await node_of(request).store.users_by_id([user_id])).get(user_id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if found is None:
        raise Refused(Rejection("not_found", {"what": "tài khoản", "what_en": "Account"}))
    return found


async def edit_user(request: Request) -> Response:
    """Edit an account's name, position, unit and administrator flag. A change of the flag
    ends the account's sessions (its rights are taken at sign-in)."""
    admin = await current_admin(request)
    body = parse(EditUserBody, await read_json(request))
    target = await _target(request, admin)
    if target.id == admin.id and body.is_admin is False:
        raise Refused(Rejection("own_account"))
    is_admin = target.is_admin if body.is_admin is None else body.is_admin
    node = node_of(request)
    try:
        edited = await node.store.update_user(
            target.id, body.full_name if body.full_name is not None else target.full_name,
            body.position if body.position is not None else target.position,
            body.unit if body.unit is not None else target.unit, is_admin)
        if edited is not None and is_admin != target.is_admin:
            await node.store.end_sessions(target.id)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if edited is None:
        raise Refused(Rejection("not_found", {"what": "tài khoản", "what_en": "Account"}))
    if is_admin != target.is_admin:
        await node.keeper.ended_for_user(target.id)
    else:
        await node.keeper.refreshed(target.id)
    # Which fields changed, and the administrator flag as it now is: not the names.
    changed = [f for f in ("full_name", "position", "unit", "is_admin")
               if getattr(edited, f) != getattr(target, f)]
    audit(request, "account.update", target=target.id, changed=",".join(changed),
          is_admin=edited.is_admin)
    return JSONResponse({"user": edited.account()})


async def disable_user(request: Request) -> Response:
    """Disable an account: it cannot sign in, and its sessions end on every node."""
    admin = await current_admin(request)
    target = await _target(request, admin, own=True)
    node = node_of(request)
    try:
        updated = await node.store.set_disabled(target.id, datetime.now(UTC))
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if updated is None:
        raise Refused(Rejection("not_found", {"what": "tài khoản", "what_en": "Account"}))
    await node.keeper.ended_for_user(target.id)
    audit(request, "account.disable", target=target.id)
    return JSONResponse({"user": updated.account()})


async def enable_user(request: Request) -> Response:
    admin = await current_admin(request)
    target = await _target(request, admin)
    try:
        updated = await node_of(request).store.set_disabled(target.id, None)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    if updated is None:
        raise Refused(Rejection("not_found", {"what": "tài khoản", "what_en": "Account"}))
    audit(request, "account.enable", target=target.id)
    return JSONResponse({"user": updated.account()})


async def reset_password(request: Request) -> Response:
    """Set another account's password; its sessions end on every node. One's own password
    changes through /api/me/password, which asks for the old one."""
    admin = await current_admin(request)
    body = parse(NewPasswordBody, await read_json(request))
    target = await _target(request, admin, own=True)
    _check_password(body.new_password, target.username)
    node = node_of(request)
    try:
        new_hash = await _new_hash(node_of(request), body.new_password)
        await node.store.set_password(target.id, new_hash, datetime.now(UTC))
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    await node.keeper.ended_for_user(target.id)
    audit(request, "account.password_reset", target=target.id)
    return JSONResponse({"ok": True})


# ---- meetings ----


async def list_meetings(request: Request) -> Response:
    user = await current_user(request)
    scope = request.query_params.get("scope", "mine")
    day = request.query_params.get("date")
    if scope not in ("mine", "all") or (scope == "all" and not user.is_admin):
        raise Refused(Rejection("forbidden" if scope == "all" else "invalid",
                                {"detail": "scope: mine or all"}))
    if day is not None and not (len(day) == 10 and day[4] == "-" and day[7] == "-"):
        raise Refused(Rejection("invalid", {"detail": "date: YYYY-MM-DD"}))
    rows = await node_of(request).store.list_meetings(None if scope == "all" else user.id, day)
    return JSONResponse({"meetings": rows})


async def create_meeting(request: Request) -> Response:
    user = await current_user(request)
    command = parse_create(await read_json(request))
    if isinstance(command, Rejection):
        raise Refused(command)
    room_id, outcome = await node_of(request).create_meeting(actor_of(user), command)
    if isinstance(outcome, Rejection):
        raise Refused(outcome)
    return await _room_response(request, user, room_id, outcome, status=201)


def is_organiser(state: Any, user: User) -> bool:
    """The chair, the secretary, or an administrator of the organisation."""
    return user.is_admin or state.role_of(user.id) in ORGANISERS


def attachment(name: str) -> str:
    """A Content-Disposition that keeps a Vietnamese file name intact (RFC 6266)."""
    return f"attachment; filename*=UTF-8''{quote(name)}"


def pdf_download(data: bytes, name: str) -> Response:
    """A PDF made for this request: downloaded under `name`, never cached."""
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": attachment(name), "Cache-Control": "private, no-store"})


async def participant_room(request: Request, user: User) -> RoomHost:
    """The room of the path's {meeting} if `user` takes part in it (or administers), else
    a refusal: not_found, not_participant, store_unavailable."""
    try:
        host = await node_of(request).room(_id(request, "meeting"))
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None
    except RoomRefused as exc:  # its log or a ballot box failed the checks at load
        raise Refused(exc.rejection) from None
    if host is None:
        raise Refused(Rejection("not_found", {"what": "cuộc họp", "what_en": "Meeting"}))
    if host.state.role_of(user.id) is None and not user.is_admin:
        raise Refused(Rejection("not_participant"))
    return host


async def get_meeting(request: Request) -> Response:
    user = await current_user(request)
    host = await participant_room(request, user)
    return JSONResponse(_view(host.state, user, host.room_id))


def _view(state: Any, user: User, room_id: int) -> dict[str, Any]:
    return {
        "id": room_id, "seq": state.seq, "room": room_view(state, user.id, user.is_admin),
        "me": me_view(state, user.id, user.is_admin),
    }


async def _room_response(
    request: Request, user: User, room_id: int, outcome: Outcome, status: int = 200
) -> Response:
    if isinstance(outcome, Rejection):
        raise Refused(outcome)
    host = await node_of(request).room(room_id)
    assert host is not None
    # What the command changed, as the websocket tells it: its events this user may see
    # (null when no longer at hand: a duplicate; GET the room then), not the whole room.
    return JSONResponse({
        "id": room_id, "ack": {"seq": outcome.seq, "duplicate": outcome.duplicate},
        "events": host.events_of(outcome, user.id, user.is_admin),
    }, status_code=status)


def room_command(name: str, path_args: dict[str, str] | None = None, body: bool = True):
    """A handler that turns the request into the room command `name`."""

    async def handler(request: Request) -> Response:
        user = await current_user(request)
        room_id = _id(request, "meeting")
        args = dict(await read_json(request)) if body else {}
        if not isinstance(args, dict):
            raise Refused(Rejection("invalid", {"detail": "body must be an object"}))
        for arg, param in (path_args or {}).items():
            args[arg] = _id(request, param)
        command = parse_command(name, args)
        if isinstance(command, Rejection):
            raise Refused(command)
        key = request.headers.get("idempotency-key")
        outcome = await node_of(request).execute(room_id, actor_of(user), command, key,
                                                 address_of(request))
        return await _room_response(request, user, room_id, outcome)

    return handler


async def any_command(request: Request) -> Response:
    user = await current_user(request)
    room_id = _id(request, "meeting")
    body = parse(CommandBody, await read_json(request))
    command = parse_command(body.name, body.args)
    if isinstance(command, Rejection):
        raise Refused(command)
    outcome = await node_of(request).execute(room_id, actor_of(user), command,
                                             body.id, address_of(request))
    return await _room_response(request, user, room_id, outcome)


async def healthz(request: Request) -> Response:
    node = node_of(request)
    # bus_dropped: messages refused for a missing or wrong HMAC (a forged publish on Redis).
    # password_checks_busy: sign-ins answered `busy` (the hashing queue was full);
    # sockets_refused: websockets refused for an account's limit on this node;
    # audit_lost: access-log records dropped while the store was down (server/audit.py);
    # commands_forwarded: room commands handed to another node's writer, by answer.
    hashing = node.accounts.hashing
    return JSONResponse({"status": "ok", "store": node.store.name, "bus": node.bus.name,
                         "node": node.id, "bus_dropped": getattr(node.bus, "dropped", 0),
                         "password_checks_busy": hashing.refused,
                         "sockets_refused": node.user_limits.refused_sockets,
                         "audit_lost": node.audit.lost,
                         "commands_forwarded": metrics.forwarded()})


M = "/api/meetings/{meeting}"
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/healthz", healthz, "Liveness and the backends in use", public=True),
    Endpoint("POST", "/api/login", login, "Sign in with username and password", LoginBody, True),
    Endpoint("POST", "/api/logout", logout,
             "Sign out: ends the session and its websockets on every node"),
    Endpoint("GET", "/api/me", me, "The signed-in account"),
    Endpoint("POST", "/api/me/password", audited("password.change", change_my_password),
             "Change my password (the old one is required); my other sessions end",
             ChangePasswordBody),
    Endpoint("POST", "/api/me/sessions/revoke", revoke_my_sessions,
             "Sign out everywhere: every session of my account ends"),
    Endpoint("GET", "/api/users", list_users, "All accounts (administrator)"),
    Endpoint("POST", "/api/users", audited("account.create", create_user),
             "Create an account (administrator)", NewUserBody),
    Endpoint("PATCH", "/api/users/{user}", audited("account.update", edit_user, target="user"),
             "Edit an account: name, position, unit, administrator flag (administrator)",
             EditUserBody),
    Endpoint("POST", "/api/users/{user}/disable",
             audited("account.disable", disable_user, target="user"),
             "Disable an account; its sessions end (administrator)"),
    Endpoint("POST", "/api/users/{user}/enable",
             audited("account.enable", enable_user, target="user"),
             "Enable a disabled account again (administrator)"),
    Endpoint("POST", "/api/users/{user}/password",
             audited("account.password_reset", reset_password, target="user"),
             "Reset an account's password; its sessions end (administrator)", NewPasswordBody),
    Endpoint("GET", "/api/meetings", list_meetings, "My meetings (?scope=mine|all&date=)"),
    Endpoint("POST", "/api/meetings", create_meeting, "Create a meeting (administrator)",
             c.MeetingCreate),
    Endpoint("GET", M, get_meeting, "A meeting's room view"),
    Endpoint("PATCH", M, room_command("meeting.update"), "Edit a meeting", c.MeetingUpdate),
    Endpoint("POST", M + "/invite", room_command("meeting.invite", body=False),
             "Send the invitations (draft → invited)"),
    Endpoint("POST", M + "/sites", room_command("site.add"), "Add an online site", c.SiteAdd),
    Endpoint("POST", M + "/participants", room_command("participant.add"),
             "Add a participant", c.ParticipantAdd),
    Endpoint("PATCH", M + "/participants/{user}",
             room_command("participant.update", {"user_id": "user"}),
             "Change a participant's role, site or vote (giving the chair or the "
             "secretary's role moves it)", c.ParticipantUpdate),
    Endpoint("DELETE", M + "/participants/{user}",
             room_command("participant.remove", {"user_id": "user"}, body=False),
             "Remove a participant"),
    Endpoint("POST", M + "/agenda", room_command("agenda.add"), "Add an agenda item",
             c.AgendaAdd),
    Endpoint("PATCH", M + "/agenda/{item}", room_command("agenda.update", {"item_id": "item"}),
             "Edit an agenda item", c.AgendaUpdate),
    Endpoint("DELETE", M + "/agenda/{item}",
             room_command("agenda.remove", {"item_id": "item"}, body=False),
             "Remove an agenda item"),
    Endpoint("POST", M + "/agenda/order", room_command("agenda.reorder"),
             "Reorder the agenda", c.AgendaReorder),
    Endpoint("POST", M + "/rsvp", room_command("rsvp"),
             "Answer the invitation: attend, absent with a reason, or ask to send a "
             "substitute (an organiser approves)", c.Rsvp),
    Endpoint("POST", M + "/substitutes/{user}/approve",
             room_command("substitute.approve", {"user_id": "user"}, body=False),
             "Approve a member's substitute (organisers): they take the member's seat"),
    Endpoint("POST", M + "/substitutes/{user}/refuse",
             room_command("substitute.refuse", {"user_id": "user"}),
             "Refuse a member's substitute (organisers), with an optional reason",
             c.SubstituteRefuse),
    Endpoint("POST", M + "/commands", any_command, "Any room command (as on the websocket)",
             CommandBody),
]
