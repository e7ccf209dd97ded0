"""static/secret_ballot.js reproduces the server side's test vectors bit for bit
(tests/voting/secret/vectors.json, written by make_vectors.py from the spec's test rng):
hashing, the group, every member's ceremony rounds and complaints, the key and context,
ballots and trackers, the refused forgeries, partial decryptions, counts and the board."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.voting.secret.js.oracle import NODE, ROOT

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors.json"

pytestmark = pytest.mark.skipif(not VECTORS.exists(), reason="vectors.json is not here yet")


def test_js_reproduces_the_vectors() -> None:
    out = subprocess.run([NODE, str(HERE / "js" / "vectors.mjs"), str(VECTORS)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    report = json.loads(out.stdout)
    assert report["mismatches"] == []
    assert report["checked"] > 100
    assert out.returncode == 0


def test_a_changed_vector_is_a_mismatch(tmp_path: Path) -> None:
    # The check compares for real: one bit of one ballot's proof changed is caught.
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    pair = doc["ballots"][0]["ballot"]["count_proof"][0]
    pair[1] = ("01" if pair[1][:2] != "01" else "02") + pair[1][2:]
    changed = tmp_path / "vectors.json"
    changed.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run([NODE, str(HERE / "js" / "vectors.mjs"), str(changed)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    voter = doc["ballots"][0]["voter"]
    assert f"ballots[{voter}].ballot" in json.loads(out.stdout)["mismatches"]
    assert out.returncode == 1
