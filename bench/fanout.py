"""Fan-out benchmark: how fast does phonghop deliver one room event to N connected clients?

It seeds and starts a phonghop server (`python -m server bench-seed` then `serve`) on a free
127.0.0.1 port, connects N websocket clients from a few Node processes (bench/client.mjs),
and has the chair send `agenda.next` R times; each client timestamps its `agenda.activated`
event. The same clients and rounds are then run against bench/baseline_server.py, a bare
`websockets.broadcast()` server. The last line on stdout is one JSON object:

    {"clients", "rounds", "p50_ms", "p99_ms", "last_delivery_median_ms",
     "baseline_last_delivery_median_ms", "server_rss_mb", "baseline_p50_ms", "ratio"}

Usage: python bench/fanout.py --clients 6300 [--rounds 20] [--only phonghop|baseline]
       python bench/fanout.py --clients 1000 --nodes-url ws://127.0.0.1:8000 --data DIR
Everything but the result line goes to stderr. Exit status: 0 ok, 1 failure, 3 some
deliveries missing (the result line is still printed).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NODE_LINE_LIMIT = 64 * 1024 * 1024
T = TypeVar("T")


class BenchError(Exception):
    """A failure that ends the benchmark with a message."""


def log(msg: str) -> None:
    """Diagnostics go to stderr; stdout keeps only the result."""
    print(f"[fanout {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


class Children:
    """Every child process this run started, each leading its own process group."""

    def __init__(self) -> None:
        self._procs: list[asyncio.subprocess.Process] = []

    def add(self, proc: asyncio.subprocess.Process) -> asyncio.subprocess.Process:
        self._procs.append(proc)
        return proc

    @staticmethod
    def _signal(proc: asyncio.subprocess.Process, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    async def stop(self, proc: asyncio.subprocess.Process, grace: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL it after `grace` seconds."""
        if proc.returncode is None:
            self._signal(proc, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                log(f"pid {proc.pid} ignored SIGTERM for {grace:.0f} s; killing it")
        self._signal(proc, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(p, 5.0) for p in self._procs))

    def kill_all_now(self) -> None:
        """Last resort (atexit): SIGKILL whatever is left, without waiting."""
        for proc in self._procs:
            if proc.returncode is None:
                self._signal(proc, signal.SIGKILL)


async def spawn(
    children: Children, argv: Sequence[str], **kwargs: Any
) -> asyncio.subprocess.Process:
    """Start a child in its own session (so Ctrl-C reaches only us) and register it."""
    proc = await asyncio.create_subprocess_exec(*argv, start_new_session=True, **kwargs)
    return children.add(proc)


def raise_nofile(want: int) -> int:
    """Raise RLIMIT_NOFILE (inherited by the children) to at least `want` if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            log(f"cannot raise the hard open-files limit {hard} to {want}")
    target = want if hard == resource.RLIM_INFINITY else min(max(soft, want), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_port(
    port: int, proc: asyncio.subprocess.Process, wait_s: float, logfile: Path
) -> None:
    """Wait until something accepts on 127.0.0.1:port, failing if `proc` dies first."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise BenchError(
                f"server exited with {proc.returncode} before listening\n{tail(logfile)}"
            )
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.2)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise BenchError(f"server not listening on port {port} after {wait_s:.0f} s\n{tail(logfile)}")


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------- memory


def _proc_children() -> dict[int, list[int]]:
    """Map of pid -> child pids, from /proc/*/stat."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss_mb(roots: Sequence[int]) -> float | None:
    """Summed VmRSS (MiB) of the given processes and all their descendants."""
    kids = _proc_children()
    seen: set[int] = set()
    stack = list(roots)
    total_kb = 0
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(kids.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024 if seen and total_kb else None


def listening_pids(port: int) -> list[int]:
    """Pids holding a listening TCP socket on `port` (for servers we did not start)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.append(int(entry))
                    break
    return pids


# --------------------------------------------------------------------------- tokens


@dataclass
class Tokens:
    """Websocket tokens from bench-seed's bench-tokens.json."""

    delegates: list[str]
    chair: str


def load_tokens(path: Path) -> Tokens:
    """Read bench-tokens.json: a list of {"user_id", "token"} plus one {"chair": token}.

    Also accepted: a chair entry {"chair": true, "token": ...}, or an object
    {"chair": token, "delegates": [...]}.
    """
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read {path}: {exc}") from exc
    entries: list[Any]
    chair: str | None = None
    if isinstance(raw, dict):
        chair = raw.get("chair") if isinstance(raw.get("chair"), str) else None
        entries = list(raw.get("delegates") or raw.get("tokens") or [])
    elif isinstance(raw, list):
        entries = raw
    else:
        raise BenchError(f"{path}: expected a JSON list")
    delegates: list[tuple[int, str]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if "chair" in entry:
            value = entry["chair"]
            chair = value if isinstance(value, str) else entry.get("token")
        elif isinstance(entry.get("token"), str):
            delegates.append((int(entry.get("user_id") or 0), entry["token"]))
    if not chair:
        raise BenchError(f"{path}: no chair token")
    delegates.sort(key=lambda d: d[0])
    return Tokens([t for _, t in delegates], chair)


# --------------------------------------------------------------------------- node clients


def ensure_node_modules() -> None:
    """`npm ci` (or `npm install`) in bench/ when `ws` is not installed yet."""
    if (BENCH_DIR / "node_modules" / "ws" / "package.json").exists():
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise BenchError("node and npm are needed for the load generator")
    verb = "ci" if (BENCH_DIR / "package-lock.json").exists() else "install"
    log(f"npm {verb} in {BENCH_DIR}")
    done = subprocess.run(
        ["npm", verb, "--no-audit", "--no-fund"],
        cwd=BENCH_DIR,
        stdout=sys.stderr,
        stderr=sys.stderr,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"npm {verb} failed with {done.returncode}")


class NodeProc:
    """One Node load-generator process and its JSON-lines channel."""

    def __init__(self, label: str, proc: asyncio.subprocess.Process) -> None:
        self.label = label
        self.proc = proc
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.progress: dict[str, Any] = {"joined": 0, "failed": 0}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, children: Children, label: str, config: Path) -> NodeProc:
        proc = await spawn(
            children,
            ["node", str(BENCH_DIR / "client.mjs"), str(config)],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=NODE_LINE_LIMIT,
        )
        return cls(label, proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while line := await self.proc.stdout.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    log(f"{self.label}: bad line {line[:200]!r}")
                    continue
                if msg.get("type") == "progress":
                    self.progress = msg
                else:
                    await self.queue.put(msg)
        finally:
            await self.queue.put(None)

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        if self.proc.stdin.is_closing():
            raise BenchError(f"{self.label}: stdin closed")
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())

    async def expect(self, kind: str, wait_s: float) -> dict[str, Any]:
        """The next message of type `kind`; other messages are logged and skipped."""
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{self.label}: no {kind!r} within {wait_s:.0f} s")
            try:
                msg = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                raise BenchError(f"{self.label}: no {kind!r} within {wait_s:.0f} s") from None
            if msg is None:
                await self.queue.put(None)
                raise BenchError(f"{self.label}: load generator exited ({self.proc.returncode})")
            if msg.get("type") == kind:
                return msg
            log(f"{self.label}: unexpected {str(msg)[:200]}")

    async def quit(self, children: Children) -> None:
        with contextlib.suppress(BenchError, OSError):
            self.send({"cmd": "quit"})
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            await children.stop(self.proc, 2)
        self._reader.cancel()


# --------------------------------------------------------------------------- chair


class Chair:
    """The chair's websocket: sends the round commands and waits for their acks."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.snapshot: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def join(
        cls, base_url: str, token: str, meeting: int, deflate: bool, wait_s: float
    ) -> Chair:
        ws = await connect(
            f"{base_url}/ws?token={token}",
            open_timeout=wait_s,
            max_size=None,
            compression="deflate" if deflate else None,
        )
        chair = cls(ws)
        await ws.send(json.dumps({"type": "join", "meeting": meeting}))
        try:
            await asyncio.wait_for(asyncio.shield(chair.snapshot), wait_s)
        except TimeoutError:
            await chair.close()
            raise BenchError(f"chair: no snapshot within {wait_s:.0f} s") from None
        return chair

    async def _read(self) -> None:
        error: BaseException = BenchError("chair connection closed")
        try:
            async for raw in self.ws:
                text = raw if isinstance(raw, str) else raw.decode()
                # Cheap filter: the chair also gets every presence and event message.
                if not any(k in text for k in ('"ack"', '"rejected"', '"snapshot"', '"error"')):
                    continue
                msg = json.loads(text)
                kind = msg.get("type")
                if kind == "snapshot" and not self.snapshot.done():
                    self.snapshot.set_result(msg)
                elif kind in ("ack", "rejected"):
                    fut = self.waiting.pop(str(msg.get("id")), None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                elif kind == "error":
                    log(f"chair: server error {text[:300]}")
                    if not self.snapshot.done():
                        self.snapshot.set_exception(BenchError(f"chair join failed: {text[:300]}"))
        except Exception as exc:  # any reader failure fails the waiters
            error = BenchError(f"chair connection failed: {exc!r}")
        for fut in [self.snapshot, *self.waiting.values()]:
            if not fut.done():
                fut.set_exception(error)

    async def command(
        self, cmd_id: str, name: str, meeting: int, wait_s: float
    ) -> tuple[float, dict[str, Any]]:
        """Send a room command; returns (start time in epoch ms, ack or rejected)."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[cmd_id] = fut
        payload = json.dumps(
            {"type": "command", "id": cmd_id, "meeting": meeting, "name": name, "args": {}}
        )
        start = time.time() * 1000
        await self.ws.send(payload)
        try:
            return start, await asyncio.wait_for(fut, wait_s)
        except TimeoutError:
            raise BenchError(f"chair: no ack for {cmd_id} within {wait_s:.0f} s") from None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        self._reader.cancel()


# --------------------------------------------------------------------------- measuring


@dataclass
class Target:
    """A server under test: its websocket base URLs and how to find its pids."""

    name: str
    urls: list[str]
    meeting: int
    pids: Callable[[], list[int]]


@dataclass
class Result:
    """What one target's run measured."""

    latencies: list[float] = field(default_factory=list)
    last_delivery: list[float] = field(default_factory=list)
    rss_mb: float | None = None
    missing: int = 0

    def p(self, q: float) -> float | None:
        return percentile(sorted(self.latencies), q)

    @property
    def last_median(self) -> float | None:
        return statistics.median(self.last_delivery) if self.last_delivery else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of already sorted values."""
    if not values:
        return None
    pos = (len(values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


async def gather_all(coros: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Like asyncio.gather, but cancels the others as soon as one fails."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


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
        rss = tree_rss_mb(target.pids())
        if rss is not None:
            result.rss_mb = max(result.rss_mb or 0.0, rss)
        log(f"{target.name}: server RSS {fmt(rss)} MiB")

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
        began = time.monotonic()
        ready_tasks = [
            asyncio.create_task(node.expect("ready", opts.ramp_timeout)) for node in nodes
        ]
        try:
            pending: set[asyncio.Task[dict[str, Any]]] = set(ready_tasks)
            while pending:
                done, pending = await asyncio.wait(pending, timeout=3)
                for task in done:
                    task.result()  # a failed node fails the run now
                joined = sum(int(node.progress.get("joined", 0)) for node in nodes)
                failed = sum(int(node.progress.get("failed", 0)) for node in nodes)
                if pending:
                    log(f"{target.name}: {joined}/{n} joined, {failed} failed")
            readies = [t.result() for t in ready_tasks]
        finally:
            for task in ready_tasks:
                task.cancel()
        joined = sum(int(r["joined"]) for r in readies)
        elapsed = time.monotonic() - began
        rate = joined / max(elapsed, 1e-9)
        log(f"{target.name}: {joined}/{n} joined in {elapsed:.1f} s ({rate:.0f}/s)")
        if joined < n:
            errors: dict[str, int] = {}
            for r in readies:
                for reason, count in r.get("errors", {}).items():
                    errors[reason] = errors.get(reason, 0) + count
            raise BenchError(f"{target.name}: only {joined}/{n} clients joined; errors {errors}")

        chair = await Chair.join(
            target.urls[0], tokens.chair, target.meeting, opts.deflate, opts.join_timeout
        )
        await asyncio.sleep(opts.settle)  # let the joins' presence fan-out drain
        sample_rss()

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
    """Seed a fresh data dir, start `python -m server serve`, return the target."""
    data = tmp / "data"
    data.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(opts.server_root), os.environ.get("PYTHONPATH")])
        ),
    }
    seed_log = tmp / "bench-seed.log"
    log(f"phonghop: bench-seed --delegates {opts.clients} in {data}")
    began = time.monotonic()
    with seed_log.open("wb") as err:
        seed = await spawn(
            children,
            [
                sys.executable,
                "-m",
                "server",
                "bench-seed",
                "--data",
                str(data),
                "--delegates",
                str(opts.clients),
            ],
            cwd=opts.server_root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
        try:
            out, _ = await asyncio.wait_for(seed.communicate(), opts.seed_timeout)
        except TimeoutError:
            await children.stop(seed, 2)
            raise BenchError(
                f"bench-seed took more than {opts.seed_timeout:.0f} s\n{tail(seed_log)}"
            ) from None
    if seed.returncode != 0:
        raise BenchError(f"bench-seed failed with {seed.returncode}\n{tail(seed_log)}")
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.strip()]
    try:
        meeting = int(json.loads(lines[-1])["meeting"])
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f'bench-seed printed no {{"meeting": id}} line: {lines[-3:]}') from exc
    log(f"phonghop: seeded meeting {meeting} in {time.monotonic() - began:.1f} s")
    tokens = load_tokens(data / "bench-tokens.json")
    if len(tokens.delegates) < opts.clients:
        raise BenchError(
            f"bench-tokens.json has {len(tokens.delegates)} delegate tokens, need {opts.clients}"
        )

    port = free_port()
    serve_log = tmp / "serve.log"
    with serve_log.open("wb") as logf:
        server = await spawn(
            children,
            [
                sys.executable,
                "-m",
                "server",
                "serve",
                "--data",
                str(data),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            cwd=opts.server_root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
    await wait_port(port, server, opts.start_timeout, serve_log)
    log(f"phonghop: serving on 127.0.0.1:{port} (pid {server.pid}, log {serve_log})")
    return (
        Target("phonghop", [f"ws://127.0.0.1:{port}"], meeting, lambda: [server.pid]),
        tokens,
        server,
    )


async def start_baseline(
    children: Children, tmp: Path, meeting: int, wait_s: float
) -> tuple[Target, asyncio.subprocess.Process]:
    """Start bench/baseline_server.py on a free port."""
    port = free_port()
    log_path = tmp / "baseline.log"
    with log_path.open("wb") as logf:
        proc = await spawn(
            children,
            [
                sys.executable,
                str(BENCH_DIR / "baseline_server.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
    await wait_port(port, proc, wait_s, log_path)
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
    tokens = load_tokens(Path(opts.data) / "bench-tokens.json")
    if len(tokens.delegates) < opts.clients:
        raise BenchError(
            f"bench-tokens.json has {len(tokens.delegates)} delegate tokens, need {opts.clients}"
        )
    return Target(
        "phonghop", urls, opts.meeting, lambda: [p for port in ports for p in listening_pids(port)]
    ), tokens


# --------------------------------------------------------------------------- main


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


async def run(opts: argparse.Namespace, children: Children) -> int:
    """The whole benchmark; returns the exit status."""
    ensure_node_modules()
    limit = raise_nofile(opts.clients + 2048)
    if limit < opts.clients + 256:
        raise BenchError(f"open-files limit {limit} is too low for {opts.clients} clients")
    tmp = Path(tempfile.mkdtemp(prefix="phonghop-bench-"))
    log(f"work dir {tmp}")
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
        if opts.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

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
        "--procs", type=int, default=2, help="Node load-generator processes (default 2)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=200, help="handshakes in flight (default 200)"
    )
    parser.add_argument(
        "--gap-ms", type=float, default=300, help="pause between rounds (default 300)"
    )
    parser.add_argument(
        "--join-timeout", type=float, default=30, help="per client join, s (default 30)"
    )
    parser.add_argument(
        "--ramp-timeout", type=float, default=900, help="all clients joined, s (default 900)"
    )
    parser.add_argument("--round-timeout", type=float, default=20, help="one round, s (default 20)")
    parser.add_argument(
        "--seed-timeout", type=float, default=900, help="bench-seed, s (default 900)"
    )
    parser.add_argument(
        "--start-timeout", type=float, default=60, help="server listening, s (default 60)"
    )
    parser.add_argument(
        "--settle", type=float, default=2, help="pause after joining, s (default 2)"
    )
    parser.add_argument("--deflate", action="store_true", help="clients offer permessage-deflate")
    parser.add_argument(
        "--server-root", type=Path, default=REPO_ROOT, help="dir holding the server package"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs)")
    opts = parser.parse_args(argv)
    if opts.clients < 1 or opts.rounds < 1:
        parser.error("--clients and --rounds must be at least 1")
    if opts.nodes_url and not opts.data:
        parser.error("--nodes-url needs --data DIR (for bench-tokens.json)")
    return opts


async def amain(opts: argparse.Namespace) -> int:
    """Run with cleanup of every child, also on SIGTERM and Ctrl-C."""
    children = Children()
    atexit.register(children.kill_all_now)
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    try:
        return await run(opts, children)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    finally:
        await children.stop_all()
        children.kill_all_now()


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    try:
        return asyncio.run(amain(opts))
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
