"""Fan-out benchmark: how fast does phonghop deliver one room event to N connected clients?

It seeds and starts a phonghop server (`python -m phonghop bench-seed` then `serve`) on a free
127.0.0.1 port, connects N websocket clients from a few Node processes (bench/client.mjs),
and has the chair send `agenda.next` R times; each client timestamps its `agenda.activated`
event. The same clients and rounds are then run against bench/baseline_server.py, a bare
`websockets.broadcast()` server. The last line on stdout is one JSON object:

    {"clients", "rounds", "p50_ms", "p99_ms", "last_delivery_median_ms",
     "baseline_last_delivery_median_ms", "server_rss_mb" (the process tree: the server and
     its PDF workers), "server_main_rss_mb" (the server's main process alone),
     "baseline_p50_ms", "ratio"}

With `--nodes 2` it measures scale-out instead: a fresh PostgreSQL database and Redis, the
same clients and rounds first against 1 node, then against 2 nodes (clients split evenly,
the chair on node 1); no baseline. The result line is then:

    {"clients", "rounds", "one_node_last_delivery_median_ms",
     "two_nodes_last_delivery_median_ms", "ratio" (two/one), "one_node_p50_ms",
     "one_node_p99_ms", "two_nodes_p50_ms", "two_nodes_p99_ms", "server_rss_mb" (largest
     node's tree), "server_main_rss_mb" (largest node's main process), "one_node_rss_mb",
     "two_nodes_rss_mb" (largest of the two), "server_errors"}

Usage: python bench/fanout.py --clients 6300 [--rounds 20] [--only phonghop|baseline]
       python bench/fanout.py --clients 6300 --nodes 2
       python bench/fanout.py --clients 1000 --nodes-url ws://127.0.0.1:8000 --data DIR
Everything but the result line goes to stderr. Exit status: 0 ok, 1 failure, 3 some
deliveries missing (the result line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import _common as c
from _common import (
    LOOPBACK,
    REDIS_URL,
    BenchError,
    Chair,
    Children,
    NodeProc,
    Tokens,
    fmt,
    gather_all,
    log,
    percentile,
    rounded,
)

c.set_name("fanout")


# --------------------------------------------------------------------------- measuring


@dataclass
class Target:
    """A server under test: its websocket base URLs and how to find its pids."""

    name: str
    urls: list[str]
    meeting: int
    pids: Callable[[], list[int]]
    per_node: bool = False  # RSS: the largest node's, not the sum of all

    def rss_mb(self) -> float | None:
        """The process tree's RSS (the server and its PDF workers)."""
        if self.per_node:
            return c.max_node_rss_mb(self.pids())
        return c.tree_rss_mb(self.pids())

    def main_rss_mb(self) -> float | None:
        """The main process's RSS alone (the largest node's, with several)."""
        return c.max_main_rss_mb(self.pids())


@dataclass
class Result:
    """What one target's run measured."""

    latencies: list[float] = field(default_factory=list)
    last_delivery: list[float] = field(default_factory=list)
    rss_mb: float | None = None  # the process tree, at its largest
    main_rss_mb: float | None = None  # the main process alone, at its largest
    missing: int = 0
    # With several nodes: each round's last delivery among the clients of each node.
    per_node_last: dict[int, list[float]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # scale-out mode: during the rounds

    def p(self, q: float) -> float | None:
        return percentile(sorted(self.latencies), q)

    @property
    def last_median(self) -> float | None:
        return statistics.median(self.last_delivery) if self.last_delivery else None


async def measure(
    target: Target, tokens: Tokens, opts: argparse.Namespace, children: Children, tmp: Path
) -> Result:
    """Connect the clients to `target`, run the rounds, return the measurements."""
    n = opts.clients
    procs = max(1, min(opts.procs, n))
    nodes: list[NodeProc] = []
    chair: Chair | None = None
    result = Result()

    def sample_rss() -> None:
        rss, main = target.rss_mb(), target.main_rss_mb()
        if rss is not None:
            result.rss_mb = max(result.rss_mb or 0.0, rss)
        if main is not None:
            result.main_rss_mb = max(result.main_rss_mb or 0.0, main)
        log(f"{target.name}: server RSS {fmt(rss)} MiB (tree), {fmt(main)} MiB (main process)")

    try:
        for k in range(procs):
            mine = tokens.delegates[k:n:procs]
            config = tmp / f"{target.name}-client{k}.json"
            config.write_text(
                json.dumps(
                    {
                        "label": f"{target.name}/node{k}",
                        "urls": target.urls,
                        "tokens": mine,
                        "meeting": target.meeting,
                        "concurrency": max(1, opts.concurrency // procs),
                        "joinTimeoutMs": int(opts.join_timeout * 1000),
                        "roundTimeoutMs": int(opts.round_timeout * 1000),
                        "attempts": 3,
                        "deflate": opts.deflate,
                        "maxSeconds": int(
                            opts.ramp_timeout + opts.rounds * (opts.round_timeout + 5) + 300
                        ),
                    }
                )
            )
            nodes.append(await NodeProc.start(children, f"{target.name}/node{k}", config))

        log(f"{target.name}: connecting {n} clients from {procs} node processes")
        await c.wait_ready(target.name, nodes, n, opts.ramp_timeout)

        chair = await Chair.join(
            target.urls[0], tokens.chair, target.meeting, opts.deflate, opts.join_timeout
        )
        await asyncio.sleep(opts.settle)  # let the joins' presence fan-out drain
        sample_rss()

        meter: c.CpuMeter | None = None
        if target.per_node:
            meter = c.CpuMeter(
                {
                    "nodes": target.pids(),
                    "generators": [node.proc.pid for node in nodes],
                    "redis": c.listening_pids(6379),
                }
            )
            meter.start()
        nonce = secrets.token_hex(3)
        for k in range(1, opts.rounds + 1):
            for node in nodes:
                node.send({"cmd": "arm", "round": k})
            await gather_all([node.expect("armed", 10) for node in nodes])
            start, ack = await chair.command(
                f"r{k}-{nonce}", "agenda.next", target.meeting, opts.round_timeout
            )
            if ack.get("type") != "ack" or ack.get("duplicate"):
                raise BenchError(f"{target.name}: agenda.next not applied: {ack}")
            reports = await gather_all(
                [node.expect("round", opts.round_timeout + 10) for node in nodes]
            )
            lats = [t - start for r in reports for t in r["times"]]
            missing = sum(int(r["missing"]) + int(r["bogus"]) for r in reports)
            seqs = {s for r in reports for s in r["seqs"]}
            result.missing += missing
            if not lats:
                raise BenchError(f"{target.name}: round {k}: no client received agenda.activated")
            result.latencies.extend(lats)
            result.last_delivery.append(max(lats))
            if target.per_node:  # scale-out mode: when did each node's last client get it?
                by_node: dict[int, float] = {}
                for r in reports:
                    for t, via in zip(r["times"], r.get("via") or (), strict=False):
                        by_node[via] = max(by_node.get(via, float("-inf")), t - start)
                for via, last in by_node.items():
                    result.per_node_last.setdefault(via, []).append(last)
            lats.sort()
            note = f", {missing} MISSING" if missing else ""
            note += f", seqs {sorted(seqs)}" if len(seqs) > 1 else ""
            note += ", NEGATIVE latency (clock?)" if lats[0] < 0 else ""
            log(
                f"{target.name}: round {k}: {len(lats)} delivered, first {lats[0]:.1f} "
                f"p50 {fmt(percentile(lats, 50))} p99 {fmt(percentile(lats, 99))} "
                f"last {lats[-1]:.1f} ms{note}"
            )
            await asyncio.sleep(opts.gap_ms / 1000)
        if meter is not None:
            result.cpu = meter.stop()
            log(f"{target.name}: CPU % of one core during the rounds {result.cpu}")
        if result.per_node_last:
            medians = {
                f"node {via + 1}": fmt(statistics.median(v))
                for via, v in sorted(result.per_node_last.items())
            }
            log(f"{target.name}: last delivery median by node (ms) {medians}")
        sample_rss()
        return result
    finally:
        if chair is not None:
            await chair.close()
        await asyncio.gather(*(node.quit(children) for node in nodes))


# --------------------------------------------------------------------------- servers


async def start_phonghop(
    opts: argparse.Namespace, children: Children, tmp: Path
) -> tuple[Target, Tokens, asyncio.subprocess.Process]:
    """Seed a fresh data dir, start `python -m phonghop serve`, return the target."""
    data = tmp / "data"
    meeting, tokens = await c.seed(
        children, opts.server_root, data, opts.clients, opts.seed_timeout
    )
    node = await c.start_node(
        children, opts.server_root, data, tmp / "serve.log", opts.start_timeout
    )
    server = node.proc
    return (
        Target("phonghop", [node.url], meeting, lambda: [server.pid]),
        tokens,
        server,
    )


async def start_baseline(
    children: Children, tmp: Path, meeting: int, wait_s: float
) -> tuple[Target, asyncio.subprocess.Process]:
    """Start bench/baseline_server.py on a free port."""
    port = c.free_port()
    log_path = tmp / "baseline.log"
    with log_path.open("wb") as logf:
        proc = await c.spawn(
            children,
            [
                sys.executable,
                str(c.BENCH_DIR / "baseline_server.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
    await c.wait_port(port, proc, wait_s, log_path)
    log(f"baseline: serving on 127.0.0.1:{port} (pid {proc.pid})")
    return Target("baseline", [f"ws://127.0.0.1:{port}"], meeting, lambda: [proc.pid]), proc


def external_target(opts: argparse.Namespace) -> tuple[Target, Tokens]:
    """Already running phonghop node(s) from --nodes-url, with tokens from --data."""
    urls: list[str] = []
    ports: list[int] = []
    for url in opts.nodes_url:
        parts = urlsplit(url)
        if (
            parts.scheme not in ("ws", "http")
            or parts.hostname not in LOOPBACK
            or parts.port is None
        ):
            raise BenchError(f"--nodes-url must be ws://127.0.0.1:PORT, got {url!r}")
        urls.append(f"ws://{parts.netloc}")
        ports.append(parts.port)
    tokens = c.load_tokens(Path(opts.data) / "bench-tokens.json")
    if len(tokens.delegates) < opts.clients:
        raise BenchError(
            f"bench-tokens.json has {len(tokens.delegates)} delegate tokens, need {opts.clients}"
        )
    return Target(
        "phonghop",
        urls,
        opts.meeting,
        lambda: [p for port in ports for p in c.listening_pids(port)],
    ), tokens


# --------------------------------------------------------------------------- scale-out


async def run_scaled(
    opts: argparse.Namespace, children: Children, tmp: Path, db: c.PgDatabase
) -> tuple[dict[str, Result], int]:
    """1 node, then `opts.nodes` nodes, on one fresh PostgreSQL database and Redis.

    Returns the results by setup and the error lines counted in the server logs.
    """
    await c.ping_redis()
    await db.create()
    data = tmp / "data"
    meeting, tokens = await c.seed(
        children, opts.server_root, data, opts.clients, opts.seed_timeout, database=db.url
    )
    results: dict[str, Result] = {}
    errors = 0
    for name, count in (("one-node", 1), ("two-nodes", opts.nodes)):
        nodes = await c.start_nodes(
            children,
            opts.server_root,
            data,
            tmp,
            count,
            opts.start_timeout,
            label=name,
            database=db.url,
            redis=REDIS_URL,
        )
        try:
            pids = [n.proc.pid for n in nodes]
            target = Target(name, [n.url for n in nodes], meeting, lambda p=pids: p, True)
            results[name] = await measure(target, tokens, opts, children, tmp)
        finally:
            await c.stop_nodes(children, nodes)
        found = c.count_errors([n.log_path for n in nodes])
        log(f"{name}: {found} Traceback/ERROR lines in the server logs")
        errors += found
    return results, errors


def scaled_summary(
    opts: argparse.Namespace, results: dict[str, Result], errors: int
) -> dict[str, object]:
    one, two = results["one-node"], results["two-nodes"]
    o_last, t_last = one.last_median, two.last_median
    rss = [r for r in (one.rss_mb, two.rss_mb) if r is not None]
    main = [r for r in (one.main_rss_mb, two.main_rss_mb) if r is not None]
    return {
        "clients": opts.clients,
        "rounds": opts.rounds,
        "nodes": opts.nodes,
        "one_node_last_delivery_median_ms": rounded(o_last),
        "two_nodes_last_delivery_median_ms": rounded(t_last),
        "ratio": rounded(t_last / o_last) if o_last and t_last is not None else None,
        "one_node_p50_ms": rounded(one.p(50)),
        "one_node_p99_ms": rounded(one.p(99)),
        "two_nodes_p50_ms": rounded(two.p(50)),
        "two_nodes_p99_ms": rounded(two.p(99)),
        "server_rss_mb": rounded(max(rss), 1) if rss else None,
        "server_main_rss_mb": rounded(max(main), 1) if main else None,
        "one_node_rss_mb": rounded(one.rss_mb, 1),
        "two_nodes_rss_mb": rounded(two.rss_mb, 1),
        "two_nodes_last_delivery_median_ms_by_node": [
            rounded(statistics.median(v)) for _, v in sorted(two.per_node_last.items())
        ],
        "one_node_cpu_pct": one.cpu,
        "two_nodes_cpu_pct": two.cpu,
        "missing": one.missing + two.missing,
        "server_errors": errors,
    }


# --------------------------------------------------------------------------- main


async def run(opts: argparse.Namespace, children: Children, db: c.PgDatabase) -> int:
    """The whole benchmark; returns the exit status."""
    c.ensure_node_modules()
    c.need_nofile(opts.clients)
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-bench-"))
    log(f"work dir {tmp}")
    if opts.nodes:
        try:
            results, errors = await run_scaled(opts, children, tmp, db)
        finally:
            await db.drop()
            c.leave_work_dir(tmp, opts.keep)
        summary = scaled_summary(opts, results, errors)
        print(json.dumps(summary), flush=True)
        if summary["missing"]:
            log(f"WARNING: {summary['missing']} deliveries missing or malformed in total")
            return 3
        return 0

    phonghop: Result | None = None
    baseline: Result | None = None
    tokens: Tokens | None = None
    try:
        if opts.only in (None, "phonghop"):
            if opts.nodes_url:
                target, tokens = external_target(opts)
                phonghop = await measure(target, tokens, opts, children, tmp)
            else:
                target, tokens, server = await start_phonghop(opts, children, tmp)
                try:
                    phonghop = await measure(target, tokens, opts, children, tmp)
                finally:
                    await children.stop(server)
        if opts.only in (None, "baseline"):
            if tokens is None:
                tokens = Tokens([f"bench-{i}" for i in range(1, opts.clients + 1)], "bench-chair")
            target, proc = await start_baseline(children, tmp, opts.meeting, opts.start_timeout)
            try:
                baseline = await measure(target, tokens, opts, children, tmp)
            finally:
                await children.stop(proc)
    finally:
        c.leave_work_dir(tmp, opts.keep)

    p_last = phonghop.last_median if phonghop else None
    b_last = baseline.last_median if baseline else None
    summary = {
        "clients": opts.clients,
        "rounds": opts.rounds,
        "p50_ms": rounded(phonghop.p(50)) if phonghop else None,
        "p99_ms": rounded(phonghop.p(99)) if phonghop else None,
        "last_delivery_median_ms": rounded(p_last),
        "baseline_last_delivery_median_ms": rounded(b_last),
        "server_rss_mb": rounded(phonghop.rss_mb, 1) if phonghop else None,
        "server_main_rss_mb": rounded(phonghop.main_rss_mb, 1) if phonghop else None,
        "baseline_p50_ms": rounded(baseline.p(50)) if baseline else None,
        "ratio": rounded(p_last / b_last) if p_last is not None and b_last else None,
    }
    if baseline:
        log(f"baseline: p99 {fmt(baseline.p(99))} ms, RSS {fmt(baseline.rss_mb)} MiB")
    print(json.dumps(summary), flush=True)
    missing = sum(r.missing for r in (phonghop, baseline) if r)
    if missing:
        log(f"WARNING: {missing} deliveries missing or malformed in total")
        return 3
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop websocket fan-out benchmark (result: last stdout line, JSON)"
    )
    parser.add_argument("--clients", type=int, required=True, help="websocket clients (delegates)")
    parser.add_argument("--rounds", type=int, default=20, help="agenda.next rounds (default 20)")
    parser.add_argument("--only", choices=("phonghop", "baseline"), help="run one server only")
    parser.add_argument(
        "--nodes",
        type=int,
        choices=(2,),
        help="scale-out: 1 node then 2 nodes on a fresh PostgreSQL database and Redis",
    )
    parser.add_argument(
        "--nodes-url",
        nargs="+",
        metavar="URL",
        help="running phonghop node(s), ws://127.0.0.1:PORT; clients go round-robin; needs --data",
    )
    parser.add_argument(
        "--data", help="seeded data dir holding bench-tokens.json (with --nodes-url)"
    )
    parser.add_argument(
        "--meeting", type=int, default=1, help="meeting id with --nodes-url (default 1)"
    )
    parser.add_argument(
        "--gap-ms", type=float, default=300, help="pause between rounds (default 300)"
    )
    parser.add_argument("--round-timeout", type=float, default=20, help="one round, s (default 20)")
    parser.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate")
    c.add_run_args(parser)
    opts = parser.parse_args(argv)
    if opts.clients < 1 or opts.rounds < 1:
        parser.error("--clients and --rounds must be at least 1")
    if opts.nodes_url and not opts.data:
        parser.error("--nodes-url needs --data DIR (for bench-tokens.json)")
    if opts.nodes and (opts.nodes_url or opts.only):
        parser.error("--nodes starts its own nodes: not with --nodes-url or --only")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return c.main_with_database(run, parse_args(argv))  # a database only with --nodes


if __name__ == "__main__":
    sys.exit(main())
