"""The devices of an encrypted poll, played by voting.secret's Python client functions:
a counting-board member's device (the key ceremony, the partial decryptions) and a voter's
(an encrypted ballot). Pure: each step reads the poll as the room shows it (its JSON) and
returns the command's arguments, so the same devices serve the core tests (tests/rooms'
world) and the server tests (over websockets)."""

from __future__ import annotations

from typing import Any

from phonghop.voting.secret.ballot import BallotRules, encrypt_ballot
from phonghop.voting.secret.ceremony import (
    ComplaintReason,
    EncryptedShare,
    MemberKey,
    MemberSecrets,
    Round1,
    ceremony_id,
    make_complaint,
    round1,
    round2,
    round3,
)
from phonghop.voting.secret.count import partial_decrypt
from phonghop.voting.secret.elgamal import Ciphertext
from phonghop.voting.secret.group import Point


def _board(poll: dict[str, Any]) -> dict[str, Any]:
    board = poll["board"]
    assert board is not None, "not an encrypted poll"
    return board


def ceremony_of(poll: dict[str, Any]) -> bytes:
    board = _board(poll)
    return ceremony_id(board["poll_uid"], len(board["members"]), board["threshold"])


class BoardDevice:
    """One member's device: keeps its round-1 secrets, then its key share."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.secrets: MemberSecrets | None = None
        self.key: MemberKey | None = None

    def index(self, poll: dict[str, Any]) -> int:
        return _board(poll)["members"].index(self.user_id) + 1

    def round1(self, poll: dict[str, Any]) -> dict[str, Any]:
        """`board.round1` args."""
        t = _board(poll)["threshold"]
        self.secrets, message = round1(ceremony_of(poll), self.index(poll), t)
        return {"poll_id": poll["id"], "message": message.to_json()}

    def _accepted(self, poll: dict[str, Any]) -> list[Round1]:
        board = _board(poll)
        return [Round1.from_json(m, board["threshold"]) for m in board["round1"].values()]

    def round2(self, poll: dict[str, Any]) -> dict[str, Any]:
        """`board.shares` args."""
        assert self.secrets is not None
        shares = round2(ceremony_of(poll), self.secrets, self._accepted(poll))
        return {"poll_id": poll["id"], "shares": [s.to_json() for s in shares]}

    def round3(self, poll: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """(`board.confirm`, args) when every share addressed to me is good, else
        (`board.complaint`, args) about the first bad dealer."""
        assert self.secrets is not None
        me = self.index(poll)
        mine = {int(dealer): EncryptedShare.from_json(s)
                for dealer, shares in _board(poll)["shares"].items()
                for s in shares if s["to"] == me}
        found = round3(ceremony_of(poll), self.secrets, self._accepted(poll), mine)
        if isinstance(found, MemberKey):
            self.key = found
            return "board.confirm", {"poll_id": poll["id"]}
        doc = found[0].to_json()
        del doc["from"]
        return "board.complaint", {"poll_id": poll["id"], **doc}

    def complain(self, poll: dict[str, Any], dealer: int,
                 reason: str = "mismatch") -> dict[str, Any]:
        """`board.complaint` args against `dealer` whatever its share: a proven key, true
        or not (the attack of a member who wants the ceremony to restart)."""
        assert self.secrets is not None
        me = self.index(poll)
        [share] = [EncryptedShare.from_json(s)
                   for i, shares in _board(poll)["shares"].items() if int(i) == dealer
                   for s in shares if s["to"] == me] or [None]
        doc = make_complaint(ceremony_of(poll), self.secrets, share, dealer,
                             ComplaintReason(reason)).to_json()
        del doc["from"]
        return {"poll_id": poll["id"], **doc}

    def partials(self, poll: dict[str, Any]) -> dict[str, Any]:
        """`board.partial` args: my partial decryption of the aggregate."""
        assert self.key is not None
        board = _board(poll)
        totals = [Ciphertext(Point.from_hex(c["alpha"]), Point.from_hex(c["beta"]))
                  for c in board["aggregate"]]
        mine = partial_decrypt(bytes.fromhex(board["context"]), self.key, totals)
        return {"poll_id": poll["id"], "partials": [p.to_json() for p in mine]}


def rules_of(poll: dict[str, Any]) -> BallotRules:
    board = _board(poll)
    return BallotRules(bytes.fromhex(board["context"]), Point.from_hex(board["public_key"]),
                       len(poll["options"]), poll["min_choices"], poll["max_choices"])


def ballot(poll: dict[str, Any], voter: int, *choices: int) -> dict[str, Any]:
    """A voter's encrypted ballot for these option ids."""
    bits = [1 if o["id"] in choices else 0 for o in poll["options"]]
    return encrypt_ballot(rules_of(poll), str(voter), bits).to_json()
