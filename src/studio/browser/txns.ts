/**
 * The cluster-wide transactions panel (read-only): the 50 most recent, newest first.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Api } from "./api";
import type { Dom } from "./dom";
import type { ListedTxn, State } from "./types";
import type { Ui } from "./ui";

export function createTxns(dom: Dom, ui: Ui, http: Api, state: State) {
  const TXN_LIMIT = 50;
  const OUTCOMES: Record<string, string> = { committed: "Committed", aborted: "Aborted", preparing: "In progress" };
  const el = dom.el;

  function formatTime(iso: string | null): string | null {
    if (!iso) return null;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }

  function row(t: ListedTxn): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.appendChild(dom.cell("Seq", String(t.Seq), "num"));
    tr.appendChild(dom.cell("Index", t.Index === null || t.Index === undefined ? dom.none() : String(t.Index), "num"));
    const keys = dom.node("ul", null, "keys");
    (Array.isArray(t.Keys) ? t.Keys : []).forEach((k: unknown) => {
      keys.appendChild(dom.node("li", String(k)));
    });
    tr.appendChild(dom.cell("Keys", keys));
    const txnState = String(t.State);
    const label = (OUTCOMES[txnState] || txnState) + (t.Done || txnState === "preparing" ? "" : " (applying)");
    tr.appendChild(dom.cell("Outcome", dom.node("span", label, `outcome ${txnState}`)));
    tr.appendChild(dom.cell("Mode", String(t.Mode)));
    tr.appendChild(dom.cell("Started", formatTime(t.CreatedAt) || dom.none()));
    tr.appendChild(dom.cell("Decided", formatTime(t.DecidedAt) || dom.none()));
    return tr;
  }

  async function loadTxns(): Promise<void> {
    const seq = ++state.txnsSeq;
    ui.busy(el.txns, true);
    try {
      const r = await http.api("GET", `${http.dbPath("/transactions")}?limit=${TXN_LIMIT}`);
      if (seq !== state.txnsSeq) return;
      const results: ListedTxn[] = r.json && Array.isArray(r.json.Results) ? r.json.Results : [];
      el.txnsBody.replaceChildren(...results.map(row));
      el.txnsEmpty.hidden = results.length > 0;
    } finally {
      if (seq === state.txnsSeq) ui.busy(el.txns, false);
    }
  }
  return { loadTxns };
}

export type Txns = ReturnType<typeof createTxns>;
