// Marks on a page: where the page sits on the stage, drawing strokes and notes on a
// canvas, finding the mark under a finger, and turning pointer input into strokes, pans and
// zooms with pen-aware palm rejection.
//
// Coordinates are page-relative (0..1 of the displayed page's width and height) as in
// docs/PROTOCOL.md, so a mark lands in the same place on every screen; a stroke's width is
// a fraction of the page width.

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 8;
export const MAX_STROKE_POINTS = 2000; // per annotation (the server takes 4,000 numbers)
const MIN_STEP = 0.0007; // points closer than this (page widths) to the last one are skipped
const PEN_SEEN_KEY = "phonghop.pen";
const TAP_SLOP_PX = 10;
const TAP_MS = 350;

/**
 * @typedef {Object} PageBox where the page is drawn on the stage, in CSS pixels
 * @property {number} left
 * @property {number} top
 * @property {number} width
 * @property {number} height
 * @property {number} x the viewport centre actually shown (page-relative, after clamping)
 * @property {number} y
 */

/**
 * Place a page on a stage. `zoom` 1 shows the whole page width; the viewport's centre is
 * at (`x`, `y`) of the page, kept so that the page covers the stage where it can, and a
 * page shorter than the stage is centred.
 * @param {number} stageW
 * @param {number} stageH
 * @param {number} aspect page height / width
 * @param {{zoom: number, x: number, y: number}} view
 * @returns {PageBox}
 */
export function layoutPage(stageW, stageH, aspect, view) {
  const zoom = clamp(view.zoom || 1, MIN_ZOOM, MAX_ZOOM);
  const width = stageW * zoom;
  const height = width * aspect;
  const x = centre(view.x, stageW, width);
  const y = centre(view.y, stageH, height);
  return {
    left: stageW / 2 - x * width,
    top: stageH / 2 - y * height,
    width,
    height,
    x,
    y,
  };
}

function centre(value, stage, size) {
  if (size <= stage || !size) return 0.5;
  const half = stage / 2 / size;
  return clamp(Number.isFinite(value) ? value : 0.5, half, 1 - half);
}

/**
 * @param {number} v
 * @param {number} lo
 * @param {number} hi
 * @returns {number}
 */
export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Round a page-relative number for the wire (5 decimals: a hundredth of a pixel on a
 * 1,280-pixel page; the server keeps the same).
 * @param {number} v
 * @returns {number}
 */
export function round5(v) {
  return Math.round(v * 1e5) / 1e5;
}

// ---- drawing ----

const NOTE_PX = 26;

/**
 * Draw marks on a canvas context whose unit is the CSS pixel of the stage.
 * @param {CanvasRenderingContext2D} g
 * @param {Iterable<object>} marks annotations (or strokes in progress) of the page
 * @param {PageBox} box
 * @param {{faded?: boolean}} [options]
 */
export function drawMarks(g, marks, box, options = {}) {
  for (const mark of marks) {
    if (mark.kind === "note") drawNote(g, mark, box);
    else drawStroke(g, mark, box, options.faded);
  }
}

function drawStroke(g, mark, box, faded) {
  const pts = mark.points || [];
  if (pts.length < 2) return;
  const width = Math.max(1, (mark.width || 0.003) * box.width);
  const highlight = mark.kind === "highlight";
  g.save();
  g.lineJoin = "round";
  g.lineCap = highlight ? "square" : "round";
  g.strokeStyle = mark.color || "#d32f2f";
  g.fillStyle = g.strokeStyle;
  g.lineWidth = width;
  g.globalAlpha = (highlight ? 0.35 : 1) * (faded ? 0.75 : 1);
  if (highlight) g.globalCompositeOperation = "multiply";
  const px = (i) => box.left + pts[i] * box.width;
  const py = (i) => box.top + pts[i + 1] * box.height;
  if (pts.length < 4) {
    // A dot.
    g.beginPath();
    g.arc(px(0), py(0), width / 2, 0, Math.PI * 2);
    g.fill();
    g.restore();
    return;
  }
  g.beginPath();
  g.moveTo(px(0), py(0));
  // Quadratic curves through the midpoints: smooth without overshooting.
  for (let i = 2; i < pts.length - 2; i += 2) {
    const mx = (px(i) + px(i + 2)) / 2;
    const my = (py(i) + py(i + 2)) / 2;
    g.quadraticCurveTo(px(i), py(i), mx, my);
  }
  g.lineTo(px(pts.length - 2), py(pts.length - 2));
  g.stroke();
  g.restore();
}

function drawNote(g, mark, box) {
  const pts = mark.points || [];
  if (pts.length < 2) return;
  const x = box.left + pts[0] * box.width;
  const y = box.top + pts[1] * box.height;
  g.save();
  // The marker: a folded yellow square.
  g.fillStyle = "#ffd54a";
  g.strokeStyle = "#8a6d00";
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(x, y);
  g.lineTo(x + NOTE_PX, y);
  g.lineTo(x + NOTE_PX, y + NOTE_PX - 8);
  g.lineTo(x + NOTE_PX - 8, y + NOTE_PX);
  g.lineTo(x, y + NOTE_PX);
  g.closePath();
  g.fill();
  g.stroke();
  g.fillStyle = mark.color || "#8a6d00";
  g.fillRect(x + 5, y + 7, NOTE_PX - 10, 2);
  g.fillRect(x + 5, y + 12, NOTE_PX - 10, 2);
  g.fillRect(x + 5, y + 17, NOTE_PX - 14, 2);
  // The text beside it, a few lines at most.
  const text = (mark.text || "").trim();
  if (text) {
    g.font = '14px system-ui, "Noto Sans", sans-serif';
    const lines = wrap(g, text, 220, 4);
    const w = Math.max(...lines.map((l) => g.measureText(l).width)) + 16;
    const h = lines.length * 18 + 10;
    const bx = x + NOTE_PX + 4;
    g.fillStyle = "rgba(255, 248, 214, 0.96)";
    g.strokeStyle = "#e7c46a";
    g.lineWidth = 1;
    g.fillRect(bx, y, w, h);
    g.strokeRect(bx + 0.5, y + 0.5, w - 1, h - 1);
    g.fillStyle = "#3d2f00";
    g.textBaseline = "top";
    lines.forEach((line, i) => g.fillText(line, bx + 8, y + 6 + i * 18));
  }
  g.restore();
}

function wrap(g, text, maxWidth, maxLines) {
  const words = text.split(/\s+/);
  const lines = [];
  let line = "";
  for (const word of words) {
    const next = line ? `${line} ${word}` : word;
    if (g.measureText(next).width > maxWidth && line) {
      lines.push(line);
      line = word;
      if (lines.length === maxLines) break;
    } else {
      line = next;
    }
  }
  if (lines.length < maxLines && line) lines.push(line);
  if (lines.length === maxLines && words.join(" ") !== lines.join(" ")) {
    lines[maxLines - 1] = `${lines[maxLines - 1].replace(/.{0,1}$/, "")}…`;
  }
  return lines;
}

/**
 * The topmost mark within reach of a stage point, or null.
 * @param {object[]} marks in drawing order
 * @param {number} sx stage x (CSS px)
 * @param {number} sy stage y
 * @param {PageBox} box
 * @param {number} [reach] extra distance in CSS px (a finger is wide)
 * @returns {object|null}
 */
export function markAt(marks, sx, sy, box, reach = 12) {
  for (let m = marks.length - 1; m >= 0; m -= 1) {
    const mark = marks[m];
    const pts = mark.points || [];
    if (pts.length < 2) continue;
    if (mark.kind === "note") {
      const x = box.left + pts[0] * box.width;
      const y = box.top + pts[1] * box.height;
      if (sx >= x - reach && sx <= x + NOTE_PX + reach && sy >= y - reach &&
          sy <= y + NOTE_PX + reach) return mark;
      continue;
    }
    const half = ((mark.width || 0.003) * box.width) / 2 + reach;
    let prevX = box.left + pts[0] * box.width;
    let prevY = box.top + pts[1] * box.height;
    if (pts.length < 4 && Math.hypot(sx - prevX, sy - prevY) <= half) return mark;
    for (let i = 2; i < pts.length; i += 2) {
      const x = box.left + pts[i] * box.width;
      const y = box.top + pts[i + 1] * box.height;
      if (segmentDistance(sx, sy, prevX, prevY, x, y) <= half) return mark;
      prevX = x;
      prevY = y;
    }
  }
  return null;
}

function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  let t = len ? ((px - ax) * dx + (py - ay) * dy) / len : 0;
  t = clamp(t, 0, 1);
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Append a page point to a flat point list unless it is too close to the last one.
 * @param {number[]} points flat [x0, y0, …]
 * @param {{x: number, y: number}} p
 * @param {number} [step] page widths
 * @returns {boolean} whether it was added
 */
export function addPoint(points, p, step = MIN_STEP) {
  const n = points.length;
  if (n >= 2 && Math.hypot(p.x - points[n - 2], p.y - points[n - 1]) < step) return false;
  points.push(round5(p.x), round5(p.y));
  return true;
}

// ---- input ----

/**
 * Whether a pen has ever been used on this device (then fingers never draw: a palm
 * resting on the screen while writing must not leave marks).
 * @returns {boolean}
 */
function penSeenBefore() {
  try {
    return localStorage.getItem(PEN_SEEN_KEY) === "1";
  } catch {
    return false;
  }
}

/**
 * Pointer input on the page stage. Drawing tools draw with a pen, a mouse, or a finger
 * (only while no pen has been seen: once one has, fingers pan and pinch-zoom, and a palm
 * resting on the glass is ignored). Two fingers always pan and zoom; the wheel pans, and
 * zooms with Ctrl (a touchpad pinch).
 */
export class StageInput {
  /**
   * @param {HTMLElement} el the stage (gets touch-action: none)
   * @param {Object} h handlers
   * @param {() => string} h.tool "none", "pen", "highlighter", "eraser", "note", "laser"
   * @param {(clientX: number, clientY: number) => ({x: number, y: number, sx: number, sy: number})} h.locate
   * @param {(p: object, type: string) => void} h.strokeStart
   * @param {(ps: object[]) => void} h.strokeMove
   * @param {() => void} h.strokeEnd
   * @param {() => void} h.strokeCancel
   * @param {(p: object) => void} h.erase
   * @param {(p: object) => void} h.note
   * @param {(p: object|null) => void} h.laser
   * @param {(dx: number, dy: number) => void} h.pan stage pixels
   * @param {(factor: number, sx: number, sy: number) => void} h.zoom about a stage point
   * @param {(p: object, type: string) => void} h.tap
   */
  constructor(el, h) {
    this.el = el;
    this.h = h;
    this.penSeen = penSeenBefore();
    /** @type {Map<number, {type: string, role: string, x: number, y: number, x0: number, y0: number, t0: number}>} */
    this.pointers = new Map();
    this.pinch = null; // {dist, cx, cy}
    this.listeners = [
      ["pointerdown", (e) => this.down(e)],
      ["pointermove", (e) => this.move(e)],
      ["pointerup", (e) => this.up(e, false)],
      ["pointercancel", (e) => this.up(e, true)],
      ["pointerleave", (e) => this.leave(e)],
      ["wheel", (e) => this.wheel(e), { passive: false }],
      ["contextmenu", (e) => e.preventDefault()],
    ];
    for (const [name, fn, opts] of this.listeners) el.addEventListener(name, fn, opts);
  }

  destroy() {
    for (const [name, fn, opts] of this.listeners) this.el.removeEventListener(name, fn, opts);
    this.pointers.clear();
  }

  notePen() {
    if (this.penSeen) return;
    this.penSeen = true;
    try {
      localStorage.setItem(PEN_SEEN_KEY, "1");
    } catch {
      /* private mode */
    }
  }

  touches() {
    return [...this.pointers.values()].filter((p) => p.type === "touch");
  }

  down(e) {
    if (e.pointerType === "mouse" && e.button !== 0 && e.button !== 1) return;
    if (e.pointerType === "pen") this.notePen();
    const penBusy = [...this.pointers.values()].some((p) => p.type === "pen");
    // Palm rejection: while a pen touches the glass, fingers do nothing at all.
    if (e.pointerType === "touch" && penBusy) return;
    e.preventDefault();
    const tool = this.h.tool();
    const entry = { type: e.pointerType, role: "pan", x: e.clientX, y: e.clientY,
      x0: e.clientX, y0: e.clientY, t0: performance.now() };
    this.pointers.set(e.pointerId, entry);
    try {
      this.el.setPointerCapture(e.pointerId);
    } catch {
      /* not capturable (synthetic) */
    }
    if (e.pointerType === "touch" && this.touches().length >= 2) {
      // A second finger: whatever the first was doing becomes a pinch.
      for (const p of this.touches()) {
        if (p.role === "draw") this.h.strokeCancel();
        if (p.role === "laser") this.h.laser(null);
        p.role = "pinch";
      }
      this.pinch = this.pinchFrame();
      return;
    }
    const draws = e.pointerType !== "touch" || !this.penSeen;
    const middle = e.pointerType === "mouse" && e.button === 1;
    if (tool === "none" || !draws || middle) return; // pan
    const p = this.h.locate(e.clientX, e.clientY);
    if (tool === "pen" || tool === "highlighter") {
      entry.role = "draw";
      this.h.strokeStart(p, e.pointerType);
    } else if (tool === "eraser") {
      entry.role = "erase";
      this.h.erase(p);
    } else if (tool === "note") {
      entry.role = "note";
    } else if (tool === "laser") {
      entry.role = "laser";
      this.h.laser(p);
    }
  }

  move(e) {
    const entry = this.pointers.get(e.pointerId);
    if (!entry) {
      // Hovering mouse or pen with the laser: the pointer follows without a press.
      if (this.h.tool() === "laser" && e.pointerType !== "touch") {
        this.h.laser(this.h.locate(e.clientX, e.clientY));
      }
      return;
    }
    e.preventDefault();
    const dx = e.clientX - entry.x;
    const dy = e.clientY - entry.y;
    entry.x = e.clientX;
    entry.y = e.clientY;
    switch (entry.role) {
      case "draw": {
        const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
        const list = events.length ? events : [e];
        this.h.strokeMove(list.map((c) => this.h.locate(c.clientX, c.clientY)));
        break;
      }
      case "erase":
        this.h.erase(this.h.locate(e.clientX, e.clientY));
        break;
      case "laser":
        this.h.laser(this.h.locate(e.clientX, e.clientY));
        break;
      case "pinch": {
        const now = this.pinchFrame();
        if (this.pinch && now) {
          const rect = this.el.getBoundingClientRect();
          this.h.pan(now.cx - this.pinch.cx, now.cy - this.pinch.cy);
          if (this.pinch.dist > 0) {
            this.h.zoom(now.dist / this.pinch.dist, now.cx - rect.left, now.cy - rect.top);
          }
        }
        this.pinch = now;
        break;
      }
      case "pan":
        if (dx || dy) this.h.pan(dx, dy);
        break;
      default:
        break;
    }
  }

  pinchFrame() {
    const t = this.touches();
    if (t.length < 2) return null;
    const [a, b] = t;
    return { dist: Math.hypot(a.x - b.x, a.y - b.y), cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2 };
  }

  up(e, cancelled) {
    const entry = this.pointers.get(e.pointerId);
    if (!entry) return;
    this.pointers.delete(e.pointerId);
    const still = Math.hypot(e.clientX - entry.x0, e.clientY - entry.y0) < TAP_SLOP_PX &&
      performance.now() - entry.t0 < TAP_MS * 2;
    switch (entry.role) {
      case "draw":
        // A finger stroke the browser cancelled (a palm, a system gesture) is dropped; a
        // pen or mouse stroke keeps what was drawn.
        if (cancelled && entry.type === "touch") this.h.strokeCancel();
        else this.h.strokeEnd();
        break;
      case "laser":
        if (entry.type === "touch") this.h.laser(null);
        break;
      case "note":
        if (!cancelled && still) this.h.note(this.h.locate(e.clientX, e.clientY));
        break;
      case "pinch":
        this.pinch = this.pinchFrame();
        for (const p of this.touches()) p.role = "pinch";
        break;
      case "pan":
        if (!cancelled && still && performance.now() - entry.t0 < TAP_MS) {
          this.h.tap(this.h.locate(e.clientX, e.clientY), entry.type);
        }
        break;
      default:
        break;
    }
  }

  leave(e) {
    if (!this.pointers.has(e.pointerId) && this.h.tool() === "laser" && e.pointerType !== "touch") {
      this.h.laser(null);
    }
  }

  wheel(e) {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? this.el.clientHeight : 1;
    if (e.ctrlKey) {
      const rect = this.el.getBoundingClientRect();
      this.h.zoom(Math.exp((-e.deltaY * unit) / 300), e.clientX - rect.left, e.clientY - rect.top);
    } else {
      this.h.pan(-e.deltaX * unit, -e.deltaY * unit);
    }
  }
}
