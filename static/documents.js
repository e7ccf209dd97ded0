// Meeting documents in the room: the list per agenda item (and those of the whole meeting),
// the organisers' upload, rename, new version and removal, and the "now presenting" bar.

import { ApiError, documentPath, request, uploadRaw } from "./api.js";
import { h, nfc, replace } from "./dom.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";
import { mayPresent, mayRead, pageCount } from "./reducer.js";
import { confirmDialog, promptDialog, toast } from "./ui.js";

const CLASSES = ["public", "internal", "confidential"];

/**
 * What to call a document: its title, or, for a confidential document its user may not
 * read (a sealed entry: no title, no file, no pages), "Confidential document".
 * @param {object} d Document or sealed entry
 * @returns {string}
 */
export function docTitle(d) {
  return d.sealed ? t("doc.locked") : d.title;
}

/**
 * The names of a confidential document's viewers, for those who see only its entry.
 * @param {object} d sealed entry
 * @param {import("./room.js").RoomContext} ctx
 * @returns {string}
 */
function viewerNames(d, ctx) {
  return (d.viewers || []).map((id) => ctx.name(id) || `#${id}`).join(", ");
}

// Menus (details.menu) close on a tap elsewhere, and scroll into view when opened inside a
// scrolling column.
document.addEventListener("click", (ev) => {
  for (const open of document.querySelectorAll("details.menu[open]")) {
    if (!open.contains(ev.target)) open.removeAttribute("open");
  }
});
document.addEventListener("toggle", (ev) => {
  const menu = ev.target;
  if (menu instanceof HTMLDetailsElement && menu.classList.contains("menu") && menu.open) {
    const list = menu.querySelector(".menu-list");
    if (list) list.scrollIntoView({ block: "nearest" });
  }
}, true);
const ACCEPT = ".pdf,.doc,.docx,.odt,.rtf,.ppt,.pptx,.odp,.xls,.xlsx,.ods,application/pdf";

/**
 * Paint the documents panel.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 * @param {ReturnType<import("./viewer.js").createViewer>} viewer
 */
export function renderDocuments(el, ctx, viewer) {
  const { state } = ctx;
  const docs = [...state.documents.values()];
  const groups = [];
  const general = docs.filter((d) => d.item_id == null || !state.items.has(d.item_id));
  if (general.length) groups.push({ item: null, docs: general });
  state.order.forEach((id, i) => {
    const list = docs.filter((d) => d.item_id === id);
    if (list.length) groups.push({ item: state.items.get(id), number: i + 1, docs: list });
  });
  const canAdd = ctx.isOrganiser && state.meeting.status !== "ended";
  replace(
    el,
    h("div.panel-head", null,
      h("h2.panel-title", { id: "documents-title" }, t("doc.title")),
      docs.length ? h("span.panel-count", null, String(docs.length)) : null),
    canAdd
      ? h("button.btn.btn-secondary.btn-block.doc-add", { type: "button", testid: "doc-add",
        onclick: () => uploadDialog(ctx) }, h("span", { "aria-hidden": "true" }, "+"),
      t("doc.add"))
      : null,
    groups.length
      ? h("div.doc-groups", { testid: "documents" }, groups.map((g) => group(g, ctx, viewer)))
      : h("p.empty", { testid: "documents-empty" }, t("doc.empty")),
  );
}

function group(g, ctx, viewer) {
  const active = g.item && g.item.status === "active";
  return h("section.doc-group", {
    class: active ? "is-active" : "", testid: "doc-group",
    dataset: { itemId: g.item ? String(g.item.id) : "" },
  },
  h("h3.doc-group-title", null,
    g.item ? h("span.doc-group-number", { "aria-hidden": "true" }, String(g.number)) : null,
    h("span", null, g.item ? g.item.title : t("doc.general")),
    active ? h("span.chip.chip-active", null, t("agenda.status.active")) : null),
  h("ul.doc-list", null, g.docs.map((d) => row(d, ctx, viewer))));
}

function row(d, ctx, viewer) {
  const readable = mayRead(d, ctx.me.user_id);
  const p = ctx.state.presentation;
  const shown = p && p.document_id === d.id;
  const canPresent = readable && mayPresent(ctx.state, ctx.me.user_id) &&
    ctx.state.meeting.status !== "ended" && !(p && p.by === ctx.me.user_id && shown);
  const othersPresent = p && p.by !== ctx.me.user_id && !ctx.isChair;
  return h("li.doc-row", {
    testid: "doc-row", class: readable ? "" : "is-locked",
    dataset: { documentId: String(d.id), classification: d.classification },
  },
  h("button.doc-open", {
    type: "button", testid: "doc-open",
    "aria-label": `${t("doc.open")}: ${docTitle(d)}`,
    onclick: () => viewer.openDocument(d.id),
  },
  h("span.doc-icon", null, icon(readable ? "doc" : "lock", 26)),
  h("span.doc-text", null,
    h("span.doc-title", { testid: "doc-title" }, docTitle(d)),
    h("span.doc-meta", null,
      h(`span.chip.chip-class-${d.classification}`, null, t(`doc.class.${d.classification}`)),
      d.sealed
        ? h("span", { testid: "doc-sealed-viewers" }, t("doc.sealed_viewers", { names: viewerNames(d, ctx) }))
        : h("span", null, t("doc.pages", { n: pageCount(d) })),
      d.version > 1 ? h("span", null, t("doc.version", { n: d.version })) : null,
      shown ? h("span.doc-live", null, h("span.live-dot", { "aria-hidden": "true" }),
        t("present.now")) : null),
    readable ? null : h("span.doc-locked", null, t("doc.locked_short")))),
  h("div.doc-actions", null,
    canPresent
      ? h("button.btn.btn-small.btn-secondary", {
        type: "button", testid: "doc-present", disabled: !ctx.connected || othersPresent,
        title: othersPresent ? t("present.busy") : "",
        onclick: () => viewer.presentDocument(d.id),
      }, t("present.start"))
      : null,
    ctx.isOrganiser && ctx.state.meeting.status !== "ended" ? organiserMenu(d, ctx) : null));
}

function organiserMenu(d, ctx) {
  const menu = h("details.menu.doc-menu", { testid: "doc-menu" });
  const item = (label, testid, fn, danger = false) => h(`button.menu-item${danger ? ".is-danger" : ""}`, {
    type: "button", testid,
    onclick: () => {
      menu.removeAttribute("open");
      fn();
    },
  }, label);
  const versionInput = h("input", { type: "file", accept: ACCEPT, hidden: true,
    testid: "doc-version-file" });
  versionInput.addEventListener("change", () => {
    const file = versionInput.files && versionInput.files[0];
    versionInput.value = "";
    if (file) newVersion(d, file, ctx);
  });
  replace(menu,
    h("summary.btn.btn-small.btn-quiet.btn-icon", { "aria-label": `${t("doc.manage")}: ${docTitle(d)}`,
      title: t("doc.manage"), testid: "doc-menu-toggle" }, "⋯"),
    // A sealed entry: its viewers alone rename it or give it a new version.
    h("div.menu-list", null,
      d.sealed ? null : item(t("doc.rename"), "doc-rename", () => rename(d, ctx)),
      d.sealed ? null : item(t("doc.new_version"), "doc-new-version", () => versionInput.click()),
      d.sealed ? null : item(t("doc.reclassify"), "doc-reclassify", () => classifyDialog(d, ctx)),
      item(t("doc.remove"), "doc-remove", () => remove(d, ctx), true)),
    versionInput);
  return menu;
}

async function rename(d, ctx) {
  const title = await promptDialog({ title: t("doc.rename"), label: t("doc.title_label"),
    placeholder: d.title, confirm: t("doc.save") });
  if (!title) return;
  try {
    await request("PATCH", documentPath(ctx.meetingId, d.id), { title });
  } catch (err) {
    toast(describe(err), "error");
  }
}

async function remove(d, ctx) {
  const ok = await confirmDialog({ title: t("doc.remove_title"),
    text: t("doc.remove_text", { title: docTitle(d) }), confirm: t("doc.remove"), danger: true });
  if (!ok) return;
  try {
    await request("DELETE", documentPath(ctx.meetingId, d.id));
  } catch (err) {
    toast(describe(err), "error");
  }
}

async function newVersion(d, file, ctx) {
  toast(t("doc.uploading_named", { name: file.name }), "info");
  try {
    const sha256 = await upload(ctx.meetingId, file);
    await request("POST", `${documentPath(ctx.meetingId, d.id)}/versions`, { sha256 });
    toast(t("doc.version_added", { title: d.title }), "success");
  } catch (err) {
    toast(describe(err), "error");
  }
}

async function upload(meetingId, file, onProgress) {
  const path = `/api/meetings/${meetingId}/files?name=${encodeURIComponent(nfc(file.name))}`;
  const data = await uploadRaw(path, file, onProgress);
  if (!data || !data.file || !data.file.sha256) throw new ApiError(500, "server", null);
  return data.file.sha256;
}

function describe(err) {
  return err instanceof ApiError ? err.describe() : String(err);
}

/**
 * The classification radios and, for a confidential document, the readers to name.
 * @param {import("./room.js").RoomContext} ctx
 * @param {string} initial classification to start from
 * @param {number[]} readers viewers to start from
 * @param {string} prefix test id prefix ("upload", "classify")
 */
function classPicker(ctx, initial, readers, prefix) {
  const { state } = ctx;
  let classification = initial;
  const classButtons = CLASSES.map((c) => h("label.class-option", { testid: `${prefix}-class-${c}` },
    h("input", { type: "radio", name: `${prefix}-classification`, value: c,
      checked: c === classification,
      onchange: () => {
        classification = c;
        viewersBox.hidden = c !== "confidential";
      } }),
    h("span.class-text", null,
      h("strong", null, t(`doc.class.${c}`)),
      h("span", null, t(`doc.class_hint.${c}`)))));

  const people = [...state.participants.values()]
    .filter((p) => p.role !== "site_operator")
    .sort((a, b) => a.full_name.localeCompare(b.full_name, "vi"));
  const chosen = new Set(readers);
  const search = h("input.input.input-search", { type: "search", placeholder: t("att.search"),
    "aria-label": t("att.search"), testid: `${prefix}-viewer-search` });
  const list = h("div.viewer-pick-list", { testid: `${prefix}-viewers` });
  const paintPeople = () => {
    const q = nfc(search.value).toLowerCase().trim();
    replace(list, people
      .filter((p) => !q || `${p.full_name} ${p.position} ${p.unit}`.toLowerCase().includes(q))
      .slice(0, 200)
      .map((p) => h("label.viewer-pick", { testid: `${prefix}-viewer`,
        dataset: { userId: String(p.user_id) } },
      h("input", { type: "checkbox", checked: chosen.has(p.user_id),
        onchange: (ev) => {
          if (ev.currentTarget.checked) chosen.add(p.user_id);
          else chosen.delete(p.user_id);
        } }),
      h("span", null, h("strong", null, p.full_name),
        p.position || p.unit ? h("span.viewer-pick-meta", null,
          [p.position, p.unit].filter(Boolean).join(" · ")) : null))));
  };
  search.addEventListener("input", paintPeople);
  paintPeople();
  const viewersBox = h("fieldset.upload-viewers", { hidden: initial !== "confidential" },
    h("legend.label", null, t("doc.viewers")),
    h("p.field-hint", null, t("doc.viewers_hint")),
    search, list);
  const fieldset = h("fieldset.field.class-options", null,
    h("legend.label", null, t("doc.classification")), classButtons);
  return {
    fieldset, viewersBox,
    value: () => ({ classification, viewers: [...chosen] }),
  };
}

/**
 * A reader-organiser's dialog: change a document's classification and, for a confidential
 * one, who may read it (documents/room.py decides who may; a refusal is shown as is).
 * @param {object} d Document (never a sealed entry: those are not offered this)
 * @param {import("./room.js").RoomContext} ctx
 */
function classifyDialog(d, ctx) {
  const picker = classPicker(ctx, d.classification, d.viewers || [], "classify");
  const error = h("p.form-error", { role: "alert", testid: "classify-error", hidden: true });
  const submit = h("button.btn.btn-primary", { type: "submit", testid: "classify-submit" },
    t("doc.save"));
  const cancel = h("button.btn.btn-secondary", { type: "button",
    onclick: () => dialog.close() }, t("common.cancel"));
  const form = h("form.dialog-body.upload-form", { method: "dialog" },
    h("h2.dialog-title", null, `${t("doc.reclassify")}: ${d.title}`),
    picker.fieldset, picker.viewersBox, error,
    h("div.dialog-actions", null, cancel, submit));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const { classification, viewers } = picker.value();
    if (classification === "confidential" && !viewers.length) {
      error.textContent = t("doc.need_viewers");
      error.hidden = false;
      return;
    }
    const body = { classification, viewers: classification === "confidential" ? viewers : [] };
    submit.disabled = true;
    try {
      await request("PATCH", documentPath(ctx.meetingId, d.id), body);
      dialog.close();
    } catch (err) {
      error.textContent = describe(err);
      error.dataset.code = err instanceof ApiError ? err.code : "";
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  const dialog = h("dialog.dialog.dialog-wide", { testid: "classify-dialog" }, form);
  document.body.appendChild(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  return dialog;
}

/**
 * The organisers' dialog: choose a file, its title, agenda item and who may read it.
 * @param {import("./room.js").RoomContext} ctx
 */
export function uploadDialog(ctx) {
  const { state } = ctx;
  const file = h("input.input.file-input", { type: "file", id: "upload-file", accept: ACCEPT,
    required: true, testid: "upload-file" });
  const title = h("input.input", { type: "text", id: "upload-title", maxlength: 300,
    placeholder: t("doc.title_placeholder"), testid: "upload-title" });
  const item = h("select.input", { id: "upload-item", testid: "upload-item" },
    h("option", { value: "" }, t("doc.general")),
    state.order.map((id, i) => {
      const it = state.items.get(id);
      return h("option", { value: String(id), selected: state.activeItem === id },
        `${i + 1}. ${it.title}`);
    }));
  const picker = classPicker(ctx, "internal", [], "upload");
  const progress = h("div.upload-progress", { hidden: true, testid: "upload-progress" },
    h("span.progress", null, h("span.progress-bar")), h("span.upload-status"));
  const error = h("p.form-error", { role: "alert", testid: "upload-error", hidden: true });
  const submit = h("button.btn.btn-primary", { type: "submit", testid: "upload-submit" },
    t("doc.upload"));
  const cancel = h("button.btn.btn-secondary", { type: "button", testid: "upload-cancel",
    onclick: () => dialog.close() }, t("common.cancel"));

  const form = h("form.dialog-body.upload-form", { method: "dialog" },
    h("h2.dialog-title", null, t("doc.add")),
    h("div.field", null, h("label.label", { for: "upload-file" }, t("doc.file")), file,
      h("p.field-hint", null, t("doc.file_hint"))),
    h("div.field", null, h("label.label", { for: "upload-title" }, t("doc.title_label")), title),
    h("div.field", null, h("label.label", { for: "upload-item" }, t("doc.item")), item),
    picker.fieldset,
    picker.viewersBox,
    progress,
    error,
    h("div.dialog-actions", null, cancel, submit));

  let busy = false;
  const setStatus = (fraction, text) => {
    progress.hidden = false;
    progress.querySelector(".progress-bar").style.width = `${Math.round(fraction * 100)}%`;
    progress.querySelector(".upload-status").textContent = text;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (busy) return;
    error.hidden = true;
    const chosenFile = file.files && file.files[0];
    if (!chosenFile) {
      error.textContent = t("doc.need_file");
      error.hidden = false;
      file.focus();
      return;
    }
    const { classification, viewers } = picker.value();
    if (classification === "confidential" && !viewers.length) {
      error.textContent = t("doc.need_viewers");
      error.hidden = false;
      return;
    }
    busy = true;
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    try {
      setStatus(0, t("doc.uploading"));
      const sha256 = await upload(ctx.meetingId, chosenFile, (f) => setStatus(f * 0.9,
        t("doc.uploading")));
      setStatus(0.95, t("doc.attaching"));
      const body = { sha256, classification };
      const name = nfc(title.value).trim();
      if (name) body.title = name;
      if (item.value) body.item_id = Number(item.value);
      if (classification === "confidential") body.viewers = viewers;
      await request("POST", documentPath(ctx.meetingId), body);
      dialog.close();
      toast(t("doc.added", { title: name || chosenFile.name }), "success");
    } catch (err) {
      progress.hidden = true;
      error.textContent = describe(err);
      error.dataset.code = err instanceof ApiError ? err.code : "";
      error.hidden = false;
    } finally {
      busy = false;
      if (submit.isConnected) {
        submit.disabled = false;
        submit.removeAttribute("aria-busy");
      }
    }
  });

  const dialog = h("dialog.dialog.dialog-wide", { testid: "upload-dialog" }, form);
  document.body.appendChild(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  file.focus();
  return dialog;
}

/**
 * The bar above the room while something is presented and the viewer is closed: what is
 * shown, by whom, and the way back to following it.
 * @param {HTMLElement} el
 * @param {import("./room.js").RoomContext} ctx
 * @param {ReturnType<import("./viewer.js").createViewer>} viewer
 */
export function renderPresentBar(el, ctx, viewer) {
  const p = ctx.state.presentation;
  if (!p || viewer.isOpen) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  el.hidden = false;
  const d = ctx.state.documents.get(p.document_id);
  const mine = p.by === ctx.me.user_id;
  const who = ctx.name(p.by) || t("present.someone");
  replace(el,
    h("span.live-dot", { "aria-hidden": "true" }),
    h("div.present-text", null,
      h("p.present-label", null, mine ? t("present.you_present") : t("present.by", { name: who })),
      h("p.present-title", { testid: "present-bar-title" },
        d && !d.sealed ? `${d.title} · ${t("viewer.page_of", { n: p.page, total: pageCount(d) })}`
          : t("present.secret"))),
    h("button.btn.btn-primary", { type: "button", testid: "present-bar-follow",
      onclick: () => viewer.follow() }, mine ? t("present.reopen") : t("present.follow")));
}
