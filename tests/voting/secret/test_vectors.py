"""The committed test vectors (vectors.json, for the JavaScript implementation) are exactly
what make_vectors.py writes from the spec's test rng, and they check out: the board
verifies here and in the independent example, and each invalid ballot is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from phonghop.voting.secret.board import BoardStatus, verify_board
from phonghop.voting.secret.group import Point, Scalar

from .kit import SeededRng
from .make_vectors import PATH, SEED, dumps, generate
from .test_board import EXAMPLE

VECTORS = json.loads(PATH.read_text(encoding="utf-8"))


def test_the_committed_vectors_are_reproducible() -> None:
    assert PATH.read_text(encoding="utf-8") == dumps(generate()), \
        "vectors.json is stale: python -m tests.voting.secret.make_vectors"


def test_the_draws_are_the_spec_test_rng() -> None:
    rng = SeededRng(bytes.fromhex(VECTORS["seed"]), "ballot/7")
    assert [rng().hex() for _ in range(17)] == VECTORS["ballots"][0]["draws"]
    assert bytes.fromhex(VECTORS["seed"]) == SEED


def test_the_vector_board_verifies_here_and_in_the_example(tmp_path: Path) -> None:
    report = verify_board(VECTORS["board"])
    assert (report.status, report.counts) == (BoardStatus.VERIFIED, [2, 1, 2])
    path = tmp_path / "board.json"
    path.write_text(json.dumps(VECTORS["board"], ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, str(EXAMPLE), str(path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_group_vectors_hold() -> None:
    for case in VECTORS["group"]["products"]:
        assert (Scalar.from_hex(case["scalar"]) * Point.from_hex(case["point"])).hex() == \
            case["product"]
    hashes = VECTORS["hashing"]
    assert hashes[-1]["hb"] == hashes[-2]["hb"]  # NFC: two spellings, one hash
    assert hashes[3]["hb"] != hashes[4]["hb"]  # frames: "ab","c" is not "a","bc"


def test_each_invalid_vector_ballot_is_refused_for_its_reason() -> None:
    from phonghop.voting.secret.ballot import verify_ballot
    from phonghop.voting.secret.board import PollInfo

    rules = PollInfo.from_json(VECTORS["poll"]).rules(Point.from_hex(VECTORS["public_key"]))
    assert rules.context.hex() == VECTORS["context"]
    for case in VECTORS["invalid_ballots"]:
        refusal = verify_ballot(rules, case["ballot"])
        assert refusal is not None, case["name"]
        assert {"problem": str(refusal.problem), "option": refusal.option} == case["refusal"]
    for entry in VECTORS["ballots"]:
        assert verify_ballot(rules, entry["ballot"]) is None
