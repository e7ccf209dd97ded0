// The room state on the client, and how each event changes it.
//
// Mirrors the room's handlers (rooms/apply.py and each feature's plugin, e.g.
// documents/room.py) handler by handler: every event's `data` carries the changed
// entity as the server dumped it, so applying an event replaces one entity. The state is
// kept in the shape of rooms/state.py (maps keyed by id plus the agenda order), built
// from the snapshot's room view (meeting_room.room_view).

import { documentPages, dropDocument, markEvent, pageSummaries } from "./marks.js";

const NOTICES_KEPT = 50;

/**
 * @typedef {Object} RoomState
 * @property {number} seq
 * @property {object|null} meeting MeetingInfo
 * @property {Map<number, object>} sites
 * @property {Map<number, object>} participants Participant by user id
 * @property {Map<number, object>} attendance Attendance by user id
 * @property {Map<number, string>} rsvpReasons
 * @property {Map<number, string>} absenceReasons (organisers: all; a member: their own)
 * @property {Map<number, object>} substituteRequests pending SubstituteRequest by member id
 *   (organisers: all; a member: their own)
 * @property {Map<number, object>} items AgendaItem by id
 * @property {number[]} order agenda item ids in order
 * @property {number|null} activeItem
 * @property {object[]} queue FloorRequest list
 * @property {object|null} speaker
 * @property {object[]} notices
 * @property {{present: number, total: number, reached: boolean}|null} figures the live
 *   quorum as the server counts it (kept current by `quorum.changed`)
 * @property {Map<number, object>} documents Document by id (those I know of)
 * @property {Map<string, {count: number, rev: number}>} marks the pages with shared marks
 *   (on those documents), by `pageKey` (marks.js)
 * @property {Map<string, import("./marks.js").PageMarks>} pages the shared marks of the
 *   pages this device fetched
 * @property {object|null} presentation what is being presented, or null
 * @property {Map<number, object>} polls Poll by id (those I may see: drafts are the
 *   organisers')
 */

/**
 * Build the client state from a snapshot's `room` view.
 * @param {object} room the view (meeting_room.room_view)
 * @param {number} seq the snapshot's seq
 * @returns {RoomState}
 */
export function fromView(room, seq) {
  const byKey = (list, key) => new Map((list || []).map((x) => [x[key], x]));
  const agenda = room.agenda || [];
  return {
    seq,
    meeting: room.meeting || null,
    sites: byKey(room.sites, "id"),
    participants: byKey(room.participants, "user_id"),
    attendance: byKey(room.attendance, "user_id"),
    rsvpReasons: byNumber(room.rsvp_reasons),
    absenceReasons: byNumber(room.absence_reasons),
    substituteRequests: byNumber(room.substitute_requests),
    items: byKey(agenda, "id"),
    order: agenda.map((item) => item.id),
    activeItem: room.active_item ?? null,
    queue: [...(room.queue || [])],
    speaker: room.speaker || null,
    notices: [...(room.notices || [])],
    figures: room.quorum || null,
    documents: byKey(room.documents, "id"),
    marks: pageSummaries(room.marks),
    pages: new Map(),
    presentation: room.presentation || null,
    polls: byKey(room.polls, "id"),
    minutes: { ...(room.minutes || { status: "draft", signatures: [] }) },
  };
}

/**
 * The state back in the shape of the room view (`fromView(toView(s), s.seq)` rebuilds it):
 * what a reloaded page starts from (resume.js).
 * @param {RoomState} s
 * @returns {object}
 */
export function toView(s) {
  const byNumberKey = (map) => Object.fromEntries([...map].map(([k, v]) => [String(k), v]));
  return {
    meeting: s.meeting, sites: [...s.sites.values()],
    participants: [...s.participants.values()], attendance: [...s.attendance.values()],
    rsvp_reasons: byNumberKey(s.rsvpReasons), absence_reasons: byNumberKey(s.absenceReasons),
    substitute_requests: byNumberKey(s.substituteRequests),
    agenda: s.order.map((id) => s.items.get(id)), active_item: s.activeItem,
    queue: s.queue, speaker: s.speaker, notices: s.notices, quorum: s.figures,
    documents: [...s.documents.values()],
    marks: [...s.marks].map(([key, p]) => {
      const [document_id, version, page] = key.split(":").map(Number);
      return { document_id, version, page, ...p };
    }),
    presentation: s.presentation, polls: [...s.polls.values()], minutes: s.minutes,
  };
}

/** A map keyed by number from a JSON object keyed by numeric strings. */
function byNumber(obj) {
  return new Map(Object.entries(obj || {}).map(([k, v]) => [Number(k), v]));
}

// kind -> handler(state, data) returning the parts of the view it changed.
const HANDLERS = new Map();

function on(kinds, fn) {
  for (const kind of kinds) HANDLERS.set(kind, fn);
}

on(["meeting.created", "meeting.updated", "meeting.invited", "session.started"], (s, d) => {
  s.meeting = d.meeting;
  return ["meeting"];
});

on(["session.ended"], (s, d) => {
  s.meeting = d.meeting;
  s.activeItem = null;
  s.queue = [];
  s.speaker = null;
  s.presentation = null;
  if (d.item) s.items.set(d.item.id, d.item);
  return ["meeting", "agenda", "queue", "speaker", "presentation"];
});

on(["site.added"], (s, d) => {
  s.sites.set(d.site.id, d.site);
  return ["sites"];
});

on(["participant.added", "participant.updated", "rsvp.answered"], (s, d) => {
  s.participants.set(d.participant.user_id, d.participant);
  return ["participants"];
});

on(["participant.removed"], (s, d) => {
  const uid = d.user_id;
  s.participants.delete(uid);
  s.queue = s.queue.filter((r) => r.user_id !== uid);
  s.attendance.delete(uid);
  s.rsvpReasons.delete(uid);
  s.absenceReasons.delete(uid);
  s.substituteRequests.delete(uid);
  if (s.speaker && s.speaker.user_id === uid) s.speaker = null;
  return ["participants", "attendance", "queue", "speaker"];
});

on(["rsvp.reason"], (s, d) => {
  s.rsvpReasons.set(d.user_id, d.reason);
  return ["participants"];
});

on(["agenda.added", "agenda.updated", "agenda.completed", "agenda.deferred"], (s, d) => {
  const item = d.item;
  if (!s.items.has(item.id)) s.order = [...s.order, item.id];
  s.items.set(item.id, item);
  if (s.activeItem === item.id && item.status !== "active") s.activeItem = null;
  return ["agenda"];
});

on(["agenda.activated"], (s, d) => {
  s.items.set(d.item.id, d.item);
  if (d.paused) s.items.set(d.paused.id, d.paused);
  s.activeItem = d.item.id;
  return ["agenda"];
});

on(["agenda.removed"], (s, d) => {
  s.items.delete(d.item_id);
  s.order = s.order.filter((id) => id !== d.item_id);
  return ["agenda"];
});

on(["agenda.reordered"], (s, d) => {
  s.order = [...d.order];
  return ["agenda"];
});

on(["attendance.checked_in", "attendance.absent"], (s, d) => {
  s.attendance.set(d.attendance.user_id, d.attendance);
  s.absenceReasons.delete(d.attendance.user_id);
  return ["attendance"];
});

on(["absence.reason"], (s, d) => {
  s.absenceReasons.set(d.user_id, d.reason);
  return ["attendance"];
});

on(["substitute.requested"], (s, d) => {
  s.substituteRequests.set(d.request.member_id, d.request);
  return ["participants"];
});

on(["substitute.approved", "substitute.refused", "substitute.withdrawn"], (s, d) => {
  s.substituteRequests.delete(d.user_id);
  return ["participants"];
});

// An announcement (shown by the room): the participant.* events of the command carry the
// change itself.
on(["role.changed"], () => ["participants"]);

on(["floor.requested"], (s, d) => {
  s.queue = [...s.queue, d.request];
  return ["queue"];
});

on(["floor.withdrawn"], (s, d) => {
  s.queue = s.queue.filter((r) => r.user_id !== d.user_id);
  return ["queue"];
});

on(["floor.granted", "floor.extended"], (s, d) => {
  s.speaker = d.speaker;
  s.queue = s.queue.filter((r) => r.user_id !== d.speaker.user_id);
  return ["speaker", "queue"];
});

on(["floor.ended"], (s) => {
  s.speaker = null;
  return ["speaker"];
});

on(["quorum.changed"], (s, d) => {
  s.figures = d.quorum;
  return ["quorum"];
});

on(["notice.posted"], (s, d) => {
  s.notices = [...s.notices, d.notice].slice(-NOTICES_KEPT);
  return ["notices"];
});

// ---- documents (documents/room.py) ----

on(["document.attached", "document.updated"], (s, d) => {
  // A confidential document reaches organisers who are not its viewers as a sealed entry
  // ({id, classification, viewers, item_id, added_by, added_at, sealed: true}); its viewers
  // get the whole document after it. A change of readers brings the shared marks along.
  s.documents.set(d.document.id, d.document);
  if (d.marks) documentPages(s, d.marks);
  return d.marks ? ["documents", "annotations"] : ["documents"];
});

on(["document.revoked", "document.removed"], (s, d) => {
  s.documents.delete(d.document_id);
  dropDocument(s, d.document_id);
  return ["documents", "annotations"];
});

on(["presentation.started", "presentation.moved"], (s, d) => {
  s.presentation = d.presentation;
  return ["presentation"];
});

on(["presentation.stopped"], (s) => {
  s.presentation = null;
  return ["presentation"];
});

on(["annotation.added", "annotation.removed", "annotation.cleared"], markEvent);

// ---- minutes (minutes/): the draft reaches the organisers only; signatures, everyone ----

/** Sorted by a key, as the server lists sections and conclusions. */
const sortedBy = (list, key) =>
  [...list].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));

/** A change to the draft: the PDF prepared from the old draft is no longer it. */
function draftChanged(s, fields) {
  s.minutes = { ...s.minutes, prepared_sha256: null, prepared_pages: 0, ...fields };
  return ["minutes"];
}

on(["minutes.settings"], (s, d) => draftChanged(s, d));

on(["minutes.edited"], (s, d) => {
  const others = (s.minutes.sections || []).filter((x) => x.key !== d.section.key);
  return draftChanged(s, { sections: sortedBy([...others, d.section], "key") });
});

on(["conclusion.added", "conclusion.updated"], (s, d) => {
  const others = (s.minutes.conclusions || []).filter((x) => x.id !== d.conclusion.id);
  return draftChanged(s, { conclusions: sortedBy([...others, d.conclusion], "id") });
});

on(["conclusion.removed"], (s, d) => draftChanged(s, {
  conclusions: (s.minutes.conclusions || []).filter((x) => x.id !== d.conclusion_id),
}));

on(["minutes.prepared"], (s, d) => {
  s.minutes = { ...s.minutes, prepared_sha256: d.sha256, prepared_pages: d.pages };
  return ["minutes"];
});

on(["minutes.signed"], (s, d) => {
  s.minutes = { ...s.minutes, status: d.status, signatures: [...(s.minutes.signatures || []), d.signature] };
  return ["minutes"];
});

// ---- polls (voting/): lifecycle events carry the poll, or the fields that changed ----

/** Replace some fields of a known poll (an event about a poll I never saw changes nothing). */
function patchPoll(s, pollId, fields) {
  const poll = s.polls.get(pollId);
  if (!poll) return [];
  s.polls.set(pollId, { ...poll, ...fields });
  return ["polls"];
}

on(["poll.created", "poll.updated", "poll.opened"], (s, d) => {
  let poll = d.poll;
  const before = s.polls.get(poll.id);
  if (poll.board && before && before.board && before.board.poll_uid === poll.board.poll_uid) {
    // The same ceremony: the shares dealt so far stay (events carry the poll without them).
    poll = { ...poll, board: { ...poll.board, shares: before.board.shares || {} } };
  }
  s.polls.set(poll.id, poll);
  return ["polls"];
});

on(["poll.progress"], (s, d) =>
  patchPoll(s, d.poll_id, { progress: { voted: d.voted, eligible: d.eligible } }));

on(["poll.closed"], (s, d) => {
  const fields = { closed_at: d.closed_at, status: d.status };
  const poll = s.polls.get(d.poll_id);
  if (d.counting && poll && poll.board) {
    // An encrypted poll: the count waits for the board's partial decryptions.
    fields.counting = true;
    fields.board = { ...poll.board, aggregate: d.aggregate, cast: d.cast, present: d.present,
      total: d.total };
  }
  return patchPoll(s, d.poll_id, fields);
});

on(["poll.result"], (s, d) => patchPoll(s, d.poll_id, { result: d.result, counting: false }));

on(["poll.published"], (s, d) => patchPoll(s, d.poll_id,
  { status: "published", published_at: d.published_at, result: d.result, counting: false }));

on(["poll.cancelled"], (s, d) => patchPoll(s, d.poll_id, { status: "cancelled" }));

on(["poll.voided"], (s, d) => patchPoll(s, d.poll_id, { status: "void", counting: false }));

// ---- the counting board of an encrypted poll (voting/counting_board.py) ----

/** Change a poll's board (an event about a board I never saw changes nothing). */
function patchBoard(s, pollId, change) {
  const poll = s.polls.get(pollId);
  if (!poll || !poll.board) return [];
  s.polls.set(pollId, { ...poll, board: { ...poll.board, ...change(poll.board) } });
  return ["polls"];
}

on(["board.round1"], (s, d) => patchBoard(s, d.poll_id, (b) => ({ status: d.status,
  round1: { ...b.round1, [String(d.index)]: d.message } })));

on(["board.shares"], (s, d) => patchBoard(s, d.poll_id, (b) => ({
  shares: { ...(b.shares || {}), [String(d.index)]: d.shares } })));

on(["board.dealt"], (s, d) => patchBoard(s, d.poll_id, (b) => ({ status: d.status,
  dealt: [...(b.dealt || []), d.index] })));

on(["board.confirmed"], (s, d) => patchBoard(s, d.poll_id, (b) => ({ status: d.status,
  confirmed: [...(b.confirmed || []), d.index] })));

// The shares were delivered; nobody needs them any more.
on(["board.ready"], (s, d) => patchBoard(s, d.poll_id, () => ({ status: "ready",
  public_key: d.public_key, context: d.context, verification_keys: d.verification_keys,
  shares: {} })));

on(["board.failed"], (s, d) => patchBoard(s, d.poll_id, () => ({ status: "failed",
  complaint: d.complaint })));

on(["board.restarted"], (s, d) => patchPoll(s, d.poll_id, { board: d.board }));

on(["board.partial"], (s, d) => patchBoard(s, d.poll_id, (b) => ({
  partials: { ...(b.partials || {}), [String(d.index)]: d.partials } })));

/**
 * Apply one event to the state, in place (as meeting_room's `apply` does to a copy).
 * Unknown kinds change nothing but the seq, so a newer server does not break the page.
 * @param {RoomState} state
 * @param {{kind: string, seq: number, data: object}} event
 * @returns {Set<string>} the parts of the view that changed
 */
export function applyEvent(state, event) {
  const handler = HANDLERS.get(event.kind);
  const seq = event.seq || state.seq + 1;
  const changed = new Set(handler ? handler(state, event.data || {}, seq, event.kind) : []);
  state.seq = seq;
  return changed;
}

/**
 * Voting members, substitutes excluded (they count for their member).
 * @param {RoomState} state
 * @returns {object[]}
 */
export function votingMembers(state) {
  return [...state.participants.values()].filter((p) => p.voting && p.substitute_for == null);
}

/**
 * Whether a user is checked in.
 * @param {RoomState} state
 * @param {number|null|undefined} userId
 * @returns {boolean}
 */
export function isPresent(state, userId) {
  if (userId == null) return false;
  const a = state.attendance.get(userId);
  return Boolean(a && a.status === "present");
}

/**
 * The live quorum. The server counts it and sends `quorum.changed` (with a roster kept to
 * the organisers, other clients could not count it anyway); only when a snapshot carries no
 * figures is it counted here, with the same rule as rooms/state.py: voting members present
 * in person or (while an approved substitute stands in) through the substitute, compared
 * in exact integer arithmetic.
 * @param {RoomState} state
 * @returns {{present: number, total: number, reached: boolean, rule: {num: number, den: number, strict: boolean}}}
 */
export function quorum(state) {
  const rule = (state.meeting && state.meeting.quorum) || { num: 1, den: 2, strict: true };
  if (state.figures) return { ...state.figures, rule };
  const members = votingMembers(state);
  let present = 0;
  for (const p of members) {
    // An approved substitute's check-in counts for the member, whose own pauses meanwhile.
    if (isPresent(state, p.substitute_user_id ?? p.user_id)) present += 1;
  }
  const total = members.length;
  let reached = false;
  if (total > 0) {
    reached = rule.strict
      ? present * rule.den > rule.num * total
      : present * rule.den >= rule.num * total;
  }
  return { present, total, reached, rule };
}

/**
 * Seconds an agenda item has been discussed at `nowMs` (earlier runs plus the current one).
 * @param {object} item AgendaItem
 * @param {number} nowMs epoch ms on the server clock
 * @param {(iso: string) => number} parse ISO parser
 * @returns {number}
 */
export function itemElapsed(item, nowMs, parse) {
  let seconds = item.spent_seconds || 0;
  if (item.status === "active" && item.started_at) {
    const began = parse(item.started_at);
    if (!Number.isNaN(began)) seconds += Math.max(0, Math.floor((nowMs - began) / 1000));
  }
  return seconds;
}

/**
 * Seconds the speaker has left at `nowMs` (negative when over time).
 * @param {object} speaker Speaker
 * @param {number} nowMs
 * @param {(iso: string) => number} parse
 * @returns {number}
 */
export function speakerRemaining(speaker, nowMs, parse) {
  const since = parse(speaker.since);
  if (Number.isNaN(since)) return speaker.seconds;
  return speaker.seconds - Math.floor((nowMs - since) / 1000);
}

/**
 * The number of pages of a document (one size per page).
 * @param {object} doc Document
 * @returns {number}
 */
export function pageCount(doc) {
  return doc && doc.sizes ? doc.sizes.length : 0;
}

/**
 * Whether a user may read a document's pages (documents/room.py `may_read`). The client
 * holds only documents its user may know of; of those, confidential ones are read by the
 * named viewers only.
 * @param {object} doc Document
 * @param {number} userId
 * @returns {boolean}
 */
export function mayRead(doc, userId) {
  if (!doc || doc.sealed) return false;
  if (doc.classification === "confidential") return (doc.viewers || []).includes(userId);
  return true;
}

/**
 * Whether a user may present (documents/room.py `may_present`): the chair, presenters,
 * and the presenter of the item under discussion.
 * @param {RoomState} state
 * @param {number} userId
 * @returns {boolean}
 */
export function mayPresent(state, userId) {
  const p = state.participants.get(userId);
  if (p && (p.role === "chair" || p.role === "presenter")) return true;
  const item = state.activeItem != null ? state.items.get(state.activeItem) : null;
  return Boolean(item && item.presenter_id === userId);
}

/**
 * Whether a user may draw shared marks (documents/room.py `may_draw_shared`): presenters,
 * the chair, the secretary, and the one presenting.
 * @param {RoomState} state
 * @param {number} userId
 * @returns {boolean}
 */
export function mayDrawShared(state, userId) {
  const p = state.participants.get(userId);
  if ((p && p.role === "secretary") || mayPresent(state, userId)) return true;
  return Boolean(state.presentation && state.presentation.by === userId);
}
