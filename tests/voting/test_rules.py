"""The majority rules: exact integers at the boundaries, ties, elections, words."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from phonghop.voting.model import AGAINST, FOR, Option, Poll, Rule
from phonghop.voting.rules import describe, meets, needed
from phonghop.voting.tally import count_choices, result

HALF = Rule(num=1, den=2, base="members", strict=True)
TWO_THIRDS = Rule(num=2, den=3, base="members", strict=False)


def motion(rule: Rule = HALF) -> Poll:
    return Poll(id=1, title="Thông qua", kind="motion", rule=rule, created_by=1,
                created_at="2026-11-22T01:00:00.000Z",
                options=(Option(id=1, label="Tán thành"), Option(id=2, label="Không tán thành"),
                         Option(id=3, label="Không biểu quyết")))


def test_more_than_half_of_6300_needs_3151_and_two_thirds_needs_4200() -> None:
    assert not meets(HALF, 3150, 6300) and meets(HALF, 3151, 6300)
    assert needed(HALF, 6300) == 3151 and needed(HALF, 6301) == 3151
    assert not meets(TWO_THIRDS, 4199, 6300) and meets(TWO_THIRDS, 4200, 6300)
    assert needed(TWO_THIRDS, 6300) == 4200 and needed(TWO_THIRDS, 6301) == 4201
    assert not meets(HALF, 0, 0)  # an empty base never passes


@given(st.integers(1, 100), st.integers(1, 100), st.booleans(), st.integers(0, 10_000),
       st.integers(0, 10_000))
def test_meets_is_the_exact_fraction_comparison(num: int, den: int, strict: bool, votes: int,
                                                base: int) -> None:
    rule = Rule(num=num, den=den, base="cast", strict=strict)
    exact = Fraction(votes, base) if base else None
    expected = exact is not None and (exact > Fraction(num, den) if strict
                                      else exact >= Fraction(num, den))
    assert meets(rule, votes, base) == expected
    if base and needed(rule, base) <= base:
        assert meets(rule, needed(rule, base), base)
        assert not meets(rule, needed(rule, base) - 1, base)


def test_a_tie_never_passes_whatever_the_fraction() -> None:
    lenient = Rule(num=1, den=3, base="cast", strict=False)
    tied = result(motion(lenient), 4, {FOR: 2, AGAINST: 2}, present=4, members=4)
    assert tied.passed is False and tied.tie is True
    passed = result(motion(lenient), 4, {FOR: 2, AGAINST: 1, 3: 1}, present=4, members=4)
    assert passed.passed is True and passed.base_count == 4


def test_the_base_is_the_one_the_rule_names() -> None:
    for base, expected in (("cast", 10), ("present", 30), ("members", 50)):
        poll = motion(Rule(num=1, den=2, base=base, strict=True))
        r = result(poll, 10, {FOR: 9, AGAINST: 1}, present=30, members=50)
        assert r.base_count == expected
        assert r.passed is (9 * 2 > expected)


def election(seats: int, rule: Rule) -> Poll:
    return Poll(id=2, title="Bầu", kind="multi", seats=seats, max_choices=seats, rule=rule,
                created_by=1, created_at="2026-11-22T01:00:00.000Z",
                options=tuple(Option(id=i, label=f"Ứng viên {i}") for i in range(1, 5)))


def test_an_election_elects_the_most_votes_within_the_seats_and_not_a_tie() -> None:
    rule = Rule(num=1, den=2, base="cast", strict=True)
    poll = election(2, rule)
    ballots = [(1, 2)] * 5 + [(1, 3)] * 4 + [(4,)]
    cast, votes = count_choices(poll, ballots)
    assert cast == 10 and votes == {1: 9, 2: 5, 3: 4, 4: 1}
    # 2 has 5 of 10: not more than half; only 1 is elected.
    assert result(poll, cast, votes, 10, 10).elected == (1,)
    cast, votes = count_choices(poll, [(1, 2)] * 3 + [(1, 3)] * 3 + [(2, 3)] * 1)
    tied = result(poll, cast, votes, 7, 7)  # 1: 6, 2: 4, 3: 4 for the second seat
    assert tied.elected == (1,) and tied.tie is True


def test_the_rule_in_words() -> None:
    assert describe(HALF) == {"vi": "Quá nửa tổng số thành viên",
                              "en": "More than half of all members"}
    assert describe(TWO_THIRDS)["vi"] == "Ít nhất 2/3 tổng số thành viên"
    assert describe(Rule(num=3, den=5, base="present", strict=True))["en"] == (
        "More than 3/5 of the members present")


def test_the_session_cannot_end_while_a_vote_is_open() -> None:
    from tests.rooms.world import CHAIR, standard_room

    room = standard_room()
    [created] = room.ok(CHAIR, "poll.create", title="Thông qua")
    room.ok(CHAIR, "poll.open", poll_id=created.data["poll"]["id"])
    assert room.refused(CHAIR, "session.end") == "invalid_state"
    room.ok(CHAIR, "poll.cancel", poll_id=created.data["poll"]["id"])
    room.ok(CHAIR, "session.end")
