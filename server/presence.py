"""Who is connected to a room, across every node: volatile, never stored.

Each node counts its own connections per user and tells the others over the bus: changes
as they happen (batched), and its whole set in a heartbeat every few seconds. A node that
stops sending heartbeats (it died) stops counting after `NODE_TTL` seconds. A user online
on several nodes, or with several tablets, counts once.
"""

from __future__ import annotations

import os
import time
from typing import Any

# Seconds between heartbeats (PHONGHOP_PRESENCE_HEARTBEAT_SECONDS, default 5); a node
# missing three in a row is taken for dead. Shorter: a dead node's users go offline sooner,
# for more bus messages (one per room with connections, per node, per heartbeat).
HEARTBEAT = max(0.2, float(os.environ.get("PHONGHOP_PRESENCE_HEARTBEAT_SECONDS") or 5))
NODE_TTL = 3 * HEARTBEAT


class RoomPresence:
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.local: dict[int, int] = {}  # user -> connections on this node
        self.remote: dict[str, tuple[set[int], float]] = {}  # node -> (users, last heard)
        self.announced: set[int] = set()  # the online set local clients were last told
        self._unpublished: dict[int, bool] = {}

    def add(self, user_id: int) -> None:
        count = self.local.get(user_id, 0)
        self.local[user_id] = count + 1
        if count == 0:
            self._unpublished[user_id] = True

    def remove(self, user_id: int) -> None:
        count = self.local.get(user_id, 0)
        if count <= 1:
            self.local.pop(user_id, None)
            if count == 1:
                self._unpublished[user_id] = False
        else:
            self.local[user_id] = count - 1

    def online(self) -> set[int]:
        users = set(self.local)
        for members, _ in self.remote.values():
            users |= members
        return users

    def local_changes(self) -> dict[str, Any] | None:
        """This node's changes since the last call, as a bus message body (None if none)."""
        if not self._unpublished:
            return None
        changes, self._unpublished = self._unpublished, {}
        return {"node": self.node_id, "on": [u for u, on in changes.items() if on],
                "off": [u for u, on in changes.items() if not on]}

    def heartbeat(self) -> dict[str, Any]:
        return {"node": self.node_id, "full": list(self.local)}

    def heard(self, message: dict[str, Any]) -> None:
        """Merge another node's changes or heartbeat."""
        node = message.get("node")
        if not isinstance(node, str) or node == self.node_id:
            return
        members = self.remote.get(node, (set(), 0.0))[0]
        if "full" in message:
            members = set(message["full"])
        else:
            members = (members | set(message.get("on", ()))) - set(message.get("off", ()))
        self.remote[node] = (members, time.monotonic())

    def expire(self) -> bool:
        """Forget nodes not heard from for `NODE_TTL` seconds (they died); True if any."""
        limit = time.monotonic() - NODE_TTL
        dead = [n for n, (_, seen) in self.remote.items() if seen < limit]
        for node in dead:
            del self.remote[node]
        return bool(dead)

    def news(self) -> tuple[list[int], list[int]]:
        """Users who came online and went offline since local clients were last told."""
        now = self.online()
        came, went = sorted(now - self.announced), sorted(self.announced - now)
        self.announced = now
        return came, went
