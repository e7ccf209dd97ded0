"""Sign-in flood benchmark: does unauthenticated traffic slow the work signed-in users wait for?

A demo server (embedded: SQLite, local files) with the production password parameters
(argon2id `rfc9106-low-memory`: 64 MiB, 3 passes) and `PHONGHOP_TRUSTED_PROXIES=127.0.0.1`,
so that the flood can come from many client addresses and each attempt costs a real hash
check (from one address the sign-in limits would refuse almost all of it for free, which
is the point of them, but not what this measures). In one run:

1. **baseline**: a signed-in delegate's requests, one after another: a page image of the
   demo's first document (the tablet's most frequent request), `GET /api/me`, and
   `POST /api/verify` of a small PDF (verification in the PDF workers);
2. **control**: the same requests while `--flooders` concurrent clients send the cheapest
   request there is (`GET /healthz`) as fast as it is answered: what any flood of requests
   costs the event loop;
3. **flood**: the same, while the flooders send wrong passwords as fast as they are
   answered, each attempt from a fresh address and username.

Reported: each request's p50/p95 in every phase, and the ratios flood/baseline and
flood/control (same run: the box is noisy). A flood/control ratio near 1 means sign-ins cost
the others no more than any request does. Also the flood's sign-ins answered per second by
kind (401 checked, 503 `busy`, 429), the server's CPU, and its process tree's peak RSS.

The last line on stdout is one JSON object:

    {"flooders", "seconds", "baseline": {page|me|verify: {p50_ms, p95_ms}}, "control": {…},
     "flood": {…}, "ratio_p50", "ratio_p95", "ratio_to_control_p50", "ratio_to_control_p95",
     "control_requests_per_s", "signins_per_s": {"checked", "busy", "limited"},
     "password_checks_busy", "rss_mb_peak", "server_cpu_s": {"control", "login"}}

Usage: python bench/login_flood.py [--flooders 40] [--seconds 20] [--samples 150]
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
from _common import cpu_seconds, free_port, tree_rss_mb  # noqa: E402


def log(msg: str) -> None:
    print(f"[login_flood] {msg}", file=sys.stderr, flush=True)


def small_pdf() -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Biên bản kiểm tra")
    return doc.tobytes()


def stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50_ms": round(statistics.median(values) * 1000, 2),
            "p95_ms": round(values[int(0.95 * (len(values) - 1))] * 1000, 2)}


async def measure(c: httpx.AsyncClient, page_url: str, pdf: bytes, samples: int,
                  until: float | None = None) -> dict[str, list[float]]:
    """`samples` rounds of the three requests, one after another (or until `until`)."""
    times: dict[str, list[float]] = {"page": [], "me": [], "verify": []}
    for n in range(samples):
        for name, call in (("page", lambda: c.get(page_url)), ("me", lambda: c.get("/api/me")),
                           ("verify", lambda: c.post("/api/verify", content=pdf))):
            if name == "verify" and n % 3:  # verification is heavier: every third round
                continue
            started = time.perf_counter()
            r = await call()
            times[name].append(time.perf_counter() - started)
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {r.status_code} {r.text[:200]}")
        if until is not None and time.monotonic() > until:
            break
    return times


async def flooder(base: str, stop: asyncio.Event, counts: dict[int, int],
                  ids: itertools.count, kind: str) -> None:
    """Send as fast as answered: wrong passwords (`login`), or the cheapest request there
    is (`control`: GET /healthz), to tell the cost of sign-ins from the cost of requests."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        while not stop.is_set():
            n = next(ids)
            address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
            try:
                if kind == "control":
                    r = await c.get("/healthz")
                else:
                    r = await c.post("/api/login", headers={"X-Forwarded-For": address},
                                     json={"username": f"khong-co-{n}",
                                           "password": "sai-mat-khau"})
            except httpx.HTTPError:
                continue
            counts[r.status_code] = counts.get(r.status_code, 0) + 1


async def flood_phase(c: httpx.AsyncClient, base: str, kind: str, opts: argparse.Namespace,
                      page_url: str, pdf: bytes, pid: int) -> dict[str, Any]:
    """The three requests measured while `opts.flooders` clients flood with `kind`."""
    log(f"{kind} flood: {opts.flooders} clients for up to {opts.seconds} s")
    stop, counts, ids = asyncio.Event(), {}, itertools.count(1)
    cpu0 = cpu_seconds([pid])
    peak = tree_rss_mb([pid]) or 0.0
    tasks = [asyncio.create_task(flooder(base, stop, counts, ids, kind))
             for _ in range(opts.flooders)]
    await asyncio.sleep(2)  # the flood is running before we measure
    counts.clear()
    started = time.monotonic()
    times = await measure(c, page_url, pdf, opts.samples, until=started + opts.seconds)
    elapsed = time.monotonic() - started
    peak = max(peak, tree_rss_mb([pid]) or 0.0)
    stop.set()
    await asyncio.gather(*tasks)
    return {"times": times, "counts": counts, "elapsed": elapsed,
            "cpu": cpu_seconds([pid]) - cpu0, "peak": peak}


async def run(opts: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="phonghop-login-flood-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PHONGHOP_PASSWORD_PROFILE": "rfc9106-low-memory",
           "PHONGHOP_TRUSTED_PROXIES": "127.0.0.1"}
    proc = subprocess.Popen(  # noqa: ASYNC220 (once, before anything is measured)
        [sys.executable, "-m", "phonghop", "demo", "--data", str(data), "--port", str(port),
         "--host", "127.0.0.1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            r = await c.post("/api/login", json={"username": "daibieu01",
                                                  "password": "demo1234", "client": "device"})
            r.raise_for_status()
            c.headers["Authorization"] = f"Bearer {r.json()['token']}"
            meetings = (await c.get("/api/meetings")).json()["meetings"]
            room = (await c.get(f"/api/meetings/{meetings[0]['id']}")).json()["room"]
            doc = room["documents"][0]
            page_url = (f"/api/meetings/{meetings[0]['id']}/documents/{doc['id']}/pages/1"
                        "?size=tablet")
            pdf = small_pdf()
            await measure(c, page_url, pdf, 10)  # warm: the page rendered, workers ready
            log("baseline")
            baseline = await measure(c, page_url, pdf, opts.samples)
            control = await flood_phase(c, base, "control", opts, page_url, pdf, proc.pid)
            login = await flood_phase(c, base, "login", opts, page_url, pdf, proc.pid)
            health = (await c.get("/healthz")).json()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    base_stats = {k: stats(v) for k, v in baseline.items()}
    control_stats = {k: stats(v) for k, v in control["times"].items()}
    flood_stats = {k: stats(v) for k, v in login["times"].items()}

    def ratio(a: dict[str, Any], b: dict[str, Any], q: str) -> dict[str, float]:
        return {k: round(a[k][q] / b[k][q], 2) for k in b}

    def rate(phase: dict[str, Any], status: int) -> float:
        return round(phase["counts"].get(status, 0) / phase["elapsed"], 1)

    return {
        "flooders": opts.flooders, "seconds": round(login["elapsed"], 1),
        "baseline": base_stats, "control": control_stats, "flood": flood_stats,
        "ratio_p50": ratio(flood_stats, base_stats, "p50_ms"),
        "ratio_p95": ratio(flood_stats, base_stats, "p95_ms"),
        "ratio_to_control_p50": ratio(flood_stats, control_stats, "p50_ms"),
        "ratio_to_control_p95": ratio(flood_stats, control_stats, "p95_ms"),
        "control_requests_per_s": rate(control, 200),
        "signins_per_s": {"checked": rate(login, 401), "busy": rate(login, 503),
                          "limited": rate(login, 429)},
        "password_checks_busy": health["password_checks_busy"],
        "rss_mb_peak": round(max(control["peak"], login["peak"]), 1),
        "server_cpu_s": {"control": round(control["cpu"], 1), "login": round(login["cpu"], 1)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flooders", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--samples", type=int, default=150)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
