"""Plumbing shared by the benchmarks in bench/: child processes, seeding and starting
phonghop nodes, fresh PostgreSQL databases, Node load-generator processes, the chair's
websocket, and small statistics helpers.

Every benchmark prints one JSON line of figures last on stdout; everything else goes to
stderr through `log`. Children run in their own process groups and are killed on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NODE_LINE_LIMIT = 64 * 1024 * 1024
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
PG_LOG_DIR = "/var/log/postgresql"
T = TypeVar("T")

_name = "bench"


class BenchError(Exception):
    """A failure that ends the benchmark with a message."""


def set_name(name: str) -> None:
    """The benchmark's name, shown in every log line."""
    global _name
    _name = name


def log(msg: str) -> None:
    """Diagnostics go to stderr; stdout keeps only the result."""
    print(f"[{_name} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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


def need_nofile(clients: int) -> None:
    """Fail early when this process (and so its children) cannot hold `clients` sockets."""
    limit = raise_nofile(clients + 2048)
    if limit < clients + 256:
        raise BenchError(f"open-files limit {limit} is too low for {clients} clients")


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


def leave_work_dir(tmp: Path, keep: bool) -> None:
    """The end of a run: its work directory kept (and named) with --keep, else removed."""
    if keep:
        log(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


_ERROR_LINE = re.compile(r"Traceback|ERROR")


def count_errors(paths: Sequence[Path]) -> int:
    """Lines mentioning "Traceback" or "ERROR" in the given server logs."""
    total = 0
    for path in paths:
        with contextlib.suppress(OSError), path.open(errors="replace") as f:
            total += sum(1 for line in f if _ERROR_LINE.search(line))
    return total


def add_run_args(parser: argparse.ArgumentParser, *, joins: bool = True,
                 ramp_timeout: float = 900, seed_timeout: float = 900,
                 settle: bool = True) -> None:
    """The options every websocket benchmark shares: load generators, joining, timeouts,
    which server code to run, and keeping the work directory."""
    parser.add_argument("--procs", type=int, default=2,
                        help="Node load-generator processes (default 2)")
    if joins:
        parser.add_argument("--concurrency", type=int, default=200,
                            help="handshakes in flight while joining (default 200)")
        parser.add_argument("--join-timeout", type=float, default=30,
                            help="one join attempt, s (default 30)")
    parser.add_argument("--ramp-timeout", type=float, default=ramp_timeout,
                        help=f"every client joined, s (default {ramp_timeout:g})")
    parser.add_argument("--seed-timeout", type=float, default=seed_timeout,
                        help=f"bench-seed, s (default {seed_timeout:g})")
    parser.add_argument("--start-timeout", type=float, default=60,
                        help="a node listening, s (default 60)")
    if settle:
        parser.add_argument("--settle", type=float, default=2,
                            help="pause after joining, s (default 2)")
    parser.add_argument("--server-root", type=Path, default=REPO_ROOT,
                        help="dir holding the server package (e.g. a worktree of a baseline)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs)")


def main_with_database(run: Callable[[Any, Children, PgDatabase], Awaitable[int]],
                       opts: Any) -> int:
    """`run_main` for a benchmark that may make a fresh PostgreSQL database (dropped at the
    end, also when interrupted)."""
    db = PgDatabase()
    return run_main(lambda o, children: run(o, children, db), opts, [db.drop_now])


def run_main(
    run: Callable[[Any, Children], Awaitable[int]],
    opts: Any,
    cleanups: Sequence[Callable[[], None]] = (),
) -> int:
    """asyncio.run(run(opts, children)) with every child cleaned up, also on SIGTERM/Ctrl-C.

    `cleanups` run (synchronously) at exit as a last resort, e.g. dropping a database.
    Returns the exit status: run's, 1 on BenchError, 130 when interrupted.
    """

    async def amain() -> int:
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

    for cleanup in cleanups:
        atexit.register(cleanup)
    try:
        return asyncio.run(amain())
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted")
        return 130


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
    total = sum(rss for pid in _tree(roots) if (rss := process_rss_mb(pid)) is not None)
    return total or None


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree(roots: Sequence[int]) -> set[int]:
    """The given pids and all their descendants."""
    kids = _proc_children()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid not in seen:
            seen.add(pid)
            stack.extend(kids.get(pid, []))
    return seen


def cpu_seconds(roots: Sequence[int]) -> float:
    """CPU time (user + system, s) used so far by the given processes and their descendants."""
    total = 0
    for pid in _tree(roots):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rfind(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def box_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return (total - idle) / _TICKS, total / _TICKS


class CpuMeter:
    """CPU use between `start()` and `stop()`: the given process groups', and the machine's."""

    def __init__(self, groups: dict[str, Sequence[int]]) -> None:
        self.groups = groups
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}
        self._box0 = (0.0, 0.0)
        self.started = False
        self.result: dict[str, float] = {}  # filled by stop()

    def start(self) -> None:
        self.started = True
        self._t0 = time.monotonic()
        self._cpu0 = {name: cpu_seconds(pids) for name, pids in self.groups.items()}
        self._box0 = box_cpu()

    def stop(self) -> dict[str, float]:
        """Percent of one core per group, and `box`: percent of the machine's cores busy."""
        wall = max(time.monotonic() - self._t0, 1e-9)
        self.result = {
            name: round(100 * (cpu_seconds(pids) - self._cpu0[name]) / wall, 1)
            for name, pids in self.groups.items()
        }
        busy, total = box_cpu()
        span = max(total - self._box0[1], 1e-9)
        self.result["box"] = round(100 * (busy - self._box0[0]) / span, 1)
        return self.result


def process_rss_mb(pid: int) -> float | None:
    """VmRSS (MiB) of one process alone (not its children)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def max_main_rss_mb(pids: Sequence[int]) -> float | None:
    """The largest VmRSS (MiB) among the given processes alone: each node's main process,
    without its PDF workers."""
    values = [v for v in (process_rss_mb(pid) for pid in pids) if v is not None]
    return max(values) if values else None


def max_node_rss_mb(pids: Sequence[int]) -> float | None:
    """The largest process-tree VmRSS (MiB) among the given nodes."""
    values = [v for v in (tree_rss_mb([pid]) for pid in pids) if v is not None]
    return max(values) if values else None


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


# --------------------------------------------------------------------------- phonghop


# The nodes of one benchmark run share a bus secret (a Redis bus needs one).
BUS_SECRET = os.environ.get("PHONGHOP_BUS_SECRET") or "bench-" + os.urandom(16).hex()


def entry_module(root: Path) -> str:
    """What `python -m` runs in the tree `root`: `phonghop`, or, in a tree from before one
    import package (no phonghop/ folder), `server`; with `root` as the working directory
    and first on PYTHONPATH (`server_env`), the tree's own code either way."""
    return "phonghop" if (root / "phonghop" / "__init__.py").is_file() else "server"


def server_env(server_root: Path) -> dict[str, str]:
    """The environment for `python -m` of `entry_module(server_root)`: the tree first on
    PYTHONPATH."""
    return {
        **os.environ,
        "PHONGHOP_BUS_SECRET": BUS_SECRET,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(server_root), os.environ.get("PYTHONPATH")])
        ),
    }


def backend_args(database: str | None, redis: str | None) -> list[str]:
    """`serve`/`bench-seed` flags for the shared backends (none: embedded SQLite)."""
    args: list[str] = []
    if database:
        args += ["--database", database]
    if redis:
        args += ["--redis", redis]
    return args


async def seed(
    children: Children,
    server_root: Path,
    data: Path,
    delegates: int,
    wait_s: float,
    *,
    label: str = "phonghop",
    database: str | None = None,
    log_path: Path | None = None,
    extra: Sequence[str] = (),
) -> tuple[int, Tokens]:
    """`python -m phonghop bench-seed` into `data` (and `database`); the meeting and tokens.
    `extra`: more bench-seed flags (`--items 20`)."""
    await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
    seed_log = log_path or data.parent / "bench-seed.log"
    where = f"{data}" + (f" and {database}" if database else "")
    log(f"{label}: bench-seed --delegates {delegates} in {where}")
    began = time.monotonic()
    with seed_log.open("wb") as err:
        proc = await spawn(
            children,
            [
                sys.executable,
                "-m",
                entry_module(server_root),
                "bench-seed",
                "--data",
                str(data),
                "--delegates",
                str(delegates),
                *extra,
                *backend_args(database, None),
            ],
            cwd=server_root,
            env=server_env(server_root),
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), wait_s)
        except TimeoutError:
            await children.stop(proc, 2)
            raise BenchError(
                f"bench-seed took more than {wait_s:.0f} s\n{tail(seed_log)}"
            ) from None
    if proc.returncode != 0:
        raise BenchError(f"bench-seed failed with {proc.returncode}\n{tail(seed_log)}")
    lines = [ln for ln in out.decode(errors="replace").splitlines() if ln.strip()]
    try:
        meeting = int(json.loads(lines[-1])["meeting"])
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f'bench-seed printed no {{"meeting": id}} line: {lines[-3:]}') from exc
    log(f"{label}: seeded meeting {meeting} in {time.monotonic() - began:.1f} s")
    tokens = load_tokens(data / "bench-tokens.json")
    if len(tokens.delegates) < delegates:
        raise BenchError(
            f"bench-tokens.json has {len(tokens.delegates)} delegate tokens, need {delegates}"
        )
    return meeting, tokens


@dataclass
class ServerNode:
    """One running `python -m phonghop serve` process."""

    proc: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serve_argv(server_root: Path, data: Path, port: int, database: str | None = None,
               redis: str | None = None, command: str = "serve") -> list[str]:
    """The command line of `python -m phonghop serve` (or `command`) on 127.0.0.1:`port`."""
    return [sys.executable, "-m", entry_module(server_root), command, "--data", str(data),
            "--port", str(port), "--host", "127.0.0.1", *backend_args(database, redis)]


async def start_node(
    children: Children,
    server_root: Path,
    data: Path,
    log_path: Path,
    wait_s: float,
    *,
    label: str = "phonghop",
    database: str | None = None,
    redis: str | None = None,
    port: int | None = None,
    command: str = "serve",
) -> ServerNode:
    """Start `python -m phonghop serve` (or `command`, e.g. "demo") on a free 127.0.0.1 port
    (or on `port`, e.g. to restart a node where its clients will look for it) and wait
    until it listens."""
    port = port or free_port()
    with log_path.open("wb") as logf:
        proc = await spawn(
            children,
            serve_argv(server_root, data, port, database, redis, command),
            cwd=server_root,
            env=server_env(server_root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
    await wait_port(port, proc, wait_s, log_path)
    log(f"{label}: serving on 127.0.0.1:{port} (pid {proc.pid}, log {log_path})")
    return ServerNode(proc, port, log_path)


async def start_nodes(
    children: Children,
    server_root: Path,
    data: Path,
    tmp: Path,
    count: int,
    wait_s: float,
    *,
    label: str,
    database: str | None,
    redis: str | None,
) -> list[ServerNode]:
    """`count` nodes on the same backends, one after the other (the first migrates)."""
    nodes: list[ServerNode] = []
    for k in range(1, count + 1):
        nodes.append(
            await start_node(
                children,
                server_root,
                data,
                tmp / f"{label}-node{k}.log",
                wait_s,
                label=f"{label} node {k}",
                database=database,
                redis=redis,
            )
        )
    return nodes


async def stop_nodes(children: Children, nodes: Sequence[ServerNode]) -> None:
    await asyncio.gather(*(children.stop(n.proc) for n in nodes))


async def http_request(method: str, url: str, token: str, body: Any = None,
                    wait_s: float = 60) -> tuple[int, Any]:
    """An HTTP request with the Bearer token: (status, decoded JSON body or raw text)."""

    def call() -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=wait_s) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")[:500]

    try:
        return await asyncio.wait_for(asyncio.to_thread(call), wait_s + 1)
    except (OSError, TimeoutError) as exc:
        raise BenchError(f"{method} {url}: {exc!r}") from exc


async def http_json(url: str, token: str, wait_s: float = 10) -> Any:
    """GET `url` with `Authorization: Bearer token`; the decoded JSON body."""

    def get() -> Any:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=wait_s) as response:
            return json.loads(response.read())

    try:
        return await asyncio.wait_for(asyncio.to_thread(get), wait_s + 1)
    except (OSError, ValueError, TimeoutError, urllib.error.URLError) as exc:
        raise BenchError(f"GET {url}: {exc!r}") from exc


def attached_documents(answer: Any) -> list[dict[str, Any]]:
    """The documents the HTTP answer of `POST /api/meetings/{id}/documents` shows, as the
    sender may see them (a confidential one is a sealed entry, without its hash, to an
    organiser who is not one of its viewers). A room command answers with its ack and its
    events (`{"id", "ack", "events"}`, `events` null for a duplicate): the data of its
    `document.attached` events. A tree from before that (`--server-root`, a baseline)
    answered with the whole room: its documents then."""
    if not isinstance(answer, dict):
        return []
    if "events" in answer:
        return [e["data"]["document"] for e in answer["events"] or []
                if e.get("kind") == "document.attached"]
    return list((answer.get("room") or {}).get("documents") or [])


async def room_seq(node: ServerNode, meeting: int, token: str) -> int:
    """The room's current seq, from GET /api/meetings/{id} (the view carries it)."""
    body = await http_json(f"{node.http}/api/meetings/{meeting}", token)
    for candidate in (body, body.get("meeting") if isinstance(body, dict) else None):
        if isinstance(candidate, dict) and isinstance(candidate.get("seq"), int):
            return int(candidate["seq"])
    raise BenchError(f"GET /api/meetings/{meeting}: no seq in {str(body)[:200]}")


# --------------------------------------------------------------------------- PostgreSQL


class PgDatabase:
    """A fresh PostgreSQL database for one run (createdb), dropped afterwards (dropdb)."""

    def __init__(self) -> None:
        self.name = f"phonghop_bench_{secrets.token_hex(4)}"
        self.created = False

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.name}"

    def _argv(self, tool: str, *extra: str) -> list[str]:
        return [tool, "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-w", *extra]

    async def _run(self, argv: list[str], wait_s: float = 60) -> str:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), wait_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise BenchError(f"{argv[0]} took more than {wait_s:.0f} s") from None
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(argv)} failed: {err.decode(errors='replace')[:300]}")
        return out.decode(errors="replace")

    async def create(self) -> None:
        if shutil.which("createdb") is None:
            raise BenchError("createdb (postgresql-client) is needed for PostgreSQL runs")
        await self._run(self._argv("createdb", self.name))
        self.created = True
        log(f"database {self.name} created")

    async def drop(self) -> None:
        if not self.created:
            return
        try:
            await self._run(self._argv("dropdb", "--force", "--if-exists", self.name))
            self.created = False
            log(f"database {self.name} dropped")
        except BenchError as exc:
            log(f"could not drop {self.name}: {exc}")

    def drop_now(self) -> None:
        """Last resort (atexit): drop synchronously."""
        if self.created:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    self._argv("dropdb", "--force", "--if-exists", self.name),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=30,
                    check=False,
                )
            self.created = False

    async def backend_pids(self) -> list[int]:
        """Pids of the PostgreSQL backends connected to this database now."""
        sql = f"select pid from pg_stat_activity where datname = '{self.name}'"
        out = await self._run(self._argv("psql", "-d", "postgres", "-tA", "-c", sql), 20)
        return [int(x) for x in out.split() if x.isdigit()]

    def unique_violations(self) -> dict[str, int] | None:
        """Unique-constraint violations PostgreSQL logged for this database so far, by
        constraint (from the server log when this machine's is readable; else None).

        `room_events_pkey`: an optimistic append that lost the race for a seq.
        """
        logs = sorted(Path(PG_LOG_DIR).glob("postgresql-*-main.log"))
        if not logs:
            return None
        needle = f"@{self.name} ERROR:  duplicate key value violates unique constraint"
        found: dict[str, int] = {}
        try:
            with logs[-1].open(errors="replace") as f:
                for line in f:
                    if needle in line:
                        name = line.rsplit('"', 2)[-2] if line.count('"') >= 2 else "?"
                        found[name] = found.get(name, 0) + 1
        except OSError:
            return None
        return found


async def ping_redis(url: str = REDIS_URL, wait_s: float = 5) -> None:
    """Fail early when Redis is not answering on 127.0.0.1."""
    host, port = "127.0.0.1", 6379
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), wait_s)
        writer.write(b"PING\r\n")
        answer = await asyncio.wait_for(reader.readline(), wait_s)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    except (OSError, TimeoutError) as exc:
        raise BenchError(f"Redis at {url} is not answering: {exc!r}") from exc
    if not answer.startswith(b"+PONG"):
        raise BenchError(f"Redis at {url} answered {answer!r}")


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
    async def start(
        cls, children: Children, label: str, config: Path, script: str = "client.mjs"
    ) -> NodeProc:
        proc = await spawn(
            children,
            ["node", str(BENCH_DIR / script), str(config)],
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


async def wait_ready(
    name: str, procs: Sequence[NodeProc], total: int, wait_s: float, kind: str = "ready"
) -> list[dict[str, Any]]:
    """Wait for every load generator's `ready` (all its clients joined), logging progress.

    Fails unless all `total` clients joined.
    """
    began = time.monotonic()
    tasks = [asyncio.create_task(p.expect(kind, wait_s)) for p in procs]
    try:
        pending: set[asyncio.Task[dict[str, Any]]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, timeout=3)
            for task in done:
                task.result()  # a failed load generator fails the run now
            joined = sum(int(p.progress.get("joined", 0)) for p in procs)
            failed = sum(int(p.progress.get("failed", 0)) for p in procs)
            if pending:
                log(f"{name}: {joined}/{total} joined, {failed} failed")
        readies = [t.result() for t in tasks]
    finally:
        for task in tasks:
            task.cancel()
    joined = sum(int(r["joined"]) for r in readies)
    elapsed = time.monotonic() - began
    rate = joined / max(elapsed, 1e-9)
    log(f"{name}: {joined}/{total} joined in {elapsed:.1f} s ({rate:.0f}/s)")
    if joined < total:
        errors: dict[str, int] = {}
        for r in readies:
            for reason, count in r.get("errors", {}).items():
                errors[reason] = errors.get(reason, 0) + count
        raise BenchError(f"{name}: only {joined}/{total} clients joined; errors {errors}")
    return readies


# --------------------------------------------------------------------------- chair


class Chair:
    """The chair's websocket: sends the round commands and waits for their acks.

    A subclass that needs more of the stream widens `WANTED` and overrides `on_message`
    (each parsed message, with its arrival time in ms) and `on_closed`."""

    # Markers of the messages worth parsing: the chair also gets every presence and event.
    WANTED: tuple[str, ...] = ('"ack"', '"rejected"', '"snapshot"', '"error"')

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
            f"{base_url}/ws",
            subprotocols=["bearer", token],
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
                if not any(k in text for k in self.WANTED):
                    continue
                received = time.time() * 1000
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
                self.on_message(kind, msg, received)
        except Exception as exc:  # any reader failure fails the waiters
            error = BenchError(f"chair connection failed: {exc!r}")
        self.on_closed()
        for fut in [self.snapshot, *self.waiting.values()]:
            if not fut.done():
                fut.set_exception(error)

    def on_message(self, kind: Any, msg: dict[str, Any], received: float) -> None:
        """Called for each parsed message, after the acks and snapshot are handled."""

    def on_closed(self) -> None:
        """Called once the connection has ended, before the waiters fail."""

    async def command(
        self,
        cmd_id: str,
        name: str,
        meeting: int,
        wait_s: float,
        args: dict[str, Any] | None = None,
    ) -> tuple[float, dict[str, Any]]:
        """Send a room command; returns (start time in epoch ms, ack or rejected)."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[cmd_id] = fut
        payload = json.dumps(
            {"type": "command", "id": cmd_id, "meeting": meeting, "name": name, "args": args or {}}
        )
        start = time.time() * 1000
        await self.ws.send(payload)
        try:
            return start, await asyncio.wait_for(fut, wait_s)
        except TimeoutError:
            self.waiting.pop(cmd_id, None)
            raise BenchError(f"chair: no ack for {cmd_id} within {wait_s:.0f} s") from None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        self._reader.cancel()


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of already sorted values."""
    if not values:
        return None
    pos = (len(values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


async def wait_all(
    coros: Sequence[Coroutine[Any, Any, T]],
    tick_s: float,
    on_tick: Callable[[], Awaitable[None]],
) -> list[T]:
    """Run the coroutines to completion, awaiting `on_tick()` every `tick_s` meanwhile.

    A failure fails at once; whatever is still running is cancelled on the way out.
    """
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        pending: set[asyncio.Future[T]] = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, timeout=tick_s)
            for task in done:
                task.result()
            if pending:
                await on_tick()
        return [t.result() for t in tasks]
    finally:
        for task in tasks:
            task.cancel()


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


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def merge_counts(dicts: Sequence[dict[str, int]]) -> dict[str, int]:
    """Sum of several {key: count} maps."""
    total: dict[str, int] = {}
    for d in dicts:
        for key, count in d.items():
            total[key] = total.get(key, 0) + int(count)
    return dict(sorted(total.items()))
