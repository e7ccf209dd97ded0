// Shared marks, page by page (documents/marks.py on the server).
//
// The room view says only which pages have shared marks: how many, and the page's
// revision (the seq of its last change). A page's marks are fetched when it is shown, then
// kept current by the `annotation.*` events; a page fetched once is not fetched again while
// its revision stands. So a device holds the marks of the pages it showed, never the
// whole meeting's ink, and a long meeting's snapshot stays small.

import { documentPath } from "./api.js";
import { withPoints } from "./path.js";

/**
 * @typedef {Object} PageMarks the marks of one page on this device
 * @property {number} rev the page's revision these marks are at
 * @property {Map<number, object>|null} marks Annotation by id; null while being fetched
 * @property {Array<[number, string, object]>|null} held events that arrived during the
 *   fetch ([seq, kind, data]), applied over its answer
 */

/** The key of a page: document id, version and page number. */
export const pageKey = (documentId, version, page) => `${documentId}:${version}:${page}`;

const keyOf = (d) => pageKey(d.document_id, d.version, d.page);
const FETCH_ATTEMPTS = 4;
const RETRY_MS = 250; // then 500, 750: a node behind catches up within a heartbeat
const FETCH_TIMEOUT_MS = 20000; // a stalled request is given up (and asked again later)

/**
 * The pages with marks, from the room view's `marks`.
 * @param {object[]} list [{document_id, version, page, count, rev}]
 * @returns {Map<string, {count: number, rev: number}>}
 */
export function pageSummaries(list) {
  return new Map((list || []).map((p) => [keyOf(p), { count: p.count, rev: p.rev }]));
}

/**
 * Keep what this device fetched before a new snapshot, for the pages unchanged since.
 * @param {{pages: Map<string, PageMarks>}|null} before the state the snapshot replaces
 * @param {{marks: Map, pages: Map<string, PageMarks>}} after
 */
export function keepFetched(before, after) {
  if (!before) return;
  for (const [key, entry] of before.pages) {
    const now = after.marks.get(key);
    if (entry.marks && (now ? now.rev === entry.rev : entry.marks.size === 0)) {
      after.pages.set(key, entry);
    }
  }
}

// ---- the reducer's part: each event changes the counts, and the page if fetched ----

function counted(s, key, delta, seq) {
  const count = (s.marks.get(key)?.count || 0) + delta;
  if (count > 0) s.marks.set(key, { count, rev: seq });
  else s.marks.delete(key);
}

function onPage(s, key, seq, kind, data, change) {
  const entry = s.pages.get(key);
  if (!entry) return;
  if (entry.marks) {
    change(entry.marks);
    entry.rev = s.marks.get(key)?.rev || 0;
  } else {
    entry.held.push([seq, kind, data]);
  }
}

const CHANGES = {
  "annotation.added": (d) => (marks) => marks.set(d.annotation.id, d.annotation),
  "annotation.removed": (d) => (marks) => marks.delete(d.annotation_id),
  "annotation.cleared": (d) => (marks) => {
    for (const [id, a] of marks) if (d.owner == null || a.owner === d.owner) marks.delete(id);
  },
};

/**
 * Apply an `annotation.*` event to the counts and to the page if this device has it.
 * @returns {string[]} the parts of the view changed
 */
export function markEvent(s, d, seq, kind) {
  // The stroke arrives as a path: its points once, here, for every reader after this one
  // (the page's marks, held events, the viewer).
  if (kind === "annotation.added") d.annotation = withPoints(d.annotation);
  const key = kind === "annotation.added" ? keyOf(d.annotation) : keyOf(d);
  const delta = kind === "annotation.added" ? 1
    : kind === "annotation.removed" ? -1 : -(d.removed || 0);
  counted(s, key, delta, seq);
  onPage(s, key, seq, kind, d, CHANGES[kind](d));
  return ["annotations"];
}

/** A document left this device's view (removed, or no longer readable). */
export function dropDocument(s, documentId) {
  const prefix = `${documentId}:`;
  for (const key of [...s.marks.keys()]) if (key.startsWith(prefix)) s.marks.delete(key);
  for (const key of [...s.pages.keys()]) if (key.startsWith(prefix)) s.pages.delete(key);
}

/** A document became readable: which of its pages have marks (fetched when shown). */
export function documentPages(s, list) {
  for (const [key, summary] of pageSummaries(list)) {
    s.marks.set(key, summary);
    s.pages.delete(key);
  }
}

// ---- what the viewer shows ----

/**
 * The shared marks of a page, or null while they are being fetched.
 * @returns {Iterable<object>|null}
 */
export function marksOn(s, documentId, version, page) {
  const entry = s.pages.get(pageKey(documentId, version, page));
  return entry && entry.marks ? entry.marks.values() : null;
}

/**
 * Make sure a page's marks are here or on their way; resolves true when they arrived
 * (repaint), false when there was nothing to fetch or the fetch failed (tried again the
 * next time the page is shown).
 * @param {object} s the room state
 * @param {number} meetingId
 * @param {{id: number, version: number}} doc
 * @param {number} page
 * @returns {Promise<boolean>}
 */
export async function fetchPage(s, meetingId, doc, page) {
  const key = pageKey(doc.id, doc.version, page);
  const summary = s.marks.get(key);
  const have = s.pages.get(key);
  if (have && (!have.marks || have.rev === (summary ? summary.rev : have.rev))) return false;
  if (!summary) { // no marks on it: nothing to ask
    s.pages.set(key, { rev: 0, marks: new Map(), held: null });
    return false;
  }
  const entry = { rev: summary.rev, marks: null, held: [] };
  s.pages.set(key, entry);
  const url = `${documentPath(meetingId, doc.id)}/pages/${page}/marks?v=${doc.version}`;
  for (let attempt = 0; attempt < FETCH_ATTEMPTS; attempt += 1) {
    if (attempt) await new Promise((done) => { setTimeout(done, RETRY_MS * attempt); });
    if (s.pages.get(key) !== entry) return false; // dropped meanwhile (document revoked)
    const from = s.seq;
    const expected = s.marks.get(key)?.rev || 0;
    let body;
    try {
      // Revalidated with its ETag (the page's revision): unchanged, the cached answer.
      const r = await fetch(url, { credentials: "same-origin", cache: "no-cache",
        headers: { Accept: "application/json" }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!r.ok) throw new Error(String(r.status));
      body = await r.json();
    } catch {
      break;
    }
    if (s.pages.get(key) !== entry) return false;
    // The answer holds the page as of body.seq at least. It is this device's page when it
    // is that new, or when it is at the revision this device knows (a cached answer: the
    // page has not changed since); else it came from a node behind the events this
    // device applied already: asked again.
    if (body.seq < from && body.rev !== expected) continue;
    const marks = new Map();
    for (const a of body.marks) {
      try {
        marks.set(a.id, withPoints(a));
      } catch (err) {
        console.error("a shared mark that cannot be read", a.id, err); // never written so
      }
    }
    for (const [seq, kind, data] of entry.held) {
      if (seq > Math.max(body.seq, body.rev)) CHANGES[kind](data)(marks);
    }
    entry.marks = marks;
    entry.held = null;
    entry.rev = s.marks.get(key)?.rev || 0;
    return true;
  }
  if (s.pages.get(key) === entry) s.pages.delete(key); // tried again when next painted
  return false;
}
