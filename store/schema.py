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
from sqlalchemy import true as sa_true

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
    # A disabled account cannot sign in and has no sessions (set, never deleted: its name
    # stays in the minutes and room logs that mention it).
    Column("disabled_at", DateTime(timezone=True)),
    Column("password_changed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)

auth_sessions = Table(
    "auth_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Key, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # the absolute lifetime
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Written at most every few minutes per session (server/auth.py), for the idle timeout.
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Index("auth_sessions_user", "user_id"),
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
    # The hash chain (store/chain.py): the previous event's hash (32 zero bytes before the
    # first) and this event's, SHA-256 over its canonical encoding; written with the event.
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("room_id", "seq"),
)

# RFC 3161 time-stamps of a room log's head (the hash of event `seq`), from the
# time-stamping service configured then (PHONGHOP_TSA_URL): the token as the service
# answered it, DER. One per (room, seq): the first stored wins.
log_stamps = Table(
    "log_stamps", metadata,
    Column("room_id", Key, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("token", LargeBinary, nullable=False),
    Column("stamped_at", DateTime(timezone=True), nullable=False),  # the token's genTime
    Column("tsa", String(500), nullable=False),  # the service's name in the token
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

# The shared marks of each room, by page: what `annotation.*` events left (documents/
# marks.py), written by the room's writer in the same transaction as those events, so that
# a client fetches one page's marks without the room state carrying them all. `body` is the
# mark as its event carries it (JSON).
room_marks = Table(
    "room_marks", metadata,
    Column("room_id", Key, nullable=False),
    Column("id", Key, nullable=False),
    Column("document_id", Key, nullable=False),
    Column("version", Integer, nullable=False),
    Column("page", Integer, nullable=False),
    Column("owner", Key, nullable=False),
    Column("body", Text, nullable=False),
    PrimaryKeyConstraint("room_id", "id"),
    Index("room_marks_page", "room_id", "document_id", "version", "page"),
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

# ---- the ballot box (beside the room log; see voting/ and server/ballot_box.py) ----

# One row per poll that has received ballots: whether it still takes them, and how many
# members have voted. Ballot commits and the seal lock this row, so a ballot racing the
# close is either committed before the seal (and counted) or refused.
poll_boxes = Table(
    "poll_boxes", metadata,
    Column("room_id", Key, nullable=False),
    Column("poll_id", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # open | sealed | discarded
    Column("voters", Integer, nullable=False),
    PrimaryKeyConstraint("room_id", "poll_id"),
)

# "Has voted" marks: exactly one ballot per member and poll. No time, no order: on SQLite
# the rows live in key order (WITHOUT ROWID), not in the order they were written.
poll_voters = Table(
    "poll_voters", metadata,
    Column("room_id", Key, nullable=False),
    Column("poll_id", Integer, nullable=False),
    Column("voter_id", Key, nullable=False),
    PrimaryKeyConstraint("room_id", "poll_id", "voter_id"),
    sqlite_with_rowid=False,
)

# Named polls: the ballot is the voter's, and the published result lists it.
named_ballots = Table(
    "named_ballots", metadata,
    Column("room_id", Key, nullable=False),
    Column("poll_id", Integer, nullable=False),
    Column("voter_id", Key, nullable=False),  # the member the ballot counts for
    Column("cast_by", Key, nullable=False),  # the member, or their authorised substitute
    Column("choices", String(800), nullable=False),  # JSON list of option ids
    Column("receipt", String(11), nullable=False),
    PrimaryKeyConstraint("room_id", "poll_id", "voter_id"),
    UniqueConstraint("room_id", "poll_id", "receipt", name="named_ballots_receipt"),
)

# Secret ballots: nothing that links a ballot to its voter. No voter id, no time, no
# serial number; the key is random, so key order says nothing about the order of voting.
secret_ballots = Table(
    "secret_ballots", metadata,
    Column("room_id", Key, nullable=False),
    Column("poll_id", Integer, nullable=False),
    Column("ballot_key", String(32), nullable=False),  # random
    Column("choices", String(800), nullable=False),
    Column("receipt", String(11), nullable=False),
    PrimaryKeyConstraint("room_id", "poll_id", "ballot_key"),
    UniqueConstraint("room_id", "poll_id", "receipt", name="secret_ballots_receipt"),
    sqlite_with_rowid=False,
)

# Encrypted secret ballots (docs/BALLOT_CRYPTO.md): the ballot's JSON as the voter's device
# made it, with its tracker. The voter id sits beside a ciphertext only: nobody, the
# server included, can read a choice from it; the board's t members decrypt only the sum.
encrypted_ballots = Table(
    "encrypted_ballots", metadata,
    Column("room_id", Key, nullable=False),
    Column("poll_id", Integer, nullable=False),
    Column("voter_id", Key, nullable=False),  # the member the ballot counts for
    Column("tracker", String(64), nullable=False),  # hex of the ballot's hash
    Column("ballot", Text, nullable=False),  # the ballot's JSON (ciphertexts and proofs)
    # Its proofs were checked (a ballot is acknowledged once it parses and checked just
    # after; one whose proofs fail is taken out again: server/ballot_box.py).
    Column("checked", Boolean, nullable=False, server_default=sa_true()),
    PrimaryKeyConstraint("room_id", "poll_id", "voter_id"),
)

# ---- signing ----

# Each user's signing key and certificate as a PKCS#12 file, encrypted with the user's own
# password (which the server never stores; it unlocks the file only for the moment of
# signing) and sealed with the key-encryption key, which is not in the database
# (server/credential_vault.py; rows of older versions are sealed at start).
user_credentials = Table(
    "user_credentials", metadata,
    Column("user_id", Key, primary_key=True),
    Column("p12", LargeBinary, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Two-step signatures waiting for the key holder (a USB token at the client, a remote
# signing service): what `signing.sign.finish` needs, on whichever node the answer reaches.
signing_sessions = Table(
    "signing_sessions", metadata,
    Column("id", String(32), primary_key=True),
    Column("room_id", Key, nullable=False),
    Column("user_id", Key, nullable=False),
    Column("state", Text, nullable=False),  # signing.sign.PreparedSignature.to_json()
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# ---- the access log (store/audit.py, server/audit.py) ----

# What happens outside rooms (sign-ins, account changes, confidential views, exports…),
# each record chained to the one before by its SHA-256. Append-only: written in batches by
# one writer per node, read by administrators, pruned only from the oldest end.
audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(24), nullable=False),  # UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ"
    Column("kind", String(40), nullable=False),
    Column("outcome", String(40), nullable=False),  # "ok" or a refusal code
    Column("actor_id", Key),
    Column("actor_key", String(64)),  # keyed hash of a sign-in name that is no account
    Column("target_id", Key),
    Column("meeting_id", Key),
    Column("address", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # JSON object, keys sorted
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Filters read newest first: each index ends with seq, so a page is a range scan.
    Index("audit_log_at", "at"),
    Index("audit_log_kind", "kind", "seq"),
    Index("audit_log_actor", "actor_id", "seq"),
    Index("audit_log_target", "target_id", "seq"),
    Index("audit_log_actor_key", "actor_key", "seq"),
)

# The chain's head (one row, id 1): the last seq and hash written, and the base (the last
# record pruned). Every append updates it first, which queues appenders of every node.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("base_seq", BigInteger, nullable=False),
    Column("base_hash", String(64), nullable=False),
)
