"""Group commit, as the room's log writer and its ballot box use it: what arrives during a
write goes together in the next batch, no more batches at once than allowed, and every
item is either written or handed back as failed, even when the writer stops."""

from __future__ import annotations

import asyncio

import pytest

from phonghop.server.group_commit import GroupCommit


class Store:
    """A store whose writes finish when the test says so."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.failed: list[tuple[list[int], str]] = []
        self.writing = 0
        self.most_at_once = 0
        self.release = asyncio.Event()
        self.refuse: set[int] = set()

    async def write(self, batch: list[int]) -> None:
        self.writing += 1
        self.most_at_once = max(self.most_at_once, self.writing)
        try:
            await self.release.wait()
            if self.refuse & set(batch):
                raise OSError("disk full")
            self.batches.append(batch)
        finally:
            self.writing -= 1

    def on_failure(self, batch: list[int], exc: BaseException) -> None:
        self.failed.append((batch, type(exc).__name__))


def started(store: Store, items: int, **options: int) -> GroupCommit[int]:
    """A writer to `store`, started, with items 0 … items-1 put."""
    writer = GroupCommit("t", store.write, store.on_failure, **options)
    writer.start()
    for item in range(items):
        writer.put(item)
    return writer


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_what_arrives_during_a_write_goes_in_the_next_batch_together() -> None:
    store = Store()
    writer = GroupCommit("t", store.write, store.on_failure, batch_max=100)
    writer.start()
    writer.put(1)
    await settle()  # the first write has started with item 1 alone
    for item in range(2, 8):
        writer.put(item)
    assert writer.queued == 6
    store.release.set()
    await settle()
    assert store.batches == [[1], [2, 3, 4, 5, 6, 7]]
    assert store.most_at_once == 1 and store.failed == []
    writer.stop()


async def test_batches_are_bounded_and_in_flight_writes_too() -> None:
    store = Store()
    writer = started(store, 10, batch_max=3, in_flight=2)
    await settle()
    assert store.writing == 2  # two batches of three being written, the rest waiting
    assert writer.queued == 4
    store.release.set()
    await settle()
    assert sorted(x for b in store.batches for x in b) == list(range(10))
    assert all(len(b) <= 3 for b in store.batches) and store.most_at_once == 2
    writer.stop()


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_a_failed_write_hands_its_batch_back_and_the_writer_goes_on(in_flight: int) -> None:
    store = Store()
    store.refuse = {2}
    store.release.set()
    writer = GroupCommit("t", store.write, store.on_failure, batch_max=1, in_flight=in_flight)
    writer.start()
    for item in (1, 2, 3):
        writer.put(item)
    await settle()
    assert sorted(store.batches) == [[1], [3]]
    assert store.failed == [([2], "OSError")]
    writer.stop()


@pytest.mark.parametrize("in_flight", [1, 3])
async def test_stopping_answers_every_item_written_or_not(in_flight: int) -> None:
    store = Store()
    writer = started(store, 8, batch_max=2, in_flight=in_flight)
    await settle()
    left = writer.stop()
    await settle()
    cancelled = [x for batch, why in store.failed if why == "CancelledError" for x in batch]
    assert sorted(cancelled + left) == list(range(8))  # nothing written, nothing lost
    assert store.batches == []


async def test_batches_not_yet_begun_and_items_put_after_stopping_are_answered() -> None:
    store = Store()
    writer = started(store, 4, batch_max=2, in_flight=3)
    await asyncio.sleep(0)  # the loop has handed two batches to tasks that have not run yet
    left = writer.stop()
    writer.put(99)  # too late: answered at once
    await settle()
    answered = [x for batch, _why in store.failed for x in batch]
    assert sorted(answered + left) == [0, 1, 2, 3, 99]
    assert store.batches == []
