"""Command throughput: how many room commands a second does one room sustain, on the
embedded single node (SQLite), on 1 node and on 2 nodes (PostgreSQL + Redis)?

K delegates (--senders), each on its own websocket connection, send commands in a closed
loop: `floor.request` → ack → `floor.withdraw` → ack → … (bench/commands.mjs), at most
--rate commands a second per connection (the server allows 20 messages a second per
connection, so offered load grows with K, not with the rate). The senders are split evenly
across the nodes. After --warmup seconds, acks are counted for --duration seconds.
Three setups in the same run: embedded SQLite (1 node, in-process bus), then one fresh
PostgreSQL database with Redis served by 1 node, then by 2 nodes (optimistic appends race:
a node that loses catches up and decides again; `conflict` rejections mean its retries ran
out). The last line on stdout is one JSON object, per setup (`sqlite_`, `one_node_`,
`two_nodes_`): `cmds_per_s` (acked commands a second), `p50_ms`, `p99_ms` (ack latency),
`rejected` ({code: count}, the whole run including warm-up), `timeouts`; plus
`conflicts` (PostgreSQL setups, must be 0), `pg_rollbacks_*` (failed transactions counted
by PostgreSQL: each optimistic append that lost), `ratio` (two nodes / one node),
`offered_max_per_s` (senders × rate: if cmds_per_s comes near it, the load generator was
the limit, not the server) and `server_errors` (Traceback/ERROR lines in the server logs).

Usage: python bench/commands.py [--senders 600] [--rate 15] [--duration 10]
                                [--only sqlite one two]
Everything but the result line goes to stderr. Exit status: 0 ok; 1 failure; 3 some
`conflict` rejections, timeouts or server errors (the result line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c
from _common import REDIS_URL, Children, NodeProc, fmt, log

c.set_name("commands")

SETUPS = {"sqlite": ("sqlite", 1), "one": ("one_node", 1), "two": ("two_nodes", 2)}


@dataclass
class Outcome:
    """One setup's figures."""

    acked: int = 0
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    closed: int = 0
    server_errors: int = 0
    violations: dict[str, int] | None = None  # PostgreSQL unique violations, by constraint
    rss_mb: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)


async def measure(
    name: str,
    nodes: Sequence[c.ServerNode],
    meeting: int,
    tokens: c.Tokens,
    opts: argparse.Namespace,
    children: Children,
    tmp: Path,
    db: c.PgDatabase | None,
) -> Outcome:
    """Join the senders to `nodes`, run the closed loops, return the figures."""
    k = opts.senders
    procs = max(1, min(opts.procs, k))
    urls = [node.url for node in nodes]
    gens: list[NodeProc] = []
    try:
        for p in range(procs):
            config = tmp / f"{name}-client{p}.json"
            config.write_text(
                json.dumps(
                    {
                        "label": f"{name}/gen{p}",
                        "urls": urls,
                        "tokens": tokens.delegates[p:k:procs],
                        "meeting": meeting,
                        "concurrency": 50,
                        "joinTimeoutMs": 30_000,
                        "attempts": 3,
                        "maxSeconds": int(opts.warmup + opts.duration + opts.ack_timeout + 600),
                        "ratePerConn": opts.rate,
                        "ackTimeoutMs": int(opts.ack_timeout * 1000),
                    }
                )
            )
            gens.append(await NodeProc.start(children, f"{name}/gen{p}", config, "commands.mjs"))
        await c.wait_ready(name, gens, k, opts.ramp_timeout)
        await asyncio.sleep(1)  # let the joins' presence fan-out drain
        start_at = time.time() * 1000 + 300
        for gen in gens:
            gen.send(
                {
                    "cmd": "go",
                    "startAt": start_at,
                    "warmupMs": opts.warmup * 1000,
                    "durationMs": opts.duration * 1000,
                }
            )
        log(f"{name}: {k} senders for {opts.warmup:g} + {opts.duration:g} s")
        rss_peak: float | None = None
        pids = [node.proc.pid for node in nodes]
        groups: dict[str, list[int]] = {
            "nodes": pids,
            "generators": [g.proc.pid for g in gens],
        }
        if db is not None:
            groups["redis"] = c.listening_pids(6379)
        meter = c.CpuMeter(groups)
        window = (start_at / 1000 + opts.warmup, start_at / 1000 + opts.warmup + opts.duration)
        deadline = opts.warmup + opts.duration + 2 * opts.ack_timeout + 30

        async def tick() -> None:
            nonlocal rss_peak
            # CPU is measured over the measured window only (the meter reads /proc).
            if not meter.started and time.time() >= window[0]:
                if db is not None:  # the pool's connections are open by now
                    meter.groups["postgres"] = await db.backend_pids()
                meter.start()
            elif meter.started and not meter.result and time.time() >= window[1]:
                meter.stop()
            rss = c.max_node_rss_mb(pids)
            if rss is not None:
                rss_peak = max(rss_peak or 0.0, rss)

        reports = await c.wait_all([g.expect("done", deadline) for g in gens], 0.25, tick)
        if meter.started and not meter.result:
            meter.stop()
    finally:
        await asyncio.gather(*(g.quit(children) for g in gens))
    out = Outcome(rss_mb=rss_peak, cpu=meter.result)
    for r in reports:
        out.acked += int(r["acked"])
        out.sent += int(r["sent"])
        out.latencies.extend(float(x) for x in r["latencies"])
        out.timeouts += int(r["timeouts"])
        out.closed += int(r["closed"])
    out.rejected = c.merge_counts([r["rejected"] for r in reports])
    out.errors = c.merge_counts([r["errors"] for r in reports])
    out.latencies.sort()
    log(
        f"{name}: {out.acked / opts.duration:.0f} commands/s acked, p50 "
        f"{fmt(c.percentile(out.latencies, 50))} p99 {fmt(c.percentile(out.latencies, 99))} ms; "
        f"rejected {out.rejected}, errors {out.errors}, timeouts {out.timeouts}, "
        f"closed {out.closed}; CPU % of one core {out.cpu}"
    )
    return out


async def run_setup(
    key: str,
    opts: argparse.Namespace,
    children: Children,
    tmp: Path,
    db: c.PgDatabase,
    seeded: dict[str, tuple[Path, int, c.Tokens]],
) -> Outcome:
    """Seed (once per store), start the setup's nodes, measure, stop them."""
    name, count = SETUPS[key]
    store = "sqlite" if key == "sqlite" else "postgresql"
    database = redis = None
    if store == "postgresql":
        if not db.created:
            await c.ping_redis()
            await db.create()
        database, redis = db.url, REDIS_URL
    if store not in seeded:
        data = tmp / f"{store}-data"
        meeting, tokens = await c.seed(
            children,
            opts.server_root,
            data,
            opts.senders,
            opts.seed_timeout,
            label=store,
            database=database,
            log_path=tmp / f"{store}-seed.log",
        )
        seeded[store] = (data, meeting, tokens)
    data, meeting, tokens = seeded[store]
    before = db.unique_violations() if database else None
    nodes = await c.start_nodes(
        children,
        opts.server_root,
        data,
        tmp,
        count,
        opts.start_timeout,
        label=name,
        database=database,
        redis=redis,
    )
    try:
        out = await measure(
            name, nodes, meeting, tokens, opts, children, tmp, db if database else None
        )
    finally:
        await c.stop_nodes(children, nodes)
    out.server_errors = c.count_errors([node.log_path for node in nodes])
    after = db.unique_violations() if before is not None else None
    if before is not None and after is not None:
        out.violations = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
        log(f"{name}: unique violations in the PostgreSQL log {out.violations}")
    return out


async def run(opts: argparse.Namespace, children: Children, db: c.PgDatabase) -> int:
    c.ensure_node_modules()
    c.need_nofile(opts.senders * 2)
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-commands-"))
    log(f"work dir {tmp}")
    results: dict[str, Outcome] = {}
    seeded: dict[str, tuple[Path, int, c.Tokens]] = {}
    try:
        for key in ("sqlite", "one", "two"):
            if key in opts.only:
                results[key] = await run_setup(key, opts, children, tmp, db, seeded)
    finally:
        await db.drop()
        c.leave_work_dir(tmp, opts.keep)

    summary: dict[str, Any] = {
        "senders": opts.senders,
        "rate_per_conn": opts.rate,
        "offered_max_per_s": round(opts.senders * opts.rate),
        "duration_s": opts.duration,
    }
    for key, out in results.items():
        name = SETUPS[key][0]
        summary[f"{name}_cmds_per_s"] = round(out.acked / opts.duration, 1)
        summary[f"{name}_p50_ms"] = c.rounded(c.percentile(out.latencies, 50))
        summary[f"{name}_p99_ms"] = c.rounded(c.percentile(out.latencies, 99))
        summary[f"{name}_rejected"] = out.rejected
        summary[f"{name}_timeouts"] = out.timeouts
        summary[f"{name}_rss_mb"] = c.rounded(out.rss_mb, 1)
        summary[f"{name}_cpu_pct"] = out.cpu
        if out.violations is not None:
            summary[f"{name}_lost_appends"] = out.violations.get("room_events_pkey", 0)
            summary[f"{name}_snapshot_races"] = out.violations.get("room_snapshots_pkey", 0)
    if "one" in results and "two" in results and results["one"].acked:
        summary["ratio"] = round(results["two"].acked / results["one"].acked, 2)
    summary["conflicts"] = sum(
        out.rejected.get("conflict", 0) for key, out in results.items() if key != "sqlite"
    )
    summary["server_errors"] = sum(out.server_errors for out in results.values())
    summary["ws_errors"] = c.merge_counts([out.errors for out in results.values()])
    print(json.dumps(summary), flush=True)
    for key, out in results.items():
        name = SETUPS[key][0]
        cap = opts.senders * opts.rate * 0.9
        if out.acked / opts.duration >= cap:
            log(f"NOTE: {name} reached 90% of the offered load: add --senders to find its limit")
    timeouts = sum(out.timeouts for out in results.values())
    if summary["conflicts"] or summary["server_errors"] or timeouts:
        log("WARNING: conflicts, timeouts or server errors")
        return 3
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop command-throughput benchmark (result: last stdout line, JSON)"
    )
    parser.add_argument(
        "--senders", type=int, default=600, help="delegate connections sending (default 600)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=15,
        help="max commands a second per connection (default 15; the server allows 20)",
    )
    parser.add_argument("--duration", type=float, default=10, help="measured s (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured s first (default 2)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=tuple(SETUPS),
        default=list(SETUPS),
        help="setups to run (default: sqlite one two)",
    )
    parser.add_argument("--ack-timeout", type=float, default=10, help="one ack, s (default 10)")
    c.add_run_args(parser, joins=False, ramp_timeout=120, seed_timeout=300, settle=False)
    opts = parser.parse_args(argv)
    if opts.senders < 1 or opts.duration <= 0 or opts.warmup < 0:
        parser.error("--senders ≥ 1, --duration > 0, --warmup ≥ 0")
    if not 0 < opts.rate <= 19:
        parser.error("--rate must be in (0, 19]: the server refuses more than 20 messages/s")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return c.main_with_database(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
