// Small DOM helpers: build elements declaratively without a framework.

/**
 * Create an element.
 * @param {string} tag tag name, optionally with classes: "div.card.wide"
 * @param {Object<string, any>|null} [attrs] attributes; `on*` functions become listeners,
 *   `testid` becomes data-testid, `style` is an object of CSS properties (set through the
 *   CSSOM: the Content-Security-Policy forbids style attributes), boolean
 *   false/null/undefined values are skipped
 * @param {...(Node|string|number|null|undefined|false|Array)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "testid") {
      el.dataset.testid = value;
    } else if (key === "class") {
      el.className = [el.className, value].filter(Boolean).join(" ");
    } else if (key === "style") {
      if (typeof value !== "object") throw new TypeError("h(): style takes an object of properties");
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, String(v));
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "text") {
      el.textContent = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * Append children (nested arrays, strings and nodes; falsy values are skipped).
 * @param {Node} parent
 * @param {Array} children
 */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Replace every child of `parent` with `children`.
 * @param {Node} parent
 * @param {...any} children
 */
export function replace(parent, ...children) {
  const frag = document.createDocumentFragment();
  append(frag, children);
  parent.replaceChildren(frag);
}

/**
 * Unicode NFC form of a text (Vietnamese has composed and decomposed spellings).
 * @param {string|null|undefined} text
 * @returns {string}
 */
export function nfc(text) {
  return (text ?? "").normalize("NFC");
}

/**
 * A text as searches compare it: NFC, without diacritics, đ as d, lower case, trimmed, so
 * that "nguyen" finds "Nguyễn".
 * @param {string|null|undefined} text
 * @returns {string}
 */
export function fold(text) {
  return nfc(text).normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/gi, "d").toLowerCase()
    .trim();
}

const foldedOnce = new WeakMap();

/**
 * `fold(text(item))`, made once per item object (one `text` per kind of item: the first
 * one kept is returned): a list of 6,300 people is searched on every keystroke, and a
 * changed person is a new object (folded again).
 * @param {object} item
 * @param {(item: object) => string} text what of the item a search looks in
 * @returns {string}
 */
export function foldedOf(item, text) {
  let made = foldedOnce.get(item);
  if (made === undefined) {
    made = fold(text(item));
    foldedOnce.set(item, made);
  }
  return made;
}
