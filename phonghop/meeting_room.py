"""The meeting room: the kernel (`rooms/`) and the features plugged into it, in one place.

This is the only module that names the features, and the only one `server/` (and the
tests' room world) takes room behaviour from: parsing, deciding, applying, the views, and
what the edge does around a command. Each feature exports one `Plugin`
(docs/ARCHITECTURE.md, "How to add a feature"); their order is the order of their parts
in the view.
"""

from __future__ import annotations

from phonghop.documents.room import PLUGIN as DOCUMENTS
from phonghop.minutes.room import PLUGIN as MINUTES
from phonghop.rooms.room import Room
from phonghop.voting.room import PLUGIN as POLLS

ROOM = Room(DOCUMENTS, POLLS, MINUTES)

# The room's behaviour, as functions (bound to ROOM).
parse_command = ROOM.parse_command
parse_forwarded = ROOM.forwarded
parse_create = ROOM.parse_create
decide = ROOM.decide
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
