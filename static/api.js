// The HTTP side of the protocol: JSON requests with the session cookie.
//
// Every request carries X-Phonghop-Request: a page of another origin cannot send that header
// without a CORS preflight the server never grants, so the server knows a cookie-carrying
// state change (even a bodiless POST or a file upload) was built by this client.

/** The header the server requires (besides JSON or a same-origin Origin) on state changes. */
export const REQUEST_HEADER = { "X-Phonghop-Request": "1" };

import { pick, t } from "./i18n.js";

/** A refused or failed request, with the server's bilingual message when there is one. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {string} code the server's refusal code, or "network" / "server"
   * @param {{vi: string, en: string}|null} message the server's message
   * @param {number|null} retryAfter seconds to wait, from Retry-After
   */
  constructor(status, code, message, retryAfter = null) {
    super(code);
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.retryAfter = retryAfter;
  }

  /**
   * What to tell the user, in the current language: the server's message when it sent one.
   * @returns {string}
   */
  describe() {
    if (this.serverMessage) return pick(this.serverMessage);
    if (this.status === 0) return t("error.network");
    return t("error.server", { status: this.status });
  }
}

/**
 * Send a JSON request to the server.
 * @param {string} method
 * @param {string} path e.g. "/api/meetings?scope=mine"
 * @param {any} [body] sent as JSON when given
 * @returns {Promise<any>} the decoded JSON answer
 * @throws {ApiError}
 */
export async function request(method, path, body) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...REQUEST_HEADER },
    cache: "no-store",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", null);
  }
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const retry = Number.parseInt(response.headers.get("retry-after") || "", 10);
    const details = data && typeof data === "object" ? data : {};
    throw new ApiError(
      response.status,
      details.code || "server",
      details.message && typeof details.message === "object" ? details.message : null,
      Number.isFinite(retry) ? retry : null,
    );
  }
  return data;
}

/**
 * Sign in; the server sets the HttpOnly session cookie. The page never sees the token
 * (the answer carries it only to API clients that ask with "client": "device").
 * @param {string} username
 * @param {string} password
 * @returns {Promise<object>} the signed-in user
 */
export async function login(username, password) {
  const data = await request("POST", "/api/login", { username, password });
  return data.user;
}

/**
 * Sign out (ends the session and its websockets).
 * @returns {Promise<void>}
 */
export async function logout() {
  await request("POST", "/api/logout");
}

/**
 * Change my own password (the old one is required); my other sessions end.
 * @param {string} oldPassword
 * @param {string} newPassword
 * @returns {Promise<void>}
 */
export async function changePassword(oldPassword, newPassword) {
  await request("POST", "/api/me/password",
    { old_password: oldPassword, new_password: newPassword });
}

/**
 * Sign out everywhere: every session of my account ends, this one included.
 * @returns {Promise<void>}
 */
export async function signOutEverywhere() {
  await request("POST", "/api/me/sessions/revoke");
}

/**
 * Every account (administrators).
 * @returns {Promise<Array<object>>}
 */
export async function listUsers() {
  return (await request("GET", "/api/users")).users || [];
}

/**
 * Create an account (administrators).
 * @param {{username: string, password: string, full_name: string, position?: string,
 *   unit?: string, is_admin?: boolean}} body
 * @returns {Promise<object>} the account
 */
export async function createUser(body) {
  return (await request("POST", "/api/users", body)).user;
}

/**
 * Edit an account's name, position, unit or administrator flag (administrators).
 * @param {number} id
 * @param {{full_name?: string, position?: string, unit?: string, is_admin?: boolean}} body
 * @returns {Promise<object>} the account
 */
export async function editUser(id, body) {
  return (await request("PATCH", `/api/users/${id}`, body)).user;
}

/**
 * Disable or enable an account (administrators); disabling ends its sessions.
 * @param {number} id
 * @param {boolean} disabled
 * @returns {Promise<object>} the account
 */
export async function setUserDisabled(id, disabled) {
  return (await request("POST", `/api/users/${id}/${disabled ? "disable" : "enable"}`)).user;
}

/**
 * Reset an account's password (administrators); its sessions end.
 * @param {number} id
 * @param {string} password
 * @returns {Promise<void>}
 */
export async function resetPassword(id, password) {
  await request("POST", `/api/users/${id}/password`, { new_password: password });
}

/**
 * The signed-in user, or null when not signed in.
 * @returns {Promise<object|null>}
 * @throws {ApiError} for anything but "not signed in"
 */
export async function currentUser() {
  try {
    return (await request("GET", "/api/me")).user;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/**
 * Meetings I take part in ("mine") or, for administrators, every meeting ("all").
 * @param {"mine"|"all"} scope
 * @returns {Promise<Array<object>>}
 */
export async function listMeetings(scope = "mine") {
  const data = await request("GET", `/api/meetings?scope=${encodeURIComponent(scope)}`);
  return data.meetings || [];
}

/**
 * Send a file's raw bytes (e.g. `POST /api/meetings/{id}/files?name=…`), reporting progress.
 * XMLHttpRequest rather than fetch: fetch cannot tell how much of the body has been sent.
 * @param {string} path
 * @param {Blob} body
 * @param {(fraction: number) => void} [onProgress] 0..1 of the bytes sent
 * @returns {Promise<any>} the decoded JSON answer
 * @throws {ApiError}
 */
export function uploadRaw(path, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(REQUEST_HEADER)) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Content-Type", body.type || "application/octet-stream");
    if (onProgress) {
      xhr.upload.addEventListener("progress", (ev) => {
        if (ev.lengthComputable && ev.total) onProgress(ev.loaded / ev.total);
      });
    }
    xhr.onerror = () => reject(new ApiError(0, "network", null));
    xhr.onabort = () => reject(new ApiError(0, "network", null));
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const details = data && typeof data === "object" ? data : {};
      const retry = Number.parseInt(xhr.getResponseHeader("retry-after") || "", 10);
      reject(new ApiError(
        xhr.status,
        details.code || "server",
        details.message && typeof details.message === "object" ? details.message : null,
        Number.isFinite(retry) ? retry : null,
      ));
    };
    xhr.send(body);
  });
}

/**
 * Paths of a meeting's documents.
 * @param {number} meetingId
 * @param {number} [documentId]
 * @returns {string} "/api/meetings/ID/documents[/DOC]"
 */
export function documentPath(meetingId, documentId) {
  const base = `/api/meetings/${meetingId}/documents`;
  return documentId == null ? base : `${base}/${documentId}`;
}

/**
 * The URL of one page image.
 * @param {number} meetingId
 * @param {object} doc Document (its id and version)
 * @param {number} page 1-based
 * @param {"thumb"|"tablet"|"hd"} size
 * @returns {string}
 */
export function pageUrl(meetingId, doc, page, size) {
  return `${documentPath(meetingId, doc.id)}/pages/${page}?size=${size}&v=${doc.version}`;
}
