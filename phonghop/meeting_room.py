"""The meeting room: the kernel (`rooms/`) and the features plugged into it, in one place.

This is the only module that names the features, and the only one `server/` (and the
tests' room world) takes room behaviour from: parsing, deciding, applying, the views,
what the edge does around a command, and what the server's generic shell needs of a
feature beyond its plugin (a vote's parser, the recount of a sealed ballot box). A
feature's own edge in `server/` uses its feature directly (tests/architecture/
test_layers.py, `FEATURE_IMPORTS`). Each feature exports one `Plugin`
(docs/ARCHITECTURE.md, "How to add a feature"); their order is the order of their parts
in the view.
"""

from __future__ import annotations

from phonghop.documents.room import PLUGIN as DOCUMENTS
from phonghop.minutes.room import PLUGIN as MINUTES
from phonghop.rooms.room import Room
from phonghop.voting import commands as votes
from phonghop.voting import model as polls
from phonghop.voting import recount
from phonghop.voting.room import PLUGIN as POLLS

ROOM = Room(DOCUMENTS, POLLS, MINUTES)

# The room's behaviour, as functions (bound to ROOM).
parse_command = ROOM.parse_command
parse_forwarded = ROOM.forwarded
parse_create = ROOM.parse_create
decide = ROOM.decide
after_batch = ROOM.after_batch
apply = ROOM.apply
replay = ROOM.replay
room_view = ROOM.room_view
public_view = ROOM.public_view
personal_view = ROOM.personal_view
me_view = ROOM.me_view
summary = ROOM.summary
# What the edge does around commands.
lookups = ROOM.lookups
EDGE_ONLY = ROOM.edge_only
LOOKUP_KINDS = ROOM.lookup_kinds
volatile_audience = ROOM.volatile_audience
confidential_files = ROOM.confidential_files
files_to_seal = ROOM.files_to_seal
files_to_prerender = ROOM.files_to_prerender
stored_with = ROOM.stored_with

# Ballots, which do not go through the log: the command a client casts one with (taken to
# the room's ballot box by the websocket edge, server/ws.py) and its parser.
VOTE = votes.VoteCast.NAME
parse_vote = votes.parse_vote
# Recounting a closed poll against its sealed ballot box (pure: server/log_audit.py reads
# the boxes), when a room loads and in `phonghop audit verify`.
Poll = polls.Poll
recounted = recount.recounted
box_problem = recount.box_problem
plain_mismatch = recount.plain_mismatch
encrypted_recount = recount.encrypted_recount
