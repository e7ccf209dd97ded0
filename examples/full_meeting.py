#!/usr/bin/env python3
"""A whole meeting through phonghop's public API, from the invitation to the signed minutes.

    python examples/full_meeting.py --url http://127.0.0.1:8000 --out bien-ban.pdf

Run it against a demo server (`phonghop demo`): it needs the demo accounts (`admin`,
`chutri`, `thuky`, `daibieu01` … `daibieu20`, `khach1`, `khach2`, `diemcau1` …, password
`demo1234`) and their development signing credentials (PKCS#12, password `demo1234`), which
`phonghop demo` creates. The run, phase by phase:

1. Preparation (the administrator, HTTP): a new meeting (Vietnamese title, place, time),
   two online sites (điểm cầu), 20 participants (chair `chutri`, secretary `thuky`,
   delegates `daibieu01` … `daibieu16`, four of them at the sites, invitees `khach1` and
   `khach2`) plus the two sites' operators, four agenda items with presenters, a PDF
   (drawn here with PyMuPDF) uploaded and attached to the first item, the invitation.
2. Invitations: the delegates answer; `daibieu16` is absent with a reason, `daibieu15`
   asks to send `daibieu17` (an account outside the meeting) in their place, and the
   administrator approves it: the substitute takes their seat and votes for them.
3. Session (one websocket per person in the room): the chair starts; people check in
   (`daibieu13` and `khach2` never come; the secretary marks `daibieu14` and `daibieu16`
   absent with reasons); the quorum is read from the chair's live events.
4. Agenda, floor and documents: the chair activates the first item; `daibieu03` asks to
   speak, the chair gives the floor and ends it; the item's presenter presents the document
   (`present.start`, `present.move`) and draws a shared mark (`annotation.add`) that a
   delegate's tablet receives live; a delegate keeps a private note (`my-annotations`).
5. Voting: a named motion and a secret election (two seats out of three candidates); every
   eligible voter's device waits for the ballot, draws its receipt and votes over its
   websocket (`vote.cast`); the chair sees the progress and closes; the results, the
   receipts counted and (named vote) who voted what are printed. The secret election is
   encrypted: its counting board (`daibieu01` … `daibieu03`, 2 of 3) runs the key ceremony
   on its members' devices before it opens, each voter's device encrypts and proves its
   ballot (the ack carries the ballot's tracker), and after the close two of the three
   members decrypt the sum; the public board is downloaded and verified. The client side
   of that is `secret_client.py` beside this file, on `verify_poll.py`'s group.
6. Minutes: the secretary sets issuer, number and place, writes the sections and the
   conclusions (owners, deadlines); the chair completes the agenda and ends the session;
   the secretary renders the official PDF and signs, then the chair signs; the signed file
   is written to `--out`, and the server's verification report and the conclusions as
   tasks are printed.

Only the public API is used: HTTP (httpx) and the websocket (websockets), both phonghop
dependencies; nothing of phonghop is imported (the secret ballot's cryptography is the
example's own, `secret_client.py`, on pysodium and `cryptography`). Every wait has a time
limit, and every connection is closed (and every session signed out) at the end.

Exit codes: 0 done; 1 the server refused a step (its code and Vietnamese/English message
are printed); 2 a wait timed out, a connection broke, or an answer was not as expected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import secret_client
import verify_poll
import websockets
from websockets.exceptions import ConnectionClosed

PASSWORD = "demo1234"  # every demo login and every demo signing credential
VN = timezone(timedelta(hours=7))
FOR, AGAINST, ABSTAIN = "Tán thành", "Không tán thành", "Không biểu quyết"


# ---- errors ----


class Refused(Exception):
    """The server refused a step: its code and message in both languages."""

    def __init__(self, step: str, code: str, vi: str, en: str, status: int | None = None):
        super().__init__(f"{step}: {code}")
        self.step, self.code, self.vi, self.en, self.status = step, code, vi, en, status

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "websocket"
        return (f"BƯỚC BỊ TỪ CHỐI / STEP REFUSED: {self.step} ({where}): {self.code}\n"
                f"  vi: {self.vi}\n  en: {self.en}")


class Failed(Exception):
    """A wait timed out, a connection broke, or an answer was not what the protocol says."""


def made(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The data of each `kind` event a room command's HTTP answer carries. The answer is the
    command's ack and the events it made that this user may see (null for a duplicate),
    not the whole room: GET the meeting for that."""
    found = [e["data"] for e in answer.get("events") or [] if e["kind"] == kind]
    if not found:
        raise Failed(f"no {kind} event in the answer: {answer}")
    return found


def refusal(step: str, body: dict[str, Any], status: int | None = None) -> Refused:
    message = body.get("message") or {}
    return Refused(step, str(body.get("code", "?")), str(message.get("vi", "")),
                   str(message.get("en", "")), status)


# ---- the receipt a voter's device draws (as phonghop's voting/receipts.py) ----

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U


def new_receipt() -> str:
    """A fresh ballot receipt, `XXXXX-XXXXX`: 50 random bits drawn on the device."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return f"{code[:5]}-{code[5:]}"


# ---- one person: an HTTP session and, in the room, a websocket ----


class Live:
    """One websocket following one meeting room: every message kept in arrival order (an
    `events` batch unpacked), commands answered by their `ack` or `rejected`."""

    _ids = itertools.count(1)

    def __init__(self, who: str, conn: websockets.ClientConnection, meeting: int,
                 timeout: float) -> None:
        self.who, self.conn, self.meeting, self.timeout = who, conn, meeting, timeout
        self.messages: list[dict[str, Any]] = []
        self.closed: str | None = None  # why the connection ended, once it has
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def join(cls, ws_url: str, who: str, token: str, meeting: int,
                   limit: float) -> tuple[Live, dict[str, Any]]:
        """Connect, join the meeting and return the connection and its snapshot."""
        try:
            # The token travels as the `bearer` subprotocol, never in the URL.
            conn = await websockets.connect(
                ws_url, subprotocols=["bearer", token],  # type: ignore[list-item]
                open_timeout=limit, close_timeout=limit, max_size=2**24)
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise Failed(f"{who}: websocket connection failed: {exc}") from None
        live = cls(who, conn, meeting, limit)
        await live.wait_for(lambda m: m["type"] == "hello", "hello")
        await live.send({"type": "join", "meeting": meeting})
        answer = await live.wait_for(lambda m: m["type"] in ("snapshot", "error"), "snapshot")
        if answer["type"] == "error":
            raise refusal(f"{who}: join", answer)
        return live, answer

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                message = json.loads(raw)
                if message.get("type") == "events":
                    self.messages.extend(message["events"])
                else:
                    self.messages.append(message)
                self._arrived.set()
            self.closed = f"closed by the server ({self.conn.close_code})"
        except ConnectionClosed as exc:
            self.closed = f"connection lost ({exc})"
        except (ValueError, KeyError) as exc:
            self.closed = f"unreadable message ({exc})"
        finally:
            self._arrived.set()

    async def send(self, message: dict[str, Any]) -> None:
        try:
            await self.conn.send(json.dumps(message))
        except ConnectionClosed as exc:
            raise Failed(f"{self.who}: websocket closed: {exc}") from None

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], what: str,
                       start: int = 0) -> dict[str, Any]:
        """The first message from index `start` on that matches, waiting at most `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        index = start
        while True:
            while index < len(self.messages):
                message = self.messages[index]
                index += 1
                if predicate(message):
                    return message
            if self.closed:
                raise Failed(f"{self.who}: websocket {self.closed} while waiting for {what}")
            left = deadline - loop.time()
            if left <= 0:
                raise Failed(f"{self.who}: no {what} within {self.timeout:g} s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def event(self, kind: str, what: str = "",
                    match: Callable[[dict[str, Any]], bool] = lambda data: True,
                    start: int = 0) -> dict[str, Any]:
        """The `data` of the first event of `kind` whose data matches."""
        message = await self.wait_for(
            lambda m: m["type"] == "event" and m["kind"] == kind and match(m["data"]),
            what or f"event {kind}", start)
        return message["data"]

    async def command(self, name: str, **args: Any) -> dict[str, Any]:
        """Send a room command and return its `ack`; a `rejected` raises Refused."""
        cid = f"{self.who}-{next(self._ids)}"
        start = len(self.messages)
        await self.send({"type": "command", "id": cid, "meeting": self.meeting, "name": name,
                         "args": args})
        answer = await self.wait_for(
            lambda m: (m["type"] in ("ack", "rejected") and m.get("id") == cid)
            or (m["type"] == "error" and m.get("ref") == "command"),
            f"answer to {name}", start)
        if answer["type"] != "ack":
            raise refusal(f"{self.who}: {name}", answer)
        return answer

    def events_at(self, seq: int) -> list[dict[str, Any]]:
        """The events this connection received with room seq `seq` (one commit's events)."""
        return [m for m in self.messages if m["type"] == "event" and m["seq"] == seq]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.conn.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


@dataclass
class Person:
    """A signed-in account: its HTTP client (bearer token) and, once in the room, its
    websocket."""

    username: str
    token: str
    user: dict[str, Any]
    http: httpx.AsyncClient
    live: Live | None = None

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def name(self) -> str:
        return str(self.user["full_name"])

    async def call(self, step: str, method: str, path: str, *, json_body: Any = None,
                   content: bytes | None = None, params: dict[str, str] | None = None,
                   seconds: float | None = None) -> httpx.Response:
        """An HTTP request (at most `seconds`, else the client's limit); a refusal (4xx/5xx)
        raises Refused with the server's code and texts."""
        extra: dict[str, Any] = {} if seconds is None else {"timeout": seconds}
        try:
            r = await self.http.request(method, path, json=json_body, content=content,
                                        params=params, **extra)
        except httpx.HTTPError as exc:
            raise Failed(f"{self.username}: {step}: {method} {path}: {exc!r}") from None
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"code": f"http_{r.status_code}",
                        "message": {"vi": r.text[:200], "en": r.text[:200]}}
            raise refusal(f"{self.username}: {step}", body, r.status_code)
        return r

    async def json(self, step: str, method: str, path: str, **kw: Any) -> Any:
        return (await self.call(step, method, path, **kw)).json()

    @property
    def ws(self) -> Live:
        if self.live is None:
            raise Failed(f"{self.username} is not in the room")
        return self.live


@dataclass
class Run:
    """Everything the phases share: the server, the people, and the meeting's ids."""

    url: str
    timeout: float
    people: dict[str, Person] = field(default_factory=dict)
    meeting: int = 0
    sites: dict[str, int] = field(default_factory=dict)
    items: list[int] = field(default_factory=list)
    document: int = 0
    present: list[str] = field(default_factory=list)  # who checked in
    voters: list[str] = field(default_factory=list)  # who votes (own seat or substitute)
    timings: dict[str, float] = field(default_factory=dict)  # ms of the signing steps

    def __getitem__(self, username: str) -> Person:
        return self.people[username]

    @property
    def m(self) -> str:
        return f"/api/meetings/{self.meeting}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1).rstrip("/") + "/ws"


def say(text: str) -> None:
    print(text, flush=True)


def heading(text: str) -> None:
    say(f"\n== {text} ==")


# ---- the cast ----

CHAIR, SECRETARY = "chutri", "thuky"
DELEGATES = [f"daibieu{i:02d}" for i in range(1, 17)]
INVITEES = ["khach1", "khach2"]
OPERATORS = ["diemcau1", "diemcau2"]
SUBSTITUTE = "daibieu17"  # an account outside the meeting
AT_SITE = {"daibieu11": 0, "daibieu12": 0, "daibieu13": 1, "daibieu14": 1,
           "diemcau1": 0, "diemcau2": 1}
SITES = ["Điểm cầu Tổ dân phố số 3", "Điểm cầu Trường Tiểu học Điện Biên"]
SENT_SUBSTITUTE = "daibieu15"  # does not come: SUBSTITUTE attends and votes for them
NEVER_COME = {"daibieu13", "khach2"}
SENDS_APOLOGIES = {"daibieu16": "Nghỉ phép năm theo kế hoạch đã duyệt"}  # answers "absent"
UNANNOUNCED = {"daibieu14": "Đi công tác đột xuất tại Sở Xây dựng"}  # the secretary marks
ABSENT = SENDS_APOLOGIES | UNANNOUNCED
AGENDA = [  # title, presenter, planned minutes
    ("Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026", "daibieu01", 20),
    ("Tờ trình về dự toán ngân sách phường năm 2027", "daibieu02", 20),
    ("Kế hoạch chỉnh trang đô thị quý I/2027", "daibieu03", 15),
    ("Bầu tổ trưởng, tổ phó tổ công tác chuyển đổi số", CHAIR, 10),
]


async def sign_in(run: Run, username: str) -> Person:
    http = httpx.AsyncClient(base_url=run.url, timeout=run.timeout)
    try:
        # "client": "device": an API client keeps its token (a browser gets only the cookie)
        r = await http.post("/api/login", json={"username": username, "password": PASSWORD,
                                                "client": "device"})
    except httpx.HTTPError as exc:
        await http.aclose()
        raise Failed(f"cannot reach {run.url}: {exc!r}") from None
    if r.status_code != 200:
        await http.aclose()
        try:
            body = r.json()
        except ValueError:
            body = {"code": f"http_{r.status_code}"}
        raise refusal(f"{username}: login", body, r.status_code)
    data = r.json()
    http.headers["Authorization"] = f"Bearer {data['token']}"
    return Person(username, data["token"], data["user"], http)


async def sign_in_everyone(run: Run) -> None:
    heading("0. Đăng nhập / Signing in")
    names = ["admin", CHAIR, SECRETARY, *DELEGATES, SUBSTITUTE, *INVITEES, *OPERATORS]
    for username in names:  # one at a time: the server's sign-in limiter stays calm
        run.people[username] = await sign_in(run, username)
    say(f"{len(names)} accounts signed in at {run.url}")


# ---- 1. preparation ----


def sample_pdf(title: str) -> bytes:
    """A three-page report drawn with PyMuPDF (phonghop's PDF library), Vietnamese text."""
    import pymupdf

    doc = pymupdf.open()
    paragraphs = [
        ("I. Tình hình chung", "Trong tháng 11, Ủy ban nhân dân phường đã tập trung chỉ đạo "
         "thực hiện các nhiệm vụ phát triển kinh tế - xã hội, bảo đảm quốc phòng, an ninh."),
        ("II. Kết quả thu ngân sách", "Tổng thu ngân sách trên địa bàn ước đạt 92,4% dự toán "
         "năm; các khoản thu từ đất đạt 104% kế hoạch."),
        ("III. Nhiệm vụ tháng 12", "Hoàn thành các chỉ tiêu năm 2026; chuẩn bị dự toán năm "
         "2027; đẩy mạnh chuyển đổi số trong giải quyết thủ tục hành chính."),
    ]
    for n, (head, body) in enumerate(paragraphs, start=1):
        page = doc.new_page(width=595, height=842)  # A4, points
        page.insert_htmlbox(pymupdf.Rect(60, 60, 535, 782), (
            f"<p style='text-align:center;font-weight:bold'>UBND PHƯỜNG HOÀN KIẾM</p>"
            f"<h3 style='text-align:center'>{title}</h3><h4>{head}</h4><p>{body}</p>"
            f"<p style='text-align:right'>Trang {n}/3</p>"))
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


async def prepare_meeting(run: Run) -> None:
    """The administrator's work: meeting, sites, participants, agenda, document, invitation."""
    heading("1. Chuẩn bị cuộc họp / Preparing the meeting")
    admin = run["admin"]
    day = datetime.now(VN).date()
    created = await admin.json("create the meeting", "POST", "/api/meetings", json_body={
        "title": f"Phiên họp chuyên đề ngày {day:%d/%m/%Y} của UBND phường Hoàn Kiếm",
        "starts_at": f"{day.isoformat()}T08:00:00+07:00",
        "ends_at": f"{day.isoformat()}T11:00:00+07:00",
        "location": "Phòng họp tầng 2, trụ sở UBND phường Hoàn Kiếm",
    })
    run.meeting = int(created["id"])
    say(f"meeting #{run.meeting}: {made(created, 'meeting.created')[0]['meeting']['title']}")
    for name in SITES:
        added = await admin.json("add a site", "POST", f"{run.m}/sites", json_body={"name": name})
        site = made(added, "site.added")[0]["site"]
        if site["name"] != name:
            raise Failed(f"the site added is not {name!r}: {site}")
        run.sites[name] = site["id"]
    roles = {CHAIR: "chair", SECRETARY: "secretary"} | {d: "delegate" for d in DELEGATES}
    roles |= {i: "invitee" for i in INVITEES} | {o: "site_operator" for o in OPERATORS}
    for username, role in roles.items():
        body: dict[str, Any] = {"user_id": run[username].id, "role": role}
        if username in AT_SITE:
            body["site_id"] = run.sites[SITES[AT_SITE[username]]]
        await admin.json(f"add participant {username}", "POST", f"{run.m}/participants",
                         json_body=body)
    view = await admin.json("read the room", "GET", run.m)
    participants = view["room"]["participants"]
    voting = sum(1 for p in participants if p["voting"])
    say(f"{len(SITES)} online sites; {len(participants)} participants "
        f"({len(participants) - len(OPERATORS)} + {len(OPERATORS)} site operators), "
        f"{voting} voting members")
    for title, presenter, minutes in AGENDA:
        added = await admin.json("add an agenda item", "POST", f"{run.m}/agenda", json_body={
            "title": title, "presenter_id": run[presenter].id, "planned_minutes": minutes})
        run.items.append(made(added, "agenda.added")[0]["item"]["id"])
    say(f"agenda: {len(run.items)} items")
    title = "Báo cáo kinh tế - xã hội tháng 11 năm 2026"
    uploaded = await admin.json("upload the document", "POST", f"{run.m}/files",
                                params={"name": f"{title}.pdf"}, content=sample_pdf(title),
                                seconds=max(run.timeout, 60))
    sha = uploaded["file"]["sha256"]
    attached = await admin.json("attach the document", "POST", f"{run.m}/documents",
                                json_body={"sha256": sha, "title": title,
                                           "item_id": run.items[0], "classification": "public"})
    # The last entry is the whole document when the attacher reads it (a confidential one
    # comes to organisers who do not as a sealed entry first, or only).
    document = made(attached, "document.attached")[-1]["document"]
    if document.get("sha256") != sha:
        raise Failed(f"the document attached is not the file uploaded: {document}")
    run.document = document["id"]
    say(f"document #{run.document} ({uploaded['file']['pages']} pages, {sha[:12]}…) "
        f"attached to item 1, public")
    invited = await admin.json("invite", "POST", f"{run.m}/invite")
    say(f"invitations sent: status {made(invited, 'meeting.invited')[0]['meeting']['status']}")


# ---- 2. invitations ----


async def answer_invitations(run: Run) -> None:
    """Each answers for themselves; one is absent with a reason, one sends a substitute."""
    heading("2. Trả lời giấy mời / Answering the invitation")
    for username in [CHAIR, SECRETARY, *DELEGATES, *INVITEES, *OPERATORS]:
        if username in SENDS_APOLOGIES:
            body: dict[str, Any] = {"answer": "absent", "reason": SENDS_APOLOGIES[username]}
        elif username == SENT_SUBSTITUTE:
            body = {"answer": "substitute", "substitute_user_id": run[SUBSTITUTE].id,
                    "reason": "Bận tiếp công dân theo lịch, cử cán bộ dự thay"}
        else:
            body = {"answer": "attend"}
        await run[username].json("answer the invitation", "POST", f"{run.m}/rsvp",
                                 json_body=body)
    # A substitute is a request until an organiser approves it; the approved substitute
    # takes the member's seat and votes for them.
    await run["admin"].json("approve the substitute", "POST",
                            f"{run.m}/substitutes/{run[SENT_SUBSTITUTE].id}/approve")
    apologies = ", ".join(f"{u} ({reason})" for u, reason in SENDS_APOLOGIES.items())
    say(f"absent: {apologies}; {SENT_SUBSTITUTE} sends {SUBSTITUTE} "
        f"({run[SUBSTITUTE].name}), who may vote for them; the others attend")


# ---- 3. session ----


async def open_session(run: Run) -> None:
    """Everyone who comes joins the room; the chair starts, people check in."""
    heading("3. Khai mạc, điểm danh / Opening, attendance")
    comers = [u for u in [CHAIR, SECRETARY, *DELEGATES, SUBSTITUTE, *INVITEES, *OPERATORS]
              if u not in NEVER_COME and u not in ABSENT and u != SENT_SUBSTITUTE]
    lives = await asyncio.gather(*(Live.join(run.ws_url, u, run[u].token, run.meeting,
                                             run.timeout) for u in comers),
                                 return_exceptions=True)
    for username, joined in zip(comers, lives, strict=True):
        if isinstance(joined, tuple):
            run[username].live = joined[0]
    for joined in lives:
        if isinstance(joined, BaseException):
            raise joined
    say(f"{len(comers)} devices joined the room")
    chair = run[CHAIR].ws
    await chair.command("session.start")
    await run[comers[-1]].ws.event("session.started")  # everyone's tablet hears it
    for username in comers:
        await run[username].ws.command("attendance.check_in")
    run.present = comers
    for username, reason in ABSENT.items():
        await run[SECRETARY].ws.command("attendance.absent", user_id=run[username].id,
                                        reason=reason)
    members = [CHAIR, *DELEGATES]
    # A substitute who checks in counts for the member they replace.
    expected = sum(1 for u in members if u in comers or u == SENT_SUBSTITUTE)
    quorum = await chair.event("quorum.changed", f"quorum of {expected} present",
                               lambda d: d["quorum"]["present"] == expected)
    q = quorum["quorum"]
    say(f"checked in: {len(comers)}; absent with reason: {', '.join(ABSENT)}; "
        f"never came: {', '.join(sorted(NEVER_COME))}")
    say(f"quorum: {q['present']}/{q['total']} voting members present, "
        f"{'ĐỦ / reached' if q['reached'] else 'CHƯA ĐỦ / not reached'}")
    if not q["reached"]:
        raise Failed("the quorum is not reached: the session cannot go on")
    run.voters = [u for u in members if u in comers] + [SUBSTITUTE]


# ---- 4. agenda, floor, documents ----


async def first_item(run: Run) -> None:
    """Item 1: the floor, the presentation with a shared mark, a private note."""
    heading("4. Nội dung 1: phát biểu, trình chiếu / Item 1: the floor, the presentation")
    chair, speaker, follower = run[CHAIR].ws, run["daibieu03"], run["daibieu05"]
    await chair.command("agenda.activate", item_id=run.items[0])
    await follower.ws.event("agenda.activated", match=lambda d: d["item"]["id"] == run.items[0])
    say(f"active item: {AGENDA[0][0]}")

    start = len(chair.messages)
    await speaker.ws.command("floor.request", note="Đề nghị làm rõ số liệu thu ngân sách")
    await chair.event("floor.requested", "the request to speak on the chair's console",
                      lambda d: d["request"]["user_id"] == speaker.id, start)
    await chair.command("floor.grant", user_id=speaker.id, seconds=120)
    granted = await speaker.ws.event("floor.granted")
    say(f"floor: {speaker.name} ({speaker.username}) asked and was given the floor "
        f"for {granted['speaker']['seconds']} s")
    await chair.command("floor.end")
    await speaker.ws.event("floor.ended")
    say("floor: the chair ended the speech")

    presenter = run[AGENDA[0][1]]
    start = len(follower.ws.messages)
    await presenter.ws.command("present.start", document_id=run.document, page=1)
    await presenter.ws.command("present.move", page=2, zoom=1.5, x=0.5, y=0.4)
    moved = await follower.ws.event("presentation.moved", "the presenter's page 2",
                                    lambda d: d["presentation"]["page"] == 2, start)
    say(f"presentation: {presenter.name} shows page {moved['presentation']['page']} "
        f"at zoom {moved['presentation']['zoom']}; {follower.username}'s tablet follows")
    ack = await presenter.ws.command(
        "annotation.add", document_id=run.document, page=2, kind="ink", color="#d32f2f",
        width=0.004, points=[0.18, 0.30, 0.35, 0.31, 0.52, 0.30, 0.70, 0.32])
    mark = await follower.ws.event("annotation.added", "the shared mark",
                                   lambda d: d["annotation"]["page"] == 2, start)
    say(f"shared mark #{mark['annotation']['id']} (seq {ack['seq']}) drawn on page 2, "
        f"seen live by {follower.username}")

    note = await follower.json("keep a private note", "POST",
                               f"{run.m}/documents/{run.document}/my-annotations", json_body={
        "client_id": f"ghi-chu-{secrets.token_hex(4)}", "page": 2, "kind": "note",
        "points": [0.8, 0.2], "color": "#fbc02d",
        "text": "Hỏi thêm về nguồn thu từ đất"})
    mine = await follower.json("read my notes", "GET",
                               f"{run.m}/documents/{run.document}/my-annotations")
    theirs = await run["daibieu06"].json("read my notes", "GET",
                                         f"{run.m}/documents/{run.document}/my-annotations")
    if not any(a["id"] == note["annotation"]["id"] for a in mine["annotations"]) or any(
            a["id"] == note["annotation"]["id"] for a in theirs["annotations"]):
        raise Failed("the private note is not private (or not kept)")
    say(f"private note #{note['annotation']['id']} kept for {follower.username} only")
    await presenter.ws.command("present.stop")


# ---- 5. voting ----


BOARD = ["daibieu01", "daibieu02", "daibieu03"]  # the counting board of the secret vote


async def seen_poll(person: Person, run: Run, poll_id: int) -> tuple[dict[str, Any], Any]:
    """The poll as `person`'s device sees it, and the member whose vote they cast."""
    view = await person.json("read the poll", "GET", run.m)
    poll = next(p for p in view["room"]["polls"] if p["id"] == poll_id)
    return poll, view["me"]["vote_for"]


async def key_ceremony(run: Run, poll: dict[str, Any]) -> dict[str, secret_client.Member]:
    """The counting board's devices run the three rounds of the key ceremony."""
    board = poll["board"]
    n, t = len(board["members"]), board["threshold"]
    devices = {u: secret_client.Member(board["poll_uid"], i, n, t)
               for i, u in enumerate(BOARD, start=1)}
    await asyncio.gather(*(run[u].ws.command("board.round1", poll_id=poll["id"],
                                             message=d.round1()) for u, d in devices.items()))
    seen, _ = await seen_poll(run[BOARD[0]], run, poll["id"])
    round1 = seen["board"]["round1"]
    await asyncio.gather(*(run[u].ws.command("board.shares", poll_id=poll["id"],
                                             shares=d.round2(round1))
                           for u, d in devices.items()))
    for u, device in devices.items():
        mine, _ = await seen_poll(run[u], run, poll["id"])
        complaint = device.round3(round1, mine["board"]["shares"])
        if complaint is not None:
            await run[u].ws.command("board.complaint", poll_id=poll["id"], **complaint)
            raise Failed(f"{u}: a share of the key ceremony is bad: {complaint}")
        await run[u].ws.command("board.confirm", poll_id=poll["id"])
    ready = await run[CHAIR].ws.event("board.ready", "the board's public key",
                                      lambda d: d["poll_id"] == poll["id"])
    say(f"  counting board {', '.join(BOARD)} ({t} of {n}): key ready, "
        f"{ready['public_key'][:16]}…")
    return devices


async def run_poll(run: Run, settings: dict[str, Any],
                   choose: Callable[[int, list[int]], list[int]]) -> dict[str, Any]:
    """Create and open a poll, let every voter's device vote, close; the published poll.
    A secret poll is encrypted: its board's ceremony first, its count by the board."""
    chair = run[CHAIR].ws
    secret = bool(settings.get("secret"))
    if secret:
        settings = {**settings, "board": {"members": [run[u].id for u in BOARD],
                                          "threshold": 2}}
    ack = await chair.command("poll.create", **settings)
    created = next(e for e in chair.events_at(ack["seq"]) if e["kind"] == "poll.created")
    poll = created["data"]["poll"]
    devices = await key_ceremony(run, poll) if secret else {}
    option_ids = [o["id"] for o in poll["options"]]
    starts = {u: len(run[u].ws.messages) for u in run.voters}
    await chair.command("poll.open", poll_id=poll["id"])

    async def device(n: int, username: str) -> tuple[str, str]:
        ws = run[username].ws
        opened = await ws.event("poll.opened", f"the ballot of poll {poll['id']}",
                                lambda d: d["poll"]["id"] == poll["id"], starts[username])
        chosen = choose(n, option_ids)
        if secret:  # encrypted and proved on the device, for the member whose vote it is
            mine = opened["poll"]
            _, member = await seen_poll(run[username], run, poll["id"])
            bits = [1 if o in chosen else 0 for o in option_ids]
            ballot = secret_client.ballot(mine["board"], member, bits, mine["min_choices"],
                                          mine["max_choices"])
            receipt = secret_client.tracker(mine["board"], ballot)
            ack = await ws.command("vote.cast", poll_id=poll["id"], ballot=ballot)
        else:
            receipt = new_receipt()
            ack = await ws.command("vote.cast", poll_id=poll["id"], choices=chosen,
                                   receipt=receipt)
        if ack.get("receipt") != receipt or ack.get("poll") != poll["id"]:
            raise Failed(f"{username}: the ballot's ack does not confirm it: {ack}")
        return username, receipt

    receipts = dict(await asyncio.gather(*(device(n, u) for n, u in enumerate(run.voters))))
    progress = await chair.event("poll.progress", "progress: every voter counted",
                                 lambda d: d["poll_id"] == poll["id"]
                                 and d["voted"] == len(receipts))
    say(f"  {progress['voted']}/{progress['eligible']} đã biểu quyết / have voted")
    start = len(run["daibieu01"].ws.messages)
    await chair.command("poll.close", poll_id=poll["id"])
    if secret:  # two of the three members decrypt the sum; the third is not needed
        for u in (BOARD[0], BOARD[2]):
            closed, _ = await seen_poll(run[u], run, poll["id"])
            await run[u].ws.command("board.partial", poll_id=poll["id"],
                                    partials=devices[u].partials(closed["board"]))
    published = await run["daibieu01"].ws.event(
        "poll.published", "the published result", lambda d: d["poll_id"] == poll["id"], start)
    counted = await run["daibieu05"].json("read the receipts", "GET",
                                          f"{run.m}/polls/{poll['id']}/receipts")
    missing = set(receipts.values()) - set(counted["receipts"])
    if missing:
        raise Failed(f"receipts not counted: {sorted(missing)}")
    say(f"  every voter's receipt is in the published list ({len(counted['receipts'])})")
    if secret:
        board = await run["daibieu05"].json("read the public board", "GET",
                                            f"{run.m}/polls/{poll['id']}/board.json")
        problems, status, found = verify_poll.verify(board)
        if status != "verified" or problems:
            raise Failed(f"the public board does not verify: {status} {problems}")
        if found != [c["votes"] for c in published["result"]["counts"]]:
            raise Failed("the verified counts are not the published result")
        say(f"  public board verified: {len(board['ballots'])} encrypted ballots, counts "
            f"{found}, combined from members {board['result']['combined_from']} "
            "(Đã kiểm chứng / verified)")
    return {**poll, "result": published["result"], "receipts": receipts}


def show_result(poll: dict[str, Any]) -> None:
    result = poll["result"]
    labels = {o["id"]: o["label"] for o in poll["options"]}
    rule = result["rule"]
    say(f"  result: {result['cast']} ballots; rule {'>' if rule['strict'] else '≥'} "
        f"{rule['num']}/{rule['den']} of {result['base']} ({result['base_count']})")
    for count in result["counts"]:
        mark = " ← elected" if count["option_id"] in (result.get("elected") or []) else ""
        say(f"    {labels[count['option_id']]}: {count['votes']}{mark}")
    if poll["kind"] == "motion":
        say(f"  {'THÔNG QUA / PASSED' if result['passed'] else 'KHÔNG THÔNG QUA / NOT PASSED'}")


async def vote(run: Run) -> None:
    """A named motion on item 2 and a secret election on item 4."""
    heading("5. Biểu quyết / Voting")
    chair = run[CHAIR].ws
    await chair.command("agenda.next")  # item 1 done, item 2 active
    say(f"active item: {AGENDA[1][0]}")

    def motion_choice(n: int, options: list[int]) -> list[int]:
        in_favour, against, abstain = options  # Tán thành, Không tán thành, Không biểu quyết
        return [against] if n in (3, 7) else [abstain] if n == 9 else [in_favour]

    motion = await run_poll(run, {
        "title": "Thông qua dự toán ngân sách phường năm 2027", "item_id": run.items[1],
        "kind": "motion", "secret": False,
        "rule": {"num": 1, "den": 2, "base": "members", "strict": True}}, motion_choice)
    say(f"named motion «{motion['title']}»:")
    show_result(motion)
    ballots = await run["daibieu05"].json("read the named ballots", "GET",
                                          f"{run.m}/polls/{motion['id']}/ballots")
    labels = {o["id"]: o["label"] for o in motion["options"]}
    for b in ballots["ballots"][:3]:
        say(f"    {b['full_name']}: {', '.join(labels[c] for c in b['choices'])}")
    say(f"    … ({len(ballots['ballots'])} named ballots published)")

    await chair.command("agenda.next")  # item 3
    await chair.command("agenda.next")  # item 4
    say(f"active item: {AGENDA[3][0]}")
    candidates = [run[u].name for u in ("daibieu04", "daibieu07", "daibieu10")]

    def election_choice(n: int, options: list[int]) -> list[int]:
        a, b, c = options  # each voter ticks one or two candidates
        return [[a, b], [a, c], [b, c], [a], [a, b], [b]][n % 6]

    election = await run_poll(run, {
        "title": "Bầu tổ trưởng và tổ phó tổ công tác chuyển đổi số", "item_id": run.items[3],
        "kind": "multi", "secret": True, "options": candidates, "seats": 2,
        "min_choices": 1, "max_choices": 2,
        "rule": {"num": 1, "den": 2, "base": "cast", "strict": True}}, election_choice)
    say(f"secret ballot «{election['title']}» (bỏ phiếu kín, 2 seats):")
    show_result(election)


# ---- 6. minutes ----


async def write_minutes(run: Run) -> None:
    """The secretary's draft: settings, sections (with base versions), conclusions."""
    heading("6. Biên bản / Minutes")
    secretary = run[SECRETARY].ws
    await secretary.command("minutes.settings", template="state",
                            issuer="UBND PHƯỜNG HOÀN KIẾM", number="27/BB-UBND",
                            place="Hoàn Kiếm")
    view = await run[SECRETARY].json("read the draft", "GET", run.m)
    versions = {s["key"]: s["version"] for s in view["room"]["minutes"].get("sections", [])}
    texts = {
        "general": "Phiên họp nhằm đánh giá tình hình kinh tế - xã hội tháng 11, xem xét dự "
                   "toán ngân sách năm 2027 và kiện toàn tổ công tác chuyển đổi số.",
        f"item:{run.items[0]}": "Đồng chí trình bày báo cáo; các đại biểu thống nhất với "
                                "đánh giá kết quả thu ngân sách, đề nghị làm rõ nguồn thu "
                                "từ đất.",
        f"item:{run.items[1]}": "Hội nghị biểu quyết thông qua dự toán ngân sách năm 2027.",
        f"item:{run.items[2]}": "Giao Phòng Kinh tế hoàn thiện kế hoạch chỉnh trang đô thị.",
        f"item:{run.items[3]}": "Hội nghị bỏ phiếu kín bầu tổ trưởng, tổ phó tổ công tác.",
        "closing": "Biên bản đã được đọc lại trước hội nghị và được các thành viên dự họp "
                   "thống nhất thông qua.",
    }
    for section, text in texts.items():
        await secretary.command("minutes.edit", section=section, text=text,
                                base_version=versions.get(section, 0))
    deadline = datetime.now(VN).date() + timedelta(days=30)
    conclusions = [
        ("Hoàn thiện hồ sơ dự toán ngân sách năm 2027, trình HĐND phường", "Phòng Kinh tế",
         "daibieu02", run.items[1], deadline),
        ("Trình kế hoạch chỉnh trang đô thị quý I/2027", "Phòng Quản lý đô thị",
         "daibieu03", run.items[2], deadline + timedelta(days=15)),
        ("Báo cáo nguồn thu từ đất năm 2026", "Văn phòng UBND phường", None, run.items[0],
         deadline - timedelta(days=10)),
    ]
    for text, owner, owner_user, item, due in conclusions:
        args: dict[str, Any] = {"text": text, "owner": owner, "deadline": due.isoformat(),
                                "item_id": item}
        if owner_user:
            args["owner_user_id"] = run[owner_user].id
        await secretary.command("conclusion.add", **args)
    say(f"settings, {len(texts)} sections and {len(conclusions)} conclusions written")


async def end_and_sign(run: Run, out: Path) -> None:
    """End the session; the secretary prepares and signs, then the chair; download."""
    heading("7. Kết thúc phiên họp, ký số / Closing, signing")
    chair = run[CHAIR].ws
    await chair.command("agenda.done", item_id=run.items[3])
    await chair.command("session.end")
    say("session ended")
    sign_timeout = max(run.timeout, 120)
    secretary, chair_http = run[SECRETARY], run[CHAIR]
    started = time.perf_counter()
    prepared = await secretary.json("prepare the minutes", "POST", f"{run.m}/minutes/prepare",
                                    seconds=sign_timeout)
    run.timings["prepare_ms"] = (time.perf_counter() - started) * 1000
    say(f"official minutes rendered: {prepared['pages']} pages, {prepared['sha256'][:12]}… "
        f"({run.timings['prepare_ms']:.0f} ms)")
    for step, person in (("secretary_sign_ms", secretary), ("chair_sign_ms", chair_http)):
        started = time.perf_counter()
        signed = await person.json("sign the minutes", "POST", f"{run.m}/minutes/sign",
                                   json_body={"method": "pkcs12", "password": PASSWORD},
                                   seconds=sign_timeout)
        run.timings[step] = (time.perf_counter() - started) * 1000
        say(f"signed by {person.name} ({person.username}): status {signed['status']}, "
            f"{signed['sha256'][:12]}… ({run.timings[step]:.0f} ms)")
    r = await run["daibieu01"].call("download the signed minutes", "GET",
                                    f"{run.m}/minutes/files/{signed['sha256']}")
    await asyncio.to_thread(save, out, r.content)
    say(f"signed minutes written to {out} ({len(r.content):,} bytes)")

    started = time.perf_counter()
    report = await run["daibieu01"].json("verify the minutes", "GET",
                                         f"{run.m}/minutes/verify", seconds=sign_timeout)
    run.timings["verify_ms"] = (time.perf_counter() - started) * 1000
    say(f"verification: all_valid={report['all_valid']} complete={report['complete']}")
    for s in report["signatures"]:
        signer = (s.get("signer") or {}).get("name", "?")
        say(f"  {s['field']}: {signer}, {s['signing_time']}: "
            f"{'HỢP LỆ / VALID' if s['ok'] else 'KHÔNG HỢP LỆ / INVALID'} "
            f"(intact={s['intact']} trusted={s['trusted']})")
        for p in s["problems"]:
            say(f"    - {p['vi']} / {p['en']}")
    tasks = await secretary.json("export the tasks", "GET", f"{run.m}/minutes/tasks.json")
    say("tasks (conclusions → task tracking):")
    say(json.dumps(tasks, ensure_ascii=False, indent=2))
    if not report["all_valid"]:
        raise Failed("the server's verification of the signed minutes is not all valid")


# ---- the run ----


def save(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def close_everything(run: Run) -> None:
    """Close every websocket, sign every session out, close every HTTP client."""
    await asyncio.gather(*(p.live.close() for p in run.people.values() if p.live))
    for person in run.people.values():
        with contextlib.suppress(httpx.HTTPError):
            await person.http.post("/api/logout", timeout=5)
        await person.http.aclose()


async def main_async(url: str, out: Path, limit: float) -> dict[str, float]:
    """Run the whole meeting; returns how long the signing steps took (ms)."""
    run = Run(url.rstrip("/"), limit)
    try:
        await sign_in_everyone(run)
        await prepare_meeting(run)
        await answer_invitations(run)
        await open_session(run)
        await first_item(run)
        await vote(run)
        await write_minutes(run)
        await end_and_sign(run, out)
    finally:
        await close_everything(run)
    return run.timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000",
                        help="the phonghop server (default %(default)s)")
    parser.add_argument("--out", type=Path, required=True,
                        help="where to write the signed minutes (PDF)")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds any one wait or request may take (default %(default)s)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    try:
        asyncio.run(main_async(args.url, args.out, args.timeout))
    except Refused as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    except Failed as exc:
        print(f"\nTHẤT BẠI / FAILED: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an answer without a field the protocol promises, …
        traceback.print_exc()
        print(f"\nTHẤT BẠI / FAILED: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    say(f"\nHOÀN THÀNH / DONE in {(datetime.now(UTC) - started).total_seconds():.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
