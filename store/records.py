"""Plain records the store hands back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: int
    username: str
    full_name: str
    position: str
    unit: str
    is_admin: bool
    password_hash: str = ""

    def public(self) -> dict[str, object]:
        """What other users and clients may see of this account."""
        return {
            "id": self.id, "username": self.username, "full_name": self.full_name,
            "position": self.position, "unit": self.unit, "is_admin": self.is_admin,
        }


@dataclass(frozen=True)
class CommandMark:
    """Remembers that (user, command id) was applied at `seq`, for idempotent retries."""

    user_id: int
    command_id: str
    seq: int
