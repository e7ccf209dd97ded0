// The secretary's minutes editor: a drawer beside the live room for the chair, the secretary
// and administrators. The settings (template, issuing body, number, place), one text per
// section (the general proceedings, each agenda item, the closing), the conclusions ("5 rõ":
// what, who, by when), the preview of the file to sign, and the signing.
//
// A section is saved with the version its text started from (`base_version`). When someone
// else saved the section in between, the server refuses (`edit_conflict`), or this page sees
// their edit arrive while its own text is unsaved: either way the user's text stays in the
// editor, the other text is shown beside it, and the user merges and saves on the newer
// version. Unsaved text is also kept in localStorage until the server has it, so a reload or
// a crash does not lose it either.

import { ApiError, request } from "./api.js";
import { CommandRejected } from "./connection.js";
import { h, nfc, replace } from "./dom.js";
import { icon } from "./icons.js";
import { lang, pick, t } from "./i18n.js";
import { signActions, signatureList, signedBlock, statusChip } from "./minutes.js";
import { dayText, fileUrl, minutesPath, pageImageUrl, stamp } from "./minutes-sign.js";
import { confirmDialog, toast } from "./ui.js";

const AUTOSAVE_MS = 1500; // a pause in typing saves the section
const MAX_SECTION = 20000; // characters (minutes/commands.py)
const MAX_CONCLUSION = 2000;
const SETTINGS = ["template", "issuer", "number", "place"];
const TEMPLATES = ["state", "party"];

const pageWords = (n) => (n === 1 ? t("minutes.pages_one") : t("minutes.pages", { n }));

/**
 * The section `key` as the room holds it (a section never written is empty, version 0).
 * @param {import("./reducer.js").RoomState} state
 * @param {string} key
 * @returns {{key: string, text: string, version: number, by: number|null, at: string|null}}
 */
export function sectionOf(state, key) {
  const found = (state.minutes.sections || []).find((s) => s.key === key);
  return found || { key, text: "", version: 0, by: null, at: null };
}

/**
 * Create the editor.
 * @param {{meetingId: number, userId: number,
 *   context: () => import("./room.js").RoomContext,
 *   send: (name: string, args: object) => Promise<object>}} env `send`: a room command,
 *   queued while offline and resent after a reconnect; rejects with CommandRejected
 * @returns {{el: HTMLElement, open: () => void, close: () => void, prepare: () => void,
 *   update: (ctx: import("./room.js").RoomContext) => void, destroy: () => void}}
 */
export function createMinutesEditor(env) {
  const el = h("aside.minutes-view", { testid: "minutes-view", hidden: true,
    "aria-labelledby": "minutes-view-title" });
  /** section key -> the editor of that section */
  const models = new Map();
  const ui = {};
  let isOpen = false;
  let tab = "edit";
  let builtLang = null;
  let lastPrepared = null; // the last prepared file seen: an edit makes it outdated
  let preparing = false;
  let prepareSeq = 0; // the prepared event to wait for
  let prepareError = "";
  const settings = { values: {}, busy: false }; // field -> text typed and not saved yet
  const conclusionForm = { open: false, editing: null, values: null, error: "" };

  const ctx = () => env.context();
  const editable = (c) => c.isOrganiser && c.state.minutes.status === "draft";
  const backupKey = (key) => `phonghop.minutes.${env.meetingId}.${env.userId}.${key}`;

  // ---- the shell (rebuilt when the language changes; the texts typed are kept) ----

  function build() {
    builtLang = lang();
    ui.status = h("span.minutes-bar-status");
    ui.saveState = h("span.minutes-save-state", { testid: "minutes-save-state", role: "status" });
    ui.prepare = h("button.btn.btn-primary", { type: "button", testid: "minutes-prepare",
      onclick: () => prepare() }, t("minutes.prepare"));
    ui.tabs = {
      edit: h("button.minutes-tab", { type: "button", role: "tab", testid: "minutes-tab-edit",
        onclick: () => showTab("edit") }, t("minutes.tab_edit")),
      preview: h("button.minutes-tab", { type: "button", role: "tab", testid: "minutes-tab-preview",
        onclick: () => showTab("preview") }, t("minutes.tab_preview")),
    };
    ui.locked = h("p.minutes-locked", { testid: "minutes-locked", hidden: true },
      t("minutes.locked"));
    ui.sections = h("div.minutes-sections", { testid: "minutes-sections" });
    for (const model of models.values()) makeBlock(model);
    ui.settings = buildSettings();
    ui.conclusionList = h("ol.conclusion-list", { testid: "conclusion-list" });
    ui.conclusionAdd = h("button.btn.btn-secondary.btn-small", { type: "button",
      testid: "conclusion-add", onclick: () => openConclusionForm(null) },
    h("span", { "aria-hidden": "true" }, "+"), t("minutes.conclusion_add"));
    ui.conclusionSlot = h("div.conclusion-form-slot");
    ui.conclusionsHead = h("div.minutes-block-head", null,
      h("h3.minutes-block-title", null, t("minutes.conclusions")), ui.conclusionAdd);
    ui.previewStatus = h("div.preview-status");
    ui.pages = h("div.preview-pages", { testid: "preview-pages" });
    ui.pagesKey = null;
    ui.signing = h("div.preview-signing");
    ui.editPane = h("div.minutes-pane.minutes-edit", { role: "tabpanel", testid: "minutes-edit" },
      ui.locked,
      h("section.minutes-block", null,
        h("h3.minutes-block-title", null, t("minutes.settings")), ui.settings.el),
      h("section.minutes-block", null,
        h("h3.minutes-block-title", null, t("minutes.sections")),
        h("p.minutes-note", null, t("minutes.auto_note")),
        ui.sections),
      h("section.minutes-block", { testid: "conclusions" },
        ui.conclusionsHead,
        h("p.minutes-note", null, t("minutes.conclusions_hint")),
        ui.conclusionSlot, ui.conclusionList));
    ui.previewPane = h("div.minutes-pane.minutes-preview", { role: "tabpanel",
      testid: "minutes-preview" }, ui.previewStatus, ui.pages, ui.signing);
    replace(el,
      h("header.minutes-bar", null,
        h("button.btn.btn-ghost.minutes-close", { type: "button", testid: "minutes-close",
          onclick: () => close() }, h("span", { "aria-hidden": "true" }, "‹"), t("minutes.back")),
        h("div.minutes-heading", null,
          h("h2.minutes-title", { id: "minutes-view-title" }, t("minutes.editor_title")),
          h("p.minutes-sub", null, ui.status, ui.saveState)),
        ui.prepare),
      h("div.minutes-tabs", { role: "tablist" }, ui.tabs.edit, ui.tabs.preview),
      h("div.minutes-body", null, ui.editPane, ui.previewPane));
    conclusionForm.el = null;
  }

  function showTab(name) {
    tab = name;
    paint();
  }

  // ---- settings ----

  function buildSettings() {
    const f = { fields: {} };
    const field = (name, control, hint) => h(`div.field.minutes-field-${name}`, null,
      h("label.label", { for: control.id }, t(`minutes.${name}`)), control,
      hint ? h("p.field-hint", null, hint) : null);
    f.fields.template = h("select.input", { id: "minutes-template", testid: "minutes-template" },
      TEMPLATES.map((x) => h("option", { value: x }, t(`minutes.template.${x}`))));
    f.fields.issuer = h("input.input", { type: "text", id: "minutes-issuer", maxlength: 500,
      testid: "minutes-issuer", placeholder: t("minutes.issuer_placeholder") });
    f.fields.number = h("input.input", { type: "text", id: "minutes-number", maxlength: 60,
      testid: "minutes-number", placeholder: "15/BB-UBND" });
    f.fields.place = h("input.input", { type: "text", id: "minutes-place", maxlength: 100,
      testid: "minutes-place", placeholder: t("minutes.place_placeholder") });
    for (const name of SETTINGS) {
      const control = f.fields[name];
      if (name in settings.values) control.value = settings.values[name];
      control.addEventListener("input", () => {
        settings.values[name] = control.value;
        paintSettings(ctx());
      });
      control.addEventListener("change", () => {
        settings.values[name] = control.value;
        saveSettings();
      });
    }
    f.save = h("button.btn.btn-secondary.btn-small", { type: "button",
      testid: "minutes-settings-save", onclick: () => saveSettings() }, t("minutes.settings_save"));
    f.state = h("span.minutes-settings-state", { testid: "minutes-settings-state", role: "status" });
    f.el = h("div.minutes-settings", { testid: "minutes-settings" },
      field("template", f.fields.template),
      h("div.form-row", null,
        field("issuer", f.fields.issuer, t("minutes.issuer_hint")),
        field("number", f.fields.number, t("minutes.number_hint")),
        field("place", f.fields.place, t("minutes.place_hint"))),
      h("div.minutes-settings-actions", null, f.save, f.state));
    return f;
  }

  function settingsChanges(c) {
    const m = c.state.minutes;
    const changes = {};
    for (const [name, value] of Object.entries(settings.values)) {
      const text = name === "template" ? value : nfc(value).trim();
      if (text !== (m[name] ?? "")) changes[name] = text;
    }
    return changes;
  }

  /** Save the settings typed; resolves when the server answered. */
  function saveSettings() {
    if (settings.promise) return settings.promise;
    const c = ctx();
    if (!editable(c)) return null;
    const changes = settingsChanges(c);
    if (!Object.keys(changes).length) {
      settings.values = {};
      paintSettings(c);
      return null;
    }
    settings.busy = true;
    paintSettings(c);
    settings.promise = c.run("minutes.settings", changes, ui.settings.save).then((ack) => {
      if (!ack) return;
      // What was typed since stays to be saved.
      for (const [name, value] of Object.entries(changes)) {
        const now = name === "template" ? settings.values[name]
          : nfc(settings.values[name] || "").trim();
        if (now === value) delete settings.values[name];
      }
    }).finally(() => {
      settings.busy = false;
      settings.promise = null;
      paintSettings(ctx());
    });
    return settings.promise;
  }

  function paintSettings(c) {
    const f = ui.settings;
    const m = c.state.minutes;
    const can = editable(c);
    for (const name of SETTINGS) {
      const control = f.fields[name];
      control.disabled = !can;
      if (!(name in settings.values) && control.value !== (m[name] ?? "")) control.value = m[name] ?? "";
    }
    const pending = Object.keys(settingsChanges(c)).length > 0;
    f.save.disabled = !can || settings.busy || !pending;
    f.state.textContent = settings.busy ? t("minutes.saving") : pending ? t("minutes.unsaved") : "";
  }

  // ---- sections ----

  function sectionTitle(c, key) {
    if (key === "general") return t("minutes.section.general");
    if (key === "closing") return t("minutes.section.closing");
    const id = Number(key.slice(5));
    const item = c.state.items.get(id);
    const n = c.state.order.indexOf(id) + 1;
    return item ? `${n}. ${item.title}` : t("minutes.section.removed_item");
  }

  function readBackup(key) {
    try {
      const raw = localStorage.getItem(backupKey(key));
      const b = raw ? JSON.parse(raw) : null;
      return b && typeof b.text === "string" && Number.isInteger(b.base) ? b : null;
    } catch {
      return null;
    }
  }

  function writeBackup(model) {
    try {
      localStorage.setItem(backupKey(model.key),
        JSON.stringify({ text: model.textarea.value, base: model.base }));
    } catch {
      /* storage full or private mode: the text is still in the editor */
    }
  }

  function clearBackup(model) {
    try {
      localStorage.removeItem(backupKey(model.key));
    } catch {
      /* nothing kept */
    }
  }

  function makeModel(key) {
    const c = ctx();
    const server = sectionOf(c.state, key);
    const textarea = h("textarea.input.textarea.section-text", {
      id: `minutes-section-${key.replace(":", "-")}`, rows: key === "closing" ? 4 : 7,
      maxlength: MAX_SECTION, testid: "section-text", lang: "vi", spellcheck: "true",
    });
    textarea.value = server.text;
    const model = { key, textarea, base: server.version, saved: server.text, inflight: null,
      conflict: false, error: "", timer: 0, ui: null };
    // Text typed here earlier and never saved (a reload, a crash): back in the editor.
    const kept = readBackup(key);
    if (kept && editable(c) && nfc(kept.text) !== server.text) {
      textarea.value = kept.text;
      if (kept.base === server.version) {
        schedule(model);
      } else {
        // Saved by someone since: the user merges (on a base older than the room's).
        model.base = Math.min(kept.base, server.version - 1);
        model.conflict = true;
      }
    } else if (kept) {
      clearBackup(model);
    }
    textarea.addEventListener("input", () => {
      model.error = "";
      writeBackup(model);
      schedule(model);
      paintModel(model, ctx());
      paintSaveState();
    });
    textarea.addEventListener("blur", () => save(model));
    models.set(key, model);
    makeBlock(model);
    return model;
  }

  function makeBlock(model) {
    const u = {};
    const kind = model.key.startsWith("item:") ? "item" : model.key;
    model.textarea.placeholder = t(`minutes.placeholder.${kind}`);
    u.title = h("label.section-title", { for: model.textarea.id, testid: "section-title" });
    u.state = h("span.section-state", { testid: "section-state" });
    u.note = h("p.section-conflict", { role: "alert", testid: "section-conflict", hidden: true });
    u.theirsTitle = h("p.section-col-title");
    u.theirs = h("div.conflict-theirs", { testid: "conflict-theirs" });
    u.theirsBox = h("div.section-theirs", { hidden: true, testid: "conflict-theirs-box" },
      u.theirsTitle, u.theirs);
    u.mineTitle = h("p.section-col-title", { hidden: true }, t("minutes.mine"));
    u.append = h("button.btn.btn-secondary.btn-small", { type: "button", testid: "conflict-append",
      onclick: () => appendTheirs(model) }, t("minutes.conflict_append"));
    u.takeTheirs = h("button.btn.btn-quiet.btn-small", { type: "button",
      testid: "conflict-take-theirs", onclick: () => takeTheirs(model) }, t("minutes.conflict_take"));
    u.saveMerge = h("button.btn.btn-primary.btn-small", { type: "button", testid: "conflict-save",
      onclick: () => save(model, true) }, t("minutes.conflict_save"));
    u.actions = h("div.section-actions", { hidden: true, testid: "conflict-actions" },
      u.append, u.takeTheirs, u.saveMerge);
    u.el = h("section.minutes-section", { testid: "minutes-section", dataset: { section: model.key } },
      h("div.section-head", null, u.title, u.state),
      u.note,
      h("div.section-grid", null, u.theirsBox,
        h("div.section-mine", null, u.mineTitle, model.textarea)),
      u.actions);
    model.ui = u;
  }

  function schedule(model) {
    clearTimeout(model.timer);
    model.timer = setTimeout(() => save(model), AUTOSAVE_MS);
  }

  /** Follow the room: take others' edits when nothing is typed here, else merge. */
  function sync(model, c) {
    const s = sectionOf(c.state, model.key);
    if (!editable(c)) {
      // Signed (or no longer an organiser): the text is the room's, read only.
      clearTimeout(model.timer);
      if (model.textarea.value !== s.text) model.textarea.value = s.text;
      Object.assign(model, { base: s.version, saved: s.text, conflict: false, error: "" });
      clearBackup(model);
      return;
    }
    if (model.inflight) return; // the answer decides
    if (s.version === model.base && s.text === model.saved) return;
    const value = nfc(model.textarea.value);
    if (value === s.text) {
      Object.assign(model, { base: s.version, saved: s.text, conflict: false });
      clearBackup(model);
    } else if (value === model.saved && !model.conflict) {
      setText(model.textarea, s.text);
      Object.assign(model, { base: s.version, saved: s.text });
    } else if (s.version > model.base) {
      model.conflict = true;
      clearTimeout(model.timer);
    }
  }

  /** Replace a textarea's text, keeping the caret where it was when the user is in it. */
  function setText(textarea, text) {
    const focused = document.activeElement === textarea;
    const [start, end] = [textarea.selectionStart, textarea.selectionEnd];
    textarea.value = text;
    if (focused) textarea.setSelectionRange(Math.min(start, text.length), Math.min(end, text.length));
  }

  function save(model, merge = false) {
    clearTimeout(model.timer);
    model.timer = 0;
    const c = ctx();
    if (!editable(c) || model.inflight || (model.conflict && !merge)) return model.inflight?.promise;
    const text = nfc(model.textarea.value);
    if (!merge && text === model.saved) {
      clearBackup(model);
      return null;
    }
    if (text.length > MAX_SECTION) {
      model.error = t("minutes.too_long", { n: MAX_SECTION });
      paintModel(model, c);
      return null;
    }
    let base = model.base;
    if (merge) {
      const s = sectionOf(c.state, model.key);
      if (s.version <= model.base) return null; // the newer text has not arrived yet
      base = s.version;
    }
    const inflight = { text, base };
    model.inflight = inflight;
    model.error = "";
    inflight.promise = env.send("minutes.edit", { section: model.key, text, base_version: base })
      .then(() => {
        const s = sectionOf(ctx().state, model.key);
        // The event comes before the ack; if it has not (yet), ours is base + 1.
        model.base = s.text === text ? s.version : Math.max(base + 1, s.version);
        model.saved = text;
        model.conflict = false;
        if (nfc(model.textarea.value) === text) clearBackup(model);
        else schedule(model); // typed on while it was saving
      }, (err) => {
        if (err instanceof CommandRejected && err.code === "edit_conflict") {
          model.conflict = true;
        } else {
          model.error = err instanceof CommandRejected ? pick(err.serverMessage, err.code)
            : t("error.network");
          toast(model.error, "error");
        }
      })
      .finally(() => {
        model.inflight = null;
        const now = ctx();
        sync(model, now);
        paintModel(model, now);
        paintSaveState();
      });
    paintModel(model, c);
    paintSaveState();
    return inflight.promise;
  }

  function appendTheirs(model) {
    const s = sectionOf(ctx().state, model.key);
    const mine = model.textarea.value.replace(/\s+$/, "");
    model.textarea.value = mine ? `${mine}\n\n${s.text}` : s.text;
    writeBackup(model);
    model.textarea.focus();
    paintModel(model, ctx());
  }

  async function takeTheirs(model) {
    const ok = await confirmDialog({ title: t("minutes.conflict_take_title"),
      text: t("minutes.conflict_take_text"), confirm: t("minutes.conflict_take"), danger: true });
    if (!ok) return;
    const s = sectionOf(ctx().state, model.key);
    model.textarea.value = s.text;
    Object.assign(model, { base: s.version, saved: s.text, conflict: false, error: "" });
    clearBackup(model);
    paintModel(model, ctx());
    paintSaveState();
  }

  function paintModel(model, c) {
    const u = model.ui;
    if (!u || !c) return;
    const s = sectionOf(c.state, model.key);
    const can = editable(c);
    u.title.textContent = sectionTitle(c, model.key);
    model.textarea.readOnly = !can;
    const dirty = nfc(model.textarea.value) !== model.saved;
    let state = "saved";
    let text = s.version ? t("minutes.saved_by", { name: c.name(s.by) || t("minutes.someone"),
      time: stamp(s.at) }) : t("minutes.section_empty");
    if (model.conflict) [state, text] = ["conflict", t("minutes.state_conflict")];
    else if (model.inflight) [state, text] = ["saving", t("minutes.saving")];
    else if (model.error) [state, text] = ["error", model.error];
    else if (dirty) [state, text] = ["dirty", t("minutes.unsaved")];
    u.state.textContent = text;
    u.state.dataset.state = state;
    u.el.dataset.state = state;
    const conflict = model.conflict && can;
    u.note.hidden = !conflict;
    u.theirsBox.hidden = !conflict;
    u.mineTitle.hidden = !conflict;
    u.actions.hidden = !conflict;
    u.el.classList.toggle("is-conflict", conflict);
    if (!conflict) return;
    const newer = s.version > model.base;
    const name = c.name(s.by) || t("minutes.someone");
    u.note.textContent = newer ? t("minutes.conflict", { name }) : t("minutes.conflict_wait");
    u.theirsTitle.textContent = t("minutes.theirs", { name, version: s.version });
    replace(u.theirs, s.text || h("em", null, t("minutes.section_empty")));
    u.saveMerge.disabled = !newer || Boolean(model.inflight);
    u.append.disabled = !newer;
    u.takeTheirs.disabled = !newer;
  }

  function paintSections(c) {
    const keys = ["general", ...c.state.order.map((id) => `item:${id}`), "closing"];
    // A removed item's section stays while it holds unsaved text.
    for (const [key, model] of models) {
      if (!keys.includes(key) && (model.inflight || nfc(model.textarea.value) !== model.saved)) {
        keys.splice(keys.length - 1, 0, key);
      }
    }
    keys.forEach((key, i) => {
      const model = models.get(key) || makeModel(key);
      sync(model, c);
      paintModel(model, c);
      if (ui.sections.children[i] !== model.ui.el) {
        ui.sections.insertBefore(model.ui.el, ui.sections.children[i] || null);
      }
    });
    while (ui.sections.children.length > keys.length) ui.sections.lastElementChild.remove();
  }

  function paintSaveState() {
    if (!ui.saveState) return;
    const list = [...models.values()];
    let key = "minutes.all_saved";
    if (list.some((m) => m.conflict)) key = "minutes.needs_merge";
    else if (list.some((m) => m.inflight)) key = "minutes.saving";
    else if (list.some((m) => m.error || nfc(m.textarea.value) !== m.saved)) key = "minutes.unsaved";
    ui.saveState.textContent = t(key);
    ui.saveState.dataset.state = key.slice(8);
  }

  /** Save every section with unsaved text; resolves when the server answered them all. */
  async function flush() {
    const waits = [];
    for (const model of models.values()) {
      const p = save(model);
      if (p) waits.push(p);
    }
    await Promise.allSettled(waits);
  }

  // ---- conclusions ("5 rõ") ----

  function openConclusionForm(conclusion) {
    conclusionForm.open = true;
    conclusionForm.editing = conclusion ? conclusion.id : null;
    conclusionForm.error = "";
    const c = ctx();
    conclusionForm.values = conclusion
      ? { text: conclusion.text, owner: conclusion.owner, deadline: conclusion.deadline,
        item: conclusion.item_id == null ? "" : String(conclusion.item_id),
        ownerUser: conclusion.owner_user_id == null ? "" : String(conclusion.owner_user_id) }
      : { text: "", owner: "", deadline: "", ownerUser: "",
        item: c.state.activeItem == null ? "" : String(c.state.activeItem) };
    conclusionForm.el = null;
    paint();
    if (conclusionForm.el) conclusionForm.el.querySelector("textarea").focus();
  }

  function closeConclusionForm() {
    conclusionForm.open = false;
    conclusionForm.editing = null;
    conclusionForm.values = null;
    conclusionForm.el = null;
    paint();
  }

  function buildConclusionForm(c) {
    const v = conclusionForm.values;
    const bind = (control, name) => {
      control.value = v[name];
      control.addEventListener("input", () => { v[name] = control.value; });
      control.addEventListener("change", () => { v[name] = control.value; });
      return control;
    };
    const text = bind(h("textarea.input.textarea", { id: "conclusion-text", rows: 3,
      maxlength: MAX_CONCLUSION, testid: "conclusion-text-input",
      placeholder: t("minutes.conclusion_text_placeholder") }), "text");
    const item = bind(h("select.input", { id: "conclusion-item", testid: "conclusion-item" },
      h("option", { value: "" }, t("minutes.conclusion_general")),
      c.state.order.map((id, i) => h("option", { value: String(id) },
        `${i + 1}. ${c.state.items.get(id).title}`))), "item");
    const owner = bind(h("input.input", { type: "text", id: "conclusion-owner", maxlength: 500,
      testid: "conclusion-owner-input", placeholder: t("minutes.owner_placeholder") }), "owner");
    const people = [...c.state.participants.values()]
      .filter((p) => p.role !== "site_operator")
      .sort((a, b) => a.full_name.localeCompare(b.full_name, "vi"));
    const ownerUser = bind(h("select.input", { id: "conclusion-owner-user",
      testid: "conclusion-owner-user" },
    h("option", { value: "" }, t("minutes.owner_user_none")),
    people.map((p) => h("option", { value: String(p.user_id) },
      [p.full_name, p.unit].filter(Boolean).join(" — ")))), "ownerUser");
    ownerUser.addEventListener("change", () => {
      // Choosing a person names them as the owner when no owner was written yet.
      const p = c.state.participants.get(Number(ownerUser.value));
      if (p && !nfc(owner.value).trim()) {
        owner.value = p.full_name;
        v.owner = owner.value;
      }
    });
    const deadline = bind(h("input.input", { type: "date", id: "conclusion-deadline",
      required: true, testid: "conclusion-deadline-input" }), "deadline");
    const error = h("p.form-error", { role: "alert", testid: "conclusion-error",
      hidden: !conclusionForm.error }, conclusionForm.error);
    const submit = h("button.btn.btn-primary", { type: "submit", testid: "conclusion-save" },
      t(conclusionForm.editing == null ? "minutes.conclusion_create" : "minutes.conclusion_update"));
    const field = (control, label, hint) => h("div.field", null,
      h("label.label", { for: control.id }, label), control,
      hint ? h("p.field-hint", null, hint) : null);
    const form = h("form.conclusion-form", { testid: "conclusion-form", novalidate: true },
      h("p.sub-title", null, t(conclusionForm.editing == null
        ? "minutes.conclusion_new" : "minutes.conclusion_edit_title")),
      field(text, t("minutes.conclusion_text")),
      field(item, t("minutes.conclusion_item")),
      h("div.form-row", null,
        field(owner, t("minutes.owner"), t("minutes.owner_hint")),
        field(ownerUser, t("minutes.owner_user"))),
      field(deadline, t("minutes.deadline")),
      error,
      h("div.dialog-actions", null,
        h("button.btn.btn-secondary", { type: "button", testid: "conclusion-cancel",
          onclick: () => closeConclusionForm() }, t("common.cancel")),
        submit));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submitConclusion(submit);
    });
    return form;
  }

  async function submitConclusion(button) {
    const c = ctx();
    const v = conclusionForm.values;
    const fail = (key) => {
      conclusionForm.error = t(key);
      conclusionForm.el = null;
      paint();
    };
    const text = nfc(v.text).trim();
    const owner = nfc(v.owner).trim();
    if (!text) return fail("minutes.need_conclusion_text");
    if (!owner) return fail("minutes.need_owner");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v.deadline)) return fail("minutes.need_deadline");
    const args = { text, owner, deadline: v.deadline,
      item_id: v.item ? Number(v.item) : null,
      owner_user_id: v.ownerUser ? Number(v.ownerUser) : null };
    let ack;
    const id = conclusionForm.editing;
    const current = id == null ? null : (c.state.minutes.conclusions || []).find((x) => x.id === id);
    if (!current) {
      ack = await c.run("conclusion.add", args, button);
    } else {
      // Only what changed; a link removed is sent as null, which clears it.
      const changes = {};
      for (const [k, value] of Object.entries(args)) if ((current[k] ?? null) !== value) changes[k] = value;
      ack = Object.keys(changes).length
        ? await c.run("conclusion.update", { conclusion_id: id, ...changes }, button) : {};
    }
    if (ack) closeConclusionForm();
  }

  async function removeConclusion(conclusion, button) {
    const ok = await confirmDialog({ title: t("minutes.conclusion_remove_title"),
      text: t("minutes.conclusion_remove_text", { text: conclusion.text }),
      confirm: t("minutes.conclusion_remove"), danger: true });
    if (ok) await ctx().run("conclusion.remove", { conclusion_id: conclusion.id }, button);
  }

  function paintConclusions(c) {
    const can = editable(c);
    if (!can && conclusionForm.open) {
      conclusionForm.open = false;
      conclusionForm.el = null;
    }
    ui.conclusionAdd.hidden = !can || conclusionForm.open;
    if (conclusionForm.open && !conclusionForm.el) {
      conclusionForm.el = buildConclusionForm(c);
      replace(ui.conclusionSlot, conclusionForm.el);
    } else if (!conclusionForm.open) {
      replace(ui.conclusionSlot);
    }
    const list = c.state.minutes.conclusions || [];
    const key = JSON.stringify([list, can, c.connected, lang(), conclusionForm.editing,
      c.state.order.map((id) => c.state.items.get(id).title)]);
    if (ui.conclusionList.dataset.key === key) return;
    ui.conclusionList.dataset.key = key;
    if (!list.length) {
      replace(ui.conclusionList, h("li.empty", { testid: "conclusions-empty" },
        t("minutes.conclusions_empty")));
      return;
    }
    replace(ui.conclusionList, list.map((x) => {
      const item = x.item_id != null ? c.state.items.get(x.item_id) : null;
      const person = x.owner_user_id != null ? c.name(x.owner_user_id) : "";
      return h("li.conclusion", { testid: "conclusion", dataset: { conclusionId: String(x.id) },
        class: conclusionForm.editing === x.id ? "is-editing" : "" },
      h("p.conclusion-text", { testid: "conclusion-text" }, x.text),
      h("dl.conclusion-meta", null,
        h("div", null, h("dt", null, t("minutes.owner")),
          h("dd", { testid: "conclusion-owner" }, x.owner,
            person && person !== x.owner ? ` (${person})` : "")),
        h("div", null, h("dt", null, t("minutes.deadline")),
          h("dd", { testid: "conclusion-deadline" }, dayText(x.deadline))),
        item ? h("div", null, h("dt", null, t("minutes.conclusion_item")),
          h("dd", { testid: "conclusion-item-title" }, item.title)) : null),
      can ? h("div.conclusion-actions", null,
        h("button.btn.btn-quiet.btn-small", { type: "button", testid: "conclusion-edit",
          disabled: !c.connected, onclick: () => openConclusionForm(x) }, t("minutes.conclusion_edit")),
        h("button.btn.btn-danger-outline.btn-small", { type: "button", testid: "conclusion-remove",
          disabled: !c.connected, onclick: (ev) => removeConclusion(x, ev.currentTarget) },
        t("minutes.conclusion_remove"))) : null);
    }));
  }

  // ---- preview and signing ----

  async function prepare() {
    const c = ctx();
    if (!editable(c) || preparing) {
      if (!isOpen) open();
      showTab("preview");
      return;
    }
    if (!isOpen) open();
    tab = "preview";
    preparing = true;
    prepareError = "";
    paint();
    await Promise.allSettled([flush(), saveSettings()]); // what is typed goes into the file
    const unsaved = [...models.values()].filter((m) => m.conflict ||
      nfc(m.textarea.value) !== m.saved);
    if (unsaved.length) {
      preparing = false;
      prepareError = t("minutes.prepare_unsaved", { sections: unsaved.map((m) =>
        sectionTitle(ctx(), m.key)).join("; ") });
      paint();
      return;
    }
    try {
      const answer = await request("POST", `${minutesPath(env.meetingId)}/prepare`);
      prepareSeq = answer.seq || 0;
    } catch (err) {
      prepareError = err instanceof ApiError ? err.describe() : t("error.network");
    } finally {
      preparing = false;
      paint();
    }
  }

  function paintPreview(c) {
    const m = c.state.minutes;
    const last = (m.signatures || []).at(-1);
    const waiting = preparing || c.state.seq < prepareSeq;
    const sha = last ? last.sha256 : m.prepared_sha256;
    const pages = m.prepared_pages || 0;
    const parts = [];
    if (waiting) {
      parts.push(h("p.minutes-note.is-busy", { testid: "minutes-preparing" }, t("minutes.preparing")));
    } else if (prepareError) {
      parts.push(h("p.form-error", { role: "alert", testid: "minutes-prepare-error" }, prepareError));
    }
    if (!waiting) {
      if (last) {
        parts.push(h("p.preview-line", null, t("minutes.preview_signed", { pages: pageWords(pages) })));
      } else if (m.prepared_sha256) {
        parts.push(h("p.preview-line", { testid: "minutes-prepared" },
          t("minutes.prepared", { pages: pageWords(pages) }),
          h("a.btn.btn-secondary.btn-small", { href: fileUrl(env.meetingId, m.prepared_sha256),
            download: "", testid: "minutes-prepared-download" }, icon("download", 20),
          t("minutes.download_prepared"))));
      } else if (lastPrepared) {
        parts.push(h("p.minutes-outdated", { role: "status", testid: "minutes-outdated" },
          t("minutes.outdated")));
      } else {
        parts.push(h("p.minutes-note", { testid: "minutes-not-prepared" }, t("minutes.not_prepared")));
      }
    }
    replace(ui.previewStatus, parts);
    const show = !waiting && sha && pages ? `${sha}:${pages}:${lang()}` : null;
    if (ui.pagesKey !== show) {
      ui.pagesKey = show;
      replace(ui.pages, show ? Array.from({ length: pages }, (_, i) => h("figure.preview-page", null,
        h("img", { src: pageImageUrl(env.meetingId, sha, i + 1, "tablet"), loading: "lazy",
          alt: t("minutes.page", { n: i + 1 }), testid: "preview-page" }),
        h("figcaption", null, t("minutes.page", { n: i + 1 })))) : []);
    }
    replace(ui.signing,
      h("h3.minutes-block-title", null, t("minutes.signatures")),
      h("p.minutes-note", null, t("minutes.sign_order")),
      signatureList(c),
      signActions(c, { prepare: () => prepare() }),
      signedBlock(c));
  }

  // ---- the whole drawer ----

  function paint() {
    if (!isOpen) return;
    const c = ctx();
    if (!c || !c.state) return;
    if (builtLang !== lang()) build();
    const m = c.state.minutes;
    const can = editable(c);
    replace(ui.status, statusChip(m.status));
    ui.prepare.disabled = !can || preparing;
    ui.prepare.hidden = m.status !== "draft";
    ui.locked.hidden = m.status === "draft";
    for (const [name, button] of Object.entries(ui.tabs)) {
      button.setAttribute("aria-selected", String(tab === name));
      button.classList.toggle("is-current", tab === name);
    }
    ui.editPane.hidden = tab !== "edit";
    ui.previewPane.hidden = tab !== "preview";
    paintSettings(c);
    paintSections(c);
    paintConclusions(c);
    paintPreview(c);
    paintSaveState();
  }

  function open() {
    const c = ctx();
    if (!c || !c.isOrganiser) return;
    if (!isOpen) {
      isOpen = true;
      el.hidden = false;
      document.body.classList.add("has-minutes");
    }
    paint();
  }

  function close() {
    if (!isOpen) return;
    for (const model of models.values()) save(model); // nothing typed waits for a pause
    isOpen = false;
    el.hidden = true;
    document.body.classList.remove("has-minutes");
  }

  return {
    el,
    open,
    close,
    prepare: () => prepare(),
    update(c) {
      if (c.state.minutes.prepared_sha256) {
        lastPrepared = { sha: c.state.minutes.prepared_sha256, pages: c.state.minutes.prepared_pages };
      }
      if (!c.isOrganiser) {
        close();
        return;
      }
      if (isOpen) paint();
      else for (const model of models.values()) sync(model, c);
    },
    destroy() {
      for (const model of models.values()) clearTimeout(model.timer);
      document.body.classList.remove("has-minutes");
    },
  };
}
