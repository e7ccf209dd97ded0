"""What is acknowledged survives a restart of the server, and retries stay idempotent."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend, ServerProcess, WsClient, make_meeting


async def test_acknowledged_commands_survive_restart_and_retries_stay_idempotent(
    tmp_path: Path, backend: Backend,
) -> None:
    first = ServerProcess(tmp_path / "data", "demo", backend=backend)
    try:
        m = await make_meeting(first.base_url)
        d1 = await WsClient.open(first.ws_url, m["d1"].token)
        await d1.join(m.id)
        acked = await d1.command(m.id, "floor.request", cid="xin-phat-bieu-1", note="Ý kiến")
        assert acked["type"] == "ack"
        await d1.close()
    finally:
        first.stop()

    second = ServerProcess(tmp_path / "data", "serve", backend=backend, args=first.backend_args)
    try:
        d1 = await WsClient.open(second.ws_url, m["d1"].token)
        snapshot = await d1.join(m.id)
        assert snapshot["seq"] == acked["seq"]
        assert [r["user_id"] for r in snapshot["room"]["queue"]] == [m["d1"].user["id"]]
        # The tablet did not hear the ack before the restart and retries: same answer.
        retry = await d1.command(m.id, "floor.request", cid="xin-phat-bieu-1", note="Ý kiến")
        assert retry == {**acked, "duplicate": True}
        # A new command id is a new command, refused on its merits.
        again = await d1.command(m.id, "floor.request", cid="xin-phat-bieu-2")
        assert again["type"] == "rejected" and again["code"] == "already_requested"
        await d1.close()
    finally:
        second.stop()
