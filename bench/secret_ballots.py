"""Encrypted ballots: real ballots for a poll, made fast and cached, and what verifying them
costs (docs/PERFORMANCE.md, "Encrypted ballots: verification cost").

As a library (`vote_burst.py --secret` builds its ballots before the burst with it, so that
the burst measures the server):

    ballots = ballots_for(rules, voters, choose)   # {voter: Cast(choices, ballot JSON)}

makes one ballot per voter on every core (spawned processes), or reads them back from the
cache: a file per poll context (the context binds the poll, its options, min, max and key),
so a run that meets the same poll again reuses them.

As a script it builds a poll like the burst's (a 3-member ceremony, k = 2, min 0, max 1 by
default), makes --voters ballots (6,300), and measures on this box:
- making them: ballots/s with 1 and 2 processes, and reading the cache back;
- verifying one ballot on one core (CPU µs): the reference path and the fast path on each
  engine (libsodium, `voting/secret/fast.py`; libdecaf, `voting/secret/decaf.py`, when
  libdecaf0 is installed), for k = --options and k = 5;
- the server's `BatchVerifier` (voting/secret/batch.py): throughput for all the ballots in
  one call and as one call per ballot (as a burst arrives), with 1 and 2 worker processes
  (and 2 threads, for comparison), the server process's own CPU per ballot, and the
  latency of a batch of 50, 500 and 2,000 ballots (median of --repeat).
The box is shared: the load average before and after is in the result.

Usage: python bench/secret_ballots.py [--voters 6300] [--options 2] [--min 0] [--max 1]
           [--cache DIR] [--no-cache] [--repeat 5] [--skip-single]
The last line on stdout is one JSON object of figures; progress goes to stderr. Exit
status: 0 ok; 1 failure (a ballot the verifier refused, or a wrong answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:  # this checkout's voting/, not an installed one
    sys.path.insert(0, str(REPO_ROOT))

from phonghop.voting.secret import decaf  # noqa: E402
from phonghop.voting.secret.ballot import (  # noqa: E402
    BallotRules,
    encrypt_ballot,
    verify_ballot_reference,
)
from phonghop.voting.secret.batch import BatchVerifier  # noqa: E402
from phonghop.voting.secret.board import PollInfo  # noqa: E402
from phonghop.voting.secret.ceremony import public_key, round1  # noqa: E402
from phonghop.voting.secret.fast import PollVerifier, engine  # noqa: E402
from phonghop.voting.secret.group import Scalar, hash_to_scalar, text, u32  # noqa: E402

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
    "phonghop-bench" / "secret-ballots"


def log(msg: str) -> None:
    print(f"[secret_ballots {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Cast:
    """One voter's choices (the load generator's record, to check the tally) and ballot."""

    choices: tuple[int, ...]
    ballot: dict[str, Any]


Choose = Callable[[str], Sequence[int]]


def random_choices(rules: BallotRules, seed: str = "bench") -> Choose:
    """Per voter, a number of choices in min…max and that many options, drawn from a
    generator seeded by the voter's id (the same every run)."""
    def choose(voter: str) -> list[int]:
        rnd = random.Random(f"{seed}/{voter}")
        picked = set(rnd.sample(range(rules.options), rnd.randint(rules.minimum, rules.maximum)))
        return [int(m in picked) for m in range(rules.options)]
    return choose


def _encrypt_chunk(rules: BallotRules, jobs: list[tuple[str, tuple[int, ...]]]) -> list[dict]:
    """Run in a worker: the ballots of `jobs` (voter, choices)."""
    return [encrypt_ballot(rules, voter, choices).to_json() for voter, choices in jobs]


def make_ballots(rules: BallotRules, jobs: Sequence[tuple[str, tuple[int, ...]]],
                 processes: int) -> list[dict]:
    """The ballots of `jobs`, in order, on `processes` spawned processes (1: here)."""
    if processes <= 1:
        return _encrypt_chunk(rules, list(jobs))
    size = max(1, min(200, -(-len(jobs) // (4 * processes))))
    chunks = [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        done = pool.map(_encrypt_chunk, [rules] * len(chunks), chunks)
        return [ballot for chunk in done for ballot in chunk]


def cache_path(cache: Path, rules: BallotRules) -> Path:
    return cache / f"{rules.context.hex()}.json"


def ballots_for(rules: BallotRules, voters: Sequence[str], choose: Choose | None = None,
                cache: Path | None = DEFAULT_CACHE,
                processes: int | None = None) -> dict[str, Cast]:
    """A ballot for each voter (their choices from `choose`, default `random_choices`),
    read from the cache file of this poll context where it has them, the rest made on
    `processes` processes (default: every core) and added to the file."""
    choose = choose or random_choices(rules)
    known: dict[str, Cast] = {}
    path = cache_path(cache, rules) if cache is not None else None
    if path is not None and path.exists():
        doc = json.loads(path.read_text())
        if doc.get("context") == rules.context.hex():
            known = {v: Cast(tuple(e["choices"]), e["ballot"]) for v, e in doc["ballots"].items()}
    wanted = {v: tuple(choose(v)) for v in voters}
    missing = [(v, c) for v, c in wanted.items()
               if v not in known or known[v].choices != c]
    if missing:
        made = make_ballots(rules, missing, processes or os.cpu_count() or 1)
        known.update({v: Cast(c, b) for (v, c), b in zip(missing, made, strict=True)})
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({
                "context": rules.context.hex(),
                "ballots": {v: {"choices": list(e.choices), "ballot": e.ballot}
                            for v, e in known.items()}}))
            tmp.replace(path)
    return {v: known[v] for v in voters}


def bench_poll(options: int, minimum: int, maximum: int, uid: str = "bench/secret/1"
               ) -> BallotRules:
    """A poll's rules after a real 3-member ceremony, the same every run (seeded draws)."""
    poll = PollInfo(uid, "Thông qua nghị quyết?", tuple(f"Phương án {m + 1}"
                                                      for m in range(options)),
                    minimum, maximum, 3, 2)
    counter = iter(range(10**6))

    def rng() -> Scalar:
        return hash_to_scalar("phonghop/bench/rng", text(uid), u32(next(counter)))

    members = [round1(poll.ceremony, i, poll.t, rng)[1] for i in range(1, poll.n + 1)]
    return poll.rules(public_key(members))


# --------------------------------------------------------------------------- measures


def cpu_us_per_ballot(verify: Callable[[BallotRules, object], object], rules: BallotRules,
                      docs: Sequence[dict], rounds: int = 3) -> float:
    """Best of `rounds` passes, CPU µs per ballot (process time: other load counts less)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for doc in docs:
            verify(rules, doc)
        best = min(best, (time.process_time() - start) / len(docs) * 1e6)
    return best


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pids_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


async def batch_figures(rules: BallotRules, docs: list[dict], workers: int, kind: str,
                        repeat: int, latencies: bool) -> dict[str, float]:
    """Throughput of one verifier (one batch; one call per ballot) and batch latencies."""
    out: dict[str, float] = {}
    label = f"{kind}{workers}"
    async with BatchVerifier(workers=workers, kind=kind,  # type: ignore[arg-type]
                             timeout=600) as verifier:
        await verifier.verify(rules, docs[:200])  # warm: every worker has the poll cached
        start, cpu, worker_cpu = time.perf_counter(), own_cpu(), pids_cpu(verifier.pids)
        results = await verifier.verify(rules, docs)
        took, parent = time.perf_counter() - start, own_cpu() - cpu
        worker_cpu = pids_cpu(verifier.pids) - worker_cpu
        if any(r is not None for r in results):
            raise SystemExit("a valid ballot was refused")
        out[f"{label}_batch_ballots_per_s"] = round(len(docs) / took)
        out[f"{label}_parent_cpu_us_per_ballot"] = round(parent / len(docs) * 1e6, 1)
        if kind == "process":
            out[f"{label}_worker_cpu_us_per_ballot"] = round(worker_cpu / len(docs) * 1e6)
        log(f"{label}: one batch of {len(docs)}: {took:.2f} s, "
            f"{len(docs) / took:.0f} ballots/s, parent CPU {parent:.2f} s, "
            f"workers' CPU {worker_cpu:.2f} s")
        start, cpu = time.perf_counter(), own_cpu()
        results = await asyncio.gather(*(verifier.verify_one(rules, d) for d in docs))
        took, parent = time.perf_counter() - start, own_cpu() - cpu
        if any(r is not None for r in results):
            raise SystemExit("a valid ballot was refused")
        out[f"{label}_single_ballots_per_s"] = round(len(docs) / took)
        out[f"{label}_single_parent_cpu_us_per_ballot"] = round(parent / len(docs) * 1e6, 1)
        log(f"{label}: {len(docs)} calls of one ballot: {took:.2f} s, "
            f"{len(docs) / took:.0f} ballots/s, parent CPU {parent:.2f} s")
        if latencies:
            for n in (1, 50, 500, 2000):
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    await verifier.verify(rules, docs[:n])
                    times.append(time.perf_counter() - start)
                median = statistics.median(times)
                out[f"{label}_batch{n}_ms"] = round(median * 1e3, 1)
                out[f"{label}_batch{n}_us_per_ballot"] = round(median / n * 1e6)
                log(f"{label}: batch of {n}: {median * 1e3:.1f} ms "
                    f"({median / n * 1e6:.0f} µs per ballot)")
    return out


async def measure(opts: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"voters": opts.voters, "options": opts.options,
                               "min": opts.min, "max": opts.max,
                               "engine": engine(),  # what verify_ballot and the workers use
                               "load_before": round(os.getloadavg()[0], 2)}
    rules = bench_poll(opts.options, opts.min, opts.max)
    voters = [str(1000 + i) for i in range(opts.voters)]
    choose = random_choices(rules)
    cache = None if opts.no_cache else opts.cache

    if not opts.skip_make:  # making ballots, without the cache: 1 then 2 processes
        jobs = [(v, tuple(choose(v))) for v in voters[:2000]]
        for processes in (1, 2):
            start = time.perf_counter()
            make_ballots(rules, jobs, processes)
            rate = len(jobs) / (time.perf_counter() - start)
            figures[f"make_{processes}proc_ballots_per_s"] = round(rate)
            log(f"making ballots, {processes} process(es): {rate:.0f} ballots/s")
    start = time.perf_counter()
    casts = ballots_for(rules, voters, choose, cache)
    figures["ballots_ready_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    if cache is not None:
        ballots_for(rules, voters, choose, cache)
        figures["cache_read_s"] = round(time.perf_counter() - start, 2)
    log(f"{len(casts)} ballots ready in {figures['ballots_ready_s']} s "
        f"(cache read back in {figures.get('cache_read_s')} s)")
    docs = [casts[v].ballot for v in voters]

    if not opts.skip_single:
        for k, hi in ((opts.options, opts.max), (5, 1)):
            r = rules if (k, hi) == (opts.options, opts.max) else bench_poll(k, 0, hi)
            sample = docs[:300] if r is rules else [
                encrypt_ballot(r, str(i), [1] + [0] * (k - 1)).to_json() for i in range(100)]
            kinds: list[tuple[str, type[PollVerifier]]] = [("libsodium", PollVerifier)]
            if decaf.AVAILABLE:
                kinds.append(("libdecaf", decaf.DecafPollVerifier))
            engines: list[tuple[str, Callable[[BallotRules, object], object]]] = [
                ("reference", verify_ballot_reference)]
            for name, kind in kinds:  # one verifier per poll, as the server keeps it
                verifier = kind(r)
                engines.append((name, lambda _r, doc, v=verifier: v.verify(doc)))
            for name, fn in engines:
                us = cpu_us_per_ballot(fn, r, sample)
                figures[f"verify_k{k}_max{hi}_{name}_cpu_us"] = round(us)
                log(f"verify k={k} max={hi}, {name}: {us:.0f} CPU µs per ballot")

    for workers, kind in ((1, "process"), (2, "process"), (2, "thread")):
        figures.update(await batch_figures(rules, docs, workers, kind, opts.repeat,
                                           latencies=(workers, kind) == (2, "process")))
    figures["load_after"] = round(os.getloadavg()[0], 2)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=6300, help="ballots (default 6300)")
    parser.add_argument("--options", type=int, default=2, help="k (default 2)")
    parser.add_argument("--min", type=int, default=0, help="min choices (default 0)")
    parser.add_argument("--max", type=int, default=1, help="max choices (default 1)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"ballot cache dir (default {DEFAULT_CACHE})")
    parser.add_argument("--no-cache", action="store_true", help="make every ballot anew")
    parser.add_argument("--repeat", type=int, default=5, help="latency runs (default 5)")
    parser.add_argument("--skip-single", action="store_true",
                        help="skip the one-core verification figures")
    parser.add_argument("--skip-make", action="store_true",
                        help="skip measuring how fast ballots are made")
    opts = parser.parse_args(argv)
    if not (1 <= opts.options and 0 <= opts.min <= opts.max <= opts.options
            and opts.voters >= 2000):
        parser.error("need 0 ≤ min ≤ max ≤ options and at least 2000 voters")
    figures = asyncio.run(measure(opts))
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
