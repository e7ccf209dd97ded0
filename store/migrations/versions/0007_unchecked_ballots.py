"""Encrypted ballots acknowledged before their proofs are checked: a `checked` mark.

A ballot enters the box (and is acknowledged) once it parses; its proofs are checked just
after, and a ballot whose proofs fail is taken out again. Rows stored before this revision
were checked before they were stored.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("encrypted_ballots") as batch:
        batch.add_column(sa.Column("checked", sa.Boolean, nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("encrypted_ballots") as batch:
        batch.drop_column("checked")
