/** Shapes shared by the Studio's browser modules (types only: nothing here is served). */

/** An item as the editor holds it: the stored value is `{Object, @metadata?}`. */
export interface StoredItem {
  key: string;
  index: number;
  value: unknown;
}

/** The page's state: the open database, the list's filter and paging, the item in the editor. */
export interface State {
  db: string | null;
  prefix: string;
  pageSize: number;
  page: number;
  pageToken: string | null;
  nextToken: string | null;
  /** Items shown on the pages before this one (the "items 11–20" line). */
  before: number;
  shown: number;
  item: StoredItem | null;
  /** Request counters: an answer that is not the latest request's is dropped. */
  itemsSeq: number;
  txnsSeq: number;
}

export type JsonObject = { [key: string]: unknown };

/** What `api()` answers: the parsed body when it is JSON. */
export interface ApiResult {
  status: number;
  json: JsonObject | null;
  text: string;
}

/** A refused request: the HTTP status and the server's message, to show it under a field. */
export interface ApiError extends Error {
  status?: number;
  serverMessage?: string;
}

/** A row of GET /cmpxchg's Results. */
export interface ListedItem {
  Key: string;
  Index: number;
  Value: unknown;
}

/** A row of GET /transactions' Results. */
export interface ListedTxn {
  Seq: number;
  Index: number | null;
  Keys: unknown;
  State: string;
  Done: boolean;
  Mode: string;
  CreatedAt: string | null;
  DecidedAt: string | null;
}

export type Handler = (ev?: Event) => void;
