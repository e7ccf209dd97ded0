"""The encrypted ballot box in SQL, the same on SQLite and PostgreSQL: exactly one ballot a
member, retries told apart from second ballots, nothing in once the box is sealed, and the
checks' verdicts recorded (a forged ballot taken out, its voter free to vote again)."""

from __future__ import annotations

from phonghop.store import SqlStore
from phonghop.store.records import (
    ALREADY_VOTED,
    BOX_CLOSED,
    CAST,
    DUPLICATE,
    BallotCheck,
    EncryptedIn,
)

ROOM, POLL = 7, 3


def ballot(voter: int, tracker: str) -> EncryptedIn:
    return EncryptedIn(voter, tracker * 64 if len(tracker) == 1 else tracker,
                       f'{{"voter": "{voter}", "choices": [], "tag": "{tracker}"}}')


async def test_one_ballot_a_member_and_a_retry_is_a_duplicate(store: SqlStore) -> None:
    fates, voters = await store.cast_encrypted(ROOM, POLL, False, [
        ballot(1, "a"), ballot(2, "b"), ballot(1, "a"), ballot(2, "c")])
    assert fates == [CAST, CAST, DUPLICATE, ALREADY_VOTED] and voters == 2
    # the next batch: a retry of member 1's ballot, a new member, member 2 again
    fates, voters = await store.cast_encrypted(ROOM, POLL, False, [
        ballot(1, "a"), ballot(3, "d"), ballot(2, "e")])
    assert fates == [DUPLICATE, CAST, ALREADY_VOTED] and voters == 3
    sealed = await store.seal_encrypted(ROOM, POLL)
    assert sorted(sealed.receipts) == ["a" * 64, "b" * 64, "d" * 64]
    assert sorted(sealed.unchecked) == [0, 1, 2]  # nothing was checked yet


async def test_a_change_replaces_only_the_members_own_ballot(store: SqlStore) -> None:
    await store.cast_encrypted(ROOM, POLL, True, [ballot(1, "a"), ballot(2, "b")])
    fates, voters = await store.cast_encrypted(ROOM, POLL, True, [
        ballot(1, "c"), ballot(1, "c"), ballot(1, "d")])
    assert fates == [CAST, DUPLICATE, CAST] and voters == 2
    assert await store.holds_tracker(ROOM, POLL, 1, "d" * 64)
    assert not await store.holds_tracker(ROOM, POLL, 1, "a" * 64)
    assert await store.holds_tracker(ROOM, POLL, 2, "b" * 64)


async def test_nothing_enters_a_sealed_box(store: SqlStore) -> None:
    await store.cast_encrypted(ROOM, POLL, False, [ballot(1, "a")])
    await store.seal_encrypted(ROOM, POLL)
    fates, _ = await store.cast_encrypted(ROOM, POLL, False, [ballot(2, "b"), ballot(1, "a")])
    assert fates == [BOX_CLOSED, BOX_CLOSED]
    assert (await store.seal_encrypted(ROOM, POLL)).receipts == ["a" * 64]


async def test_checks_mark_valid_ballots_and_take_forged_ones_out(store: SqlStore) -> None:
    await store.cast_encrypted(ROOM, POLL, False, [ballot(1, "a"), ballot(2, "b"),
                                                    ballot(3, "c")])
    removed = await store.settle_checks(ROOM, POLL, [
        BallotCheck(1, "a" * 64, True), BallotCheck(2, "b" * 64, False),
        BallotCheck(3, "f" * 64, False)])  # member 3's ballot was replaced meanwhile
    assert removed == [BallotCheck(2, "b" * 64, False)]
    assert [b[0] for b in await store.encrypted_ballots(ROOM, POLL)] == ["a" * 64]
    # the forged ballot's voter has not voted: a new ballot of theirs is cast, and counted
    fates, voters = await store.cast_encrypted(ROOM, POLL, False, [ballot(2, "e")])
    assert fates == [CAST] and voters == 3
    # once sealed only the sealer settles what was left unchecked
    sealed = await store.seal_encrypted(ROOM, POLL)
    assert sorted(sealed.receipts[i] for i in sealed.unchecked) == ["c" * 64, "e" * 64]
    assert await store.settle_checks(ROOM, POLL, [BallotCheck(3, "c" * 64, False)]) == []
    removed = await store.settle_checks(ROOM, POLL, [BallotCheck(3, "c" * 64, False),
                                                      BallotCheck(2, "e" * 64, True)],
                                        sealer=True)
    assert removed == [BallotCheck(3, "c" * 64, False)]
    assert (await store.seal_encrypted(ROOM, POLL)).unchecked == []
    assert [b[0] for b in await store.encrypted_ballots(ROOM, POLL)] == ["a" * 64, "e" * 64]
