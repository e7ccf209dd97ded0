"""`python -m server bench-seed`, made to work while the server's seed leaves the meeting
without a secretary: the constitution (rooms/constitution.py) refuses `session.start` with
`role_vacant` until the secretary's role is held, and `server.seed.seed_bench` adds only a
chair. When that refusal comes, this adds a `secretary` account in that role (the chair's
call, before the session) and starts the session again; once the server's seed names a
secretary itself, nothing here changes anything.

Usage: python bench/bench_seed.py [bench-seed flags]  (cwd and PYTHONPATH: the server root)
"""

from __future__ import annotations

import sys
from typing import Any

import server.seed as seed
from server.cli import main

_must = seed._must


async def _must_with_secretary(node: Any, room: int, actor: Any, command_name: str,
                               **args: Any) -> None:
    try:
        await _must(node, room, actor, command_name, **args)
    except RuntimeError as exc:
        if command_name != "session.start" or "role_vacant" not in str(exc):
            raise
        [uid] = await node.store.create_users([dict(
            username="secretary", full_name="Thư ký", position="", unit="", is_admin=False,
            password_hash=seed.hash_password("bench"))])
        await _must(node, room, actor, "participant.add", user_id=uid, role="secretary")
        await _must(node, room, actor, command_name, **args)


seed._must = _must_with_secretary

if __name__ == "__main__":
    main(["bench-seed", *sys.argv[1:]])
