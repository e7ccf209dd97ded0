"""Reconnect storm: every delegate's connection drops at once; do they all resume, in time,
without missing an event?

It seeds a meeting with N delegates, starts 1 (or 2) phonghop nodes on a fresh PostgreSQL
database and Redis (or, with --embedded, one node on SQLite), joins N websocket clients from
a few Node processes (bench/storm.mjs), and has the chair (on node 1) post a few notices.
Then the chair keeps posting a notice every --interval-ms while every client terminates its
TCP connection abruptly (no close handshake), at a random moment within --window seconds,
waits a random 0..--jitter seconds and reconnects, sending `join` with `since` = the last
seq it saw. When all have resumed the chair posts for --tail more seconds and stops; the
final seq comes from GET /api/meetings/{id} (the chair's token as Bearer), and each client
checks that the events it saw before the drop and after the resume cover every seq after
its first snapshot up to the final seq exactly once.

The last line on stdout is one JSON object:

    {"clients", "nodes", "storm_window_s", "all_resumed_s", "missed_events",
     "duplicate_events", "server_errors", "resumed", "snapshots", "server_rss_mb", ...}

`all_resumed_s` runs from the first drop to the last client's `resumed` (or `snapshot`);
`server_errors` counts the lines with "Traceback" or "ERROR" in the server logs;
`server_rss_mb` is the largest node's VmRSS, sampled every second.

Usage: python bench/reconnect_storm.py [--clients 6300] [--nodes 1|2] [--embedded]
Everything but the result line goes to stderr. Exit status: 0 ok; 1 failure; 3 some client
did not resume, missed or duplicated an event, or the server logged errors (the result
line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import _common as c
from _common import REDIS_URL, BenchError, Chair, Children, NodeProc, fmt, log

c.set_name("storm")


@dataclass
class Producer:
    """The chair posting a notice every `interval` seconds, acks awaited concurrently."""

    chair: Chair
    meeting: int
    interval: float
    ack_timeout: float
    sent: int = 0
    acked: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    max_seq: int = 0
    ack_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _nonce: str = field(default_factory=lambda: secrets.token_hex(3))

    async def post(self) -> None:
        self.sent += 1
        k = self.sent
        cmd_id = f"n{k}-{self._nonce}"
        try:
            start, answer = await self.chair.command(
                cmd_id,
                "notice.post",
                self.meeting,
                self.ack_timeout,
                {"text": f"Thông báo {k}: bench reconnect storm"},
            )
        except BenchError as exc:
            self.failures.append(str(exc))
            return
        if answer.get("type") == "ack":
            self.acked += 1
            self.max_seq = max(self.max_seq, int(answer.get("seq") or 0))
            self.ack_ms.append(time.time() * 1000 - start)
        else:
            code = str(answer.get("code"))
            self.rejected[code] = self.rejected.get(code, 0) + 1

    async def run(self, stop: asyncio.Event, max_in_flight: int = 100) -> None:
        """Post on a fixed schedule until `stop` is set; a tick is skipped when too many
        notices are still waiting for their ack (the schedule does not drift)."""
        began = time.monotonic()
        tick = 0
        while not stop.is_set():
            if len(self._tasks) < max_in_flight:
                task = asyncio.create_task(self.post())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                self.skipped += 1
            tick += 1
            delay = began + tick * self.interval - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, delay))

    async def drain(self, wait_s: float) -> None:
        """Wait for the outstanding acks."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=wait_s)


async def sample_rss_until(pids: list[int], stop: asyncio.Event, peak: list[float]) -> None:
    """Record the largest per-node RSS every second until `stop`."""
    while not stop.is_set():
        rss = c.max_node_rss_mb(pids)
        if rss is not None:
            peak[0] = max(peak[0], rss)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def summarise(values: Sequence[float]) -> tuple[float | None, float | None]:
    ordered = sorted(values)
    return c.percentile(ordered, 50), c.percentile(ordered, 99)


async def run(opts: argparse.Namespace, children: Children, db: c.PgDatabase) -> int:
    c.ensure_node_modules()
    c.need_nofile(opts.clients)
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-storm-"))
    log(f"work dir {tmp}")
    try:
        return await storm(opts, children, db, tmp)
    finally:
        await db.drop()
        c.leave_work_dir(tmp, opts.keep)


async def storm(opts: argparse.Namespace, children: Children, db: c.PgDatabase, tmp: Path) -> int:
    n = opts.clients
    database = redis = None
    if not opts.embedded:
        await c.ping_redis()
        await db.create()
        database, redis = db.url, REDIS_URL
    data = tmp / "data"
    meeting, tokens = await c.seed(
        children, opts.server_root, data, n, opts.seed_timeout, database=database
    )
    nodes = await c.start_nodes(
        children,
        opts.server_root,
        data,
        tmp,
        opts.nodes,
        opts.start_timeout,
        label="phonghop",
        database=database,
        redis=redis,
    )
    pids = [node.proc.pid for node in nodes]
    urls = [node.url for node in nodes]
    procs = max(1, min(opts.procs, n))
    gens: list[NodeProc] = []
    chair: Chair | None = None
    stop_rss = asyncio.Event()
    stop_posting = asyncio.Event()
    peak = [0.0]
    rss_task: asyncio.Task[None] | None = None
    producer: Producer | None = None
    producing: asyncio.Task[None] | None = None
    try:
        for k in range(procs):
            config = tmp / f"storm-client{k}.json"
            config.write_text(
                json.dumps(
                    {
                        "label": f"storm/gen{k}",
                        "urls": urls,
                        "tokens": tokens.delegates[k:n:procs],
                        "meeting": meeting,
                        "concurrency": max(1, opts.concurrency // procs),
                        "joinTimeoutMs": int(opts.join_timeout * 1000),
                        "attempts": 3,
                        "maxSeconds": int(opts.ramp_timeout + opts.resume_timeout + 600),
                    }
                )
            )
            gens.append(await NodeProc.start(children, f"storm/gen{k}", config, "storm.mjs"))
        log(f"connecting {n} clients from {procs} node processes to {len(nodes)} node(s)")
        await c.wait_ready("storm", gens, n, opts.ramp_timeout)

        chair = await Chair.join(urls[0], tokens.chair, meeting, False, opts.join_timeout)
        producer = Producer(chair, meeting, opts.interval_ms / 1000, opts.ack_timeout)
        for _ in range(opts.pre_events):
            await producer.post()
        if producer.acked < opts.pre_events:
            raise BenchError(
                f"chair: {producer.acked}/{opts.pre_events} notices acked before the storm "
                f"{producer.rejected} {producer.failures[:3]}"
            )
        await asyncio.sleep(opts.settle)  # let the joins' presence fan-out drain
        rss_task = asyncio.create_task(sample_rss_until(pids, stop_rss, peak))
        log(f"server RSS before the storm {fmt(c.max_node_rss_mb(pids))} MiB (largest node)")
        producer.ack_ms.clear()

        meter = c.CpuMeter(
            {
                "nodes": pids,
                "generators": [g.proc.pid for g in gens],
                "redis": c.listening_pids(6379) if redis else [],
                "postgres": await db.backend_pids() if database else [],
            }
        )
        meter.start()
        producing = asyncio.create_task(producer.run(stop_posting))
        start_at = time.time() * 1000 + 500
        for gen in gens:
            gen.send(
                {
                    "cmd": "storm",
                    "startAt": start_at,
                    "windowMs": opts.window * 1000,
                    "jitterMs": opts.jitter * 1000,
                    "attempts": opts.attempts,
                    "deadlineMs": (opts.window + opts.resume_timeout) * 1000,
                }
            )
        log(
            f"storm: {n} clients drop within {opts.window:g} s and reconnect after "
            f"0..{opts.jitter:g} s; a notice every {opts.interval_ms:g} ms"
        )

        async def progress() -> None:
            dropped = sum(int(g.progress.get("dropped", 0)) for g in gens)
            resumed = sum(int(g.progress.get("resumed", 0)) for g in gens)
            failed = sum(int(g.progress.get("failed", 0)) for g in gens)
            log(
                f"storm: {dropped}/{n} dropped, {resumed} back, {failed} failed; "
                f"notices {producer.acked}/{producer.sent} acked"
            )

        wait_s = opts.window + opts.resume_timeout + 30
        storms = await c.wait_all([g.expect("stormed", wait_s) for g in gens], 2, progress)
        cpu = meter.stop()
        log(f"CPU % of one core from the storm's start until all were back: {cpu}")
        storm_acks = list(producer.ack_ms)
        await asyncio.sleep(opts.tail)
        stop_posting.set()
        await producing
        await producer.drain(opts.ack_timeout + 1)
        log(
            f"chair: {producer.acked}/{producer.sent} notices acked, rejected "
            f"{producer.rejected}, skipped {producer.skipped}, failures {len(producer.failures)}"
        )
        await asyncio.sleep(0.5)
        final = await c.room_seq(nodes[0], meeting, tokens.chair)
        if producer.max_seq and final < producer.max_seq:
            log(f"WARNING: GET says seq {final}, but the chair was acked seq {producer.max_seq}")
            final = producer.max_seq
        for node in nodes[1:]:
            other = await c.room_seq(node, meeting, tokens.chair)
            if other != final:
                log(f"node on port {node.port} is at seq {other}, node 1 at {final}")
        log(f"final seq {final}; checking every client's events")
        for gen in gens:
            gen.send({"cmd": "check", "finalSeq": final, "waitMs": opts.check_wait * 1000})
        checks = await c.gather_all([g.expect("checked", opts.check_wait + 60) for g in gens])
    finally:
        stop_posting.set()
        stop_rss.set()
        if producing is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producing, 5)
        if rss_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(rss_task, 5)
        if chair is not None:
            await chair.close()
        await asyncio.gather(*(g.quit(children) for g in gens))
        await c.stop_nodes(children, nodes)

    errors = c.count_errors([node.log_path for node in nodes])
    first_drop = min((s["firstDrop"] for s in storms if s["firstDrop"] is not None), default=None)
    last_resume = [s["lastResume"] for s in storms if s["lastResume"] is not None]
    failed = sum(int(s["failed"]) for s in storms)
    all_resumed = (
        (max(last_resume) - first_drop) / 1000
        if first_drop and last_resume and not failed
        else None
    )
    reconnects = [ms for s in storms for ms in s["reconnectMs"]]
    r50, r99 = summarise(reconnects)
    j50, j99 = summarise([ms for s in storms for ms in s["rejoinMs"]])
    a50, a99 = summarise(storm_acks)
    missed = sum(int(ch["missed"]) for ch in checks)
    dups = sum(int(ch["duplicates"]) for ch in checks)
    for ch in checks:
        if ch["examples"]:
            log(f"examples: {ch['examples']}")
    log(
        f"reconnect (drop → resumed) p50 {fmt(r50)} p99 {fmt(r99)} ms; rejoin (first "
        f"attempt → resumed) p50 {fmt(j50)} p99 {fmt(j99)} ms; attempts "
        f"{c.merge_counts([s['attempts'] for s in storms])}; errors "
        f"{c.merge_counts([s['errors'] for s in storms])}"
    )
    summary = {
        "clients": n,
        "nodes": opts.nodes,
        "store": "sqlite" if opts.embedded else "postgresql",
        "storm_window_s": opts.window,
        "all_resumed_s": c.rounded(all_resumed),
        "missed_events": missed,
        "duplicate_events": dups,
        "server_errors": errors,
        "resumed": sum(int(s["resumed"]) for s in storms),
        "snapshots": sum(int(s["snapshots"]) for s in storms),
        "server_rss_mb": c.rounded(peak[0] or None, 1),
        "failed": failed,
        "clients_missing_events": sum(int(ch["clientsMissing"]) for ch in checks),
        "clients_behind": sum(int(ch["behind"]) for ch in checks),
        "closed_by_server": sum(int(ch["closed"]) for ch in checks),
        "reconnect_p50_ms": c.rounded(r50),
        "reconnect_p99_ms": c.rounded(r99),
        "rejoin_p50_ms": c.rounded(j50),
        "rejoin_p99_ms": c.rounded(j99),
        "final_seq": final,
        "notices_acked": producer.acked,
        "notice_ack_p50_ms_during_storm": c.rounded(a50),
        "notice_ack_p99_ms_during_storm": c.rounded(a99),
        "cpu_pct_during_storm": cpu,
    }
    print(json.dumps(summary), flush=True)
    if failed or missed or dups or errors or summary["clients_behind"]:
        log("WARNING: not every client resumed with every event exactly once, or errors")
        return 3
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop reconnect-storm benchmark (result: last stdout line, JSON)"
    )
    parser.add_argument("--clients", type=int, default=6300, help="delegates (default 6300)")
    parser.add_argument(
        "--nodes", type=int, choices=(1, 2), default=1, help="phonghop nodes (default 1)"
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="one node on SQLite and the in-process bus instead of PostgreSQL + Redis",
    )
    parser.add_argument(
        "--window", type=float, default=5, help="all drops within this many s (default 5)"
    )
    parser.add_argument(
        "--jitter", type=float, default=1, help="reconnect after U(0, this) s (default 1)"
    )
    parser.add_argument(
        "--interval-ms", type=float, default=100, help="a notice every … ms (default 100)"
    )
    parser.add_argument(
        "--pre-events", type=int, default=5, help="notices before the storm (default 5)"
    )
    parser.add_argument(
        "--tail", type=float, default=2, help="notices go on this long after (default 2 s)"
    )
    parser.add_argument(
        "--attempts", type=int, default=10, help="reconnect attempts per client (default 10)"
    )
    parser.add_argument(
        "--resume-timeout", type=float, default=120, help="all resumed after the window (120 s)"
    )
    parser.add_argument("--ack-timeout", type=float, default=30, help="notice ack, s (default 30)")
    parser.add_argument(
        "--check-wait", type=float, default=15, help="clients reach the final seq, s (15)"
    )
    c.add_run_args(parser)
    opts = parser.parse_args(argv)
    if opts.clients < 1 or opts.window <= 0 or opts.jitter < 0 or opts.interval_ms <= 50:
        parser.error("--clients ≥ 1, --window > 0, --jitter ≥ 0, --interval-ms > 50")
    if opts.attempts < 1 or opts.pre_events < 0:
        parser.error("--attempts ≥ 1, --pre-events ≥ 0")
    if opts.embedded and opts.nodes != 1:
        parser.error("--embedded runs one node (SQLite has no second node)")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return c.main_with_database(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
