"""The ballot box: poll boxes, "has voted" marks, named and secret ballots.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "poll_boxes",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("voters", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "poll_id"),
    )
    op.create_table(
        "poll_voters",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("voter_id", Key, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "poll_id", "voter_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "named_ballots",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("voter_id", Key, nullable=False),
        sa.Column("cast_by", Key, nullable=False),
        sa.Column("choices", sa.String(800), nullable=False),
        sa.Column("receipt", sa.String(11), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "poll_id", "voter_id"),
        sa.UniqueConstraint("room_id", "poll_id", "receipt", name="named_ballots_receipt"),
    )
    op.create_table(
        "secret_ballots",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("ballot_key", sa.String(32), nullable=False),
        sa.Column("choices", sa.String(800), nullable=False),
        sa.Column("receipt", sa.String(11), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "poll_id", "ballot_key"),
        sa.UniqueConstraint("room_id", "poll_id", "receipt", name="secret_ballots_receipt"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in ("secret_ballots", "named_ballots", "poll_voters", "poll_boxes"):
        op.drop_table(table)
