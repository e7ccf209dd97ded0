"""Signing: each user's PKCS#12 credential (encrypted with the user's own password), and
two-step signatures waiting for the key holder.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_credentials",
        sa.Column("user_id", Key, primary_key=True),
        sa.Column("p12", sa.LargeBinary, nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "signing_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("room_id", Key, nullable=False),
        sa.Column("user_id", Key, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signing_sessions")
    op.drop_table("user_credentials")
