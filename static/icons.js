// Line icons as inline SVG (tablets in the field have no emoji font to rely on).

const PATHS = {
  move: "M12 3v18M3 12h18M12 3 9.5 5.5M12 3l2.5 2.5M12 21l-2.5-2.5M12 21l2.5-2.5M3 12l2.5-2.5M3 12l2.5 2.5M21 12l-2.5-2.5M21 12l-2.5 2.5",
  pen: "M4 20l1-4L16 5l3 3L8 19l-4 1zM14 7l3 3",
  highlighter: "M14.5 4.5l5 5-7.5 7.5H7v-5l7.5-7.5zM7 17l-3 3h6.5M10 9.5l4.5 4.5",
  eraser: "M8 20h12M4.7 14.3l8.6-8.6a1.8 1.8 0 0 1 2.5 0l3.5 3.5a1.8 1.8 0 0 1 0 2.5L12 19H8.4l-3.7-3.7a.7.7 0 0 1 0-1zM9 10l5 5",
  note: "M5 4h14v11l-5 5H5zM14 20v-5h5M8.5 9h7M8.5 12.5h4.5",
  laser: "M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM12 2.5v3.5M12 18v3.5M2.5 12H6M18 12h3.5",
  undo: "M9 14 4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  doc: "M6 3h8l4 4v14H6zM14 3v4h4M9 12h6M9 16h6",
  lock: "M6 11h12v10H6zM8.5 11V8a3.5 3.5 0 0 1 7 0v3M12 15v2.5",
  screen: "M3 4h18v12H3zM12 16v4M8 20h8",
  download: "M12 4v11M7.5 10.5 12 15l4.5-4.5M5 20h14",
  expand: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5",
};

/**
 * An icon.
 * @param {keyof PATHS} name
 * @param {number} [size] CSS pixels
 * @returns {SVGSVGElement}
 */
export function icon(name, size = 22) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[name] || "");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.appendChild(path);
  return svg;
}
