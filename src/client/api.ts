/**
 * The operations of one database, as the helpers (locks, unique values, idempotency) need them.
 * Two implementations: {@link CmpxchgClient} over HTTP and {@link CmpxchgServiceClient} over a
 * Service Binding's RPC, so every helper works with either.
 */
import type { ClusterTransaction } from "./transaction.js";
import type {
  ChangeResult,
  CompareExchangeResult,
  CompareExchangeValue,
  DatabaseRouting,
  ListOptions,
  ListPage,
  Metadata,
  ReadOptions,
  TransactionCommand,
  TransactionResult,
  WaitOptions,
  WriteOptions,
} from "./types.js";

export interface CmpxchgApi {
  /** The item, or null when it does not exist (or has expired). */
  get<T = unknown>(key: string, options?: ReadOptions): Promise<CompareExchangeValue<T> | null>;
  /** Items in the order of `keys`, null for each missing one. */
  getMany<T = unknown>(keys: string[], options?: ReadOptions): Promise<(CompareExchangeValue<T> | null)[]>;
  /** One page of the items whose lower-cased key starts with `prefix`, in key order. */
  list<T = unknown>(prefix: string, options?: ListOptions): Promise<ListPage<T>>;
  /** Every page of a prefix listing, following continuation tokens. */
  pages<T = unknown>(prefix: string, options?: ListOptions): AsyncIterableIterator<ListPage<T>>;
  /** Every item of a prefix listing, page by page. */
  listAll<T = unknown>(prefix: string, options?: ListOptions): AsyncIterableIterator<CompareExchangeValue<T>>;
  /** Writes if the item's index is `index` (0: only if absent). Never throws on a mismatch. */
  put<T = unknown>(key: string, value: T, index: number, metadata?: Metadata, options?: WriteOptions): Promise<CompareExchangeResult<T>>;
  /** `put` with index 0: succeeds only if the key does not exist. */
  create<T = unknown>(key: string, value: T, metadata?: Metadata, options?: WriteOptions): Promise<CompareExchangeResult<T>>;
  /** Deletes if the item's index is `index`; a missing key is a success. */
  delete<T = unknown>(key: string, index: number, options?: WriteOptions): Promise<CompareExchangeResult<T>>;
  /** A cluster-wide transaction to fill and `commit()`. */
  transaction(): ClusterTransaction;
  /** Commits a list of commands all or nothing; throws ClusterTransactionConcurrencyException on conflict. */
  commit(commands: TransactionCommand[], options?: WriteOptions): Promise<TransactionResult>;
  /** Answers once the item's index differs from `index` (-1: once it exists), or at the timeout. */
  waitForChange<T = unknown>(key: string, index: number, options?: WaitOptions): Promise<ChangeResult<T>>;
  /** How the database routes keys (whether it was created with key hash tags). */
  routing(options?: ReadOptions): Promise<DatabaseRouting>;
}

/** Follows continuation tokens from the first page to the last. */
export async function* followPages<T>(
  list: (prefix: string, options: ListOptions) => Promise<ListPage<T>>,
  prefix: string,
  options: ListOptions = {},
): AsyncIterableIterator<ListPage<T>> {
  let token = options.continuationToken ?? null;
  for (;;) {
    const page = await list(prefix, { ...options, continuationToken: token });
    yield page;
    if (!page.continuationToken) return;
    token = page.continuationToken;
  }
}

/** Flattens pages into items. */
export async function* flattenPages<T>(pages: AsyncIterable<ListPage<T>>): AsyncIterableIterator<CompareExchangeValue<T>> {
  for await (const page of pages) yield* page.items;
}

/** `@metadata` with `@expires` `ms` from now (ISO-8601, UTC), merged into `metadata`. */
export function expiresIn(ms: number, metadata: Metadata = {}, now = Date.now()): Metadata {
  return { ...metadata, "@expires": new Date(now + ms).toISOString() };
}

/** The instant an item's `@expires` names, in ms since the epoch; null when it never expires. */
export function expiryOf(metadata: Metadata | undefined): number | null {
  const text = metadata?.["@expires"];
  if (typeof text !== "string") return null;
  const at = Date.parse(text);
  return Number.isFinite(at) ? at : null;
}
