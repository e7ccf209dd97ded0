"""Minutes commands, parsed and validated at the edge (see rooms/commands.py)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, Strict

from phonghop.minutes.model import Template
from phonghop.rooms.commands import Command, Id, Text

MAX_SECTION = 20_000  # characters of one section's text


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# A section may be emptied, so no "must not be empty" here (unlike rooms' Text).
SectionText = Annotated[str, Field(max_length=MAX_SECTION), AfterValidator(_nfc)]
SectionKey = Annotated[str, Field(pattern=r"^(general|closing|item:[1-9][0-9]{0,9})$")]
def _day(text: str) -> str:
    date.fromisoformat(text)  # a real calendar day: 2027-02-30 is refused
    return text


Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_day)]
Version = Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class MinutesSettings(Command):
    NAME = "minutes.settings"
    template: Template | None = None
    issuer: Text | None = None
    number: Annotated[Text, Field(max_length=60)] | None = None
    place: Annotated[Text, Field(max_length=100)] | None = None


class MinutesEdit(Command):
    """Replace a section's text; `base_version` is the version the editor started from."""

    NAME = "minutes.edit"
    section: SectionKey
    text: SectionText
    base_version: Version


class ConclusionAdd(Command):
    NAME = "conclusion.add"
    text: Annotated[Text, Field(max_length=2000)]
    item_id: Id | None = None
    owner: Text
    owner_user_id: Id | None = None
    deadline: Day


class ConclusionUpdate(Command):
    """Change a conclusion: fields left out stay; `item_id` or `owner_user_id` as null clear."""

    NAME = "conclusion.update"
    conclusion_id: Id
    text: Annotated[Text, Field(max_length=2000)] | None = None
    item_id: Id | None = None
    owner: Text | None = None
    owner_user_id: Id | None = None
    deadline: Day | None = None


class ConclusionRemove(Command):
    NAME = "conclusion.remove"
    conclusion_id: Id


class MinutesPrepared(Command):
    """The official PDF rendered from the draft for preview and signing (edge only)."""

    NAME = "minutes.prepared"
    sha256: Sha256
    pages: Annotated[int, Strict(), Field(ge=1, le=10_000)]


class MinutesSigned(Command):
    """A signature the server applied (edge only: clients sign through HTTP)."""

    NAME = "minutes.signed"
    role: Literal["secretary", "chair"]
    sha256: Sha256
    full_name: str


ROOM_COMMANDS = (MinutesSettings, MinutesEdit, ConclusionAdd, ConclusionUpdate,
                 ConclusionRemove)
