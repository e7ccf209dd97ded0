"""HTTP for the access log (administrators): a page of records with filters, and the CSV.

Every query parameter is bounded and typed (`invalid` names the one at fault): times as a
date (a day in Vietnam time) or an ISO 8601 instant, a username, known kinds, an outcome,
a meeting id, the paging cursor and the page size. A non-administrator is refused
`forbidden`, and that refusal is itself recorded (`audit.read`). Each CSV export is
recorded (`export`, `audit.csv`); reading pages is not.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from phonghop.rooms import Rejection
from phonghop.server.api import (
    Endpoint,
    attachment,
    audit,
    audited,
    current_admin,
    is_number,
    node_of,
)
from phonghop.server.audit import (
    KINDS,
    VIETNAM,
    kind_text,
    outcome_text,
    utc_stamp,
    vietnam_time,
)
from phonghop.server.http_errors import JSONResponse, Refused
from phonghop.store.audit import AuditQuery, AuditRecord
from phonghop.store.base import Store, StoreError
from phonghop.store.records import User

PAGE = 50
MAX_PAGE = 200
CSV_CHUNK = 1000
FILTERS = ("since", "until", "user", "kind", "outcome", "meeting")
PAGING = ("before", "limit")
_USERNAME = re.compile(r"[^\x00-\x1f\x7f]{1,64}")


def _invalid(detail: str) -> Refused:
    return Refused(Rejection("invalid", {"detail": detail}))


def _instant(name: str, raw: str, end: bool) -> str:
    """A filter time as a record time (UTC). A date is a day in Vietnam: `since` from its
    start, `until` through its end; an instant without an offset is Vietnam time."""
    if len(raw) > 40:
        raise _invalid(f"{name}: at most 40 characters")
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
            at = datetime.combine(day + timedelta(days=1 if end else 0), time(), VIETNAM)
        else:
            at = datetime.fromisoformat(raw)
            if at.tzinfo is None:
                at = at.replace(tzinfo=VIETNAM)
    except (ValueError, OverflowError):
        raise _invalid(f"{name}: a date (YYYY-MM-DD) or an ISO 8601 time") from None
    if not 2000 <= at.year <= 9998:
        raise _invalid(f"{name}: out of range")
    return utc_stamp(at)


def _count(name: str, raw: str, low: int, high: int) -> int:
    if not is_number(raw, 18) or not low <= int(raw) <= high:
        raise _invalid(f"{name}: an integer from {low} to {high}")
    return int(raw)


def parse_filters(params: Mapping[str, str], paging: bool,
                  repeated: bool = False) -> tuple[dict[str, Any], str | None]:
    """The query's filters (and, for pages, its cursor and size), each checked: the
    AuditQuery fields, and the username asked for (resolved by the caller). `repeated`:
    some parameter was given more than once (refused)."""
    allowed = FILTERS + (PAGING if paging else ())
    for name in params:
        if name not in allowed:
            raise _invalid(f"unknown parameter {name[:40]!r}; use " + ", ".join(allowed))
    if repeated:
        raise _invalid("each parameter at most once")
    q: dict[str, Any] = {}
    if "since" in params:
        q["since"] = _instant("since", params["since"], end=False)
    if "until" in params:
        q["until"] = _instant("until", params["until"], end=True)
    if "kind" in params:
        kinds = tuple(k for k in params["kind"][:1000].split(",") if k)
        if not kinds or len(kinds) > len(KINDS) or any(k not in KINDS for k in kinds):
            raise _invalid("kind: one or more of " + ", ".join(KINDS))
        q["kinds"] = kinds
    if "outcome" in params:
        if params["outcome"] not in ("ok", "refused"):
            raise _invalid("outcome: ok or refused")
        q["outcome"] = params["outcome"]
    if "meeting" in params:
        q["meeting_id"] = _count("meeting", params["meeting"], 1, 10**10)
    name = params.get("user")
    if name is not None and not _USERNAME.fullmatch(name):
        raise _invalid("user: a username of 1 to 64 characters")
    if paging:
        if "before" in params:
            q["before"] = _count("before", params["before"], 1, 10**18)
        q["limit"] = _count("limit", params["limit"], 1, MAX_PAGE) if "limit" in params \
            else PAGE
    return q, name


async def whose(store: Store, name: str, key_of: Callable[[str], str] | None
                ) -> dict[str, Any]:
    """The query fields for a username: an account's id (what it did and what was done to
    it); any other name, the sign-ins that gave it, matched by its keyed hash as recorded
    (`key_of`, None when the key is not at hand: then the name matches nothing)."""
    found = await store.user_ids([name])
    if name in found:
        return {"user_id": found[name]}
    return {"actor_key": key_of(name) if key_of else "-"}


async def parse_query(request: Request, paging: bool) -> AuditQuery:
    params = request.query_params
    q, name = parse_filters(params, paging,
                            any(len(params.getlist(n)) > 1 for n in params))
    if name is not None:
        node = node_of(request)
        try:
            q |= await whose(node.store, name, node.audit.key_of)
        except StoreError:
            raise Refused(Rejection("store_unavailable")) from None
    return AuditQuery(**q)


async def _people(request: Request, records: Sequence[AuditRecord]) -> dict[int, User]:
    ids = {i for r in records for i in (r.entry.actor_id, r.entry.target_id) if i is not None}
    try:
        return await node_of(request).store.users_by_id(sorted(ids))
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None


def _person(people: dict[int, User], uid: int | None) -> dict[str, Any] | None:
    if uid is None:
        return None
    user = people.get(uid)
    return {"id": uid, "username": user.username if user else None,
            "full_name": user.full_name if user else None}


def record_json(record: AuditRecord, people: dict[int, User]) -> dict[str, Any]:
    e = record.entry
    return {
        "seq": record.seq, "at": e.at, "at_vn": vietnam_time(e.at),
        "kind": e.kind, "kind_text": kind_text(e.kind),
        "outcome": e.outcome, "outcome_text": outcome_text(e.outcome),
        "actor": _person(people, e.actor_id), "actor_key": e.actor_key,
        "target": _person(people, e.target_id), "meeting_id": e.meeting_id,
        "address": e.address, "detail": dict(e.detail), "hash": record.hash,
    }


async def _read(request: Request, query: AuditQuery) -> list[AuditRecord]:
    try:
        return await node_of(request).store.audit_records(query)
    except StoreError:
        raise Refused(Rejection("store_unavailable")) from None


async def audit_page(request: Request) -> Response:
    """A page of the access log, newest first; `next` is the cursor of the page after."""
    await current_admin(request)
    query = await parse_query(request, paging=True)
    await node_of(request).audit.flush(2.0)  # what this node just recorded is in
    records = await _read(request, query)
    people = await _people(request, records)
    return JSONResponse({
        "records": [record_json(r, people) for r in records],
        "next": records[-1].seq if len(records) == query.limit else None,
        "kinds": [{"kind": k, "vi": vi, "en": en} for k, (vi, en) in KINDS.items()],
    })


HEADERS = ["Số thứ tự", "Thời gian (giờ Việt Nam)", "Thời gian (UTC)", "Hoạt động",
           "Kết quả", "Người thực hiện", "Tên đăng nhập", "Tài khoản liên quan", "Cuộc họp",
           "Địa chỉ", "Chi tiết", "Mã băm"]


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(record: AuditRecord, people: dict[int, User]) -> list[str]:
    e = record.entry
    actor = people.get(e.actor_id) if e.actor_id is not None else None
    target = people.get(e.target_id) if e.target_id is not None else None
    if actor is not None:
        login = actor.username
    elif e.actor_id is not None:
        login = f"#{e.actor_id}"
    elif e.actor_key is not None:
        login = f"(không phải tài khoản: {e.actor_key[:16]})"
    else:
        login = ""
    outcome = outcome_text(e.outcome)["vi"]
    if e.outcome != "ok":
        outcome = f"Bị từ chối: {outcome} ({e.outcome})"
    return [_cell(v) for v in (
        record.seq, vietnam_time(e.at), e.at, kind_text(e.kind)["vi"], outcome,
        actor.full_name if actor else "", login,
        (target.username if target else f"#{e.target_id}") if e.target_id is not None else "",
        e.meeting_id or "", e.address,
        "; ".join(f"{k}={v}" for k, v in e.detail.items()), record.hash)]


async def audit_csv(request: Request) -> Response:
    """Every record matching the filters, oldest first, as CSV (UTF-8 with a BOM, headers in
    Vietnamese), streamed in chunks: up to the newest record when the export began."""
    await current_admin(request)
    query = await parse_query(request, paging=False)
    await node_of(request).audit.flush(2.0)
    newest = await _read(request, AuditQuery(limit=1))
    upto = newest[0].seq if newest else 0
    audit(request, "export", what="audit.csv",
          filters=",".join(f for f in FILTERS if f in request.query_params))

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        yield "\ufeff" + out.getvalue()
        after = 0
        while True:
            chunk = await node_of(request).store.audit_records(replace(
                query, ascending=True, after=after, before=upto + 1, limit=CSV_CHUNK))
            if not chunk:
                return
            people = await node_of(request).store.users_by_id(sorted(
                {i for r in chunk for i in (r.entry.actor_id, r.entry.target_id)
                 if i is not None}))
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerows(csv_row(r, people) for r in chunk)
            yield out.getvalue()
            after = chunk[-1].seq

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": attachment("nhat-ky-truy-cap.csv"),
        "Cache-Control": "private, no-store"})


ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/admin/audit",
             audited("audit.read", audit_page, refusals=frozenset({"forbidden"})),
             "The access log, newest first (administrator): ?since&until&user&kind&outcome"
             "&meeting&before&limit"),
    Endpoint("GET", "/api/admin/audit.csv",
             audited("audit.read", audit_csv, refusals=frozenset({"forbidden"})),
             "The access log as CSV, oldest first (administrator): the same filters"),
]
