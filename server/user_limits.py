"""What one account may hold on this node: open websockets, and room commands a second.

Each connection already has its own message rate (server/connection.py); without a limit
per account, one stolen or buggy account could open hundreds of sockets and multiply it.
Here an account holds at most `sockets` websockets on this node, and its room commands
share one token bucket per room across all of its connections. State exists only for
accounts with an open socket and is dropped with the last one, so nothing here grows per
event or outlives the connections it counts. With N nodes an account may hold N times the
sockets (each node counts its own), which still bounds it.
"""

from __future__ import annotations

from phonghop.server.connection import RateLimit


class UserLimits:
    """Per-account counts of open sockets and command buckets, on this node."""

    def __init__(self, sockets: int = 8, commands_per_second: float = 20.0,
                 burst: float = 60.0) -> None:
        self.sockets = sockets
        self.rate = commands_per_second
        self.burst = burst
        self._open: dict[int, int] = {}
        self._buckets: dict[int, dict[int, RateLimit]] = {}  # user -> room -> bucket
        self.refused_sockets = 0

    def open_socket(self, user_id: int) -> bool:
        """Count a new websocket of `user_id`; False (not counted) if it has too many."""
        count = self._open.get(user_id, 0)
        if count >= self.sockets:
            self.refused_sockets += 1
            return False
        self._open[user_id] = count + 1
        return True

    def close_socket(self, user_id: int) -> None:
        count = self._open.get(user_id, 0) - 1
        if count > 0:
            self._open[user_id] = count
            return
        self._open.pop(user_id, None)
        self._buckets.pop(user_id, None)

    def allow_command(self, user_id: int, room_id: int) -> bool:
        """Take one command from the account's bucket for this room."""
        rooms = self._buckets.setdefault(user_id, {})
        bucket = rooms.get(room_id)
        if bucket is None:
            bucket = rooms[room_id] = RateLimit(self.rate, self.burst, self.burst)
        return bucket.allow()

    def open_sockets(self, user_id: int) -> int:
        return self._open.get(user_id, 0)
