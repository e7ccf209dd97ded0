// A stroke's points in a compact text form (`path`): an encoded polyline, as the server
// writes it (documents/path.py; tests/documents/test_path_js.py checks the two agree).
// Each number is quantised to 1/10,000 of the page, written as the difference from the one
// before it (x from x, y from y), zigzag-signed, in 5-bit groups as the characters ? to ~:
// a stroke of 100 points is about 300 characters instead of 1.6 KB of JSON numbers.

const FACTOR = 10000; // documents/path.py PRECISION = 4
const MAX_NUMBERS = 4000;
// Up to three groups with the continuation bit (_ to ~), then the last one (? to ^).
const PATH = /^(?:[_-~]{0,3}[?-^])+$/;

/**
 * Python 2's rounding, as the server's encoder rounds: half away from zero.
 * @param {number} v
 */
function quantum(v) {
  return Math.sign(v) * Math.floor(Math.abs(v) * FACTOR + 0.5);
}

/**
 * The path of flat points [x0, y0, x1, y1, …].
 * @param {number[]} points an even count, at least two
 * @returns {string}
 */
export function encodePath(points) {
  if (points.length < 2 || points.length % 2) throw new RangeError("points: x, y pairs");
  let out = "";
  const last = [0, 0];
  for (let i = 0; i < points.length; i += 1) {
    const v = points[i];
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      throw new RangeError("points: on the page, 0..1"); // NaN, null and strings too
    }
    const q = quantum(v);
    let d = q - last[i % 2];
    last[i % 2] = q;
    d = d < 0 ? ~(d << 1) : d << 1;
    while (d >= 0x20) {
      out += String.fromCharCode((0x20 | (d & 0x1f)) + 63);
      d >>= 5;
    }
    out += String.fromCharCode(d + 63);
  }
  return out;
}

/**
 * The flat points of a path; throws a RangeError unless it is one this server writes.
 * @param {string} path
 * @returns {number[]}
 */
export function decodePath(path) {
  if (typeof path !== "string" || !PATH.test(path)) throw new RangeError("path: not a path");
  const points = [];
  const at = [0, 0];
  let value = 0;
  let shift = 0;
  for (let i = 0; i < path.length; i += 1) {
    const group = path.charCodeAt(i) - 63;
    value |= (group & 0x1f) << shift;
    shift += 5;
    if (group < 0x20) {
      const n = points.length % 2;
      at[n] += value & 1 ? ~(value >> 1) : value >> 1;
      points.push(at[n] / FACTOR);
      value = 0;
      shift = 0;
    }
  }
  if (points.length % 2 || points.length > MAX_NUMBERS) throw new RangeError("path: pairs");
  if (points.some((v) => v < 0 || v > 1)) throw new RangeError("path: a point off the page");
  return points;
}

/**
 * A mark as the page draws it: `points` from its `path` (marks written before paths carry
 * `points` already).
 * @param {object} mark
 * @returns {object}
 */
export function withPoints(mark) {
  if (typeof mark.path !== "string") return mark;
  const { path, ...rest } = mark;
  return { ...rest, points: decodePath(path) };
}
