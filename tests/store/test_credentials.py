"""The `Credentials` port, the same on SQLite and PostgreSQL: one signing credential per
user, replaced only by what it still is, and signing sessions finished once, by their
owner, in their meeting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from phonghop.store import SqlStore

UNTIL = datetime(2028, 1, 1, tzinfo=UTC)


async def test_one_credential_per_user_the_newest_wins(store: SqlStore) -> None:
    assert await store.credential(7) is None
    await store.save_credential(7, b"p12-one", "CN=Nguyễn Văn A", UNTIL)
    await store.save_credential(7, b"p12-two", "CN=Nguyễn Văn A", UNTIL + timedelta(days=1))
    await store.save_credential(8, b"p12-b", "CN=Trần Thị B", UNTIL)
    got = await store.credential(7)
    assert got is not None and got["p12"] == b"p12-two" and got["subject"] == "CN=Nguyễn Văn A"
    assert got["not_after"].astimezone(UTC) == UNTIL + timedelta(days=1)
    assert sorted(await store.credential_blobs()) == [(7, b"p12-two"), (8, b"p12-b")]


async def test_a_blob_is_replaced_only_if_it_is_still_what_was_read(store: SqlStore) -> None:
    await store.save_credential(7, b"plain", "CN=A", UNTIL)
    # Two nodes seal the same credential at start: one replaces it, the other finds it
    # changed and leaves the first one's result alone.
    first, second = await asyncio.gather(store.replace_credential_blob(7, b"plain", b"sealed-1"),
                                         store.replace_credential_blob(7, b"plain", b"sealed-2"))
    assert sorted([first, second]) == [False, True]
    blob = (await store.credential(7) or {})["p12"]
    assert blob == (b"sealed-1" if first else b"sealed-2")
    assert await store.replace_credential_blob(7, b"plain", b"again") is False
    assert await store.replace_credential_blob(9, b"plain", b"nobody") is False
    assert await store.credential(9) is None


async def test_a_signing_session_is_finished_once_by_its_owner_in_its_meeting(
    store: SqlStore,
) -> None:
    await store.save_signing_session("s" * 32, 1, 7, '{"prepared": true}')
    assert await store.take_signing_session("s" * 32, 1, 8) is None  # another user
    assert await store.take_signing_session("s" * 32, 2, 7) is None  # another meeting
    assert await store.take_signing_session("t" * 32, 1, 7) is None  # no such session
    assert await store.take_signing_session("s" * 32, 1, 7) == '{"prepared": true}'
    assert await store.take_signing_session("s" * 32, 1, 7) is None  # finished already
