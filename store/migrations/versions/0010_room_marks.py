"""The shared marks leave the room state: a table of them by page, filled from the logs.

Every room's `annotation.*` and `document.removed` events are folded in seq order into the
marks they leave (the same writes the room's writer makes from now on: documents/room.py
`stored_marks`). Stored snapshots are deleted: they hold the marks whole in a shape the
state no longer has, and a room without one is rebuilt from its log when it loads.

Revision ID: 0010
Revises: 0009
"""

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHUNK = 2000  # events read together
KINDS = ("annotation.added", "annotation.removed", "annotation.cleared", "document.removed")

_events = sa.table("room_events", sa.column("room_id"), sa.column("seq"), sa.column("kind"),
                   sa.column("data"))


def _backfill(conn: sa.Connection, marks: sa.Table) -> None:
    e = _events
    rooms = conn.execute(sa.select(e.c.room_id).distinct().where(e.c.kind.in_(KINDS))
                         .order_by(e.c.room_id)).scalars()
    for room in list(rooms):
        live: dict[int, dict] = {}
        after = 0
        while True:
            rows = conn.execute(
                sa.select(e.c.seq, e.c.kind, e.c.data)
                .where(e.c.room_id == room, e.c.seq > after, e.c.kind.in_(KINDS))
                .order_by(e.c.seq).limit(CHUNK)
            ).all()
            if not rows:
                break
            for r in rows:
                data = orjson.loads(r.data)
                if r.kind == "annotation.added":
                    live[data["annotation"]["id"]] = data["annotation"]
                elif r.kind == "annotation.removed":
                    live.pop(data["annotation_id"], None)
                elif r.kind == "annotation.cleared":
                    live = {k: a for k, a in live.items() if not (
                        (a["document_id"], a["version"], a["page"])
                        == (data["document_id"], data["version"], data["page"])
                        and data["owner"] in (None, a["owner"]))}
                else:
                    live = {k: a for k, a in live.items()
                            if a["document_id"] != data["document_id"]}
            after = rows[-1].seq
        if live:
            conn.execute(marks.insert(), [
                {"room_id": room, "id": a["id"], "document_id": a["document_id"],
                 "version": a["version"], "page": a["page"], "owner": a["owner"],
                 "body": orjson.dumps(a).decode()} for a in live.values()])


def upgrade() -> None:
    marks = op.create_table(
        "room_marks",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("id", Key, nullable=False),
        sa.Column("document_id", Key, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("owner", Key, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "id"),
    )
    op.create_index("room_marks_page", "room_marks",
                    ["room_id", "document_id", "version", "page"])
    _backfill(op.get_bind(), marks)
    op.execute("DELETE FROM room_snapshots")


def downgrade() -> None:
    # Snapshots of this shape (the marks' index) are refused by the code before it.
    op.execute("DELETE FROM room_snapshots")
    op.drop_index("room_marks_page", "room_marks")
    op.drop_table("room_marks")
