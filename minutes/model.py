"""The minutes as the room holds them: plain, immutable data."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


MinutesStatus = Literal["draft", "signing", "signed"]
Template = Literal["state", "party"]


class Section(_Frozen):
    """A part of the minutes the secretary writes: the proceedings of the meeting
    (`general`), of one agenda item (`item:ID`), or the closing words (`closing`)."""

    key: str
    text: str = ""
    version: int = 0  # edits must name the version they change: no silent overwrite
    by: int | None = None
    at: str | None = None


class Conclusion(_Frozen):
    """A conclusion of the meeting, a task under "5 rõ": what, who, by when."""

    id: int
    text: str
    item_id: int | None = None
    owner: str  # the unit or person responsible, as the minutes name them
    owner_user_id: int | None = None
    deadline: str  # YYYY-MM-DD
    by: int
    at: str


class Signature(_Frozen):
    """One signature applied to the minutes' PDF."""

    role: Literal["secretary", "chair"]
    user_id: int
    full_name: str
    signed_at: str
    sha256: str  # of the PDF after this signature


class MinutesState(_Frozen):
    status: MinutesStatus = "draft"
    template: Template = "state"
    issuer: str = ""  # cơ quan ban hành
    number: str = ""  # số, ký hiệu: e.g. "15/BB-UBND"
    place: str = ""  # địa danh: e.g. "Hoàn Kiếm"
    sections: dict[str, Section] = {}
    conclusions: dict[int, Conclusion] = {}
    prepared_sha256: str | None = None  # the unsigned PDF of the current draft
    prepared_pages: int = 0
    signatures: tuple[Signature, ...] = ()
