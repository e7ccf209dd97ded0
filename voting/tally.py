"""Counting: from the ballots (or a show of hands) to a result under the poll's rule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from phonghop.voting.model import AGAINST, FOR, OptionCount, Poll, Result
from phonghop.voting.rules import meets


def count_choices(poll: Poll, ballots: Iterable[Sequence[int]]) -> tuple[int, dict[int, int]]:
    """Ballots cast and votes per option (every option listed, zeros included)."""
    votes: Counter[int] = Counter()
    cast = 0
    for choices in ballots:
        cast += 1
        votes.update(set(choices))
    return cast, {o.id: votes.get(o.id, 0) for o in poll.options}


def result(
    poll: Poll, cast: int, votes: dict[int, int], present: int, members: int, receipts: int = 0
) -> Result:
    """The result of `poll` for these counts; `present`/`members` are the voting members
    present at close and in all, the bases a rule may name."""
    base_count = {"cast": cast, "present": present, "members": members}[poll.rule.base]
    counts = tuple(OptionCount(option_id=o.id, votes=votes.get(o.id, 0)) for o in poll.options)
    common = dict(cast=cast, counts=counts, base=poll.rule.base, base_count=base_count,
                  present=present, members=members, rule=poll.rule, receipts=receipts)
    if poll.kind in ("motion", "hands"):
        yes, no = votes.get(FOR, 0), votes.get(AGAINST, 0)
        # A tie never passes, whatever the fraction says.
        passed = meets(poll.rule, yes, base_count) and yes > no
        return Result(**common, passed=passed, tie=yes == no and yes > 0)
    seats = 1 if poll.kind == "single" else poll.seats
    qualified = sorted((c for c in counts if meets(poll.rule, c.votes, base_count)),
                       key=lambda c: (-c.votes, c.option_id))
    elected = qualified[:seats]
    tie = False
    if len(qualified) > seats and qualified[seats].votes == elected[-1].votes:
        # Options tied across the last seat: none of the tied ones is elected.
        tie = True
        boundary = elected[-1].votes
        elected = [c for c in elected if c.votes > boundary]
    return Result(**common, elected=tuple(c.option_id for c in elected), tie=tie)
