"""A stroke's path, written by the tablet (static/path.js) and read by the server
(documents/path.py), and the other way round: two implementations of one published
algorithm that must agree to the character, and refuse the same malformed text."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonghop.documents import path as paths
from phonghop.meeting_room import parse_command, parse_forwarded
from phonghop.rooms import Rejection
from tests.conftest import ROOT

NODE = shutil.which("node") or "node"
# One request per line: {"op": "encode", "points": [...]} or {"op": "decode", "path": "…"};
# one answer per line: {"ok": …} or {"refused": "…"}.
DRIVER = """
import { createInterface } from "node:readline";
const { encodePath, decodePath } = await import(process.argv[1]);
for await (const line of createInterface({ input: process.stdin })) {
  const req = JSON.parse(line);
  let answer;
  try {
    answer = { ok: req.op === "encode" ? encodePath(req.points) : decodePath(req.path) };
  } catch (err) {
    answer = { refused: String(err.message) };
  }
  process.stdout.write(JSON.stringify(answer) + "\\n");
}
"""


class Tablet:
    """static/path.js in a Node process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [NODE, "--input-type=module", "-e", DRIVER, (ROOT / "static" / "path.js").as_uri()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def tablet() -> Iterator[Tablet]:
    t = Tablet()
    yield t
    t.close()


on_page = st.floats(0.0, 1.0, allow_nan=False) | st.integers(0, 20_000).map(
    lambda n: n / 20_000)  # halves of the quantum too: both round them away from zero
strokes = st.lists(st.tuples(on_page, on_page), min_size=1, max_size=300).map(
    lambda pairs: [v for pair in pairs for v in pair])


@settings(max_examples=300, deadline=None)
@given(strokes)
def test_the_tablet_and_the_server_write_the_same_path_and_read_it_back(
    tablet: Tablet, points: list[float],
) -> None:
    path = paths.encode(points)
    assert tablet.ask(op="encode", points=points) == {"ok": path}
    decoded = paths.decode(path)
    assert tablet.ask(op="decode", path=path) == {"ok": decoded}
    assert decoded == [paths.quantised(v) for v in points]
    # what the tablet reads back encodes to the same path: a mark is stable
    assert paths.encode(decoded) == path


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=130), max_size=40))
def test_both_refuse_the_same_malformed_paths(tablet: Tablet, text: str) -> None:
    try:
        server = {"ok": paths.decode(text)}
    except paths.BadPath:
        server = None
    answer = tablet.ask(op="decode", path=text)
    if server is None:
        assert "refused" in answer, (text, answer)
    else:
        assert answer == server, (text, answer)


@pytest.mark.parametrize("points", [[0.5, 1.5], [0.5, -0.1], [0.5, float("nan")], [0.5]])
def test_both_refuse_to_write_a_stroke_off_the_page(tablet: Tablet, points: list[float]) -> None:
    with pytest.raises(paths.BadPath):
        paths.encode(points)
    # JSON has no NaN: the tablet gets null, which it must not take for 0 either
    sent = [None if math.isnan(v) else v for v in points]
    assert "refused" in tablet.ask(op="encode", points=sent)


def test_a_forwarded_stroke_is_the_stroke_parsed() -> None:
    """A node that does not write the room forwards the parsed command's JSON dump: the
    path, decoded as it was parsed, is not in it twice."""
    path = paths.encode([0.1, 0.2, 0.30005, 0.4])
    parsed = parse_command("annotation.add", {"document_id": 1, "page": 1, "kind": "ink",
                                              "path": path})
    assert not isinstance(parsed, Rejection)
    dumped = parsed.model_dump(mode="json")
    assert "path" not in dumped and dumped["points"] == [0.1, 0.2, 0.3001, 0.4]
    assert parse_forwarded("annotation.add", dumped) == parsed


def test_a_hundred_point_stroke_is_five_times_smaller_than_its_numbers() -> None:
    points = [round(0.3 + 0.002 * i, 5) if n == 0 else round(0.4 + 0.001 * (i % 7), 5)
              for i in range(100) for n in (0, 1)]
    assert len(paths.encode(points)) * 4 < len(json.dumps(points))


@pytest.mark.parametrize(("text", "why"), [
    ("", "not an encoded polyline"),
    ("?", "x, y pairs"),
    ("~~~~?", "not an encoded polyline"),  # a number of five groups: never written
    ("@?", "off the page"),  # x = -0.0001
    ("??" * 2001, "too many points"),
    ("?é", "not an encoded polyline"),
])
def test_the_server_refuses_what_it_never_writes(text: str, why: str) -> None:
    with pytest.raises(paths.BadPath, match=why):
        paths.decode(text)
