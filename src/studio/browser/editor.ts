/**
 * The item editor: open, create, save and delete with the index the item was loaded at, so a
 * change made meanwhile answers Successful:false and is shown (with the current value) instead
 * of being overwritten. The user's text goes out as typed; the server's refusal is shown under
 * the field it is about.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Api } from "./api";
import type { Dom } from "./dom";
import type { Items } from "./items";
import type { Json } from "./json";
import type { ApiError, JsonObject, State, StoredItem } from "./types";
import type { Ui } from "./ui";

export function createEditor(dom: Dom, json: Json, ui: Ui, http: Api, state: State, items: Items) {
  const el = dom.el;
  type Kind = "create" | "save" | "delete";

  function clearEditorMessages(): void {
    el.edAlert.replaceChildren();
    el.edAlert.className = "msg";
    el.edStatus.textContent = "";
    el.edStatus.className = "msg";
    const pairs: [HTMLElement, HTMLElement][] = [
      [el.edKey, el.edKeyErr],
      [el.edValue, el.edValueErr],
      [el.edMeta, el.edMetaErr],
    ];
    for (const [input, holder] of pairs) {
      input.removeAttribute("aria-invalid");
      holder.textContent = "";
    }
  }
  function fieldError(input: HTMLInputElement | HTMLTextAreaElement, holder: HTMLElement, message: string): void {
    input.setAttribute("aria-invalid", "true");
    holder.textContent = message;
    input.focus();
  }
  function editorStatus(message: string): void {
    el.edStatus.className = "msg ok";
    el.edStatus.textContent = message;
  }
  function editorError(message: string): void {
    el.edAlert.className = "msg error";
    el.edAlert.replaceChildren(dom.node("p", message));
  }

  /** A stored item, or null for a new one. */
  function showEditor(item: StoredItem | null, focus: boolean): void {
    state.item = item;
    clearEditorMessages();
    el.editor.hidden = false;
    el.main.classList.remove("no-editor");
    if (item) {
      el.editorTitle.textContent = "Edit item";
      el.edKey.value = item.key;
      el.edKey.readOnly = true;
      el.edIndex.textContent = String(item.index);
      const value: JsonObject = json.isPlainObject(item.value) ? item.value : { Object: item.value };
      el.edValue.value = json.pretty(value.Object);
      el.edMeta.value = json.isPlainObject(value["@metadata"]) ? json.pretty(value["@metadata"]) : "{}";
      el.edDelete.hidden = false;
      el.edReload.hidden = false;
      el.edSave.textContent = "Save";
    } else {
      el.editorTitle.textContent = "New item";
      el.edKey.value = "";
      el.edKey.readOnly = false;
      el.edIndex.textContent = "0 (create only)";
      el.edValue.value = "{\n  \n}";
      el.edMeta.value = "{}";
      el.edDelete.hidden = true;
      el.edReload.hidden = true;
      el.edSave.textContent = "Create";
    }
    items.markCurrentRow();
    if (focus) (item ? el.edValue : el.edKey).focus();
  }

  function closeEditor(restoreFocus: boolean): void {
    const key = state.item ? state.item.key : null;
    state.item = null;
    el.editor.hidden = true;
    el.main.classList.add("no-editor");
    items.markCurrentRow();
    if (restoreFocus) {
      const back = key ? items.rowButton(key) : null;
      (back || el.newItem).focus();
    }
  }

  async function openItem(key: string): Promise<void> {
    const r = await http.api("GET", http.itemPath(key));
    const results = r.json ? r.json.Results : null;
    const found: unknown = r.status === 404 || !Array.isArray(results) ? null : results[0];
    if (!json.isPlainObject(found) || (found.Index as number) < 0 || found.Value === null) {
      ui.say(`The item ${key} does not exist (any more).`);
      await items.loadItems();
      return;
    }
    showEditor({ key: found.Key as string, index: found.Index as number, value: found.Value }, true);
    // Without JSON.rawJSON, integers past 2^53 would be shown (and saved back) rounded.
    if (!json.hasRaw && /\d{16,}/.test(r.text)) {
      el.edStatus.className = "msg info";
      el.edStatus.textContent =
        "This browser cannot show numbers with 16 or more digits exactly: check them before saving, as they would be saved rounded.";
    }
  }

  /** The body to send, or null after showing what is wrong (nothing is sent then). */
  function editorBody(): { key: string; body: string } | null {
    const key = el.edKey.value;
    if (!state.item && key.trim() === "") {
      fieldError(el.edKey, el.edKeyErr, "Enter a key.");
      return null;
    }
    const valueText = el.edValue.value.trim();
    try {
      JSON.parse(valueText);
    } catch (e) {
      fieldError(el.edValue, el.edValueErr, `The value is not valid JSON (${ui.messageOf(e)}). Nothing was sent.`);
      return null;
    }
    let metaText = el.edMeta.value.trim();
    if (metaText === "") metaText = "{}";
    let meta: unknown;
    try {
      meta = JSON.parse(metaText);
    } catch (e) {
      fieldError(el.edMeta, el.edMetaErr, `The metadata is not valid JSON (${ui.messageOf(e)}). Nothing was sent.`);
      return null;
    }
    // The user's own text goes out as typed, so numbers keep their digits. The rules of a value
    // (metadata an object, @expires a date, the size) are the server's one validator's: the page
    // only checks that each field is JSON, and shows the server's refusal under the field.
    let body = `{"Object":${valueText}`;
    if (!(json.isPlainObject(meta) && Object.keys(meta).length === 0)) body += `,"@metadata":${metaText}`;
    return { key, body: `${body}}` };
  }

  function showConflict(kind: Kind, key: string, loadedIndex: number, result: JsonObject): void {
    el.edAlert.className = "msg conflict";
    const parts: HTMLElement[] = [];
    const gone = result.Value === null || result.Value === undefined;
    const verb = kind === "delete" ? "deleted" : "saved";
    if (kind === "create") {
      parts.push(
        dom.node("p", `An item with the key ${key} already exists (index ${result.Index}). Nothing was created; open it to edit it.`),
      );
    } else if (gone) {
      parts.push(dom.node("p", `Changed by someone else \u2014 reload. ${key} was deleted meanwhile, so nothing was ${verb}.`));
    } else {
      parts.push(
        dom.node(
          "p",
          "Changed by someone else \u2014 reload. Nothing was " +
            verb +
            ": you loaded index " +
            loadedIndex +
            ", the item is now at index " +
            result.Index +
            ".",
        ),
      );
    }
    if (!gone) {
      parts.push(dom.node("p", "Current value:"));
      const pre = dom.node("pre", json.pretty(result.Value));
      pre.id = "ed-current";
      parts.push(pre);
    }
    const reload = dom.node(
      "button",
      kind === "create" ? "Open the existing item" : "Reload the current value (discards your edits)",
      "secondary",
    );
    reload.type = "button";
    reload.addEventListener(
      "click",
      ui.run(() => {
        if (gone && kind !== "create") {
          closeEditor(true);
          ui.say(`${key} was deleted by someone else.`);
          return items.loadItems();
        }
        return openItem(key);
      }),
    );
    parts.push(reload);
    el.edAlert.replaceChildren(...parts);
    el.edAlert.scrollIntoView({ block: "nearest" });
    // The list shows the item as it is now, too.
    items.loadItems().catch(ui.showError);
  }

  /** Puts the server's refusal of a save under the field it is about. */
  function showSaveError(err: unknown): void {
    const failure = err as ApiError;
    const status = failure?.status;
    const serverMessage = failure?.serverMessage || "";
    if (status === 400 && /@metadata|@expires/.test(serverMessage)) {
      fieldError(el.edMeta, el.edMetaErr, `${serverMessage} Nothing was saved.`);
    } else if (status === 400 && /key/i.test(serverMessage)) {
      fieldError(el.edKey, el.edKeyErr, `${serverMessage} Nothing was saved.`);
    } else if ((status === 400 || status === 413) && /body|value|Object/i.test(serverMessage)) {
      fieldError(el.edValue, el.edValueErr, `${serverMessage} Nothing was saved.`);
    } else {
      editorError(ui.messageOf(err));
    }
  }

  async function saveItem(): Promise<void> {
    clearEditorMessages();
    const checked = editorBody();
    if (!checked) return;
    const loaded = state.item;
    const loadedIndex = loaded ? loaded.index : 0;
    const key = loaded ? loaded.key : checked.key;
    el.edSave.disabled = true;
    try {
      const r = await http.api("PUT", http.itemPath(key, loadedIndex), checked.body);
      const result = r.json || {};
      if (result.Successful === true) {
        showEditor({ key, index: result.Index as number, value: result.Value }, false);
        editorStatus(`${(loaded ? "Saved " : "Created ") + key} at index ${result.Index}.`);
        await items.loadItems();
      } else {
        showConflict(loaded ? "save" : "create", key, loadedIndex, result);
      }
    } catch (err) {
      showSaveError(err);
    } finally {
      el.edSave.disabled = false;
    }
  }

  async function deleteItem(): Promise<void> {
    if (!state.item) return;
    clearEditorMessages();
    const key = state.item.key;
    const loadedIndex = state.item.index;
    if (!window.confirm(`Delete ${key} (index ${loadedIndex})? This cannot be undone.`)) return;
    el.edDelete.disabled = true;
    try {
      const r = await http.api("DELETE", http.itemPath(key, loadedIndex));
      const result = r.json || {};
      if (result.Successful === true) {
        closeEditor(false);
        ui.say(`Deleted ${key}.`);
        await items.loadItems();
        el.newItem.focus();
      } else {
        showConflict("delete", key, loadedIndex, result);
      }
    } catch (err) {
      editorError(ui.messageOf(err));
    } finally {
      el.edDelete.disabled = false;
    }
  }

  return { showEditor, closeEditor, openItem, saveItem, deleteItem, editorStatus };
}

export type Editor = ReturnType<typeof createEditor>;
