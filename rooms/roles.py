"""Roles in a meeting, and who may do what."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CHAIR = "chair"  # chủ trì / chủ tọa
    SECRETARY = "secretary"  # thư ký
    DELEGATE = "delegate"  # đại biểu, thành viên
    INVITEE = "invitee"  # khách mời (no vote)
    PRESENTER = "presenter"  # người trình bày
    SITE_OPERATOR = "site_operator"  # kỹ thuật viên điểm cầu


# The organisation administrator is a flag on the account, not a meeting role; in
# audiences it is spelled like a role so that one rule can name both.
ADMINISTRATOR = "administrator"

ORGANISERS = frozenset({Role.CHAIR, Role.SECRETARY})
VOTING_BY_DEFAULT = frozenset({Role.CHAIR, Role.DELEGATE})
# Roles that attend in person and so are checked in and counted (site operators run a site).
ATTENDING = frozenset(
    {Role.CHAIR, Role.SECRETARY, Role.DELEGATE, Role.INVITEE, Role.PRESENTER}
)
