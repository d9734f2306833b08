/**
 * The item list: one page of GET /cmpxchg (prefix filter, page size, continuation token), each
 * row a button that opens the item, the row of the item in the editor marked.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Api } from "./api";
import type { Dom } from "./dom";
import type { Json } from "./json";
import type { ListedItem, State } from "./types";
import type { Ui } from "./ui";

export function createItems(
  dom: Dom,
  json: Json,
  ui: Ui,
  http: Api,
  state: State,
  /** Opens an item in the editor (the editor's, given late: it also reloads this list). */
  openItem: (key: string) => Promise<void>,
) {
  const PREVIEW_CHARS = 80;
  const el = dom.el;
  const enc = encodeURIComponent;

  function expiresOf(value: unknown): string | null {
    const meta = json.isPlainObject(value) && json.isPlainObject(value["@metadata"]) ? value["@metadata"] : null;
    return meta && typeof meta["@expires"] === "string" ? meta["@expires"] : null;
  }
  function sameKey(a: string, b: string): boolean {
    return a.toLowerCase() === b.toLowerCase();
  }

  async function loadItems(): Promise<void> {
    const seq = ++state.itemsSeq;
    ui.busy(el.items, true);
    try {
      let query = `?startsWith=${enc(state.prefix)}&pageSize=${state.pageSize}`;
      if (state.pageToken) query += `&continuationToken=${enc(state.pageToken)}`;
      const r = await http.api("GET", http.dbPath("/cmpxchg") + query);
      if (seq !== state.itemsSeq) return;
      const results: ListedItem[] = r.json && Array.isArray(r.json.Results) ? r.json.Results : [];
      renderItems(results);
      state.shown = results.length;
      const token = r.json ? r.json.ContinuationToken : null;
      state.nextToken = typeof token === "string" && token ? token : null;
      const hadFocus = document.activeElement;
      el.nextPage.disabled = !state.nextToken;
      el.firstPage.disabled = state.page === 1;
      el.pageInfo.textContent = results.length
        ? `Page ${state.page} \u00b7 items ${state.before + 1}\u2013${state.before + results.length}`
        : `Page ${state.page} \u00b7 no items`;
      el.itemsEmpty.hidden = results.length > 0;
      el.itemsEmpty.textContent =
        state.page > 1
          ? "No more items. Go back to the first page."
          : state.prefix
            ? `No items whose key starts with \u201c${state.prefix}\u201d.`
            : "No compare-exchange items in this database yet.";
      // A paging button that just got disabled would drop the keyboard focus: keep it nearby.
      if (hadFocus instanceof HTMLButtonElement && hadFocus.disabled) {
        const target = !el.firstPage.disabled ? el.firstPage : !el.nextPage.disabled ? el.nextPage : el.newItem;
        target.focus();
      }
    } finally {
      if (seq === state.itemsSeq) ui.busy(el.items, false);
    }
  }

  function renderItems(results: ListedItem[]): void {
    const rows = results.map((item) => {
      const value = item.Value;
      const object = json.isPlainObject(value) ? value.Object : value;
      const meta = json.isPlainObject(value) && json.isPlainObject(value["@metadata"]) ? value["@metadata"] : null;
      const tr = document.createElement("tr");
      tr.setAttribute("data-key", item.Key);
      if (state.item && sameKey(state.item.key, String(item.Key))) tr.className = "current";
      const open = dom.node("button", item.Key, "key");
      open.type = "button";
      open.setAttribute("aria-label", `Open ${item.Key}`);
      open.addEventListener(
        "click",
        ui.run(() => openItem(item.Key)),
      );
      tr.appendChild(dom.cell("Key", open));
      const full = json.compact(object);
      const preview = dom.node("code", json.clip(full, PREVIEW_CHARS), "preview");
      preview.title = json.clip(full, 2000);
      tr.appendChild(dom.cell("Value", preview));
      if (meta && Object.keys(meta).length > 0) {
        const metaText = json.compact(meta);
        const metaCode = dom.node("code", json.clip(metaText, PREVIEW_CHARS), "preview meta");
        metaCode.title = json.clip(metaText, 2000);
        tr.appendChild(dom.cell("Metadata", metaCode));
      } else {
        tr.appendChild(dom.cell("Metadata", dom.none()));
      }
      tr.appendChild(dom.cell("Index", String(item.Index), "num"));
      const expires = expiresOf(value);
      if (expires) {
        const at = Date.parse(expires);
        const past = !Number.isNaN(at) && at <= Date.now();
        const span = dom.node("span", expires + (past ? " (expired)" : ""), past ? "expired" : "");
        if (!Number.isNaN(at)) span.title = new Date(at).toLocaleString();
        tr.appendChild(dom.cell("Expires", span));
      } else {
        tr.appendChild(dom.cell("Expires", dom.none()));
      }
      return tr;
    });
    el.itemsBody.replaceChildren(...rows);
  }

  /** Marks the row of the item in the editor (keys compare case-insensitively, as stored). */
  function markCurrentRow(): void {
    for (const tr of Array.from(el.itemsBody.rows)) {
      const key = tr.getAttribute("data-key") || "";
      tr.className = state.item && sameKey(state.item.key, key) ? "current" : "";
    }
  }

  /** The open button of a listed key's row, if it is on this page. */
  function rowButton(key: string): HTMLButtonElement | null {
    for (const tr of Array.from(el.itemsBody.rows)) {
      if (sameKey(tr.getAttribute("data-key") || "", key)) return tr.querySelector("button");
    }
    return null;
  }

  return { loadItems, markCurrentRow, rowButton };
}

export type Items = ReturnType<typeof createItems>;
