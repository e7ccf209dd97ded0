"""The room log's hash chain: `prev_hash` and `hash` on every event, and the time-stamps
of a log's head.

The columns are added empty, every room's existing events are chained in seq order here
(store/chain.py, version 1: the same encoding the writer uses from now on), and then they
become NOT NULL. The backfill vouches for the log as it stands at this migration: an
event changed or removed before it is not detected (a gap in the seqs still is).

Revision ID: 0008
Revises: 0007
"""

import orjson
import sqlalchemy as sa
from alembic import op

from phonghop.store.chain import GENESIS, canonical_json, event_hash

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Key = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHUNK = 2000  # events read and updated together

_events = sa.table(
    "room_events", sa.column("room_id"), sa.column("seq"), sa.column("kind"),
    sa.column("at"), sa.column("actor"), sa.column("audience"), sa.column("data"),
    sa.column("prev_hash", sa.LargeBinary), sa.column("hash", sa.LargeBinary))


def _backfill(conn: sa.Connection) -> None:
    e = _events
    update = e.update().where(e.c.room_id == sa.bindparam("r"), e.c.seq == sa.bindparam("s")) \
        .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"))
    rooms = conn.execute(sa.select(e.c.room_id).distinct().order_by(e.c.room_id)).scalars()
    for room in list(rooms):
        prev, after = GENESIS, 0
        while True:
            rows = conn.execute(
                sa.select(e.c.seq, e.c.kind, e.c.at, e.c.actor, e.c.audience, e.c.data)
                .where(e.c.room_id == room, e.c.seq > after).order_by(e.c.seq).limit(CHUNK)
            ).all()
            if not rows:
                break
            changes = []
            for r in rows:
                digest = event_hash(room, r.seq, r.kind, r.actor, r.at,
                                    canonical_json(orjson.loads(r.audience)),
                                    canonical_json(orjson.loads(r.data)), prev)
                changes.append({"r": room, "s": r.seq, "p": prev, "h": digest})
                prev = digest
            conn.execute(update, changes)
            after = rows[-1].seq


def upgrade() -> None:
    with op.batch_alter_table("room_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("hash", sa.LargeBinary, nullable=True))
    _backfill(op.get_bind())
    with op.batch_alter_table("room_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.LargeBinary, nullable=False)
        batch.alter_column("hash", existing_type=sa.LargeBinary, nullable=False)
    op.create_table(
        "log_stamps",
        sa.Column("room_id", Key, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.Column("stamped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tsa", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("log_stamps")
    with op.batch_alter_table("room_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
