"""Encrypted ballots: one ciphertext ballot per member and poll (secret polls).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "encrypted_ballots",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("voter_id", Key, nullable=False),
        sa.Column("tracker", sa.String(64), nullable=False),
        sa.Column("ballot", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "poll_id", "voter_id"),
    )


def downgrade() -> None:
    op.drop_table("encrypted_ballots")
