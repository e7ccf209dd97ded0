"""Accounts and sessions: disabled accounts, password-change and creation times, and each
session's creation and last-seen times (the sliding idle timeout).

Sessions made before this revision have no last-seen time: they are ended (everyone signs
in once more after the upgrade), which also ends tokens that were passed in URLs.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True)))
        users.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True)))
        users.add_column(sa.Column("created_at", sa.DateTime(timezone=True)))
    op.execute("DELETE FROM auth_sessions")
    with op.batch_alter_table("auth_sessions") as sessions:
        sessions.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
        sessions.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True),
                                      nullable=False))
    op.create_index("auth_sessions_user", "auth_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("auth_sessions_user", "auth_sessions")
    with op.batch_alter_table("auth_sessions") as sessions:
        sessions.drop_column("last_seen_at")
        sessions.drop_column("created_at")
    with op.batch_alter_table("users") as users:
        users.drop_column("created_at")
        users.drop_column("password_changed_at")
        users.drop_column("disabled_at")
