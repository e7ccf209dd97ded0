// A long list that paints only the rows in view: rows of one fixed height, placed by their
// index in a spacer as tall as the whole list, each keyed (a person, a ballot) and rebuilt
// only when what it shows changed. A list of 6,300 people costs a few dozen elements, and
// a check-in repaints one row.

import { h } from "./dom.js";

/**
 * @typedef {Object} Row what one item's row shows
 * @property {string|number} id the item's identity (kept across repaints)
 * @property {string} key what the row shows, as text: an equal key reuses the row as it is
 * @property {() => HTMLElement} build makes the row
 */

export class VirtualList {
  /**
   * @param {Object} options
   * @param {number} options.rowHeight px, every row (CSS: `--row-height` on the list)
   * @param {Object} [options.attrs] the scrolling element's attributes (testid, role, …)
   * @param {number} [options.overscan] rows painted above and below those in view
   */
  constructor({ rowHeight, attrs = {}, overscan = 8 }) {
    this.rowHeight = rowHeight;
    this.overscan = overscan;
    this.spacer = h("div.vlist-spacer");
    this.el = h("div.vlist", { ...attrs, style: { "--row-height": `${rowHeight}px` } },
      this.spacer);
    /** @type {any[]} */
    this.items = [];
    /** @type {(item: any) => Row} */
    this.describe = () => { throw new Error("VirtualList: show() first"); };
    /** @type {Map<string|number, {el: HTMLElement, key: string}>} the rows painted now */
    this.rows = new Map();
    this.top = 0; // the scroll position, kept for when the list is attached again
    let pending = 0;
    this.el.addEventListener("scroll", () => {
      this.top = this.el.scrollTop;
      if (!pending) pending = requestAnimationFrame(() => { pending = 0; this.paint(); });
    }, { passive: true });
  }

  /**
   * Show these items (in this order) and paint the rows in view.
   * @param {any[]} items
   * @param {(item: any) => Row} describe
   */
  show(items, describe) {
    this.items = items;
    this.describe = describe;
    this.spacer.style.setProperty("height", `${items.length * this.rowHeight}px`);
    this.paint();
    // A panel repainted around the list may put it in the page anew, which scrolls it back
    // to the top: once the panel is painted, back where the reader was. Only then: a list
    // left where it was keeps what the reader (or a script) just did to it, even before
    // the scroll event that tells `top` has arrived.
    const parent = this.el.parentNode;
    queueMicrotask(() => {
      if (this.el.isConnected && this.el.parentNode !== parent &&
          this.el.scrollTop !== this.top) {
        this.el.scrollTop = this.top;
        this.paint();
      }
    });
  }

  /** Back to the first row (new filters, a new search). */
  toTop() {
    this.el.scrollTop = 0;
    this.top = 0;
  }

  /** Paint the rows in view (and a few around), reusing those whose key is unchanged. */
  paint() {
    const { rowHeight, items } = this;
    const height = this.el.clientHeight || rowHeight * 12;
    const scrolled = this.el.isConnected ? this.el.scrollTop : this.top;
    const first = Math.max(0, Math.floor(scrolled / rowHeight) - this.overscan);
    const last = Math.min(items.length, Math.ceil((scrolled + height) / rowHeight) + this.overscan);
    const painted = new Map();
    let before = null; // the row placed last: the next one goes right after it
    for (let i = first; i < last; i += 1) {
      const shown = this.describe(items[i]);
      let row = this.rows.get(shown.id);
      if (!row || row.key !== shown.key) {
        const el = shown.build();
        if (row) row.el.remove();
        row = { el, key: shown.key };
      }
      row.el.style.setProperty("top", `${i * rowHeight}px`);
      // In the page in the list's order, so that tabbing and screen readers follow it.
      const next = before ? before.nextSibling : this.spacer.firstChild;
      if (row.el !== next) this.spacer.insertBefore(row.el, next);
      before = row.el;
      painted.set(shown.id, row);
    }
    for (const [id, row] of this.rows) if (!painted.has(id)) row.el.remove();
    this.rows = painted;
  }
}
