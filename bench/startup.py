"""Start-up benchmark: how soon `phonghop serve` answers, and what an idle node holds.

Each round starts `python -m phonghop serve` (and `demo`) on a fresh data directory
(embedded: SQLite, in-process bus) on a free port, then `serve` again on the directory the
first left (`restart`: a node coming back on its database), and polls `GET /healthz`
every 10 ms; "ready" is the time from the spawn to the first 200. Two seconds later, idle,
it reads the resident memory (VmRSS) of the main process and of its whole process tree (PDF workers
and multiprocessing's resource tracker included, when there are any) and the CPU seconds
the tree has used so far (children already reaped included), then stops it (SIGTERM).

The baseline, in the same run: the smallest server on the same stack, a Starlette app
with one `/healthz` route under uvicorn with httptools, started and measured the same way
(the floor any phonghop start sits on: the interpreter, asyncio, uvicorn, Starlette).
With `--compare DIR`, another checkout (e.g. the commit before a change) is measured too,
round by round between this one's, so both see the same load.

The last line on stdout is one JSON object:

    {"rounds", "load_avg": [start, end], "baseline": {ready_s, main_mb, tree_mb, cpu_s},
     "serve": {...}, "restart": {...}, "demo": {...},
     "compare": {"serve": {...}, "restart": {...}, "demo": {...}}}

each figure the median over the rounds.

Usage: python bench/startup.py [--rounds 7] [--compare ../phonghop-before]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from _common import (  # noqa: E402
    cpu_seconds,
    entry_module,
    free_port,
    process_rss_mb,
    tree_rss_mb,
)

BARE_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
async def healthz(request): return PlainTextResponse("ok")
app = Starlette(routes=[Route("/healthz", healthz)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", log_level="warning")
"""


def log(msg: str) -> None:
    print(f"[startup] {msg}", file=sys.stderr, flush=True)


def reaped_cpu_s(pid: int) -> float:
    """CPU seconds of the children `pid` has already reaped (a demo's seeding worker)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def one_start(argv: list[str], cwd: Path, port: int, settle: float) -> dict[str, float]:
    env = {**os.environ, "PHONGHOP_PASSWORD_PROFILE": "test-only-cheapest"}
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while not healthy(port):
            if proc.poll() is not None:
                raise SystemExit(f"{argv} exited with {proc.returncode} before it was ready")
            if time.monotonic() - start > 120:
                raise SystemExit(f"{argv} not ready after 120 s")
            time.sleep(0.01)
        ready = time.monotonic() - start
        time.sleep(settle)
        return {"ready_s": ready, "main_mb": process_rss_mb(proc.pid) or 0.0,
                "tree_mb": tree_rss_mb([proc.pid]) or 0.0,
                "cpu_s": cpu_seconds([proc.pid]) + reaped_cpu_s(proc.pid)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def phonghop(repo: Path, command: str, settle: float) -> dict[str, dict[str, float]]:
    """`command` on a fresh data directory; for `serve`, also `restart`: serve again on the
    data directory the first start left (a node restarting on its database)."""
    with tempfile.TemporaryDirectory(prefix="phonghop-startup-") as data:
        samples = {}
        for name in (command, "restart") if command == "serve" else (command,):
            port = free_port()
            samples[name] = one_start([sys.executable, "-m", entry_module(repo), command,
                                       "--data", data, "--host", "127.0.0.1", "--port",
                                       str(port)], repo, port, settle)
        return samples


def bare(settle: float) -> dict[str, float]:
    port = free_port()
    return one_start([sys.executable, "-c", BARE_APP, str(port)], ROOT, port, settle)


def medians(samples: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(s[k] for s in samples), 3) for k in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds idle after ready before memory is read")
    parser.add_argument("--compare", type=Path, help="another checkout, measured alongside")
    opts = parser.parse_args()
    targets: list[tuple[str, Path]] = [("this", ROOT)]
    if opts.compare:
        targets.append(("compare", opts.compare.resolve()))
    runs: dict[str, list[dict[str, float]]] = {}
    load_start = os.getloadavg()[0]
    for n in range(opts.rounds):
        runs.setdefault("baseline", []).append(bare(opts.settle))
        for name, repo in targets:
            for command in ("serve", "demo"):
                for kind, sample in phonghop(repo, command, opts.settle).items():
                    runs.setdefault(f"{name}/{kind}", []).append(sample)
                    log(f"round {n + 1} {name} {kind}: ready {sample['ready_s']:.2f} s, "
                        f"tree {sample['tree_mb']:.0f} MB, main {sample['main_mb']:.0f} MB")
    result: dict[str, Any] = {"rounds": opts.rounds,
                              "load_avg": [round(load_start, 2), round(os.getloadavg()[0], 2)],
                              "baseline": medians(runs["baseline"])}
    kinds = ("serve", "restart", "demo")
    for kind in kinds:
        result[kind] = medians(runs[f"this/{kind}"])
    if opts.compare:
        result["compare"] = {k: medians(runs[f"compare/{k}"]) for k in kinds}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
