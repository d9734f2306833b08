/**
 * The Studio's entry: builds the modules, wires the page's controls, opens `?db=` if given and
 * marks the page ready (`<html data-ready="true">`, what the end-to-end test waits for).
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Editor } from "./editor";
import type { Modules } from "./modules";

export function main(doc: Document, m: Modules): void {
  const json = m.createJson();
  const dom = m.createDom(doc);
  const el = dom.el;
  const ui = m.createUi(el);
  const auth = m.createAuth(el);
  const { state, resetPaging } = m.createState();
  const http = m.createApi(json, auth, state);
  // The list opens items in the editor, the editor reloads the list: the editor comes second.
  let editor: Editor | null = null;
  const items = m.createItems(dom, json, ui, http, state, (key) => (editor ? editor.openItem(key) : Promise.resolve()));
  const ed = m.createEditor(dom, json, ui, http, state, items);
  editor = ed;
  const txns = m.createTxns(dom, ui, http, state);
  const databases = m.createDatabases(dom, ui, http, state, resetPaging, items, ed, txns);
  const run = ui.run;

  el.authForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = el.authToken.value.trim();
    if (!token) {
      el.authMsg.textContent = "Enter a token, or Cancel.";
      el.authToken.focus();
      return;
    }
    auth.setToken(token);
    el.authToken.value = "";
    auth.finishAuth(true);
  });
  el.authCancel.addEventListener("click", () => {
    auth.finishAuth(false);
  });
  el.authForget.addEventListener("click", () => {
    auth.setToken(null);
    ui.say("The access token was forgotten.");
  });

  el.dbForm.addEventListener(
    "submit",
    run(() => {
      const name = el.dbInput.value.trim();
      if (!name) {
        el.error.textContent = "Enter a database name.";
        el.dbInput.focus();
        return;
      }
      return databases.openDb(name);
    }),
  );
  el.dbReload.addEventListener(
    "click",
    run(() =>
      databases.loadDbNames().then((names) => {
        ui.say(`${names.length} database(s) found.`);
      }),
    ),
  );
  el.filterForm.addEventListener(
    "submit",
    run(() => {
      state.prefix = el.prefix.value;
      state.pageSize = Number(el.pageSize.value) || 10;
      resetPaging();
      return items.loadItems();
    }),
  );
  el.pageSize.addEventListener(
    "change",
    run(() => {
      state.pageSize = Number(el.pageSize.value) || 10;
      resetPaging();
      return items.loadItems();
    }),
  );
  el.nextPage.addEventListener(
    "click",
    run(() => {
      if (!state.nextToken) return;
      state.before += state.shown;
      state.pageToken = state.nextToken;
      state.page += 1;
      return items.loadItems();
    }),
  );
  el.firstPage.addEventListener(
    "click",
    run(() => {
      resetPaging();
      return items.loadItems();
    }),
  );
  el.newItem.addEventListener("click", () => {
    ed.showEditor(null, true);
  });
  el.edForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void ed.saveItem();
  });
  el.edDelete.addEventListener("click", () => {
    void ed.deleteItem();
  });
  el.edReload.addEventListener(
    "click",
    run(() => {
      if (!state.item) return;
      const key = state.item.key;
      return ed.openItem(key).then(() => {
        if (state.item) ed.editorStatus(`Reloaded ${key} (index ${state.item.index}).`);
      });
    }),
  );
  el.edClose.addEventListener("click", () => {
    ed.closeEditor(true);
  });
  el.txnsRefresh.addEventListener("click", run(txns.loadTxns));

  el.authForget.hidden = !auth.getToken();
  const initial = new URLSearchParams(location.search).get("db");
  databases.loadDbNames().catch(ui.showError);
  if (initial) {
    el.dbInput.value = initial;
    databases.openDb(initial).catch(ui.showError);
  }
  doc.documentElement.setAttribute("data-ready", "true");
}
