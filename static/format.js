// Dates, times and durations for display, and the server clock.

import { locale } from "./i18n.js";

let offsetMs = 0; // server clock minus local clock

/**
 * Parse an ISO 8601 timestamp (any number of fraction digits) to epoch milliseconds.
 * @param {string|null|undefined} iso
 * @returns {number} NaN when missing or unreadable
 */
export function parseTime(iso) {
  if (!iso) return NaN;
  // Keep at most milliseconds: some engines refuse microsecond fractions.
  return Date.parse(String(iso).replace(/(\.\d{3})\d+/, "$1"));
}

/**
 * Record the server's clock as observed at local time `localMs`.
 * @param {string} serverIso the server's time
 * @param {number} [localMs] local epoch ms at which it was valid (default: now)
 */
export function syncClock(serverIso, localMs = Date.now()) {
  const server = parseTime(serverIso);
  if (!Number.isNaN(server)) offsetMs = server - localMs;
}

/**
 * The current time on the server's clock (epoch ms): timers use it, so a tablet whose
 * clock is wrong still shows the right countdown.
 * @returns {number}
 */
export function serverNow() {
  return Date.now() + offsetMs;
}

/**
 * Seconds as m:ss, or h:mm:ss from an hour; negative values keep their sign.
 * @param {number} seconds
 * @returns {string}
 */
export function duration(seconds) {
  const sign = seconds < 0 ? "−" : "";
  let s = Math.floor(Math.abs(seconds));
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  const secs = String(s % 60).padStart(2, "0");
  if (hours) return `${sign}${hours}:${String(minutes).padStart(2, "0")}:${secs}`;
  return `${sign}${minutes}:${secs}`;
}

// Meetings are held on Vietnam time: a tablet set to another zone still shows it.
const TIME_ZONE = "Asia/Ho_Chi_Minh";
const dateFormats = new Map();

/**
 * The date format for these options in the current language, made once: making one costs
 * far more than using it, and a list of 6,300 people repaints its times often.
 * @param {Intl.DateTimeFormatOptions} options
 * @returns {Intl.DateTimeFormat}
 */
export function dateFormat(options) {
  const key = `${locale()} ${JSON.stringify(options)}`;
  let made = dateFormats.get(key);
  if (!made) {
    made = new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, ...options });
    dateFormats.set(key, made);
  }
  return made;
}

function fmt(iso, options) {
  const ms = parseTime(iso);
  if (Number.isNaN(ms)) return "";
  return dateFormat(options).format(new Date(ms));
}

/**
 * Time of day, "08:05".
 * @param {string} iso
 * @returns {string}
 */
export function timeOfDay(iso) {
  return fmt(iso, { hour: "2-digit", minute: "2-digit", hour12: false });
}

/**
 * Long date with weekday: "Thứ Hai, 23/11/2026" / "Monday, 23/11/2026".
 * @param {string} iso
 * @returns {string}
 */
export function longDate(iso) {
  const weekday = fmt(iso, { weekday: "long" });
  const date = fmt(iso, { day: "2-digit", month: "2-digit", year: "numeric" });
  if (!date) return "";
  return `${weekday.charAt(0).toUpperCase()}${weekday.slice(1)}, ${date}`;
}

/**
 * Parts for a calendar tile: day of month, short month and weekday.
 * @param {string} iso
 * @returns {{day: string, month: string, weekday: string}}
 */
export function dateTile(iso) {
  const ms = parseTime(iso);
  let month = "";
  if (!Number.isNaN(ms)) {
    const parts = dateFormat({ month: "2-digit", year: "numeric" }).formatToParts(new Date(ms));
    const part = (type) => (parts.find((p) => p.type === type) || {}).value || "";
    month = `${part("month")}/${part("year")}`;
  }
  return { day: fmt(iso, { day: "2-digit" }), month, weekday: fmt(iso, { weekday: "short" }) };
}

/**
 * A time range "08:00 – 11:30" (just the start when there is no end).
 * @param {string} start
 * @param {string|null|undefined} end
 * @returns {string}
 */
export function timeRange(start, end) {
  const a = timeOfDay(start);
  const b = end ? timeOfDay(end) : "";
  return b ? `${a} – ${b}` : a;
}
