"""The public board of a secret poll (docs/BALLOT_CRYPTO.md, section 4): `build_board`
writes it from the ceremony, the ballots and the shares; `verify_board` recomputes
everything on it from scratch and lists every problem, typed, with Vietnamese and English
text. Neither trusts the server: the board alone decides."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from phonghop.voting.secret.ballot import (
    Ballot,
    BallotRefusal,
    BallotRules,
    parse_ballot,
    tracker,
    verify_ballot,
)
from phonghop.voting.secret.ceremony import (
    MAX_MEMBERS,
    Round1,
    ceremony_id,
    check_round1,
    poll_context,
    public_key,
    verification_keys,
)
from phonghop.voting.secret.count import (
    Partial,
    aggregate,
    counts,
    verify_partials,
)
from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import Point

BOARD_VERSION = "phonghop-board/1"


@dataclass(frozen=True)
class PollInfo:
    """The poll as the board states it."""

    poll_uid: str
    title: str
    options: tuple[str, ...]
    minimum: int
    maximum: int
    n: int
    t: int

    def __post_init__(self) -> None:
        if not (1 <= self.t <= self.n <= MAX_MEMBERS and len(self.options) >= 1
                and 0 <= self.minimum <= self.maximum <= len(self.options)):
            raise ValueError("need 1 ≤ t ≤ n ≤ 15, k ≥ 1 and 0 ≤ min ≤ max ≤ k")

    @property
    def ceremony(self) -> bytes:
        return ceremony_id(self.poll_uid, self.n, self.t)

    def context(self, key: Point) -> bytes:
        return poll_context(self.ceremony, self.poll_uid, self.title, self.options,
                            self.minimum, self.maximum, key)

    def rules(self, key: Point) -> BallotRules:
        return BallotRules(self.context(key), key, len(self.options), self.minimum,
                           self.maximum)

    def to_json(self) -> dict[str, object]:
        return {"poll_uid": self.poll_uid, "title": self.title, "options": list(self.options),
                "min": self.minimum, "max": self.maximum, "n": self.n, "t": self.t}

    @classmethod
    def from_json(cls, doc: object) -> PollInfo:
        """Strict: exact keys, strings and integers; `ValueError` otherwise."""
        keys = {"poll_uid", "title", "options", "min", "max", "n", "t"}
        if not isinstance(doc, dict) or set(doc) != keys:
            raise ValueError("poll is {poll_uid, title, options, min, max, n, t}")
        if (not isinstance(doc["poll_uid"], str) or not isinstance(doc["title"], str)
                or not isinstance(doc["options"], list)
                or not all(isinstance(o, str) for o in doc["options"])
                or not all(type(doc[k]) is int for k in ("min", "max", "n", "t"))):
            raise ValueError("poll fields have the wrong types")
        return cls(doc["poll_uid"], doc["title"], tuple(doc["options"]), doc["min"],
                   doc["max"], doc["n"], doc["t"])


@dataclass(frozen=True)
class BoardMember:
    """A counting-board member: their round-1 message, account and name."""

    round1: Round1
    user_id: str
    name: str

    def to_json(self) -> dict[str, object]:
        doc = self.round1.to_json()
        return {"index": doc.pop("index"), "user_id": self.user_id, "name": self.name, **doc}


def build_board(poll: PollInfo, members: Sequence[BoardMember], ballots: Sequence[Ballot],
                closed: bool, shares: Mapping[int, Sequence[Partial]] | None = None) -> dict:
    """The board document. `ballots` are the counted (already verified) ballots, `shares`
    the accepted members' partial decryptions by index; after the close the result is
    combined from the t lowest indices once t members have sent theirs."""
    ordered = sorted(members, key=lambda m: m.round1.index)
    key = public_key([m.round1 for m in ordered])
    context = poll.context(key)
    listed = sorted(((tracker(context, b).hex(), b) for b in ballots), key=lambda e: e[0])
    doc: dict[str, object] = {
        "version": BOARD_VERSION, "poll": poll.to_json(),
        "members": [m.to_json() for m in ordered],
        "public_key": key.hex(), "context": context.hex(),
        "ballots": [{"tracker": t, "ballot": b.to_json()} for t, b in listed],
        "aggregate": None, "shares": None, "result": None,
    }
    if not closed:
        return doc
    totals = aggregate(ballots, len(poll.options))
    shares = dict(shares or {})
    doc["aggregate"] = [c.to_json() for c in totals]
    doc["shares"] = [{"index": j, "partials": [p.to_json() for p in shares[j]]}
                     for j in sorted(shares)]
    if len(shares) >= poll.t:
        chosen = sorted(shares)[: poll.t]
        found = counts(totals, {j: shares[j] for j in chosen}, len(ballots))
        if found is None:
            raise ValueError("the shares give no count: one of them is wrong")
        doc["result"] = {"counts": found, "voters": len(ballots), "combined_from": chosen}
    return doc


# ---- verification ----------------------------------------------------------------------

class BoardProblemCode(StrEnum):
    NOT_A_BOARD = "not_a_board"
    MALFORMED = "malformed"
    MEMBER_REFUSED = "member_refused"
    PUBLIC_KEY_MISMATCH = "public_key_mismatch"
    CONTEXT_MISMATCH = "context_mismatch"
    BALLOT_INVALID = "ballot_invalid"
    TRACKER_MISMATCH = "tracker_mismatch"
    BALLOTS_OUT_OF_ORDER = "ballots_out_of_order"
    DUPLICATE_VOTER = "duplicate_voter"
    AGGREGATE_MISMATCH = "aggregate_mismatch"
    SHARES_OUT_OF_ORDER = "shares_out_of_order"
    PARTIAL_INVALID = "partial_invalid"
    RESULT_MISSING = "result_missing"
    VOTERS_MISMATCH = "voters_mismatch"
    COMBINED_FROM_WRONG = "combined_from_wrong"
    COUNT_NOT_FOUND = "count_not_found"
    COUNT_MISMATCH = "count_mismatch"


MESSAGES: dict[BoardProblemCode, tuple[str, str]] = {
    BoardProblemCode.NOT_A_BOARD: (
        "Tệp không phải là bảng công bố phiếu kín (phonghop-board/1)",
        "The file is not a secret-ballot board (phonghop-board/1)"),
    BoardProblemCode.MALFORMED: (
        "Một trường của bảng sai định dạng", "A field of the board is malformed"),
    BoardProblemCode.MEMBER_REFUSED: (
        "Cam kết khóa của một thành viên ban kiểm phiếu không hợp lệ",
        "A counting-board member's key commitments are invalid"),
    BoardProblemCode.PUBLIC_KEY_MISMATCH: (
        "Khóa công khai không khớp với các cam kết",
        "The public key does not follow from the commitments"),
    BoardProblemCode.CONTEXT_MISMATCH: (
        "Ngữ cảnh cuộc biểu quyết không khớp", "The poll context does not match"),
    BoardProblemCode.BALLOT_INVALID: (
        "Một lá phiếu có chứng minh không hợp lệ", "A ballot's proofs do not hold"),
    BoardProblemCode.TRACKER_MISMATCH: (
        "Mã theo dõi không khớp với lá phiếu", "A tracker does not match its ballot"),
    BoardProblemCode.BALLOTS_OUT_OF_ORDER: (
        "Các lá phiếu không được sắp theo mã theo dõi", "The ballots are not sorted by tracker"),
    BoardProblemCode.DUPLICATE_VOTER: (
        "Một người bỏ phiếu xuất hiện hai lần", "A voter appears twice"),
    BoardProblemCode.AGGREGATE_MISMATCH: (
        "Tổng mã hóa không khớp với các lá phiếu",
        "The aggregate does not follow from the ballots"),
    BoardProblemCode.SHARES_OUT_OF_ORDER: (
        "Các phần giải mã không theo thứ tự thành viên hoặc bị trùng",
        "The shares are not in member order, or repeat a member"),
    BoardProblemCode.PARTIAL_INVALID: (
        "Một phần giải mã có chứng minh không hợp lệ",
        "A partial decryption's proof does not hold"),
    BoardProblemCode.RESULT_MISSING: (
        "Đã đủ phần giải mã nhưng thiếu kết quả", "Enough shares, but no result"),
    BoardProblemCode.VOTERS_MISMATCH: (
        "Số người bỏ phiếu khác số lá phiếu", "The number of voters is not the number of ballots"),
    BoardProblemCode.COMBINED_FROM_WRONG: (
        "Kết quả không được ghép từ t thành viên có số thứ tự nhỏ nhất",
        "The result is not combined from the t lowest-numbered members"),
    BoardProblemCode.COUNT_NOT_FOUND: (
        "Giải mã không cho ra số phiếu nào", "The decryption gives no count"),
    BoardProblemCode.COUNT_MISMATCH: (
        "Số phiếu công bố không khớp với giải mã",
        "The published counts do not follow from the decryption"),
}


@dataclass(frozen=True)
class BoardProblem:
    """One thing wrong with the board: its code, where (a JSON path) and a detail."""

    code: BoardProblemCode
    where: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        vi, en = MESSAGES[self.code]
        return {"code": str(self.code), "where": self.where, "detail": self.detail,
                "vi": vi, "en": en}


class BoardStatus(StrEnum):
    VERIFIED = "verified"      # the published result follows from the published ballots
    INVALID = "invalid"        # at least one problem
    OPEN = "open"              # consistent so far; the poll has not closed
    VOID = "void"              # consistent; fewer than t members sent their shares
    NOT_A_BOARD = "not_a_board"


EXIT_CODES = {BoardStatus.VERIFIED: 0, BoardStatus.INVALID: 1, BoardStatus.NOT_A_BOARD: 2,
              BoardStatus.OPEN: 3, BoardStatus.VOID: 3}


@dataclass
class BoardReport:
    """What `verify_board` found; `exit_code` is the CLI's (0 only when verified)."""

    status: BoardStatus = BoardStatus.INVALID
    problems: list[BoardProblem] = field(default_factory=list)
    counts: list[int] | None = None
    voters: int | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, object]:
        return {"status": str(self.status), "exit_code": self.exit_code,
                "counts": self.counts, "voters": self.voters,
                "problems": [p.to_json() for p in self.problems]}


class _Stop(Exception):
    """Nothing further can be checked (a missing prerequisite)."""


def verify_board(doc: object) -> BoardReport:
    """Recompute the board in the spec's order and report every problem found."""
    report = BoardReport()
    if not isinstance(doc, dict) or doc.get("version") != BOARD_VERSION:
        report.status = BoardStatus.NOT_A_BOARD
        report.problems.append(BoardProblem(BoardProblemCode.NOT_A_BOARD, "version"))
        return report
    try:
        _verify(doc, report)
    except _Stop:
        pass
    if report.problems:
        report.status = BoardStatus.INVALID
        report.counts = None
    return report


def _verify(doc: dict, report: BoardReport) -> None:
    problems = report.problems

    def problem(code: BoardProblemCode, where: str, detail: str = "") -> None:
        problems.append(BoardProblem(code, where, detail))

    def malformed(where: str, detail: str = "") -> _Stop:
        problem(BoardProblemCode.MALFORMED, where, detail)
        return _Stop()

    keys = {"version", "poll", "members", "public_key", "context", "ballots", "aggregate",
            "shares", "result"}
    if set(doc) != keys:
        raise malformed("", "unexpected or missing fields: " + ", ".join(sorted(
            set(doc) ^ keys)))
    try:
        poll = PollInfo.from_json(doc["poll"])
    except ValueError as exc:
        raise malformed("poll", str(exc)) from None
    k = len(poll.options)

    # Every coefficient proof; then K, the Xⱼ and the context.
    members = doc["members"]
    if not isinstance(members, list) or len(members) != poll.n:
        raise malformed("members", f"expected {poll.n} members")
    accepted: list[Round1] = []
    for i, entry in enumerate(members):
        where = f"members[{i}]"
        try:
            if (not isinstance(entry, dict) or set(entry) != {
                    "index", "user_id", "name", "transport_key", "commitments", "proofs"}
                    or not isinstance(entry["user_id"], str)
                    or not isinstance(entry["name"], str)):
                raise ValueError("a member is {index, user_id, name, transport_key, "
                                 "commitments, proofs}")
            message = Round1.from_json(entry, poll.t)
        except ValueError as exc:
            raise malformed(where, str(exc)) from None
        if message.index != i + 1:
            raise malformed(where, f"expected index {i + 1}")
        why = check_round1(poll.ceremony, poll.n, poll.t, message)
        if why:
            problem(BoardProblemCode.MEMBER_REFUSED, where, why)
        accepted.append(message)
    key = public_key(accepted)
    if doc["public_key"] != key.hex():
        problem(BoardProblemCode.PUBLIC_KEY_MISMATCH, "public_key")
    rules = poll.rules(key)
    if doc["context"] != rules.context.hex():
        problem(BoardProblemCode.CONTEXT_MISMATCH, "context")
    x_keys = verification_keys(accepted)

    # Every ballot's proofs and tracker; one ballot per voter; the order.
    entries = doc["ballots"]
    if not isinstance(entries, list):
        raise malformed("ballots")
    ballots: list[Ballot] = []
    trackers: list[str] = []
    complete = True  # every ballot parsed, so that the aggregate can be recomputed
    for i, entry in enumerate(entries):
        where = f"ballots[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"tracker", "ballot"}:
            raise malformed(where, "a board ballot is {tracker, ballot}")
        parsed = parse_ballot(entry["ballot"], rules)
        if isinstance(parsed, BallotRefusal):
            problem(BoardProblemCode.BALLOT_INVALID, where, _refusal(parsed))
            complete = False
            continue
        refusal = verify_ballot(rules, parsed)
        if refusal:
            problem(BoardProblemCode.BALLOT_INVALID, where, _refusal(refusal))
        if entry["tracker"] != tracker(rules.context, parsed).hex():
            problem(BoardProblemCode.TRACKER_MISMATCH, where)
        ballots.append(parsed)
        trackers.append(entry["tracker"] if isinstance(entry["tracker"], str) else "")
    if trackers != sorted(trackers):
        problem(BoardProblemCode.BALLOTS_OUT_OF_ORDER, "ballots")
    for voter, times in Counter(b.voter for b in ballots).items():
        if times > 1:
            problem(BoardProblemCode.DUPLICATE_VOTER, "ballots", f"voter {voter}: {times}")
    report.voters = len(entries)

    # The aggregate.
    if doc["aggregate"] is None:
        if doc["shares"] is not None or doc["result"] is not None:
            raise malformed("aggregate", "shares or a result without an aggregate")
        report.status = BoardStatus.OPEN
        return
    published = doc["aggregate"]
    try:
        if not isinstance(published, list) or len(published) != k:
            raise ValueError(f"expected {k} ciphertexts")
        published_totals = [Ciphertext.from_json(c) for c in published]
    except ValueError as exc:
        raise malformed("aggregate", str(exc)) from None
    totals = published_totals
    if complete:
        totals = aggregate(ballots, k)
        for m, (mine, theirs) in enumerate(zip(totals, published_totals, strict=True)):
            if mine != theirs:
                problem(BoardProblemCode.AGGREGATE_MISMATCH, f"aggregate[{m}]")

    # Every partial decryption's proof.
    shares = doc["shares"]
    if not isinstance(shares, list):
        raise malformed("shares", "a list after the close")
    valid: dict[int, list[Partial]] = {}
    indices: list[int] = []
    for i, entry in enumerate(shares):
        where = f"shares[{i}]"
        try:
            if (not isinstance(entry, dict) or set(entry) != {"index", "partials"}
                    or type(entry["index"]) is not int or not 1 <= entry["index"] <= poll.n
                    or not isinstance(entry["partials"], list)
                    or len(entry["partials"]) != k):
                raise ValueError(f"a share is {{index in 1…n, partials: {k} entries}}")
            partials = [Partial.from_json(p) for p in entry["partials"]]
        except ValueError as exc:
            raise malformed(where, str(exc)) from None
        j = entry["index"]
        indices.append(j)
        bad = verify_partials(rules.context, j, x_keys[j], totals, partials)
        for m in bad:
            problem(BoardProblemCode.PARTIAL_INVALID, f"{where}.partials[{m}]")
        if not bad:
            valid[j] = partials
    if indices != sorted(set(indices)):
        problem(BoardProblemCode.SHARES_OUT_OF_ORDER, "shares")

    # The combination and the counts.
    result = doc["result"]
    if result is None:
        if len(valid) >= poll.t:
            problem(BoardProblemCode.RESULT_MISSING, "result")
        else:
            report.status = BoardStatus.VOID
        return
    if (not isinstance(result, dict) or set(result) != {"counts", "voters", "combined_from"}
            or not isinstance(result["counts"], list) or len(result["counts"]) != k
            or not all(type(c) is int for c in result["counts"])
            or type(result["voters"]) is not int
            or not isinstance(result["combined_from"], list)):
        raise malformed("result", f"{{counts: {k} integers, voters, combined_from}}")
    if result["voters"] != len(entries):
        problem(BoardProblemCode.VOTERS_MISMATCH, "result.voters")
    expected = sorted(set(indices))[: poll.t]
    if len(expected) < poll.t or result["combined_from"] != expected:
        problem(BoardProblemCode.COMBINED_FROM_WRONG, "result.combined_from",
                f"expected {expected}")
        return
    if any(j not in valid for j in expected):
        return  # already reported: an invalid partial among those combined
    found = counts(totals, {j: valid[j] for j in expected}, len(entries))
    if found is None:
        problem(BoardProblemCode.COUNT_NOT_FOUND, "result.counts")
        return
    if found != result["counts"]:
        problem(BoardProblemCode.COUNT_MISMATCH, "result.counts", f"recomputed {found}")
        return
    report.counts = found
    report.status = BoardStatus.VERIFIED


def _refusal(refusal: BallotRefusal) -> str:
    where = f" (option {refusal.option})" if refusal.option is not None else ""
    return f"{refusal.problem}{where}"

