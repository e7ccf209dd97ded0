"""Check-in burst: N delegates at K sites check in within a window (the opening minutes of
a large meeting); is every check-in acknowledged, how fast, and how much does each device
receive meanwhile?

It seeds a meeting with N voting delegates (`bench-seed --sites K`, as bench/vote_burst.py
does), starts one node, joins N websocket clients from a few Node processes
(bench/vote.mjs) and the chair, lets the joins settle, then has every delegate send
`attendance.check_in` at a uniformly random moment within --window seconds. Each
generator reports, per acknowledged check-in, its ack latency and the time from the
window's start to its ack, and per delegate the bytes and frames received from the window's
start until the last answer (everything: quorum updates, presence, acks).

Stores: `sqlite` (the embedded default) and `postgresql` (PostgreSQL and Redis); with
--baseline DIR each store is also run, first, on the server code in DIR (a worktree of an
older commit), reseeded, so that both are measured in the same run on the same box.

Targets (issue 15): every check-in acknowledged within 12 s of the window's start (10 s),
ack p99 under 1 s, and under 50 KB received per delegate during the burst.

The last line on stdout is one JSON object: per store (and with --baseline per tree, as
{"baseline": …, "this": …}) `delegates, acked, refused, timeouts, ack_p50_ms, ack_p99_ms,
ack_max_ms, last_ack_s, kb_per_delegate_p50, kb_per_delegate_max, frames_per_delegate_p50,
server_rss_mb, server_errors`, and `targets_met` for this tree.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c
from _common import Children, log
from vote_burst import load_note, seeded_store, start_env, stop_env

c.set_name("checkin_burst")

STORES = ("sqlite", "postgresql")
TARGET_LAST_ACK_S = 12.0
TARGET_ACK_P99_MS = 1000.0
TARGET_KB_PER_DELEGATE = 50.0


async def one_tree(root: Path, store: str, opts: argparse.Namespace, children: Children,
                   tmp: Path, db: c.PgDatabase) -> dict[str, Any]:
    """Seed `store`, start the server code in `root`, run one burst: its figures."""
    run_opts = argparse.Namespace(**{**vars(opts), "server_root": root,
                                     "eligibility": "members"})
    if store == "postgresql" and db.created:
        await db.drop()  # the previous tree's check-ins: seed afresh
    seeded = await seeded_store(store, run_opts, children, tmp, db, {})
    env = None
    figures: dict[str, Any] = {}
    try:
        env = await start_env(store, 1, seeded, run_opts, children, tmp, db)
        start_at = time.time() * 1000 + 1000  # every generator has the message by then
        for gen in env.gens:
            gen.send({"cmd": "checkin", "ackTimeoutMs": int(opts.ack_timeout * 1000),
                      "startAt": start_at, "windowMs": int(opts.window * 1000)})
        reports = await c.gather_all(
            [g.expect("checkedin", opts.window + opts.ack_timeout + 60) for g in env.gens])
        pids = [nd.proc.pid for nd in env.nodes]
        figures = summarise(reports, len(env.voters))
        figures["server_rss_mb"] = c.rounded(c.tree_rss_mb(pids), 1)
    finally:
        figures["server_errors"] = await stop_env(env, children)
    log(f"{store} ({root}): {json.dumps(figures)}")
    return figures


def summarise(reports: Sequence[dict[str, Any]], delegates: int) -> dict[str, Any]:
    """One burst's figures from the generators' `checkedin` reports."""
    ack_ms = sorted(float(x) for r in reports for x in r["ackMs"])
    done_ms = sorted(float(x) for r in reports for x in r["doneMs"])
    kb = sorted(float(b) / 1024 for r in reports for b in r["bytes"])
    frames = sorted(float(f) for r in reports for f in r["frames"])
    return {
        "delegates": delegates,
        "acked": sum(int(r["acked"]) for r in reports),
        "refused": c.merge_counts([r["rejected"] for r in reports]),
        "timeouts": sum(int(r["timeouts"]) for r in reports),
        "ack_p50_ms": c.rounded(c.percentile(ack_ms, 50), 1),
        "ack_p99_ms": c.rounded(c.percentile(ack_ms, 99), 1),
        "ack_max_ms": c.rounded(max(ack_ms, default=0.0), 1),
        "last_ack_s": c.rounded(max(done_ms, default=0.0) / 1000),
        "kb_per_delegate_p50": c.rounded(c.percentile(kb, 50), 1),
        "kb_per_delegate_max": c.rounded(max(kb, default=0.0), 1),
        "frames_per_delegate_p50": c.percentile(frames, 50),
    }


def met(f: dict[str, Any]) -> bool:
    return (f.get("acked") == f.get("delegates")
            and (f.get("last_ack_s") or 1e9) <= TARGET_LAST_ACK_S
            and (f.get("ack_p99_ms") or 1e9) < TARGET_ACK_P99_MS
            and (f.get("kb_per_delegate_max") or 1e9) < TARGET_KB_PER_DELEGATE)


async def run(opts: argparse.Namespace, children: Children, db: c.PgDatabase) -> int:
    c.ensure_node_modules()
    c.need_nofile(opts.voters + 512)
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-checkin-"))
    log(f"work dir {tmp}; load average {load_note()}")
    trees = ([("baseline", opts.baseline.resolve())] if opts.baseline else []) + [
        ("this", opts.server_root.resolve())]
    result: dict[str, Any] = {}
    try:
        for store in opts.stores:
            per_tree = {}
            for name, root in trees:
                work = tmp / f"{store}-{name}"
                work.mkdir()
                per_tree[name] = await one_tree(root, store, opts, children, work, db)
            result[store] = per_tree if opts.baseline else per_tree["this"]
            result[store + "_targets_met"] = met(per_tree["this"])
    finally:
        await db.drop()
        c.leave_work_dir(tmp, opts.keep)
    result.update({"voters": opts.voters, "sites": opts.sites, "window_s": opts.window,
                   "load": load_note()})
    print(json.dumps(result, ensure_ascii=False), flush=True)
    lost = [s for s in opts.stores if (result[s]["this"] if opts.baseline else result[s])
            .get("acked") != opts.voters]
    if lost:
        log(f"WARNING: check-ins not acknowledged in {lost}")
        return 3
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop check-in burst benchmark (result: last stdout line, JSON)")
    parser.add_argument("--voters", type=int, default=6300, help="delegates (default 6300)")
    parser.add_argument("--sites", type=int, default=280,
                        help="online sites; delegate i at site i %% (sites+1), 0: hall (280)")
    parser.add_argument("--window", type=float, default=10.0,
                        help="every check-in sent within this many s (default 10)")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES),
                        help="stores, in order (default: sqlite postgresql)")
    parser.add_argument("--ack-timeout", type=float, default=60,
                        help="a check-in unanswered after this many s is a timeout (60)")
    parser.add_argument("--baseline", type=Path,
                        help="also run the server code in this dir (first, same run)")
    c.add_run_args(parser)
    opts = parser.parse_args(argv)
    if opts.voters < 1 or opts.window <= 0 or opts.sites < 0:
        parser.error("--voters ≥ 1, --window > 0, --sites ≥ 0")
    opts.stores = list(dict.fromkeys(opts.stores))
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return c.main_with_database(run, parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
