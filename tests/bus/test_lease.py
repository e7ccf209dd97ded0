"""A room's lease on the bus: one owner at a time, extended only by its owner, free again
when its owner lets it go or stops renewing it (docs/ARCHITECTURE.md, "One writer per room").
Against the real Redis, under a namespace of this test's own."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from phonghop.bus.local import LocalBus
from phonghop.bus.redis import RedisBus
from tests.conftest import REDIS


@pytest.fixture
async def bus() -> AsyncIterator[RedisBus]:
    opened = RedisBus(REDIS, f"test-lease-{secrets.token_hex(4)}", secret=b"s" * 32)
    await opened.open()
    yield opened
    await opened.close()


async def test_one_owner_at_a_time_and_only_the_owner_extends_it(bus: RedisBus) -> None:
    assert await bus.claim("room:1", "node-a", 60_000) is True
    assert await bus.claim("room:1", "node-b", 60_000) is False
    assert await bus.claim("room:1", "node-a", 60_000) is True  # renewed by its owner
    assert await bus.claim("room:2", "node-b", 60_000) is True  # another room, another owner
    await bus.release("room:1", "node-b")  # not node-b's to give up
    assert await bus.claim("room:1", "node-b", 60_000) is False
    await bus.release("room:1", "node-a")
    assert await bus.claim("room:1", "node-b", 60_000) is True


async def test_a_lease_nobody_renews_lapses_and_another_node_takes_it(bus: RedisBus) -> None:
    # A lease long enough that a busy box cannot let it lapse between the first two claims.
    assert await bus.claim("room:1", "node-a", 1500) is True  # then node-a dies
    assert await bus.claim("room:1", "node-b", 1500) is False
    await asyncio.sleep(1.6)
    assert await bus.claim("room:1", "node-b", 1500) is True


async def test_renewing_keeps_a_lease_past_its_first_expiry(bus: RedisBus) -> None:
    """Each renewal by its owner moves the lease's expiry later, as Redis's own clock
    says (PEXPIRETIME): nothing here depends on how fast the box runs the test."""
    key = f"{bus.prefix}lease:room:1"
    client = redis.asyncio.from_url(REDIS)
    try:
        assert await bus.claim("room:1", "node-a", 60_000) is True
        first = expiry = await client.execute_command("PEXPIRETIME", key)
        for _ in range(3):
            await asyncio.sleep(0.05)
            assert await bus.claim("room:1", "node-a", 60_000) is True
            renewed = await client.execute_command("PEXPIRETIME", key)
            assert renewed > expiry
            expiry = renewed
            assert await bus.claim("room:1", "node-b", 60_000) is False
        assert expiry > first
    finally:
        await client.aclose()


async def test_a_nodes_rooms_renew_together_in_one_round_trip(bus: RedisBus) -> None:
    """300 rooms on one node renew in the same turn (their timers fall on the same second):
    one pipeline, each answered as if alone; a claim cancelled before it is sent is not."""
    rooms = [f"room:{n}" for n in range(300)]
    assert await bus.claim("room:7", "node-b", 60_000) is True  # another node's room
    before = bus.claim_batches
    held = await asyncio.gather(*(bus.claim(r, "node-a", 60_000) for r in rooms))
    assert bus.claim_batches == before + 1
    assert held == [r != "room:7" for r in rooms]
    gone = asyncio.ensure_future(bus.claim("room:900", "node-a", 60_000))
    await asyncio.sleep(0)  # queued for this turn's pipeline, then its room stops
    gone.cancel()
    assert await bus.claim("room:901", "node-a", 60_000) is True
    assert await bus.claim("room:900", "node-b", 60_000) is True  # never taken by node-a


async def test_alone_on_the_in_process_bus_a_node_writes_every_room() -> None:
    local = LocalBus()
    assert await local.claim("room:1", "node-a", 1) is True
    await local.release("room:1", "node-a")
