/**
 * The database picker: the names of created databases (GET /databases?namesOnly=true) and
 * opening one (its name goes into the address as ?db=, so a reload reopens it).
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Api } from "./api";
import type { Dom } from "./dom";
import type { Editor } from "./editor";
import type { Items } from "./items";
import type { Txns } from "./txns";
import type { State } from "./types";
import type { Ui } from "./ui";

export function createDatabases(
  dom: Dom,
  ui: Ui,
  http: Api,
  state: State,
  resetPaging: () => void,
  items: Items,
  editor: Editor,
  txns: Txns,
) {
  const el = dom.el;

  async function loadDbNames(): Promise<string[]> {
    const r = await http.api("GET", "/databases?namesOnly=true");
    const names: string[] = r.json && Array.isArray(r.json.Databases) ? r.json.Databases : [];
    el.dbNames.replaceChildren(
      ...names.map((name) => {
        const option = document.createElement("option");
        option.value = name;
        return option;
      }),
    );
    el.dbForm.setAttribute("data-names", String(names.length));
    return names;
  }

  async function openDb(name: string): Promise<void> {
    state.db = name;
    state.prefix = "";
    el.prefix.value = "";
    resetPaging();
    editor.closeEditor(false);
    el.dbCurrent.textContent = name;
    el.main.hidden = false;
    document.title = `${name} \u2014 Studio \u2014 edge-cmpxchg`;
    history.replaceState(null, "", `${location.pathname}?db=${encodeURIComponent(name)}`);
    ui.say(`Opened database ${name}.`);
    await Promise.all([items.loadItems(), txns.loadTxns()]);
  }
  return { loadDbNames, openDb };
}
