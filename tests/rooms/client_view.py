"""A client's copy of the room view, kept up to date from events alone.

This is what a browser does: start from a snapshot, then replace one entity per event.
The protocol promises that the result equals the server's `room_view` at the same seq
for the events the user was allowed to see; clients never compute the quorum themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NOTICES_KEPT = 50

PageKey = tuple[int, int, int]
# What the client asks the server for a page's shared marks: (page, room seq) -> marks.
Fetch = Callable[[PageKey, int], list[dict[str, Any]]]


def _key(d: dict[str, Any]) -> PageKey:
    return (d["document_id"], d["version"], d["page"])


class ClientView:
    def __init__(self, view: dict[str, Any], seq: int = 0, fetch: Fetch | None = None) -> None:
        """`fetch`: a page's shared marks from the server, as a browser asks for them
        when it shows a page; None: the client follows the counts only."""
        self.meeting = view["meeting"]
        self.sites = {s["id"]: s for s in view["sites"]}
        self.participants = {p["user_id"]: p for p in view["participants"]}
        self.attendance = {a["user_id"]: a for a in view["attendance"]}
        self.items = {i["id"]: i for i in view["agenda"]}
        self.order = [i["id"] for i in view["agenda"]]
        self.active_item = view["active_item"]
        self.queue = list(view["queue"])
        self.speaker = view["speaker"]
        self.rsvp_reasons = dict(view["rsvp_reasons"])
        self.absence_reasons = dict(view["absence_reasons"])
        self.substitute_requests = dict(view["substitute_requests"])
        self.notices = list(view["notices"])
        self.quorum = view["quorum"]
        self.documents = {d["id"]: d for d in view["documents"]}
        # Per page with shared marks: how many and the revision (what the view carries),
        # and the marks of the pages fetched, kept current by the events.
        self.pages = {_key(p): {"count": p["count"], "rev": p["rev"]} for p in view["marks"]}
        self.fetch = fetch
        self.marks: dict[PageKey, dict[int, dict[str, Any]]] = {}
        for key in self.pages:
            self._fetch(key, seq)
        self.presentation = view["presentation"]
        self.polls = {p["id"]: p for p in view["polls"]}
        self.minutes = dict(view["minutes"])

    def _fetch(self, key: PageKey, seq: int) -> None:
        if self.fetch is not None:
            self.marks[key] = {a["id"]: a for a in self.fetch(key, seq)}

    def _drop_document(self, did: int) -> None:
        self.pages = {k: p for k, p in self.pages.items() if k[0] != did}
        self.marks = {k: m for k, m in self.marks.items() if k[0] != did}

    def _page_changed(self, key: PageKey, delta: int, seq: int) -> None:
        count = self.pages.get(key, {"count": 0})["count"] + delta
        if count > 0:
            self.pages[key] = {"count": count, "rev": seq}
        else:
            self.pages.pop(key, None)

    def on_event(self, kind: str, data: dict[str, Any], seq: int = 0) -> None:
        if kind in ("meeting.created", "meeting.updated", "meeting.invited", "session.started"):
            self.meeting = data["meeting"]
        elif kind == "session.ended":
            self.meeting = data["meeting"]
            if data.get("item"):
                self._item(data["item"])
            self.active_item = None
            self.queue = []
            self.speaker = None
            self.presentation = None
        elif kind == "site.added":
            self.sites[data["site"]["id"]] = data["site"]
        elif kind in ("participant.added", "participant.updated", "rsvp.answered"):
            p = data["participant"]
            self.participants[p["user_id"]] = p
        elif kind == "participant.removed":
            uid = data["user_id"]
            self.participants.pop(uid, None)
            self.attendance.pop(uid, None)
            self.rsvp_reasons.pop(str(uid), None)
            self.absence_reasons.pop(str(uid), None)
            self.substitute_requests.pop(str(uid), None)
            self.queue = [r for r in self.queue if r["user_id"] != uid]
            if self.speaker and self.speaker["user_id"] == uid:
                self.speaker = None
        elif kind == "rsvp.reason":
            self.rsvp_reasons[str(data["user_id"])] = data["reason"]
        elif kind in ("agenda.added", "agenda.updated", "agenda.completed", "agenda.deferred"):
            self._item(data["item"])
        elif kind == "agenda.activated":
            if data.get("paused"):
                self._item(data["paused"])
            self._item(data["item"])
            self.active_item = data["item"]["id"]
        elif kind == "agenda.removed":
            self.items.pop(data["item_id"], None)
            self.order = [i for i in self.order if i != data["item_id"]]
        elif kind == "agenda.reordered":
            self.order = list(data["order"])
        elif kind in ("attendance.checked_in", "attendance.absent"):
            a = data["attendance"]
            self.attendance[a["user_id"]] = a
            self.absence_reasons.pop(str(a["user_id"]), None)
        elif kind == "absence.reason":
            self.absence_reasons[str(data["user_id"])] = data["reason"]
        elif kind == "substitute.requested":
            self.substitute_requests[str(data["request"]["member_id"])] = data["request"]
        elif kind in ("substitute.approved", "substitute.refused", "substitute.withdrawn"):
            self.substitute_requests.pop(str(data["user_id"]), None)
        elif kind == "role.changed":
            pass  # an announcement: the participant.* events of the command carry the change
        elif kind == "floor.requested":
            self.queue.append(data["request"])
        elif kind == "floor.withdrawn":
            self.queue = [r for r in self.queue if r["user_id"] != data["user_id"]]
        elif kind in ("floor.granted", "floor.extended"):
            self.speaker = data["speaker"]
            self.queue = [r for r in self.queue if r["user_id"] != self.speaker["user_id"]]
        elif kind == "floor.ended":
            self.speaker = None
        elif kind == "quorum.changed":
            self.quorum = data["quorum"]
        elif kind == "notice.posted":
            self.notices = [*self.notices, data["notice"]][-NOTICES_KEPT:]
        elif kind in ("document.attached", "document.updated"):
            self.documents[data["document"]["id"]] = data["document"]
            for p in data.get("marks", ()):
                self.pages[_key(p)] = {"count": p["count"], "rev": p["rev"]}
                self._fetch(_key(p), seq)
        elif kind in ("document.revoked", "document.removed"):
            self.documents.pop(data["document_id"], None)
            self._drop_document(data["document_id"])
        elif kind in ("presentation.started", "presentation.moved"):
            self.presentation = data["presentation"]
        elif kind == "presentation.stopped":
            self.presentation = None
        elif kind == "annotation.added":
            a = data["annotation"]
            self._page_changed(_key(a), 1, seq)
            self.marks.setdefault(_key(a), {})[a["id"]] = a
        elif kind == "annotation.removed":
            self._page_changed(_key(data), -1, seq)
            self.marks.get(_key(data), {}).pop(data["annotation_id"], None)
        elif kind == "annotation.cleared":
            self._page_changed(_key(data), -data["removed"], seq)
            owner = data["owner"]
            if (page := self.marks.get(_key(data))) is not None:
                self.marks[_key(data)] = {k: a for k, a in page.items()
                                          if owner is not None and a["owner"] != owner}
        elif kind in ("poll.created", "poll.updated", "poll.opened"):
            poll, before = data["poll"], self.polls.get(data["poll"]["id"])
            if (poll.get("board") and before and before.get("board")
                    and before["board"]["poll_uid"] == poll["board"]["poll_uid"]):
                poll["board"]["shares"] = before["board"]["shares"]  # the same ceremony
            self.polls[poll["id"]] = poll
        elif kind.startswith("board.") and data["poll_id"] in self.polls:
            self._board(kind, self.polls[data["poll_id"]]["board"], data)
        elif kind.startswith("poll.") and data["poll_id"] in self.polls:
            self._poll(kind, self.polls[data["poll_id"]], data)
        elif kind.startswith(("minutes.", "conclusion.")):
            self._minutes(kind, data)
        elif not kind.startswith("poll."):
            raise AssertionError(f"a client does not know event kind {kind!r}")

    def _minutes(self, kind: str, data: dict[str, Any]) -> None:
        mins = self.minutes
        if kind in ("minutes.settings", "minutes.edited") or kind.startswith("conclusion."):
            mins.update(prepared_sha256=None, prepared_pages=0)
        if kind == "minutes.settings":
            mins.update(data)
        elif kind == "minutes.prepared":
            mins.update(prepared_sha256=data["sha256"], prepared_pages=data["pages"])
        elif kind == "minutes.edited":
            key = data["section"]["key"]
            sections = {s["key"]: s for s in mins["sections"]} | {key: data["section"]}
            mins["sections"] = [sections[k] for k in sorted(sections)]
        elif kind in ("conclusion.added", "conclusion.updated"):
            found = {x["id"]: x for x in mins["conclusions"]}
            found[data["conclusion"]["id"]] = data["conclusion"]
            mins["conclusions"] = [found[i] for i in sorted(found)]
        elif kind == "conclusion.removed":
            mins["conclusions"] = [x for x in mins["conclusions"]
                                   if x["id"] != data["conclusion_id"]]
        elif kind == "minutes.signed":
            mins["status"] = data["status"]
            mins["signatures"] = [*mins["signatures"], data["signature"]]
        else:
            raise AssertionError(f"a client does not know event kind {kind!r}")

    @staticmethod
    def _board(kind: str, board: dict[str, Any], data: dict[str, Any]) -> None:
        index = str(data.get("index"))
        if "status" in data:
            board["status"] = data["status"]
        if kind == "board.round1":
            board["round1"] = {**board["round1"], index: data["message"]}
        elif kind == "board.shares":
            board["shares"] = {**board["shares"], index: data["shares"]}
        elif kind == "board.dealt":
            board["dealt"] = [*board["dealt"], data["index"]]
        elif kind == "board.confirmed":
            board["confirmed"] = [*board["confirmed"], data["index"]]
        elif kind == "board.ready":
            board.update(status="ready", public_key=data["public_key"], shares={},
                         context=data["context"], verification_keys=data["verification_keys"])
        elif kind == "board.failed":
            board["complaint"] = data["complaint"]
        elif kind == "board.restarted":
            board.clear()
            board.update(data["board"])
        elif kind == "board.partial":
            board["partials"] = {**board["partials"], index: data["partials"]}
        else:
            raise AssertionError(f"a client does not know event kind {kind!r}")

    @staticmethod
    def _poll(kind: str, poll: dict[str, Any], data: dict[str, Any]) -> None:
        if kind == "poll.progress":
            poll["progress"] = {"voted": data["voted"], "eligible": data["eligible"]}
        elif kind == "poll.closed":
            poll.update(status=data["status"], closed_at=data["closed_at"])
            if data.get("counting"):
                poll["counting"] = True
                poll["board"].update(aggregate=data["aggregate"], cast=data["cast"],
                                     present=data["present"], total=data["total"])
        elif kind == "poll.voided":
            poll.update(status="void", counting=False)
        elif kind == "poll.result":
            poll.update(result=data["result"], counting=False)
        elif kind == "poll.published":
            poll.update(status="published", published_at=data["published_at"],
                        result=data["result"], counting=False)
        elif kind == "poll.cancelled":
            poll["status"] = "cancelled"
        else:
            raise AssertionError(f"a client does not know event kind {kind!r}")

    def _item(self, item: dict[str, Any]) -> None:
        if item["id"] not in self.items:
            self.order.append(item["id"])
        self.items[item["id"]] = item
        if self.active_item == item["id"] and item["status"] != "active":
            self.active_item = None

    def view(self) -> dict[str, Any]:
        return {
            "meeting": self.meeting,
            "sites": list(self.sites.values()),
            "participants": list(self.participants.values()),
            "attendance": list(self.attendance.values()),
            "agenda": [self.items[i] for i in self.order],
            "active_item": self.active_item,
            "queue": self.queue,
            "speaker": self.speaker,
            "quorum": self.quorum,
            "rsvp_reasons": self.rsvp_reasons,
            "absence_reasons": self.absence_reasons,
            "substitute_requests": self.substitute_requests,
            "notices": self.notices,
            "documents": [self.documents[i] for i in sorted(self.documents)],
            "marks": [{"document_id": k[0], "version": k[1], "page": k[2], **p}
                      for k, p in sorted(self.pages.items())],
            "presentation": self.presentation,
            "polls": [self.polls[i] for i in sorted(self.polls)],
            "minutes": self.minutes,
        }
