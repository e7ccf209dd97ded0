"""Write tests/voting/secret/vectors.json: deterministic test vectors of
docs/BALLOT_CRYPTO.md for the other implementation (static/secret_ballot.js) to reproduce
bit for bit. Every random scalar comes from the spec's test rng, so the whole file follows
from `seed`; test_vectors.py checks that the committed file is what this script writes.

    python -m tests.voting.secret.make_vectors
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from phonghop.voting.secret.ballot import (
    Ballot,
    BallotRules,
    encrypt_ballot,
    tracker,
    tracker_display,
    verify_ballot,
)
from phonghop.voting.secret.board import build_board
from phonghop.voting.secret.ceremony import (
    ComplaintReason,
    encrypt_share,
    judge_complaint,
    make_complaint,
    round3,
)
from phonghop.voting.secret.count import counts
from phonghop.voting.secret.group import (
    IDENTITY,
    ORDER,
    G,
    Scalar,
    hash_to_bytes,
    hash_to_scalar,
    multiples_of_g,
    text,
    u32,
)

from .kit import SeededRng, cast, decrypt_shares, poll_info, run_ceremony
from .test_ballot import forge
from .test_group import BAD_ENCODINGS

PATH = Path(__file__).with_name("vectors.json")
SEED = b"phonghop test vectors v1"
VOTES = {"7": [1, 0, 0], "12": [0, 1, 1], "42": [0, 0, 0], "108": [1, 0, 1]}


def _hashing() -> list[dict[str, object]]:
    cases: list[tuple[str, list[bytes]]] = [
        ("phonghop/test", []),
        ("phonghop/test", [b""]),
        ("phonghop/test", [b"", bytes(32), u32(7)]),
        ("phonghop/test", [b"ab", b"c"]),
        ("phonghop/test", [b"a", b"bc"]),
        ("Đồng ý", [bytes(range(64))]),
    ]
    out: list[dict[str, object]] = [
        {"tag": tag, "parts": [p.hex() for p in parts],
         "hs": hash_to_scalar(tag, *parts).hex(), "hb": hash_to_bytes(tag, *parts).hex()}
        for tag, parts in cases]
    # str(s) normalises to NFC: these two spellings of "Nguyễn" hash alike.
    for spelling in ("Nguyễn", "Nguye\u0302\u0303n"):
        out.append({"tag": "phonghop/test", "texts": [spelling],
                    "parts": [text(spelling).hex()],
                    "hs": hash_to_scalar("phonghop/test", text(spelling)).hex(),
                    "hb": hash_to_bytes("phonghop/test", text(spelling)).hex()})
    return out


def _group() -> dict[str, object]:
    rng = SeededRng(SEED, "group")
    products = []
    for _ in range(3):
        s, p = rng(), rng() * G
        products.append({"scalar": s.hex(), "point": p.hex(), "product": (s * p).hex()})
    p = rng() * G
    products += [{"scalar": Scalar(0).hex(), "point": p.hex(), "product": IDENTITY.hex()},
                 {"scalar": rng().hex(), "point": IDENTITY.hex(), "product": IDENTITY.hex()}]
    return {
        "order": str(ORDER),
        "multiples_of_g": [q.hex() for q in multiples_of_g(3)],
        "products": products,
        "bad_points": BAD_ENCODINGS,
        "bad_scalars": [ORDER.to_bytes(32, "little").hex(), (2**256 - 1).to_bytes(32, "little")
                        .hex()],
    }


def _ballot_entry(context: bytes, ballot: Ballot, choices: list[int],
                  draws: list[Scalar]) -> dict[str, object]:
    value = tracker(context, ballot)
    return {"voter": ballot.voter, "choices": choices, "rng": f"ballot/{ballot.voter}",
            "draws": [d.hex() for d in draws], "ballot": ballot.to_json(),
            "tracker": value.hex(), "tracker_display": tracker_display(value)}


def generate() -> dict[str, object]:
    """The whole vectors document."""
    poll = dataclasses.replace(
        poll_info(n=3, t=2, options=("Đồng ý", "Không đồng ý", "Ý kiến khác"), minimum=0,
                  maximum=2, uid="vectors.example/meeting-3/poll-7"),
        title="Thông qua dự thảo nghị quyết về ngân sách năm 2027?")
    ceremony = run_ceremony(poll, SEED)
    streams = ceremony.streams
    rules = ceremony.rules
    ballots = cast(ceremony, VOTES)
    totals, shares = decrypt_shares(ceremony, ballots, [1, 2, 3])

    members = []
    for m in ceremony.round1:
        i = m.index
        secrets = ceremony.secrets[i]
        members.append({
            "index": i,
            "rng": [f"member/{i}/round1", f"member/{i}/round2"],
            "draws_round1": [d.hex() for d in streams[f"member/{i}/round1"].draws],
            "draws_round2": [d.hex() for d in streams[f"member/{i}/round2"].draws],
            "transport_secret": secrets.transport.hex(),
            "coefficients": [a.hex() for a in secrets.coefficients],
            "round1": m.to_json(),
            "round2": [s.to_json() for s in ceremony.round2[i]],
            "secret": ceremony.keys[i].secret.hex(),
            "verification_key": ceremony.keys[i].verification_key.hex(),
        })

    # Member 3's inbox with dealer 1's box bit-flipped, and dealer 2's share replaced by
    # f₂(3) + 1 (well encrypted, but not matching the commitments).
    cer = poll.ceremony
    inbox = ceremony.inbox(3)
    flipped = bytearray(inbox[1].box)
    flipped[0] ^= 1
    inbox[1] = dataclasses.replace(inbox[1], box=bytes(flipped))
    inbox[2] = encrypt_share(cer, 2, 3, ceremony.secrets[2].share_for(3) + Scalar(1),
                             ceremony.round1[2].transport_key, SeededRng(SEED, "invalid/share"))
    complaint_rng = SeededRng(SEED, "member/3/round3")
    complaints = round3(cer, ceremony.secrets[3], ceremony.round1, inbox, complaint_rng)
    assert isinstance(complaints, list)
    verdicts = [judge_complaint(cer, ceremony.round1[2], ceremony.round1[c.dealer - 1],
                                inbox[c.dealer], c) for c in complaints]
    # A false complaint: member 3 against dealer 2's honest share (the ceremony goes on).
    false_rng = SeededRng(SEED, "member/3/false-complaint")
    honest_share = ceremony.inbox(3)[2]
    false = make_complaint(cer, ceremony.secrets[3], honest_share, 2, ComplaintReason.MISMATCH,
                           false_rng)
    false_verdict = judge_complaint(cer, ceremony.round1[2], ceremony.round1[1], honest_share,
                                    false)

    other = poll_info(n=3, t=2, options=poll.options, minimum=0, maximum=2,
                      uid="vectors.example/meeting-3/poll-8").rules(rules.key)
    honest = ballots[0].to_json()
    invalid = [
        ("copied under another voter's id", {**honest, "voter": "13"}),
        ("made for another poll", encrypt_ballot(other, "7", [1, 0, 0], SeededRng(
            SEED, "invalid/other-poll")).to_json()),
        ("2 in option 0", _forged(rules, [2, 0, 0], "invalid/two")),
        ("-1 in option 1", _forged(rules, [1, -1, 1], "invalid/minus-one")),
        ("three choices where max is 2", _forged(rules, [1, 1, 1], "invalid/too-many", 2)),
        ("a challenge changed", _bump_c(honest)),
    ]
    invalid_entries = []
    for name, doc in invalid:
        refusal = verify_ballot(rules, doc)
        assert refusal is not None, name
        invalid_entries.append({"name": name, "ballot": doc, "refusal": {
            "problem": str(refusal.problem), "option": refusal.option}})

    return {
        "version": "phonghop-vectors/1",
        "about": "docs/BALLOT_CRYPTO.md; written by tests/voting/secret/make_vectors.py",
        "seed": SEED.hex(),
        "hashing": _hashing(),
        "group": _group(),
        "poll": poll.to_json(),
        "ceremony": cer.hex(),
        "members": members,
        "complaint": {"member": 3, "inbox": [s.to_json() for s in inbox.values()],
                      "rng": complaint_rng.label,
                      "draws": [d.hex() for d in complaint_rng.draws],
                      "complaints": [c.to_json() for c in complaints],
                      "verdicts": [str(v) for v in verdicts],
                      "false": {"rng": false_rng.label,
                                "draws": [d.hex() for d in false_rng.draws],
                                "envelope": honest_share.to_json(),
                                "complaint": false.to_json(), "verdict": str(false_verdict)}},
        "public_key": rules.key.hex(),
        "verification_keys": {str(j): x.hex() for j, x in ceremony.x_keys.items()},
        "context": rules.context.hex(),
        "ballots": [_ballot_entry(rules.context, b, VOTES[b.voter],
                                  streams[f"ballot/{b.voter}"].draws) for b in ballots],
        "invalid_ballots": invalid_entries,
        "aggregate": [c.to_json() for c in totals],
        "partials": [{"index": j, "rng": f"partial/{j}",
                      "draws": [d.hex() for d in streams[f"partial/{j}"].draws],
                      "partials": [p.to_json() for p in shares[j]]} for j in sorted(shares)],
        "combinations": [{"from": group, "counts": counts(
            totals, {j: shares[j] for j in group}, len(ballots))}
            for group in ([1, 2], [1, 3], [2, 3])],
        "board": build_board(poll, ceremony.members(), ballots, True, shares),
    }


def _forged(rules: BallotRules, values: list[int], label: str,
            claimed_count: int | None = None) -> dict:
    return forge(rules, "7", values, claimed_count=claimed_count, rng=SeededRng(SEED, label))


def _bump_c(doc: dict) -> dict:
    forged = json.loads(json.dumps(doc))
    c = Scalar.from_hex(forged["choices"][2]["proof"][1][0])
    forged["choices"][2]["proof"][1][0] = (c + Scalar(1)).hex()
    return forged


def dumps(doc: dict[str, object]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    PATH.write_text(dumps(generate()), encoding="utf-8")
    print(f"wrote {PATH}")
