"""Minutes benchmark: how long to build the official minutes of a 3-hour meeting and sign
them twice (secretary, then chair)?

The document is `signing.sample.three_hour_minutes()`: 25 agenda items, 60 speeches,
6 votes, 40 conclusions, 60 paragraphs of proceedings, 30 members, 3 online sites (about
20 A4 pages). In one process, after one warm-up round on the same document (imports,
fonts, first-use caches: what a running server has already paid), each round:

1. `render_minutes(doc)`: the PDF with its two empty signature fields (`build_ms`);
2. `sign_field(..., "ThuKy", ...)` with the secretary's .p12 key (`secretary_sign_ms`);
3. `sign_field(..., "ChuToa", ...)` with the chair's (`chair_sign_ms`), the lock applies;

both signatures PAdES with the visible stamp, certificates checked against the development
CA (`Trust`) and validation data embedded; with `--tsa`, each also gets an RFC 3161
timestamp over HTTP from the development time-stamping service (PAdES B-T). Keys are
RSA-2048 from the development CA, loaded from .p12 once, outside the timings. Then the
result is verified (`verify_ms`, not part of the total).

The last line on stdout is one JSON object: medians over `--rounds`:

    {"build_ms", "secretary_sign_ms", "chair_sign_ms", "total_ms" (build + both
     signatures), "verify_ms", "cpu_ms" (process CPU time of build + signatures), "pages",
     "bytes" (the signed PDF), "rounds", "tsa", "first_total_ms" (the warm-up round),
     "all_valid"}

With `--server`, the same steps are timed through a running server instead: a demo server
(embedded: SQLite, local files) is started, and each round runs `examples/full_meeting.py`
against it (20 participants, 2 sites, a document, two votes, minutes) and times its HTTP
calls: `POST …/minutes/prepare` (assemble the draft from the room, render, store; as
`build_ms`), then `POST …/minutes/sign` by the secretary and by the chair (unlock the
user's .p12, sign, store, record in the room log), then `GET …/minutes/verify` by a
delegate. The JSON line then has "mode": "server", "total_ms" is prepare + both signatures,
and "meeting_s" is how long each whole meeting took.

Usage: python bench/minutes_sign.py [--rounds 5] [--tsa] [--server]
Everything but the result line goes to stderr. Exit status: 0 ok; 1 the result did not
verify.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pymupdf
from _common import REPO_ROOT, Children, log, run_main, set_name, start_node

from phonghop.signing.devca import DevCA
from phonghop.signing.fields import CHAIR_FIELD, SECRETARY_FIELD
from phonghop.signing.identity import ExpectedSigner
from phonghop.signing.layout import render_minutes
from phonghop.signing.sample import CHAIR, SECRETARY, three_hour_minutes
from phonghop.signing.sign import sign_field
from phonghop.signing.signers import load_pkcs12
from phonghop.signing.trust import Trust
from phonghop.signing.tsa_dev import DevTimeStampAuthority
from phonghop.signing.verify import verify_pdf


def run_benchmark(rounds: int = 5, tsa: bool = False) -> dict[str, object]:
    """Build and sign the 3-hour minutes `rounds` times (after one warm-up round); return
    the figures (medians, milliseconds)."""
    ca = DevCA.create()
    trust = Trust.of([ca.certificate])
    people = {}
    for user_id, person in (("thuky", SECRETARY), ("chutri", CHAIR)):
        cred = ca.issue_user(user_id=user_id, full_name=person.name, position=person.position,
                             unit="UBND phường Ba Đình")
        people[user_id] = load_pkcs12(cred.to_p12("bench"), "bench")
    doc = three_hour_minutes()

    with ExitStack() as stack:
        url = stack.enter_context(DevTimeStampAuthority(ca.issue_tsa())).url if tsa else None

        def one() -> dict[str, float | int | bytes]:
            cpu0, t0 = time.process_time(), time.perf_counter()
            pdf = render_minutes(doc)
            t1 = time.perf_counter()
            half = sign_field(pdf, SECRETARY_FIELD, people["thuky"], trust=trust, tsa_url=url,
                              expected=ExpectedSigner("thuky", SECRETARY.name))
            t2 = time.perf_counter()
            full = sign_field(half, CHAIR_FIELD, people["chutri"], trust=trust, tsa_url=url,
                              expected=ExpectedSigner("chutri", CHAIR.name))
            t3, cpu1 = time.perf_counter(), time.process_time()
            valid = verify_pdf(full, trust=trust).complete
            t4 = time.perf_counter()
            return {"build_ms": (t1 - t0) * 1000, "secretary_sign_ms": (t2 - t1) * 1000,
                    "chair_sign_ms": (t3 - t2) * 1000, "total_ms": (t3 - t0) * 1000,
                    "verify_ms": (t4 - t3) * 1000, "cpu_ms": (cpu1 - cpu0) * 1000,
                    "valid": int(valid), "pdf": full}

        first = one()
        log(f"warm-up: total {first['total_ms']:.0f} ms")
        runs = []
        for i in range(rounds):
            r = one()
            runs.append(r)
            log(f"round {i + 1}/{rounds}: build {r['build_ms']:.0f} ms, secretary "
                f"{r['secretary_sign_ms']:.0f} ms, chair {r['chair_sign_ms']:.0f} ms, total "
                f"{r['total_ms']:.0f} ms (cpu {r['cpu_ms']:.0f} ms), verify "
                f"{r['verify_ms']:.0f} ms")

    def median(key: str) -> float:
        return round(statistics.median(float(r[key]) for r in runs), 1)  # type: ignore[arg-type]

    signed = runs[-1]["pdf"]
    assert isinstance(signed, bytes)
    return {
        "build_ms": median("build_ms"),
        "secretary_sign_ms": median("secretary_sign_ms"),
        "chair_sign_ms": median("chair_sign_ms"),
        "total_ms": median("total_ms"),
        "verify_ms": median("verify_ms"),
        "cpu_ms": median("cpu_ms"),
        "pages": pymupdf.open("pdf", signed).page_count,
        "bytes": len(signed),
        "rounds": rounds,
        "tsa": tsa,
        "first_total_ms": round(float(first["total_ms"]), 1),  # type: ignore[arg-type]
        "all_valid": all(r["valid"] for r in runs),
    }


async def run_through_server(opts: argparse.Namespace, children: Children) -> int:
    """`--server`: the signing steps timed through a demo server's HTTP API."""
    from examples.full_meeting import main_async as full_meeting

    with tempfile.TemporaryDirectory(prefix="minutes-bench-") as tmp:
        work = Path(tmp)
        node = await start_node(children, REPO_ROOT, work / "data", work / "server.log", 120,
                                command="demo")
        runs: list[dict[str, float]] = []
        for i in range(opts.rounds + 1):  # the first is the warm-up
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                timings = await full_meeting(node.http, work / f"minutes-{i}.pdf", 60)
            timings["meeting_s"] = time.perf_counter() - t0
            timings["total_ms"] = (timings["prepare_ms"] + timings["secretary_sign_ms"]
                                   + timings["chair_sign_ms"])
            log(f"{'warm-up' if i == 0 else f'round {i}/{opts.rounds}'}: prepare "
                f"{timings['prepare_ms']:.0f} ms, secretary {timings['secretary_sign_ms']:.0f}"
                f" ms, chair {timings['chair_sign_ms']:.0f} ms, verify "
                f"{timings['verify_ms']:.0f} ms (meeting {timings['meeting_s']:.1f} s)")
            runs.append(timings)
        signed = (work / f"minutes-{opts.rounds}.pdf").read_bytes()
        pages = pymupdf.open("pdf", signed).page_count

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs[1:]), 1)

    print(json.dumps({
        "mode": "server", "build_ms": median("prepare_ms"),
        "secretary_sign_ms": median("secretary_sign_ms"),
        "chair_sign_ms": median("chair_sign_ms"), "total_ms": median("total_ms"),
        "verify_ms": median("verify_ms"), "meeting_s": median("meeting_s"), "pages": pages,
        "bytes": len(signed), "rounds": opts.rounds,
        "first_total_ms": round(runs[0]["total_ms"], 1), "all_valid": True,
    }), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--tsa", action="store_true",
                        help="timestamp both signatures with the development TSA over HTTP")
    parser.add_argument("--server", action="store_true",
                        help="time the steps through a demo server (examples/full_meeting.py)")
    opts = parser.parse_args()
    opts.rounds = max(1, opts.rounds)
    set_name("minutes_sign")
    if opts.server:
        return run_main(run_through_server, opts)
    result = run_benchmark(opts.rounds, tsa=opts.tsa)
    print(json.dumps(result), flush=True)
    return 0 if result["all_valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
