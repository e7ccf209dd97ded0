"""Access-log benchmark: does recording sign-ins and confidential page views slow them?

Two demo servers (embedded: SQLite, local files) run side by side in one run: **before**,
the code of another tree (`--before-root`: the commit before the access log, unpacked with
`git archive`), and **after**, this tree. Both hash passwords
with argon2id's cheapest parameters (`test-only-cheapest`: otherwise a sign-in is the hash,
60 ms or more, and nothing else shows) and believe `X-Forwarded-For` from 127.0.0.1, so
that every attempt comes from its own address and no sign-in limit interferes. On each, a
delegate is made the viewer of a confidential three-page document.

Measured in pairs, one request on each server right after the other, the order
alternating (ABBA: the box is noisy, and a pair shares its moment): a right sign-in, a
wrong sign-in of a name that is no account, a confidential page image (stamped for the
viewer on each request: the record is one of its steps), and a public page image from the
cache (not recorded: the hot path's control). Then bursts of sign-ins, `--concurrency` at
a time, on each server in turn (ABBA, `--bursts` times); and a flood of wrong sign-ins
(`--flooders` clients as fast as they are answered, each attempt a record) on each server
in turn (ABBA, as often), timing the public page meanwhile. Finally the after server's chain is
verified and its records counted against the requests it served. `record_us`: what one
`AuditTrail.record` call costs a handler (the best of three runs of 100,000 in this
process).

The last line on stdout is one JSON object:

    {"rounds", "per_round", "before": {signin|signin_wrong|page_confidential|page_public:
     {p50_ms, p95_ms}}, "after": {…}, "ratio_p50": {…}, "ratio_p95": {…},
     "paired_median_diff_ms": {…},
     "burst": {"signins", "concurrency", "before_per_s", "after_per_s" (medians), "each"},
     "flood": {"flooders", "page_public_before", "page_public_after", "signins_per_s_before",
     "signins_per_s_after"},
     "record_us", "records": {"expected_at_least", "written", "chain_ok", "lost"}}

Usage: python bench/audit_log.py --before-root DIR [--rounds 20] [--per-round 10]
       (DIR: e.g. `git archive main | tar -x -C DIR`, the code before the access log)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from _common import attached_documents, entry_module, free_port  # noqa: E402

KINDS = ("signin", "signin_wrong", "page_confidential", "page_public")
_addresses = itertools.count(1)


def log(msg: str) -> None:
    print(f"[audit_log] {msg}", file=sys.stderr, flush=True)


def address() -> str:
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def secret_pdf() -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for n in range(1, 4):
        doc.new_page().insert_text((72, 100), f"Tài liệu mật, trang {n}", fontsize=14)
    return doc.tobytes()


def stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50_ms": round(statistics.median(values) * 1000, 2),
            "p95_ms": round(values[int(0.95 * (len(values) - 1))] * 1000, 2)}


class Server:
    """A demo server from `root`, with the delegate's client and the pages to read."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root
        self.data = Path(tempfile.mkdtemp(prefix=f"phonghop-audit-{name}-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PHONGHOP_PASSWORD_PROFILE": "test-only-cheapest",
               "PHONGHOP_TRUSTED_PROXIES": "127.0.0.1", "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", entry_module(root), "demo", "--data", str(self.data),
             "--port",
             str(self.port), "--host", "127.0.0.1"], cwd=root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.client = httpx.AsyncClient(base_url=self.base, timeout=60)
        self.confidential = self.public = ""
        self.served = 0  # requests that the access log should have recorded

    async def ready(self) -> None:
        for _ in range(1200):
            with contextlib.suppress(httpx.HTTPError):
                if (await self.client.get("/healthz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name}: the server did not start")
        admin = await self.token("admin")
        me = await self.token("daibieu01")
        h = {"Authorization": f"Bearer {admin}"}
        meeting = (await self.client.get("/api/meetings?scope=all", headers=h)).json()[
            "meetings"][0]["id"]
        viewer = (await self.client.get("/api/me", headers={
            "Authorization": f"Bearer {me}"})).json()["user"]["id"]
        r = await self.client.post(f"/api/meetings/{meeting}/files?name=mat.pdf",
                                   content=secret_pdf(), headers={
                                       **h, "Content-Type": "application/pdf"})
        r.raise_for_status()
        r = await self.client.post(f"/api/meetings/{meeting}/documents", headers=h, json={
            "sha256": r.json()["file"]["sha256"], "classification": "confidential",
            "viewers": [viewer]})
        r.raise_for_status()
        # The administrator is not a viewer: the answer's sealed entry is the new one.
        secret = max(attached_documents(r.json()), key=lambda d: d["id"])
        room = (await self.client.get(f"/api/meetings/{meeting}", headers=h)).json()["room"]
        public = next(d for d in room["documents"] if d.get("classification") == "public")
        base = f"/api/meetings/{meeting}/documents"
        self.confidential = f"{base}/{secret['id']}/pages/2?size=tablet"
        self.public = f"{base}/{public['id']}/pages/1?size=tablet"
        self.client.headers["Authorization"] = f"Bearer {me}"
        for _ in range(3):  # warm: workers started, the public page cached
            for path in (self.confidential, self.public):
                (await self.client.get(path)).raise_for_status()
        self.served += 3

    async def token(self, username: str) -> str:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as c:
            r = await c.post("/api/login", headers={"X-Forwarded-For": address()}, json={
                "username": username, "password": "demo1234", "client": "device"})
            r.raise_for_status()
            return str(r.json()["token"])

    async def once(self, kind: str, username: str = "daibieu02") -> float:
        """One request of `kind`, timed (a sign-in on a connection of its own, as a
        tablet's first request is)."""
        started = time.perf_counter()
        if kind in ("signin", "signin_wrong"):
            async with httpx.AsyncClient(base_url=self.base, timeout=60) as c:
                right = kind == "signin"
                r = await c.post("/api/login", headers={"X-Forwarded-For": address()}, json={
                    "username": username if right else f"khong-co-{next(_addresses)}",
                    "password": "demo1234" if right else "sai-mat-khau", "client": "device"})
            ok = r.status_code == (200 if right else 401)
        else:
            r = await self.client.get(self.confidential if kind == "page_confidential"
                                      else self.public)
            ok = r.status_code == 200
        elapsed = time.perf_counter() - started
        if not ok:
            raise RuntimeError(f"{self.name} {kind}: {r.status_code} {r.text[:200]}")
        if kind != "page_public":
            self.served += 1
        return elapsed

    async def burst(self, signins: int, concurrency: int) -> float:
        """Sign-ins per second, `concurrency` at a time (each client its own delegate:
        a name's sign-in bucket takes 5 at once)."""
        left = itertools.count()

        async def worker(username: str) -> None:
            while next(left) < signins:
                await self.once("signin", username)

        started = time.perf_counter()
        await asyncio.gather(*(worker(f"daibieu{i % 20 + 1:02d}") for i in range(concurrency)))
        return signins / (time.perf_counter() - started)

    async def flood(self, seconds: float, flooders: int) -> tuple[list[float], float]:
        """Public page reads timed while `flooders` clients send wrong sign-ins as fast as
        they are answered, each from a fresh address and name (every one a record); and
        the sign-ins answered per second."""
        stop = asyncio.Event()
        answered = 0

        async def flooder() -> None:
            nonlocal answered
            async with httpx.AsyncClient(base_url=self.base, timeout=60) as c:
                while not stop.is_set():
                    with contextlib.suppress(httpx.HTTPError):
                        await c.post("/api/login", headers={"X-Forwarded-For": address()},
                                     json={"username": f"khong-co-{next(_addresses)}",
                                           "password": "sai-mat-khau"})
                        answered += 1

        tasks = [asyncio.create_task(flooder()) for _ in range(flooders)]
        await asyncio.sleep(1)  # the flood is running before anything is measured
        answered, times = 0, []
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            times.append(await self.once("page_public"))
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*tasks)
        self.served += answered
        return times, answered / elapsed

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


async def record_cost(n: int = 100_000) -> float:
    """Microseconds one `AuditTrail.record` call costs a handler (a confidential page
    view's record), in this process: the queue only, its writer never given a turn."""
    sys.path.insert(0, str(ROOT))
    from phonghop.server.audit import AuditTrail

    trail = AuditTrail(None, max_queue=n + 1)  # type: ignore[arg-type]
    started = time.perf_counter()
    for i in range(n):
        trail.record("document.page_view", actor=5, meeting=3, address="10.1.2.3",
                     document=4, version=1, page=i)
    cost = (time.perf_counter() - started) / n * 1e6
    if trail._writer is not None:
        trail._writer.cancel()
    return cost


async def run(opts: argparse.Namespace, before_root: Path) -> dict[str, Any]:
    record_us = [await record_cost() for _ in range(3)]
    before = Server("before", before_root)
    after = Server("after", ROOT)
    try:
        await asyncio.gather(before.ready(), after.ready())
        times: dict[str, dict[str, list[float]]] = {
            s.name: {k: [] for k in KINDS} for s in (before, after)}
        log(f"{opts.rounds} rounds of {opts.per_round} pairs of each kind (ABBA)")
        for n in range(opts.rounds):
            for kind in KINDS:
                for i in range(opts.per_round):
                    # Each request on one server, then the same on the other: a pair sees
                    # the same moment of a noisy box; the order alternates (ABBA).
                    order = (before, after) if (n + i) % 2 == 0 else (after, before)
                    for server in order:
                        times[server.name][kind].append(await server.once(kind))
        log(f"bursts of {opts.burst} sign-ins, {opts.concurrency} at a time")
        rates: dict[str, list[float]] = {"before": [], "after": []}
        for server in (before, after, after, before) * opts.bursts:
            rates[server.name].append(round(await server.burst(opts.burst, opts.concurrency),
                                            1))
        log(f"floods of wrong sign-ins: {opts.flooders} clients, {opts.flood_seconds} s, ABBA")
        flooded: dict[str, list[float]] = {"before": [], "after": []}
        flood_rate: dict[str, list[float]] = {"before": [], "after": []}
        for server in (before, after, after, before) * opts.bursts:
            got, rate = await server.flood(opts.flood_seconds, opts.flooders)
            flooded[server.name] += got
            flood_rate[server.name].append(rate)
        health = (await after.client.get("/healthz")).json()
        await asyncio.sleep(1)  # the writer's last batch
    finally:
        for server in (before, after):
            server.stop()
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "phonghop", "audit", "verify", "--data",
                         str(after.data)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    written = int(done.stdout.split(":")[1].split("bản ghi")[0]) if done.returncode == 0 \
        else -1
    result = {name: {k: stats(v) for k, v in by_kind.items()} for name, by_kind in
              times.items()}
    # Sign-ins of the demo's seeding and of the setup, and its role changes, are records too.
    return {
        "rounds": opts.rounds, "per_round": opts.per_round,
        "before": result["before"], "after": result["after"],
        "ratio_p50": {k: round(result["after"][k]["p50_ms"] / result["before"][k]["p50_ms"], 2)
                      for k in KINDS},
        "ratio_p95": {k: round(result["after"][k]["p95_ms"] / result["before"][k]["p95_ms"], 2)
                      for k in KINDS},
        # The median of after − before over the pairs: what the access log adds to one
        # request, robust to the box's noise (which the two requests of a pair share).
        "paired_median_diff_ms": {k: round(statistics.median(
            a - b for a, b in zip(times["after"][k], times["before"][k], strict=True)) * 1000,
            2) for k in KINDS},
        "burst": {"signins": opts.burst, "concurrency": opts.concurrency,
                  "before_per_s": statistics.median(rates["before"]),
                  "after_per_s": statistics.median(rates["after"]), "each": rates},
        "flood": {"flooders": opts.flooders,
                  "page_public_before": stats(flooded["before"]),
                  "page_public_after": stats(flooded["after"]),
                  "signins_per_s_before": round(statistics.median(flood_rate["before"]), 1),
                  "signins_per_s_after": round(statistics.median(flood_rate["after"]), 1)},
        "record_us": round(min(record_us), 1),
        "records": {"expected_at_least": after.served, "written": written,
                    "chain_ok": done.returncode == 0, "lost": health.get("audit_lost")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-root", required=True,
                        help="a tree of the code to compare with (a git worktree)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--burst", type=int, default=200, help="sign-ins in one burst")
    parser.add_argument("--bursts", type=int, default=2,
                        help="ABBA rounds of bursts and of floods")
    parser.add_argument("--concurrency", type=int, default=20, help="at most 20 (delegates)")
    parser.add_argument("--flooders", type=int, default=40)
    parser.add_argument("--flood-seconds", type=float, default=10)
    opts = parser.parse_args()
    result = asyncio.run(run(opts, Path(opts.before_root).resolve()))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
