"""Table definitions shared by every SQL adapter (SQLite, PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
Key = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users", metadata,
    Column("id", Key, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("position", String(200), nullable=False, default=""),
    Column("unit", String(200), nullable=False, default=""),
    Column("is_admin", Boolean, nullable=False, default=False),
)

auth_sessions = Table(
    "auth_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Key, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

meetings = Table(
    "meetings", metadata,
    Column("id", Key, primary_key=True, autoincrement=True),
    Column("title", String(500), nullable=False),
    Column("starts_at", String(40), nullable=False),
    Column("ends_at", String(40)),
    Column("location", String(500)),
    Column("status", String(20), nullable=False),
    Index("meetings_starts_at", "starts_at"),
)

meeting_members = Table(
    "meeting_members", metadata,
    Column("meeting_id", Key, ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Key, nullable=False),
    Column("role", String(20), nullable=False),
    PrimaryKeyConstraint("meeting_id", "user_id"),
    Index("meeting_members_user", "user_id"),
)

# The room event log: UNIQUE(room_id, seq) is what makes optimistic append safe.
room_events = Table(
    "room_events", metadata,
    Column("room_id", Key, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("at", String(40), nullable=False),
    Column("actor", Key),
    Column("audience", Text, nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("room_id", "seq"),
)

room_commands = Table(
    "room_commands", metadata,
    Column("room_id", Key, nullable=False),
    Column("user_id", Key, nullable=False),
    Column("command_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    PrimaryKeyConstraint("room_id", "user_id", "command_id"),
)

room_snapshots = Table(
    "room_snapshots", metadata,
    Column("room_id", Key, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("state", LargeBinary, nullable=False),
)

# Uploaded PDFs, stored once by content; the bytes live in the file store (a directory).
files = Table(
    "files", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("info", Text, nullable=False),  # JSON: sizes, title, repaired, converted_from
    Column("created_at", DateTime(timezone=True), nullable=False),
)

file_texts = Table(
    "file_texts", metadata,
    Column("sha256", String(64), nullable=False),
    Column("page", Integer, nullable=False),
    Column("text", Text, nullable=False),
    PrimaryKeyConstraint("sha256", "page"),
)

# Which meeting received which file: a file is attached only in a meeting it was sent to.
room_files = Table(
    "room_files", metadata,
    Column("room_id", Key, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("uploaded_by", Key, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("room_id", "sha256"),
)

private_annotations = Table(
    "private_annotations", metadata,
    Column("id", Key, primary_key=True, autoincrement=True),
    Column("room_id", Key, nullable=False),
    Column("document_id", Integer, nullable=False),
    Column("owner_id", Key, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("data", Text, nullable=False),  # JSON: the annotation without its id
    UniqueConstraint("owner_id", "room_id", "client_id", name="private_annotations_client"),
    Index("private_annotations_owner", "room_id", "document_id", "owner_id"),
)
