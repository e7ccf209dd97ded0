// My private annotations ("Ghi chú riêng"): kept by the server for me alone, outside the
// room log, over HTTP. Marks show at once; saving retries in the background with the same
// `client_id`, which the server answers with the first copy, so a retry never doubles one.

import { ApiError, documentPath, request } from "./api.js";
import { encodePath, withPoints } from "./path.js";

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const RETRY_TRIES = 12;

function clientId() {
  const a = new Uint8Array(12);
  crypto.getRandomValues(a);
  return `n-${Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function retryable(err) {
  return err instanceof ApiError &&
    (err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** My private annotations of one meeting's documents. */
export class MyNotes {
  /**
   * @param {number} meetingId
   * @param {Object} hooks
   * @param {() => void} hooks.changed something shown changed
   * @param {(err: ApiError) => void} hooks.failed a save or erase failed for good
   */
  constructor(meetingId, hooks) {
    this.meetingId = meetingId;
    this.hooks = hooks;
    /** @type {Map<number, {state: "loading"|"ready"|"error", marks: Map<string, object>}>} */
    this.docs = new Map();
    this.stopped = false;
  }

  stop() {
    this.stopped = true;
  }

  base(docId) {
    return `${documentPath(this.meetingId, docId)}/my-annotations`;
  }

  entry(docId) {
    let e = this.docs.get(docId);
    if (!e) {
      e = { state: "loading", marks: new Map() };
      this.docs.set(docId, e);
    }
    return e;
  }

  /**
   * Load my marks on a document (once; `force` loads again, e.g. after a reconnect).
   * @param {number} docId
   * @param {boolean} [force]
   * @returns {Promise<void>}
   */
  async load(docId, force = false) {
    const known = this.docs.get(docId);
    if (known && !force && known.state !== "error") return;
    const e = this.entry(docId);
    e.state = "loading";
    try {
      const data = await request("GET", this.base(docId));
      const fresh = new Map();
      for (const a of (data && data.annotations) || []) fresh.set(String(a.id), withPoints(a));
      // Marks drawn while loading are kept (they are being saved).
      for (const [key, m] of e.marks) if (m.pending) fresh.set(key, m);
      e.marks = fresh;
      e.state = "ready";
    } catch (err) {
      e.state = "error";
      if (!(err instanceof ApiError)) throw err;
    }
    if (!this.stopped) this.hooks.changed();
  }

  /**
   * My marks on a page of a version, in the order drawn.
   * @param {number} docId
   * @param {number} version
   * @param {number} page
   * @returns {object[]}
   */
  onPage(docId, version, page) {
    const e = this.docs.get(docId);
    if (!e) return [];
    return [...e.marks.values()].filter((m) => m.version === version && m.page === page);
  }

  /**
   * Whether my marks on a document could not be loaded.
   * @param {number} docId
   * @returns {boolean}
   */
  failed(docId) {
    const e = this.docs.get(docId);
    return Boolean(e && e.state === "error");
  }

  /**
   * Add a mark: shown now, saved in the background.
   * @param {object} doc Document (id, version)
   * @param {{page: number, kind: string, points: number[], color: string, width: number, text?: string}} mark
   * @returns {object} the local mark (its `id` becomes the server's once saved)
   */
  add(doc, mark) {
    const e = this.entry(doc.id);
    const cid = clientId();
    const local = { ...mark, id: `local:${cid}`, client_id: cid, document_id: doc.id,
      version: doc.version, scope: "private", pending: true };
    e.marks.set(local.id, local);
    this.save(doc.id, local);
    this.hooks.changed();
    return local;
  }

  async save(docId, local) {
    const body = { client_id: local.client_id, page: local.page, kind: local.kind,
      path: encodePath(local.points), color: local.color, width: local.width };
    if (local.text) body.text = local.text;
    const e = this.entry(docId);
    for (let tries = 0; !this.stopped; tries += 1) {
      try {
        const data = await request("POST", this.base(docId), body);
        const saved = data && data.annotation;
        if (!saved) throw new ApiError(500, "server", null);
        e.marks.delete(local.id);
        local.pending = false;
        if (local.erased) {
          // Erased while it was being saved: erase the saved one too.
          this.erase(docId, { ...saved });
        } else {
          Object.assign(local, withPoints(saved));
          e.marks.set(String(saved.id), local);
        }
        this.hooks.changed();
        return;
      } catch (err) {
        if (!retryable(err) || tries >= RETRY_TRIES) {
          e.marks.delete(local.id);
          this.hooks.changed();
          if (!local.erased) this.hooks.failed(err);
          return;
        }
        await sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** tries));
      }
    }
  }

  /**
   * Erase one of my marks.
   * @param {number} docId
   * @param {object} mark
   */
  remove(docId, mark) {
    const e = this.entry(docId);
    e.marks.delete(String(mark.id));
    if (mark.pending) {
      mark.erased = true; // erased once saved
    } else {
      this.erase(docId, mark);
    }
    this.hooks.changed();
  }

  async erase(docId, mark) {
    for (let tries = 0; !this.stopped; tries += 1) {
      try {
        await request("DELETE", `${this.base(docId)}/${mark.id}`);
        return;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return; // already gone
        if (!retryable(err) || tries >= RETRY_TRIES) {
          this.hooks.failed(err);
          return;
        }
        await sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** tries));
      }
    }
  }

  /**
   * Erase all my marks on a page of the document's current version.
   * @param {object} doc
   * @param {number} page
   * @returns {object[]} the marks erased (for undo)
   */
  clear(doc, page) {
    const gone = this.onPage(doc.id, doc.version, page);
    if (!gone.length) return [];
    const e = this.entry(doc.id);
    for (const m of gone) {
      e.marks.delete(String(m.id));
      if (m.pending) m.erased = true;
    }
    this.hooks.changed();
    (async () => {
      for (let tries = 0; !this.stopped; tries += 1) {
        try {
          await request("POST", `${this.base(doc.id)}/clear`, { page });
          return;
        } catch (err) {
          if (!retryable(err) || tries >= RETRY_TRIES) {
            this.hooks.failed(err);
            return;
          }
          await sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** tries));
        }
      }
    })();
    return gone;
  }
}
