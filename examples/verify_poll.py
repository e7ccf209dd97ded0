#!/usr/bin/env python3
"""An independent verifier of a phonghop secret poll's board, written from
docs/BALLOT_CRYPTO.md alone. It imports nothing of phonghop: only pysodium (libsodium's
ristretto255) and the standard library, so that anyone can read it and check a count
without trusting the server's code.

    python examples/verify_poll.py board.json

Exit status: 0 the published result follows from the published ballots; 1 the board is
wrong (every problem is printed); 2 the file is not a readable board; 3 no result yet
(the poll is open, or void).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata

import pysodium

L = 2**252 + 27742317777372353535851937790883648493
ZERO = bytes(32)
G = pysodium.crypto_scalarmult_ristretto255_base((1).to_bytes(32, "little"))
MULTIPLES = [ZERO]  # v·G for the values a proof may claim, by repeated addition (grown below)


class Bad(Exception):
    """A value on the board that does not decode."""


# ---- encodings ------------------------------------------------------------------------

def unhex(s: object, size: int = 32) -> bytes:
    if not isinstance(s, str) or not re.fullmatch(f"[0-9a-f]{{{2 * size}}}", s):
        raise Bad(f"not {2 * size} lowercase hex digits: {s!r}")
    return bytes.fromhex(s)


def point(s: object) -> bytes:
    b = unhex(s)
    if not pysodium.crypto_core_ristretto255_is_valid_point(b):  # the identity is valid
        raise Bad(f"not a canonical point: {s}")
    return b


def scalar(s: object) -> int:
    n = int.from_bytes(unhex(s), "little")
    if n >= L:
        raise Bad(f"scalar not below the group order: {s}")
    return n


# ---- the group (libsodium refuses results equal to the identity: answered here) -------

def add(p: bytes, q: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_add(p, q)


def sub(p: bytes, q: bytes) -> bytes:
    return pysodium.crypto_core_ristretto255_sub(p, q)


def mul(n: int, p: bytes) -> bytes:
    n %= L
    if n == 0 or p == ZERO:
        return ZERO
    return pysodium.crypto_scalarmult_ristretto255(n.to_bytes(32, "little"), p)


def gmul(n: int) -> bytes:
    n %= L
    return ZERO if n == 0 else pysodium.crypto_scalarmult_ristretto255_base(
        n.to_bytes(32, "little"))


# ---- hashing --------------------------------------------------------------------------

def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def string(s: str) -> bytes:
    return unicodedata.normalize("NFC", s).encode("utf-8")


def framed(tag: str, parts: tuple[bytes, ...]) -> bytes:
    out = bytearray()
    for x in (string(tag), *parts):
        out += len(x).to_bytes(4, "big") + x
    return bytes(out)


def hs(tag: str, *parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(framed(tag, parts)).digest(), "little") % L


def hb(tag: str, *parts: bytes) -> bytes:
    return hashlib.sha256(framed(tag, parts)).digest()


# ---- proofs ---------------------------------------------------------------------------

def one_of(tag: str, bound: list[bytes], key: bytes, alpha: bytes, beta: bytes,
           values: list[int], proof: object) -> bool:
    """The disjunctive Chaum–Pedersen proof that (alpha, beta) encrypts one of values."""
    if not isinstance(proof, list) or len(proof) != len(values):
        raise Bad("wrong number of proof pairs")
    commitments: list[bytes] = []
    total = 0
    for pair, v in zip(proof, values, strict=True):
        if not isinstance(pair, list) or len(pair) != 2:
            raise Bad("a proof pair is [c, z]")
        c, z = scalar(pair[0]), scalar(pair[1])
        commitments.append(sub(gmul(z), mul(c, alpha)))
        commitments.append(sub(mul(z, key), mul(c, sub(beta, MULTIPLES[v]))))
        total += c
    return total % L == hs(tag, *bound, alpha, beta, *commitments)


# ---- the board ------------------------------------------------------------------------

def verify(doc: dict) -> tuple[list[str], str, list[int] | None]:
    """(problems, state, counts) where state is verified, invalid, open or void."""
    problems: list[str] = []
    poll = doc["poll"]
    uid, title, options = poll["poll_uid"], poll["title"], poll["options"]
    lo, hi, n, t = poll["min"], poll["max"], poll["n"], poll["t"]
    k = len(options)
    if not (isinstance(uid, str) and isinstance(title, str) and k >= 1
            and all(isinstance(o, str) for o in options)
            and all(type(x) is int for x in (lo, hi, n, t))
            and 0 <= lo <= hi <= k and 1 <= t <= n <= 15):
        raise Bad("poll parameters")
    ceremony = hb("phonghop/ceremony/v1", string(uid), u32(n), u32(t))
    while len(MULTIPLES) <= k:
        MULTIPLES.append(add(MULTIPLES[-1], G))

    # 1. every coefficient proof; K, the X_j, the context
    members = doc["members"]
    if len(members) != n:
        raise Bad(f"expected {n} members")
    commitments: list[list[bytes]] = []
    for i, member in enumerate(members, start=1):
        if member["index"] != i or len(member["commitments"]) != t or len(
                member["proofs"]) != t:
            raise Bad(f"member {i}: index or number of commitments")
        if point(member["transport_key"]) == ZERO:
            problems.append(f"member {i}: the transport key is the identity")
        a = [point(x) for x in member["commitments"]]
        for kk, (ak, pair) in enumerate(zip(a, member["proofs"], strict=True)):
            c, u = scalar(pair[0]), scalar(pair[1])
            h = sub(gmul(u), mul(c, ak))
            if hs("phonghop/ceremony/v1/coefficient", ceremony, u32(i), u32(kk), ak, h) != c:
                problems.append(f"member {i}: coefficient proof {kk} fails")
        commitments.append(a)
    key = ZERO
    for a in commitments:
        key = add(key, a[0])
    if doc["public_key"] != key.hex():
        problems.append("the public key is not the sum of the members' first commitments")
    x_keys = {}
    for j in range(1, n + 1):
        xj = ZERO
        for a in commitments:
            for kk, ak in enumerate(a):
                xj = add(xj, mul(pow(j, kk, L), ak))
        x_keys[j] = xj
    context = hb("phonghop/poll/v1", ceremony, string(uid), string(title), u32(k),
                 *(string(o) for o in options), u32(lo), u32(hi), key)
    if doc["context"] != context.hex():
        problems.append("the context does not match the poll")

    # 2. every ballot's proofs and tracker; no voter twice; sorted by tracker
    totals = [(ZERO, ZERO)] * k
    voters: set[str] = set()
    trackers: list[str] = []
    for b, entry in enumerate(doc["ballots"]):
        ballot = entry["ballot"]
        voter = ballot["voter"]
        if not isinstance(voter, str) or not re.fullmatch(r"0|[1-9][0-9]*", voter):
            raise Bad(f"ballot {b}: voter id {voter!r}")
        if voter in voters:
            problems.append(f"ballot {b}: voter {voter} appears twice")
        voters.add(voter)
        if set(ballot) != {"voter", "choices", "count_proof"} or len(ballot["choices"]) != k:
            problems.append(f"ballot {b}: not one ciphertext per option")
            continue
        parts = [context, string(voter)]
        pairs: list[bytes] = []
        sum_a, sum_b = ZERO, ZERO
        for m, choice in enumerate(ballot["choices"]):
            alpha, beta = point(choice["alpha"]), point(choice["beta"])
            if not one_of("phonghop/ballot/v1/choice", [context, string(voter), u32(m)], key,
                          alpha, beta, [0, 1], choice["proof"]):
                problems.append(f"ballot {b} (voter {voter}): option {m} is not 0 or 1")
            parts += [alpha, beta]
            pairs += [unhex(x) for pair in choice["proof"] for x in pair]
            sum_a, sum_b = add(sum_a, alpha), add(sum_b, beta)
            totals[m] = (add(totals[m][0], alpha), add(totals[m][1], beta))
        if not one_of("phonghop/ballot/v1/count", [context, string(voter), b""], key,
                      sum_a, sum_b, list(range(lo, hi + 1)), ballot["count_proof"]):
            problems.append(f"ballot {b} (voter {voter}): the number of choices is not "
                            f"proved within {lo}…{hi}")
        pairs += [unhex(x) for pair in ballot["count_proof"] for x in pair]
        if entry["tracker"] != hb("phonghop/tracker/v1", *parts, *pairs).hex():
            problems.append(f"ballot {b}: the tracker does not match")
        trackers.append(str(entry["tracker"]))
    if trackers != sorted(trackers):
        problems.append("the ballots are not sorted by tracker")

    # 3. the aggregate
    if doc["aggregate"] is None:
        if doc["shares"] is not None or doc["result"] is not None:
            problems.append("shares or a result without an aggregate")
        return problems, "open", None
    if len(doc["aggregate"]) != k:
        raise Bad("aggregate length")
    for m, entry in enumerate(doc["aggregate"]):
        if (point(entry["alpha"]), point(entry["beta"])) != totals[m]:
            problems.append(f"aggregate of option {m} is not the sum of the ballots")

    # 4. every partial decryption's proof
    valid: dict[int, list[bytes]] = {}
    listed: list[int] = []
    for share in doc["shares"]:
        j = share["index"]
        if type(j) is not int or not 1 <= j <= n or len(share["partials"]) != k:
            raise Bad(f"share {j!r}")
        listed.append(j)
        ds, ok = [], True
        for m, p in enumerate(share["partials"]):
            d, c, z = point(p["d"]), scalar(p["c"]), scalar(p["z"])
            big_a, big_b = totals[m]
            pp = sub(gmul(z), mul(c, x_keys[j]))
            qq = sub(mul(z, big_a), mul(c, d))
            if hs("phonghop/tally/v1/share", context, u32(j), u32(m), big_a, big_b,
                  x_keys[j], d, pp, qq) != c:
                problems.append(f"member {j}: partial decryption of option {m} fails")
                ok = False
            ds.append(d)
        if ok:
            valid[j] = ds
    if listed != sorted(set(listed)):
        problems.append("the shares are not in member order, or repeat a member")

    # 5. the combination and the counts
    result = doc["result"]
    if result is None:
        if len(valid) >= t:
            problems.append("enough valid shares, but no result")
        return problems, "void", None
    if result["voters"] != len(doc["ballots"]):
        problems.append("the number of voters is not the number of ballots")
    chosen = sorted(set(listed))[:t]
    if len(chosen) < t or result["combined_from"] != chosen:
        problems.append(f"the result is not combined from members {chosen}")
        return problems, "invalid", None
    if any(j not in valid for j in chosen):
        return problems, "invalid", None
    lambdas = {}
    for j in chosen:
        num = den = 1
        for other in chosen:
            if other != j:
                num, den = num * other % L, den * (other - j) % L
        lambdas[j] = num * pow(den, -1, L) % L
    table, c_g = {ZERO: 0}, ZERO
    for c in range(1, len(doc["ballots"]) + 1):
        c_g = add(c_g, G)
        table[c_g] = c
    found = []
    for m in range(k):
        masked = ZERO
        for j in chosen:
            masked = add(masked, mul(lambdas[j], valid[j][m]))
        found.append(table.get(sub(totals[m][1], masked)))
    if None in found:
        problems.append("the decryption gives no count")
        return problems, "invalid", None
    if found != result["counts"]:
        problems.append(f"the published counts {result['counts']} are not the decrypted "
                        f"{found}")
        return problems, "invalid", None
    return problems, ("invalid" if problems else "verified"), found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[0], "rb") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"unreadable: {exc}", file=sys.stderr)
        return 2
    if not isinstance(doc, dict) or doc.get("version") != "phonghop-board/1":
        print("not a phonghop-board/1 document", file=sys.stderr)
        return 2
    try:
        problems, state, counts = verify(doc)
    except (Bad, LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        problems, state, counts = [f"malformed board: {exc!r}"], "invalid", None
    for p in problems:
        print(f"- {p}")
    if problems:
        print("NOT VALID")
        return 1
    if state == "verified":
        print(f"voters: {len(doc['ballots'])}; counts: {counts}")
        for option, count in zip(doc["poll"]["options"], counts or [], strict=True):
            print(f"  {count:6d}  {option}")
        print("RESULT VERIFIED")
        return 0
    print(f"no result to verify: the poll is {state}")
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
