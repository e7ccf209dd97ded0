"""Events: what happened in a room, in order, each with its audience."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from phonghop.rooms.roles import ADMINISTRATOR, ORGANISERS


@dataclass(frozen=True)
class Audience:
    """Who may see an event: everyone, or the union of some roles and some users."""

    everyone: bool = True
    roles: frozenset[str] = frozenset()
    users: frozenset[int] = frozenset()

    def admits(self, user_id: int, role: str | None, is_admin: bool = False) -> bool:
        if self.everyone:
            return True
        if user_id in self.users:
            return True
        if is_admin and ADMINISTRATOR in self.roles:
            return True
        return role is not None and role in self.roles

    def key(self) -> tuple[Any, ...]:
        """A hashable identity: fan-out encodes one message per distinct key."""
        return (self.everyone, self.roles, self.users)

    def to_json(self) -> dict[str, Any]:
        if self.everyone:
            return {"all": True}
        return {"roles": sorted(self.roles), "users": sorted(self.users)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        if data.get("all"):
            return EVERYONE
        return cls(False, frozenset(data.get("roles", ())), frozenset(data.get("users", ())))


EVERYONE = Audience()


def organisers_and(*users: int) -> Audience:
    """The chair, the secretary, the administrators, and the named users."""
    return Audience(False, frozenset({*ORGANISERS, ADMINISTRATOR}), frozenset(users))


@dataclass(frozen=True)
class Event:
    """One change to a room. `seq` is 0 until the store has placed it in the log."""

    kind: str
    data: dict[str, Any]
    at: str
    actor: int | None = None
    audience: Audience = EVERYONE
    seq: int = 0

    def to_message(self, meeting_id: int) -> dict[str, Any]:
        """The wire form sent to clients (the audience stays on the server)."""
        return {
            "type": "event",
            "meeting": meeting_id,
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "actor": self.actor,
            "data": self.data,
        }


@dataclass(frozen=True)
class Actor:
    """Who issues a command: the account, and whether it administers the organisation."""

    user_id: int
    is_admin: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


# The server itself (timers, progress reports, announcements): no account has id 0.
SERVER = Actor(user_id=0, is_admin=True)
