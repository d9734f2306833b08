/**
 * The page's state and the reset of the list's paging.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { State } from "./types";

export function createState() {
  const state: State = {
    db: null,
    prefix: "",
    pageSize: 10,
    page: 1,
    pageToken: null,
    nextToken: null,
    before: 0,
    shown: 0,
    item: null,
    itemsSeq: 0,
    txnsSeq: 0,
  };
  function resetPaging(): void {
    state.page = 1;
    state.pageToken = null;
    state.nextToken = null;
    state.before = 0;
    state.shown = 0;
  }
  return { state, resetPaging };
}
