"""Meeting documents: stored files, their text, uploads per meeting, private annotations.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "file_texts",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("sha256", "page"),
    )
    op.create_table(
        "room_files",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("uploaded_by", Key, nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "sha256"),
    )
    op.create_table(
        "private_annotations",
        sa.Column("id", Key, primary_key=True, autoincrement=True),
        sa.Column("room_id", Key, nullable=False),
        sa.Column("document_id", sa.Integer, nullable=False),
        sa.Column("owner_id", Key, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.UniqueConstraint("owner_id", "room_id", "client_id",
                            name="private_annotations_client"),
    )
    op.create_index("private_annotations_owner", "private_annotations",
                    ["room_id", "document_id", "owner_id"])


def downgrade() -> None:
    for table in ("private_annotations", "room_files", "file_texts", "files"):
        op.drop_table(table)
