"""Vote burst: N voters (in the hall and at online sites) each cast one ballot within a
1-second window; is every acknowledged ballot counted, exactly once, and how fast?

It seeds a meeting with N voting delegates (`bench-seed --sites K`: delegate i sits at
site i % (K + 1), 0 being the hall), starts phonghop, joins N websocket clients from a few
Node processes (bench/vote.mjs) and the chair (Python `websockets`) on node 1. Per burst
the chair creates a `motion` poll (named or secret, eligibility `members` or `present`)
and opens it; every client sends one `vote.cast` with a random (recorded) choice and a
receipt it draws itself, at a random moment within --window seconds, and sends the same
command (same id, same receipt) again on an ack timeout, a dropped connection (after
reconnecting with back-off) or a retryable refusal. Once every ballot is answered (or
--vote-timeout), the chair sends `poll.close` and times close → its `poll.published`
event. Then the published result is checked
against what the clients were acknowledged: `result.cast` = acked ballots, the count of
each option = the choices acked for it, every acked ballot present (named polls: per
voter in GET …/ballots, with its choice; all polls: every acked receipt in GET
…/receipts), none twice.

Secret polls are encrypted end to end (bench/secret_poll.py): the poll has a counting board
of 3 (t = 2: the chair and the first two delegates) whose key ceremony the bench runs as
the members, every ballot is made before the poll opens (secret_ballots.ballots_for, on
all cores) and sent as `vote.cast {poll_id, ballot}` (the ack carries its tracker), and
after the close two members send their partial decryptions; the published result must be
`verified` and the downloaded board.json must pass `verify_board` with the acked counts.

Setups, in one run: `one_node` (PostgreSQL + Redis, a fresh database), `two_nodes` (the
same database; clients split evenly over 2 nodes, the chair on node 1), `sqlite`
(embedded; on request), each with a named and a secret poll (--ballots). Then the kill test (--kill,
on by default): one node on PostgreSQL; once about half the ballots of a burst are
acknowledged the server gets SIGKILL and is restarted on the same port; the clients
reconnect and resend their unanswered ballots with the same command ids; every ballot
acknowledged before or after the kill must be counted, once.

The last line on stdout is one JSON object: the main burst's figures (the first setup and
ballot kind run; `main` names it) as `voters, acked, counted, lost, duplicated,
ack_p50_ms, ack_p99_ms, close_to_result_ms, tally_exact`, every burst's figures prefixed
`<setup>_<kind>_` (encrypted polls add `verified`, `board_status`, `board_verify_s`…),
and the kill test's `kill_acked_before_kill, kill_lost,
kill_duplicated, kill_tally_exact` (summed over its bursts) with per-burst details.

Usage: python bench/vote_burst.py [--voters 6300] [--only one two sqlite] [--no-kill]
           [--secret] [--rounds 1]
Everything but the result line goes to stderr. Exit status: 0 ok; 1 failure (no result
line); 3 some burst lost, duplicated or miscounted a ballot, left one unacknowledged or
refused, or the server logged errors (the result line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c
import secret_poll
from _common import REDIS_URL, BenchError, Chair, Children, NodeProc, fmt, log
from websockets.asyncio.client import connect

c.set_name("vote")

SETUPS = {
    "one": ("one_node", 1, "postgresql"),
    "two": ("two_nodes", 2, "postgresql"),
    "sqlite": ("sqlite", 1, "sqlite"),
}
KINDS = ("named", "secret")


# --------------------------------------------------------------------------- the chair


def poll_id_of(event: dict[str, Any]) -> int | None:
    data = event.get("data") or {}
    if isinstance(data.get("poll_id"), int):
        return int(data["poll_id"])
    poll = data.get("poll")
    if isinstance(poll, dict) and isinstance(poll.get("id"), int):
        return int(poll["id"])
    return None


class VoteChair(Chair):
    """The chair's websocket, also keeping every `poll.*` event with its arrival time."""

    def __init__(self, ws: Any) -> None:
        self.poll_events: list[tuple[float, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.closed = False
        self.last_snapshot: dict[str, Any] | None = None
        super().__init__(ws)

    WANTED = (*Chair.WANTED, '"poll.')

    def on_message(self, kind: Any, msg: dict[str, Any], received: float) -> None:
        if kind == "snapshot":
            self.last_snapshot = msg
        elif kind in ("event", "events"):
            events = [msg] if kind == "event" else list(msg.get("events") or [])
            for event in events:
                if str(event.get("kind", "")).startswith("poll."):
                    self.poll_events.append((received, event))
            self.changed.set()

    def on_closed(self) -> None:
        self.closed = True
        self.changed.set()

    def find(self, kind: str, poll_id: int | None = None) -> tuple[float, dict[str, Any]] | None:
        """The first `kind` event (for `poll_id`) received so far."""
        for received, event in self.poll_events:
            if event.get("kind") == kind and (poll_id is None or poll_id_of(event) == poll_id):
                return received, event
        return None

    async def wait_event(
        self, kind: str, poll_id: int | None, wait_s: float
    ) -> tuple[float, dict[str, Any]] | None:
        """Wait (at most `wait_s`) for a `kind` event (for `poll_id`); None on timeout."""
        deadline = time.monotonic() + wait_s
        while True:
            found = self.find(kind, poll_id)
            if found is not None or self.closed:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


async def join_chair(url: str, token: str, meeting: int, wait_s: float) -> VoteChair:
    """The chair joins; retried until `wait_s` (e.g. while a restarted node comes up)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = deadline - time.monotonic()
        try:
            ws = await connect(
                f"{url}/ws",
                subprotocols=["bearer", token],
                open_timeout=max(left, 1),
                max_size=None,
                compression=None,
            )
        except Exception as exc:  # refused while the node starts, handshake failures
            if time.monotonic() + 0.5 >= deadline:
                raise BenchError(f"chair cannot connect to {url}: {exc!r}") from exc
            await asyncio.sleep(0.5)
            continue
        chair = VoteChair(ws)
        await ws.send(json.dumps({"type": "join", "meeting": meeting}))
        try:
            await asyncio.wait_for(asyncio.shield(chair.snapshot), max(left, 1))
        except TimeoutError:
            await chair.close()
            raise BenchError(f"chair: no snapshot within {wait_s:.0f} s") from None
        return chair


def rejection(answer: dict[str, Any]) -> str:
    message = answer.get("message") or {}
    text = message.get("en") if isinstance(message, dict) else message
    return f"{answer.get('code')} ({text})"


# --------------------------------------------------------------------------- one burst


@dataclass
class Env:
    """One running setup: nodes, load generators, the chair, the seeded meeting."""

    name: str
    nodes: list[c.ServerNode]
    gens: list[NodeProc]
    chair: VoteChair
    meeting: int
    chair_token: str
    voters: list[dict[str, Any]]
    database: str | None
    redis: str | None
    data: Path
    tmp: Path
    db: c.PgDatabase | None = None
    board: list[tuple[int, str]] = field(default_factory=list)  # (user id, token)
    gen_voters: list[list[int]] = field(default_factory=list)  # each generator's, in order
    chair_back_s: float | None = None
    restarts: int = 0
    old_logs: list[Path] = field(default_factory=list)


@dataclass
class Burst:
    """One poll's figures."""

    label: str
    kind: str
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


async def kill_and_restart(
    env: Env, children: Children, opts: argparse.Namespace
) -> tuple[float, float]:
    """SIGKILL node 1's process group, restart it on the same port; returns the kill time
    (epoch ms) and how long until the new node listened (s)."""
    node = env.nodes[0]
    killed_at = time.time() * 1000
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(node.proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(node.proc.wait(), 10)
    log(f"{env.name}: killed node 1 (pid {node.proc.pid}, port {node.port}) with SIGKILL")
    if opts.restart_delay:
        await asyncio.sleep(opts.restart_delay)
    env.restarts += 1
    env.old_logs.append(node.log_path)
    deadline = time.monotonic() + opts.start_timeout
    while True:  # the port may take a moment to be free again
        try:
            new = await c.start_node(
                children,
                opts.server_root,
                env.data,
                env.tmp / f"{env.name}-node1-restart{env.restarts}.log",
                opts.start_timeout,
                label=f"{env.name} node 1 (restarted)",
                database=env.database,
                redis=env.redis,
                port=node.port,
            )
            break
        except BenchError as exc:
            if time.monotonic() >= deadline:
                raise
            log(f"{env.name}: restart failed ({str(exc)[:200]}); again")
            await asyncio.sleep(0.5)
    env.nodes[0] = new
    restart_s = (time.time() * 1000 - killed_at) / 1000
    log(f"{env.name}: node 1 back on port {new.port} after {restart_s:.2f} s")
    # The chair comes back at once, like the voters: how soon does a join succeed?
    await env.chair.close()
    env.chair = await join_chair(new.url, env.chair_token, env.meeting, 120)
    env.chair_back_s = (time.time() * 1000 - killed_at) / 1000
    log(f"{env.name}: the chair rejoined {env.chair_back_s:.2f} s after the kill")
    return killed_at, restart_s


async def burst(
    env: Env,
    kind: str,
    label: str,
    opts: argparse.Namespace,
    children: Children,
    kill: bool = False,
) -> Burst:
    """Create and open a poll, let every voter cast one ballot, close it, check the count."""
    out = Burst(label, kind)
    n = len(env.voters)
    chair = env.chair
    nonce = secrets.token_hex(3)
    title = f"Biểu quyết {label} {nonce}"
    args: dict[str, Any] = {
        "title": title,
        "kind": "motion",
        "secret": kind == "secret",
        "eligibility": opts.eligibility,
    }
    board: secret_poll.Board | None = None
    if kind == "secret":  # encrypted: a counting board of 3 (t = 2) among the seeded accounts
        board = secret_poll.Board(env.nodes[0].http, env.meeting, env.board)
        args["board"] = board.settings()
    _, answer = await chair.command(f"pc-{nonce}", "poll.create", env.meeting, 30, args)
    if answer.get("type") != "ack":
        raise BenchError(f"{label}: poll.create {args} refused: {rejection(answer)}")
    created = None
    for _received, event in reversed(chair.poll_events):
        poll = (event.get("data") or {}).get("poll") or {}
        if event.get("kind") == "poll.created" and poll.get("title") == title:
            created = poll
            break
    if created is None:
        raise BenchError(
            f"{label}: poll.create acked ({answer}) but no poll.created event "
            "with the poll reached the chair"
        )
    poll_id = int(created["id"])
    options = [int(o["id"]) for o in created.get("options") or []]
    if len(options) != 3:
        out.problems.append(f"motion poll {poll_id} has options {created.get('options')}")
    if not options:
        raise BenchError(f"{label}: poll {poll_id} has no options: {created}")
    prepared: secret_poll.Prepared | None = None
    if board is not None:
        # The members' devices run the key ceremony; then every ballot is made (on every
        # core) before the poll opens, so that the burst measures the server.
        began = time.monotonic()
        await board.ceremony(poll_id)
        out.figures["ceremony_s"] = round(time.monotonic() - began, 2)
        log(f"{label}: key ceremony done in {out.figures['ceremony_s']} s")
        ids = [v["user_id"] for v in env.voters]
        prepared = await asyncio.to_thread(
            secret_poll.prepare, board.rules(), options, ids, f"{label}/{nonce}"
        )
        out.figures["ballots_ready_s"] = round(prepared.seconds, 2)
        log(f"{label}: {len(ids)} encrypted ballots made in {prepared.seconds:.1f} s")
    _, answer = await chair.command(
        f"po-{nonce}", "poll.open", env.meeting, 30, {"poll_id": poll_id}
    )
    if answer.get("type") != "ack":
        raise BenchError(f"{label}: poll.open refused: {rejection(answer)}")
    if await chair.wait_event("poll.opened", poll_id, 5) is None:
        out.problems.append("no poll.opened event reached the chair within 5 s")
    log(f"{label}: poll {poll_id} ({kind}, {opts.eligibility}) open, options {options}")
    await asyncio.sleep(opts.open_pause)  # node 2 hears of the open poll through Redis

    groups: dict[str, list[int]] = {
        "nodes": [nd.proc.pid for nd in env.nodes],
        "generators": [g.proc.pid for g in env.gens],
    }
    if env.redis:
        groups["redis"] = c.listening_pids(6379)
    if env.db is not None:
        groups["postgres"] = await env.db.backend_pids()
    meter = c.CpuMeter(groups)
    meter.start()
    metered_from = time.monotonic()
    rss_peak = 0.0
    ballot_files: list[Path | None] = [None] * len(env.gens)
    if prepared is not None:
        for p in range(len(env.gens)):
            ballot_files[p] = env.tmp / f"{label}-{nonce}-ballots{p}.json"
            secret_poll.write_for_generator(ballot_files[p], prepared, env.gen_voters[p])
    start_at = time.time() * 1000 + 300
    for gen, ballots_file in zip(env.gens, ballot_files, strict=True):
        gen.send(
            {
                "cmd": "vote",
                "pollId": poll_id,
                "options": options,
                "startAt": start_at,
                "windowMs": opts.window * 1000,
                "ackTimeoutMs": opts.ack_timeout * 1000,
                **({"ballotsFile": str(ballots_file)} if ballots_file else {}),
            }
        )
    log(
        f"{label}: {n} voters cast within {opts.window:g} s"
        + (f"; SIGKILL after {opts.kill_at:.0%} of the acks" if kill else "")
    )

    killed_at: float | None = None
    restart_s: float | None = None
    tasks = [asyncio.create_task(g.expect("voted", opts.vote_timeout)) for g in env.gens]
    last_log = time.monotonic()
    timed_out = False
    try:
        pending: set[asyncio.Task[dict[str, Any]]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, timeout=0.02)
            for task in done:
                try:
                    task.result()
                except BenchError as exc:
                    if any(g.proc.returncode is not None for g in env.gens):
                        raise
                    log(f"{label}: {exc}")
                    timed_out = True
            if timed_out:
                break
            now = [g.progress for g in env.gens if g.progress.get("pollId") == poll_id]
            acked = sum(int(x.get("acked", 0)) for x in now)
            if kill and killed_at is None and acked >= opts.kill_at * n:
                killed_at, restart_s = await kill_and_restart(env, children, opts)
                meter.groups["nodes"] = [nd.proc.pid for nd in env.nodes]
            if time.monotonic() - last_log >= 1:
                last_log = time.monotonic()
                sent = sum(int(x.get("sent", 0)) for x in now)
                down = sum(int(x.get("down", 0)) for x in now)
                log(f"{label}: {sent}/{n} sent, {acked} acked, {down} not connected")
                rss = c.max_node_rss_mb([nd.proc.pid for nd in env.nodes])
                rss_peak = max(rss_peak, rss or 0.0)
    finally:
        for task in tasks:
            task.cancel()
    rss = c.max_node_rss_mb([nd.proc.pid for nd in env.nodes])
    rss_peak = max(rss_peak, rss or 0.0)
    cpu = meter.stop()
    metered_s = time.monotonic() - metered_from
    if kill:  # the killed node's CPU is gone with it: no meaningful figure
        cpu = {"box": cpu["box"]}
    else:  # everything else on the box (other sessions' test suites), % of one core
        ours = sum(v for k, v in cpu.items() if k != "box")
        cpu["others"] = round(max(0.0, cpu["box"] * (os.cpu_count() or 1) - ours), 1)
    if kill and killed_at is None:
        out.problems.append("the burst ended before the kill point: nothing was killed")

    if chair.closed and env.chair is chair:
        raise BenchError(f"{label}: the chair's connection closed")
    if env.chair is not chair:  # rejoined after the kill
        chair = env.chair
        polls = ((chair.last_snapshot or {}).get("room") or {}).get("polls") or []
        status = next((p.get("status") for p in polls if p.get("id") == poll_id), None)
        log(f"{label}: poll {poll_id} is {status!r} in the rejoined chair's snapshot")
        if status != "open":
            out.problems.append(f"after the restart poll {poll_id} is {status!r}, not open")

    # Close and time close → poll.published.
    close_start, answer = await chair.command(
        f"px-{nonce}", "poll.close", env.meeting, opts.close_timeout, {"poll_id": poll_id}
    )
    close_ack_ms = time.time() * 1000 - close_start
    if answer.get("type") != "ack":
        raise BenchError(f"{label}: poll.close refused: {rejection(answer)}")
    if board is not None:
        # Counting: two members' devices decrypt the aggregate `poll.closed` carries and
        # send their partials at once; the t-th valid one publishes the result.
        closed = await chair.wait_event("poll.closed", poll_id, opts.close_timeout)
        if closed is None:
            raise BenchError(f"{label}: no poll.closed within {opts.close_timeout:g} s")
        aggregate = (closed[1].get("data") or {}).get("aggregate") or []
        out.figures["close_to_closed_ms"] = c.rounded(closed[0] - close_start)
        sent = await board.partials(poll_id, aggregate)
        out.figures["close_to_partials_acked_ms"] = c.rounded(max(sent) - close_start)
    published = await chair.wait_event("poll.published", poll_id, opts.close_timeout)
    published_by_chair = False
    if published is None:
        closed = chair.find("poll.closed", poll_id)
        out.problems.append(
            f"no poll.published within {opts.close_timeout:g} s of poll.close (auto_publish "
            f"defaults to true); poll.closed {'seen' if closed else 'not seen'}"
        )
        _, answer = await chair.command(
            f"pp-{nonce}", "poll.publish", env.meeting, 30, {"poll_id": poll_id}
        )
        published = await chair.wait_event("poll.published", poll_id, opts.close_timeout)
        published_by_chair = True
        if published is None:
            raise BenchError(f"{label}: poll {poll_id} not published (publish: {answer})")
    close_to_result = published[0] - close_start if not published_by_chair else None
    result = (published[1].get("data") or {}).get("result") or {}

    # Every voter's ballot, as the clients saw it.
    for gen in env.gens:
        gen.send({"cmd": "report", "waitPublishedMs": opts.published_wait * 1000})
    reports = await c.gather_all([g.expect("ballots", opts.published_wait + 60) for g in env.gens])
    rows: list[dict[str, Any]] = []
    for rep in reports:
        fields = rep["fields"]
        rows.extend(dict(zip(fields, row, strict=True)) for row in rep["rows"])
    if opts.keep:
        (env.tmp / f"{label}-ballots.json").write_text(json.dumps(rows))

    # What the server counted.
    base = f"{env.nodes[0].http}/api/meetings/{env.meeting}/polls/{poll_id}"
    status, receipts_body = await c.http_request("GET", f"{base}/receipts", env.chair_token,
                                                 wait_s=30)
    listed: list[str] | None = None
    if (
        status == 200
        and isinstance(receipts_body, dict)
        and isinstance(receipts_body.get("receipts"), list)
    ):
        listed = [str(r) for r in receipts_body["receipts"]]
    else:
        out.problems.append(f"GET {base}/receipts answered {status}: {str(receipts_body)[:300]}")
    ballots: list[dict[str, Any]] | None = None
    if kind == "named":
        status, body = await c.http_request("GET", f"{base}/ballots", env.chair_token, wait_s=30)
        if status == 200 and isinstance(body, dict) and isinstance(body.get("ballots"), list):
            ballots = body["ballots"]
        else:
            out.problems.append(f"GET {base}/ballots answered {status}: {str(body)[:300]}")

    ceremony = dict(out.figures)  # ceremony_s, ballots_ready_s, close_to_* of a secret poll
    out.figures = check(out, rows, result, listed, ballots, options, killed_at, start_at)
    out.figures.update(ceremony)
    if board is not None:
        out.figures["verified"] = result.get("verified")
        if result.get("verified") is not True:
            out.problems.append(f"the published result is not verified: {result}")
        out.figures.update(
            await secret_poll.check_board(
                env.nodes[0].http, env.meeting, poll_id, env.chair_token
            )
        )
        expected = [out.figures["acked_choices"][str(o)] for o in options]
        if out.figures["board_status"] != "verified" or out.figures["board_counts"] != expected:
            out.problems.append(
                f"board.json: {out.figures['board_status']}, counts "
                f"{out.figures['board_counts']} (acked {expected}): "
                f"{out.figures['board_problems']}"
            )
    lat = out.figures.pop("_latencies")
    seen = [r["published_at"] for r in rows if r["published_at"] is not None]
    if seen:
        out.figures["result_to_all_ms"] = c.rounded(max(seen) - close_start)
    out.figures.update(
        {
            "poll_id": poll_id,
            "close_to_result_ms": c.rounded(close_to_result),
            "close_ack_ms": c.rounded(close_ack_ms),
            "cpu_pct": cpu,
            # The nodes' CPU time per acknowledged ballot (the whole burst's work: receiving,
            # checking, committing, acking, progress events), less sensitive to other load.
            "node_cpu_ms_per_ballot": c.rounded(
                cpu["nodes"] / 100 * metered_s * 1000 / out.figures["acked"], 3
            )
            if "nodes" in cpu and out.figures["acked"]
            else None,
            "rss_mb": c.rounded(rss_peak or None, 1),
        }
    )
    if len(env.nodes) > 1:
        by_node: list[float | None] = []
        for k in range(len(env.nodes)):
            mine = sorted(x for x, r in lat if r["node"] == k)
            by_node.append(c.rounded(c.percentile(mine, 99)))
        out.figures["ack_p99_ms_by_node"] = by_node
    if restart_s is not None and killed_at is not None:
        out.figures["restart_s"] = round(restart_s, 2)
        out.figures["chair_back_s"] = c.rounded(env.chair_back_s)
        back = sorted(
            (r["joined_at"] - killed_at) / 1000
            for r in rows
            if r["joined_at"] is not None and r["joined_at"] > killed_at
        )
        out.figures["voters_back"] = len(back)
        out.figures["voters_back_p50_s"] = c.rounded(c.percentile(back, 50))
        out.figures["voters_back_max_s"] = c.rounded(back[-1] if back else None)
    if published_by_chair:
        out.figures["published_by_chair"] = True
    if reports:
        out.figures["ws_errors"] = c.merge_counts([r.get("errors") or {} for r in reports])
        out.figures["closes"] = c.merge_counts([r.get("closes") or {} for r in reports])
        out.figures["reconnect_errors"] = c.merge_counts(
            [r.get("reconnectErrors") or {} for r in reports]
        )
        # What the voters (not organisers) were sent: no progress (not public), no result
        # before publication.
        seen_kinds = c.merge_counts([r.get("pollEvents") or {} for r in reports])
        out.figures["voter_poll_events"] = seen_kinds
        for kind in ("poll.progress", "poll.result"):
            if seen_kinds.get(kind):
                out.problems.append(f"voters received {seen_kinds[kind]} {kind} events")
    progress = [
        (received, e)
        for received, e in chair.poll_events
        if e.get("kind") == "poll.progress" and poll_id_of(e) == poll_id
    ]
    out.figures["progress_events"] = len(progress)
    if progress:
        # At most about 4 a second: the smallest gap between two (chair's arrival times).
        gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(progress)]
        out.figures["progress_min_gap_ms"] = c.rounded(min(gaps)) if gaps else None
        # The last one before the close (one due after the close is not sent).
        voted = [int((e.get("data") or {}).get("voted") or 0) for _, e in progress]
        out.figures["progress_last_voted"] = voted[-1]
        # "x of y have voted" never goes back (each node reports what its batches saw).
        out.figures["progress_backwards"] = sum(
            1 for earlier, later in itertools.pairwise(voted) if later < earlier
        )
        if out.figures["progress_backwards"]:
            out.problems.append(f"poll.progress went backwards: {voted}")
    f = out.figures
    log(
        f"{label}: {f['acked']}/{n} acked, counted {f['counted']}, lost {f['lost']}, "
        f"duplicated {f['duplicated']}, tally exact {f['tally_exact']}; ack p50 "
        f"{fmt(f['ack_p50_ms'])} p99 {fmt(f['ack_p99_ms'])} max {fmt(f['ack_max_ms'])} ms; "
        f"all acked {fmt(f['all_acked_s'])} s after the window opened; close → result "
        f"{fmt(f['close_to_result_ms'])} ms; CPU % of one core {cpu}"
        + (
            f"; verified {f.get('verified')}, board {f.get('board_status')} in "
            f"{f.get('board_verify_s')} s"
            if board is not None
            else ""
        )
    )
    for problem in out.problems:
        log(f"{label}: PROBLEM: {problem}")
    return out


def check(
    out: Burst,
    rows: list[dict[str, Any]],
    result: dict[str, Any],
    listed: list[str] | None,
    ballots: list[dict[str, Any]] | None,
    options: list[int],
    killed_at: float | None,
    start_at: float,
) -> dict[str, Any]:
    """Compare what the clients were acknowledged with what the server published."""
    acked = [r for r in rows if r["state"] == "acked"]
    answered_late = [r for r in rows if r["reject_code"] and "+" in str(r["reject_code"])]
    refused = Counter(str(r["reject_code"]) for r in rows if r["state"] == "rejected")
    unanswered = [r for r in rows if r["state"] in ("idle", "due", "sent")]
    sent_unacked = sum(1 for r in rows if r["state"] != "acked" and r["sends"] > 0)
    counted = result.get("cast")
    counts_raw = result.get("counts") or []
    counts = {
        int(x["option_id"]): int(x["votes"])
        for x in counts_raw
        if isinstance(x, dict) and "option_id" in x
    }
    expected = Counter(int(r["choice"]) for r in acked)

    receipts = [r["receipt"] for r in acked]
    if any(not isinstance(x, str) for x in receipts):
        out.problems.append(
            f"{sum(1 for x in receipts if not isinstance(x, str))} acks without a receipt"
        )
    lost_voters: set[int] = set()
    altered = 0
    repeats = 0
    if listed is not None:
        listed_set = set(listed)
        repeats = len(listed) - len(listed_set)
        lost_voters |= {r["user_id"] for r in acked if r["receipt"] not in listed_set}
        if len(listed) != counted:
            out.problems.append(f"{len(listed)} receipts listed, result.cast {counted}")
    if ballots is not None:
        by_voter = Counter(int(b.get("voter_id", -1)) for b in ballots)
        repeats = max(repeats, sum(k - 1 for k in by_voter.values() if k > 1))
        choices = {int(b.get("voter_id", -1)): sorted(b.get("choices") or []) for b in ballots}
        for r in acked:
            got = choices.get(int(r["user_id"]))
            if got is None:
                lost_voters.add(r["user_id"])
            elif got != [r["choice"]]:
                altered += 1
        if len(ballots) != counted:
            out.problems.append(f"{len(ballots)} named ballots listed, result.cast {counted}")
    lost = len(lost_voters)
    duplicated = 0
    if isinstance(counted, int):
        duplicated = max(0, counted - (len(acked) - lost) - sent_unacked, repeats)
    if isinstance(result.get("receipts"), int) and result["receipts"] != counted:
        out.problems.append(f"result.receipts {result['receipts']} ≠ result.cast {counted}")
    if sum(counts.values()) != counted:
        out.problems.append(f"result counts {counts_raw} do not add up to cast {counted}")
    tally_exact = (
        counted == len(acked)
        and lost == 0
        and altered == 0
        and duplicated == 0
        and {k: v for k, v in counts.items() if v} == dict(expected)
    )
    receipt_mismatch = sum(1 for r in rows if r["receipt_mismatch"])
    if receipt_mismatch:
        out.problems.append(f"{receipt_mismatch} voters got acks with different receipts")
    if answered_late:
        out.problems.append(
            f"{len(answered_late)} ballots both refused and acked: "
            f"{Counter(str(r['reject_code']) for r in answered_late)}"
        )
    if refused:
        out.problems.append(f"refused: {dict(refused)}")
    if unanswered:
        out.problems.append(f"{len(unanswered)} ballots never answered")

    latencies = sorted(
        (
            (r["acked_at"] - r["first_sent_at"], r)
            for r in acked
            if r["acked_at"] is not None and r["first_sent_at"] is not None
        ),
        key=lambda pair: pair[0],
    )
    lat = [x for x, _ in latencies]
    last_ack = max((r["acked_at"] for r in acked), default=None)
    fig: dict[str, Any] = {
        "voters": len(rows),
        "acked": len(acked),
        "counted": counted,
        "lost": lost,
        "duplicated": duplicated,
        "ack_p50_ms": c.rounded(c.percentile(lat, 50)),
        "ack_p99_ms": c.rounded(c.percentile(lat, 99)),
        "ack_max_ms": c.rounded(lat[-1] if lat else None),
        "tally_exact": tally_exact,
        "all_acked_s": c.rounded((last_ack - start_at) / 1000 if last_ack else None, 3),
        "counts": {str(k): counts.get(k, 0) for k in options},
        "acked_choices": {str(k): expected.get(k, 0) for k in options},
        "altered": altered,
        "refused": dict(refused),
        "unanswered": len(unanswered),
        "resends_timeout": sum(int(r["resends_timeout"]) for r in rows),
        "resends_reconnect": sum(int(r["resends_reconnect"]) for r in rows),
        "resends_retryable": sum(int(r["resends_retryable"]) for r in rows),
        "duplicate_acks": sum(int(r["duplicate_acks"]) for r in rows),
        "repeat_acks": sum(max(0, int(r["acks"]) - 1) for r in rows),
        "receipt_mismatch": receipt_mismatch,
        "published_seen": sum(1 for r in rows if r["published_at"] is not None),
        "result_to_all_ms": None,
        "members": result.get("members"),
        "passed": result.get("passed"),
        "_latencies": latencies,
    }
    if killed_at is not None:
        before = [r for r in acked if r["acked_at"] < killed_at]
        fig["acked_before_kill"] = len(before)
        fig["acked_after_kill"] = len(acked) - len(before)
        fig["first_ack_duplicate"] = sum(1 for r in acked if r["first_ack_duplicate"])
        fig["recovered_s"] = c.rounded((last_ack - killed_at) / 1000 if last_ack else None, 3)
        fig["lost_before_kill"] = sum(1 for r in before if r["user_id"] in lost_voters)
    return fig


# --------------------------------------------------------------------------- setups


def read_voters(data: Path, n: int) -> tuple[list[dict[str, Any]], str]:
    """The first n delegates of bench-tokens.json (user_id, token, site_id) and the chair."""
    raw = json.loads((data / "bench-tokens.json").read_text())
    entries = sorted(raw["tokens"], key=lambda e: int(e["user_id"]))[:n]
    if len(entries) < n:
        raise BenchError(f"bench-tokens.json has {len(entries)} delegates, need {n}")
    return entries, str(raw["chair"])


async def start_env(
    name: str,
    count: int,
    seeded: Seeded,
    opts: argparse.Namespace,
    children: Children,
    tmp: Path,
    db: c.PgDatabase,
) -> Env:
    """Start `count` nodes on the seeded store, join every voter and the chair."""
    data, meeting, database, redis = seeded.data, seeded.meeting, seeded.database, seeded.redis
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
    entries, chair_token = read_voters(data, opts.voters)
    voters = [
        {
            "token": e["token"],
            "user_id": int(e["user_id"]),
            "node": i % count,
            "site_id": e.get("site_id"),
        }
        for i, e in enumerate(entries)
    ]
    procs = max(1, min(opts.procs, len(voters)))
    gens: list[NodeProc] = []
    for p in range(procs):
        config = tmp / f"{name}-vote{p}.json"
        config.write_text(
            json.dumps(
                {
                    "label": f"{name}/gen{p}",
                    "urls": [nd.url for nd in nodes],
                    "voters": [
                        {k: v[k] for k in ("token", "user_id", "node")} for v in voters[p::procs]
                    ],
                    "meeting": meeting,
                    "concurrency": max(1, opts.concurrency // procs),
                    "joinTimeoutMs": int(opts.join_timeout * 1000),
                    "attempts": 3,
                    "maxSeconds": int(opts.ramp_timeout + 1800),
                }
            )
        )
        gens.append(await NodeProc.start(children, f"{name}/gen{p}", config, "vote.mjs"))
    await c.wait_ready(name, gens, len(voters), opts.ramp_timeout)
    chair = await join_chair(nodes[0].url, chair_token, meeting, opts.join_timeout)
    status, me = await c.http_request("GET", f"{nodes[0].http}/api/me", chair_token, wait_s=30)
    if status != 200 or not isinstance(me, dict):
        raise BenchError(f"GET /api/me as the chair: {status} {str(me)[:300]}")
    # The counting board of secret polls: the chair and the first two delegates.
    board = [(int(me["user"]["id"]), chair_token)]
    board += [(v["user_id"], v["token"]) for v in voters[:2]]
    env = Env(
        name,
        nodes,
        gens,
        chair,
        meeting,
        chair_token,
        voters,
        database,
        redis,
        data,
        tmp,
        db if database else None,
        board,
        [[v["user_id"] for v in voters[p::procs]] for p in range(procs)],
    )
    if opts.eligibility == "present":
        for gen in gens:
            gen.send({"cmd": "checkin", "ackTimeoutMs": 30_000})
        checked = await c.gather_all([g.expect("checkedin", 120) for g in gens])
        acked = sum(int(x["acked"]) for x in checked)
        log(
            f"{name}: {acked}/{len(voters)} checked in; refused "
            f"{c.merge_counts([x['rejected'] for x in checked])}"
        )
    await asyncio.sleep(opts.settle)  # let the joins' presence fan-out drain
    return env


async def stop_env(env: Env | None, children: Children) -> int:
    """Stop everything of a setup; the Traceback/ERROR lines in its node logs."""
    if env is None:
        return 0
    if env.chair is not None:
        await env.chair.close()
    await asyncio.gather(*(g.quit(children) for g in env.gens))
    await c.stop_nodes(children, env.nodes)
    return c.count_errors([*env.old_logs, *(nd.log_path for nd in env.nodes)])


@dataclass
class Seeded:
    data: Path
    meeting: int
    database: str | None
    redis: str | None


async def seeded_store(
    store: str,
    opts: argparse.Namespace,
    children: Children,
    tmp: Path,
    db: c.PgDatabase,
    cache: dict[str, Seeded],
) -> Seeded:
    """Seed `store` once per run (PostgreSQL: into the run's fresh database). A failed
    seed (e.g. a connection-pool timeout on a box busy with other work) is retried once,
    into a fresh database."""
    if store in cache:
        return cache[store]
    for attempt in (1, 2):
        database = redis = None
        if store == "postgresql":
            await c.ping_redis()
            if attempt > 1:
                await db.drop()
            await db.create()
            database, redis = db.url, REDIS_URL
        data = tmp / f"{store}-data{'' if attempt == 1 else attempt}"
        try:
            meeting = await run_seed(store, opts, children, tmp, data, database)
        except BenchError as exc:
            if attempt > 1:
                raise
            log(f"{store}: {exc}; seeding again")
            continue
        cache[store] = Seeded(data, meeting, database, redis)
        return cache[store]
    raise AssertionError("unreachable")


async def run_seed(
    store: str,
    opts: argparse.Namespace,
    children: Children,
    tmp: Path,
    data: Path,
    database: str | None,
) -> int:
    """`python -m phonghop bench-seed --sites K` into `data` (and `database`); the meeting."""
    await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
    seed_log = tmp / f"{data.name}-seed.log"
    log(f"{store}: bench-seed --delegates {opts.voters} --sites {opts.sites}")
    began = time.monotonic()
    with seed_log.open("wb") as err:
        proc = await c.spawn(
            children,
            [
                sys.executable,
                "-m",
                c.entry_module(opts.server_root),
                "bench-seed",
                "--data",
                str(data),
                "--delegates",
                str(opts.voters),
                "--items",
                "10",
                "--sites",
                str(opts.sites),
                *c.backend_args(database, None),
            ],
            cwd=opts.server_root,
            env=c.server_env(opts.server_root),
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
        try:
            stdout, _ = await asyncio.wait_for(proc.communicate(), opts.seed_timeout)
        except TimeoutError:
            await children.stop(proc, 2)
            raise BenchError(f"bench-seed took more than {opts.seed_timeout:.0f} s") from None
    if proc.returncode != 0:
        text = seed_log.read_text(errors="replace").splitlines()
        ours = [ln.strip() for ln in text if str(opts.server_root) in ln and "File " in ln]
        raise BenchError(
            f"bench-seed failed with {proc.returncode}: {text[-1] if text else ''}; "
            f"in {' < '.join(reversed(ours[-4:]))}"
        )
    lines = [ln for ln in stdout.decode(errors="replace").splitlines() if ln.strip()]
    meeting = int(json.loads(lines[-1])["meeting"])
    log(f"{store}: seeded meeting {meeting} in {time.monotonic() - began:.1f} s")
    return meeting


# --------------------------------------------------------------------------- the run


def load_note() -> dict[str, float]:
    one, five, _ = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2)}


async def run(opts: argparse.Namespace, children: Children, db: c.PgDatabase) -> int:
    c.ensure_node_modules()
    c.need_nofile(opts.voters + 512)
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-vote-"))
    log(f"work dir {tmp}; load average {load_note()}")
    cache: dict[str, Seeded] = {}
    bursts: list[tuple[str, Burst]] = []
    kills: list[Burst] = []
    server_errors: dict[str, int] = {}
    loads: dict[str, dict[str, float]] = {"start": load_note()}
    try:
        for key in opts.only:
            name, count, store = SETUPS[key]
            seeded = await seeded_store(store, opts, children, tmp, db, cache)
            env: Env | None = None
            try:
                env = await start_env(name, count, seeded, opts, children, tmp, db)
                for kind in opts.ballots:
                    for r in range(1, opts.rounds + 1):
                        label = f"{name}_{kind}" + (f"_r{r}" if r > 1 else "")
                        bursts.append((name, await burst(env, kind, label, opts, children)))
                        loads[label] = load_note()
            finally:
                server_errors[name] = await stop_env(env, children)
        if opts.kill:
            seeded = await seeded_store("postgresql", opts, children, tmp, db, cache)
            env = None
            try:
                env = await start_env("kill", 1, seeded, opts, children, tmp, db)
                for kind in opts.ballots:
                    kills.append(await burst(env, kind, f"kill_{kind}", opts, children, kill=True))
                    await asyncio.sleep(opts.settle)
            finally:
                server_errors["kill"] = await stop_env(env, children)
    finally:
        await db.drop()
        c.leave_work_dir(tmp, opts.keep)

    summary: dict[str, Any] = {}
    hall = sum(1 for i in range(1, opts.voters + 1) if not opts.sites or i % (opts.sites + 1) == 0)
    main = bursts[0][1] if bursts else (kills[0] if kills else None)
    if main is not None:
        summary["main"] = main.label
        for key in (
            "voters",
            "acked",
            "counted",
            "lost",
            "duplicated",
            "ack_p50_ms",
            "ack_p99_ms",
            "close_to_result_ms",
            "tally_exact",
        ):
            summary[key] = main.figures.get(key)
        if "verified" in main.figures:  # an encrypted poll
            for key in ("verified", "board_status", "board_verify_s"):
                summary[key] = main.figures.get(key)
    summary.update(
        {
            "hall_voters": hall,
            "remote_voters": opts.voters - hall,
            "sites": opts.sites,
            "window_s": opts.window,
            "eligibility": opts.eligibility,
        }
    )
    all_bursts = [b for _, b in bursts] + kills
    for b in all_bursts:
        for key, value in b.figures.items():
            summary[f"{b.label}_{key}"] = value
        if b.problems:
            summary[f"{b.label}_problems"] = b.problems
    if kills:
        summary["kill_acked_before_kill"] = sum(
            int(b.figures.get("acked_before_kill") or 0) for b in kills
        )
        summary["kill_lost"] = sum(int(b.figures.get("lost") or 0) for b in kills)
        summary["kill_duplicated"] = sum(int(b.figures.get("duplicated") or 0) for b in kills)
        summary["kill_tally_exact"] = all(bool(b.figures.get("tally_exact")) for b in kills)
    summary["all_tallies_exact"] = all(bool(b.figures.get("tally_exact")) for b in all_bursts)
    summary["total_lost"] = sum(int(b.figures.get("lost") or 0) for b in all_bursts)
    summary["total_duplicated"] = sum(int(b.figures.get("duplicated") or 0) for b in all_bursts)
    summary["server_errors"] = server_errors
    summary["load"] = loads
    print(json.dumps(summary, ensure_ascii=False), flush=True)

    bad = [
        b.label
        for b in all_bursts
        if b.figures.get("lost")
        or b.figures.get("duplicated")
        or not b.figures.get("tally_exact")
        or b.figures.get("acked") != opts.voters
        or (
            "verified" in b.figures  # an encrypted poll: its result and board must verify
            and (b.figures["verified"] is not True or b.figures.get("board_status") != "verified")
        )
    ]
    targets = [
        b.label
        for _, b in bursts
        if (b.figures.get("ack_p99_ms") or 1e9) >= 1000
        or (b.figures.get("close_to_result_ms") or 1e9) >= 1000
    ]
    if targets:
        log(f"NOTE: ack p99 or close → result not under 1 s in {targets}")
    if bad or any(server_errors.values()):
        log(
            f"WARNING: lost, duplicated, miscounted or unacknowledged ballots in {bad}, "
            f"or server errors {server_errors}"
        )
        return 3
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="phonghop vote-burst benchmark (result: last stdout line, JSON)"
    )
    parser.add_argument("--voters", type=int, default=6300, help="voters (default 6300)")
    parser.add_argument(
        "--sites",
        type=int,
        default=20,
        help="online sites; voter i at site i %% (sites+1), 0: hall (20)",
    )
    parser.add_argument(
        "--window", type=float, default=1.0, help="every ballot sent within this many s (default 1)"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        choices=tuple(SETUPS),
        default=["one", "two"],
        help="setups, in order; the first is the main one (default: one two; none: only "
        "the kill test)",
    )
    parser.add_argument(
        "--ballots",
        nargs="+",
        choices=KINDS,
        default=list(KINDS),
        help="poll kinds per setup, in order (default: named secret)",
    )
    parser.add_argument(
        "--secret",
        action="store_true",
        help="secret polls only (encrypted: a board of 3, t = 2, among the seeded accounts)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="bursts per setup and kind, one after the other (default 1; the later ones "
        "are labelled _r2, _r3…: e.g. the encrypted polls' verifier processes are warm)",
    )
    parser.add_argument(
        "--eligibility",
        choices=("members", "present"),
        default="members",
        help="members, or present (every voter checks in first)",
    )
    parser.add_argument(
        "--kill",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the kill -9 test on one PostgreSQL node (default on)",
    )
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.5,
        help="SIGKILL once this share of the ballots is acked (default 0.5)",
    )
    parser.add_argument(
        "--restart-delay",
        type=float,
        default=0,
        help="s between the kill and the restart (default 0)",
    )
    parser.add_argument(
        "--ack-timeout",
        type=float,
        default=10,
        help="resend a ballot unanswered after this many s (default 10)",
    )
    parser.add_argument(
        "--vote-timeout", type=float, default=180, help="every ballot answered, s (default 180)"
    )
    parser.add_argument(
        "--close-timeout",
        type=float,
        default=30,
        help="poll.close ack and poll.published, s (default 30)",
    )
    parser.add_argument(
        "--published-wait",
        type=float,
        default=15,
        help="every client sees poll.published, s (default 15)",
    )
    parser.add_argument(
        "--open-pause",
        type=float,
        default=0.3,
        help="pause after poll.open before the window, s (default 0.3)",
    )
    c.add_run_args(parser)
    opts = parser.parse_args(argv)
    if opts.secret:
        opts.ballots = ["secret"]
    if opts.voters < 1 or opts.window <= 0 or opts.sites < 0 or opts.rounds < 1:
        parser.error("--voters ≥ 1, --window > 0, --sites ≥ 0, --rounds ≥ 1")
    if not 0 < opts.kill_at < 1:
        parser.error("--kill-at must be in (0, 1)")
    opts.only = list(dict.fromkeys(opts.only))
    opts.ballots = list(dict.fromkeys(opts.ballots))
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    return c.main_with_database(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
