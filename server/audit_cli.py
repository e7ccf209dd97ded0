"""`phonghop audit …` for the access log: `log` (read it, or export it as CSV), `verify`
(check its hash chain) and `prune` (remove old records, keeping the rest verifiable).

Run on the host with the deployment's `--data`/`--database`; nothing here needs a running
server. The account commands (`create-admin`, `passwd`) record themselves through
`record_host_action`, as done "from the host" (no client address).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from phonghop.server.config import Settings
from phonghop.store.audit import AuditQuery, AuditRecord, ChainReport
from phonghop.store.base import Store

PROBLEMS = {
    "altered": ("bản ghi đã bị sửa", "the record was altered"),
    "missing": ("thiếu bản ghi", "a record is missing"),
    "unchained": ("bản ghi liền trước đã bị thay", "the record before it was replaced"),
    "head": ("các bản ghi cuối đã bị xoá hoặc thay", "the last records were removed or "
             "replaced"),
    "beyond_head": ("có bản ghi được ghi ngoài phonghop", "records were written around "
                    "phonghop"),
}
WithStore = Callable[[Settings, Callable[[Store, Any], Awaitable[Any]]], Awaitable[Any]]


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The `audit` command and its subcommands (each with the deployment's flags)."""
    audit = sub.add_parser("audit", help="the access log: read, export, verify, prune")
    actions = audit.add_subparsers(dest="audit_cmd", required=True)
    log = actions.add_parser("log", help="print the access log (oldest first), or --csv")
    common(log)
    log.add_argument("--since", help="from this date (YYYY-MM-DD, Vietnam) or ISO time")
    log.add_argument("--until", help="through this date, or before this ISO time")
    log.add_argument("--user", help="a username: their records, or sign-ins that gave it")
    log.add_argument("--kind", action="append", help="a kind (repeatable), e.g. signin")
    log.add_argument("--outcome", choices=("ok", "refused"))
    log.add_argument("--meeting", help="a meeting id")
    log.add_argument("--limit", type=int, default=100,
                     help="the newest N records (default 100; 0: all)")
    log.add_argument("--csv", action="store_true",
                     help="CSV as the web client exports it (UTF-8 with BOM)")
    verify = actions.add_parser("verify", help="check every meeting's log (hash chain, "
                                               "time-stamps, ballot boxes) and the access "
                                               "log's chain; exit 0 only when all hold")
    common(verify)
    only = verify.add_mutually_exclusive_group()
    only.add_argument("--meeting", type=int, help="only this meeting's log")
    only.add_argument("--access-log", action="store_true", help="only the access log")
    verify.add_argument("--json", action="store_true", help="one JSON object per meeting")
    prune = actions.add_parser("prune", help="remove records older than a date (after "
                                             "verifying the chain)")
    common(prune)
    prune.add_argument("--before", required=True, help="YYYY-MM-DD (Vietnam) or ISO time")


def run(args: argparse.Namespace, settings: Settings, with_store: WithStore) -> int:
    """Run `phonghop audit …`; the exit code."""
    if args.audit_cmd == "log":
        return asyncio.run(with_store(settings, lambda store, _: _log(store, args, settings)))
    if args.audit_cmd == "verify":
        from phonghop.server import log_audit

        rooms = 0 if args.access_log else log_audit.run(args, settings.store_url())
        if args.meeting is not None:  # one meeting: its log only
            return rooms
        report = asyncio.run(with_store(settings, lambda store, _: store.verify_audit()))
        print(json.dumps({"access_log": dataclasses.asdict(report)}) if args.json
              else describe(report))
        return max(rooms, 0 if report.ok else 1)
    return asyncio.run(with_store(settings, lambda store, _: _prune(store, args.before)))


def describe(report: ChainReport) -> str:
    """The verdict on the access log, in Vietnamese and English."""
    where = "Nhật ký truy cập / access log"
    if report.ok:
        base = f", từ / from #{report.base_seq + 1}" if report.base_seq else ""
        return (f"{where}: {report.records} bản ghi / records{base}: chuỗi băm nguyên vẹn / "
                f"hash chain intact\n  đầu chuỗi / head: #{report.head_seq} "
                f"{report.head_hash}")
    vi, en = PROBLEMS.get(report.problem or "", (report.problem, report.problem))
    return (f"{where}: CHUỖI BĂM BỊ PHÁ VỠ / HASH CHAIN BROKEN tại / at "
            f"#{report.broken_seq}: {vi} / {en}")


async def _log(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    from phonghop.server.audit import load_key
    from phonghop.server.audit_api import HEADERS, csv_row, parse_filters, whose
    from phonghop.server.http_errors import Refused

    params = {name: value for name, value in (
        ("since", args.since), ("until", args.until), ("user", args.user),
        ("outcome", args.outcome), ("meeting", args.meeting),
        ("kind", ",".join(args.kind) if args.kind else None)) if value is not None}
    try:
        fields, name = parse_filters(params, paging=False)
    except Refused as refused:
        message = refused.rejection.message()
        print(f"phonghop audit log: {message['vi']} / {message['en']}", file=sys.stderr)
        return 2
    if name is not None:
        path = settings.audit_key_path()
        key = load_key(path) if path.exists() else None
        if key is None and name not in await store.user_ids([name]):
            print(f"phonghop audit log: {path} is not here: a name that is no account "
                  "cannot be matched", file=sys.stderr)
        fields |= await whose(store, name, (lambda n: _key_of(key, n)) if key else None)
    records = await _records(store, fields, args.limit)
    people = await store.users_by_id(sorted(
        {i for r in records for i in (r.entry.actor_id, r.entry.target_id) if i is not None}))
    if args.csv:
        out = csv.writer(sys.stdout)
        sys.stdout.write("\ufeff")
        out.writerow(HEADERS)
        out.writerows(csv_row(r, people) for r in records)
        return 0
    for r in records:
        print(_line(csv_row(r, people)))
    return 0


def _key_of(key: bytes, name: str) -> str:
    from phonghop.server.audit import name_key

    return name_key(key, name)


async def _records(store: Store, fields: dict[str, Any], limit: int) -> list[AuditRecord]:
    """The newest `limit` records matching (all when 0), oldest first."""
    if limit > 0:
        newest = await store.audit_records(AuditQuery(**fields, limit=limit))
        return newest[::-1]
    records: list[AuditRecord] = []
    while True:
        after = records[-1].seq if records else 0
        chunk = await store.audit_records(AuditQuery(**fields, ascending=True, after=after,
                                                     limit=1000))
        if not chunk:
            return records
        records += chunk


def _line(row: list[str]) -> str:
    """One record on one line: seq, time (Vietnam), kind, outcome, who, account acted on,
    meeting, address, detail."""
    seq, vn, _utc, kind, outcome, name, login, target, meeting, address, detail, _h = row
    who = f"{login} ({name})" if name else login or "—"
    parts = [f"#{seq}", vn, kind, outcome, who]
    if target:
        parts.append(f"→ {target}")
    if meeting:
        parts.append(f"cuộc họp {meeting}")
    parts.append(address or "máy chủ")
    if detail:
        parts.append(detail)
    return "  ".join(parts)


async def _prune(store: Store, before: str) -> int:
    from phonghop.server.audit import make_entry
    from phonghop.server.audit_api import _instant
    from phonghop.server.http_errors import Refused

    try:
        cutoff = _instant("before", before, end=False)
    except Refused as refused:
        message = refused.rejection.message()
        print(f"phonghop audit prune: {message['vi']} / {message['en']}", file=sys.stderr)
        return 2
    report = await store.verify_audit()
    if not report.ok:  # pruning must never erase the evidence of tampering
        print(describe(report), file=sys.stderr)
        print("phonghop audit prune: nothing removed / không xoá gì", file=sys.stderr)
        return 1
    removed = await store.prune_audit(cutoff)
    await store.append_audit([make_entry("audit.prune", "ok", datetime.now(UTC),
                                         detail={"before": cutoff, "removed": removed})])
    print(f"phonghop audit prune: {removed} bản ghi trước / records before {cutoff} "
          "đã xoá / removed")
    return 0


async def record_host_action(store: Store, kind: str, target: int) -> None:
    """Record an account command run on the host (`create-admin`, `passwd`)."""
    from phonghop.server.audit import make_entry

    await store.append_audit([make_entry(kind, "ok", datetime.now(UTC), target=target,
                                         detail={"via": "cli"})])
