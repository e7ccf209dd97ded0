"""Accounts, sessions, the meeting catalogue and the room event log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", Key, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("position", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", Key, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "meetings",
        sa.Column("id", Key, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("starts_at", sa.String(40), nullable=False),
        sa.Column("ends_at", sa.String(40)),
        sa.Column("location", sa.String(500)),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_index("meetings_starts_at", "meetings", ["starts_at"])
    op.create_table(
        "meeting_members",
        sa.Column("meeting_id", Key, sa.ForeignKey("meetings.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", Key, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", "user_id"),
    )
    op.create_index("meeting_members_user", "meeting_members", ["user_id"])
    op.create_table(
        "room_events",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", Key),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq"),
    )
    op.create_table(
        "room_commands",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("user_id", Key, nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "user_id", "command_id"),
    )
    op.create_table(
        "room_snapshots",
        sa.Column("room_id", Key, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("room_snapshots", "room_commands", "room_events", "meeting_members",
                  "meetings", "auth_sessions", "users"):
        op.drop_table(table)
