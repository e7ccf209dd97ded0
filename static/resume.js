// A reloaded page resumes where it was: the room as this tab last had it, kept in the
// tab's sessionStorage when the page goes away, joins with `since` (the server replays
// what was missed, or sends a snapshot when that is too far back) instead of asking for
// the whole room again. Kept per tab (sessionStorage ends with the tab) and per user, and
// forgotten at sign-out, since it holds what this user may see of the meeting.

import { fromView, toView } from "./reducer.js";

const PREFIX = "phonghop.room.";
const MAX_CHARS = 2_000_000; // a roster of thousands for an organiser: not kept, joined anew

/**
 * Keep the room as this tab has it.
 * @param {number} meetingId
 * @param {number} userId
 * @param {object} state the reducer's state
 * @param {object} me
 * @param {number[]} online who was online (presence changes follow the resume)
 */
export function keepRoom(meetingId, userId, state, me, online) {
  try {
    const text = JSON.stringify({ userId, seq: state.seq, me, online, view: toView(state) });
    if (text.length > MAX_CHARS) sessionStorage.removeItem(PREFIX + meetingId);
    else sessionStorage.setItem(PREFIX + meetingId, text);
  } catch {
    /* storage full or refused: the next load joins anew */
  }
}

/**
 * The room this tab kept for `userId`, taken (so that it is used once), or null.
 * @returns {{state: object, me: object, online: number[]}|null}
 */
export function takeRoom(meetingId, userId) {
  try {
    const text = sessionStorage.getItem(PREFIX + meetingId);
    sessionStorage.removeItem(PREFIX + meetingId);
    if (!text) return null;
    const kept = JSON.parse(text);
    if (kept.userId !== userId || !Number.isInteger(kept.seq)) return null;
    return { state: fromView(kept.view, kept.seq), me: kept.me, online: kept.online || [] };
  } catch {
    return null;
  }
}

/** Forget every room this tab kept (sign-out: the next user of the tablet sees none). */
export function forgetRooms() {
  try {
    for (const key of Object.keys(sessionStorage)) {
      if (key.startsWith(PREFIX)) sessionStorage.removeItem(key);
    }
  } catch {
    /* nothing kept */
  }
}
