"""Times building one ballot in Debian's Chromium, the module served by a real phonghop
demo server under its CSP (the figures in the report of issue 13):

    python tests/voting/secret/js/bench_browser.py [runs]

Prints one JSON line per poll shape, like bench.mjs does for Node."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from playwright.async_api import async_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ServerProcess

BENCH = """
async (runs) => {
  const sb = await import("/static/secret_ballot.js");
  const shapes = [{ k: 2, min: 1, max: 1 }, { k: 2, min: 0, max: 2 },
                  { k: 5, min: 1, max: 1 }, { k: 5, min: 0, max: 5 }];
  const out = [];
  for (const shape of shapes) {
    const record = { poll_uid: "bench/1/1", title: "bench", min: shape.min, max: shape.max,
      n: 3, t: 2, options: Array.from({ length: shape.k }, (_, m) => `option ${m}`) };
    const ceremony = sb.ceremonyContext(record.poll_uid, 3, 2);
    const members = [1, 2, 3].map((i) => sb.round1({ ceremony, index: i, t: 2 }).published);
    const poll = sb.pollFromRecord(record, members);
    const choices = Array.from({ length: shape.k }, (_, m) => (m < Math.max(shape.min, 1) ? 1 : 0));
    for (let i = 0; i < 5; i++) sb.buildBallot(poll, "42", choices);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      sb.buildBallot(poll, "42", choices);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / runs;
    out.push({ ...shape, runs, median_ms: +times[runs >> 1].toFixed(1),
               mean_ms: +mean.toFixed(1) });
  }
  return out;
}
"""


async def main(runs: int) -> None:
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="bench-")), "demo")
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page()
            await page.goto(server.base_url + "/")
            print("chromium", browser.version)
            for line in await page.evaluate(BENCH, runs):
                print(json.dumps(line))
            await browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
