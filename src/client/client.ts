/**
 * The HTTP client of one database. Fetch only: runs in Workers, browsers and Node 18+.
 */
import { flattenPages, followPages, type CmpxchgApi } from "./api.js";
import { ClusterTransaction } from "./transaction.js";
import { Transport, type TransportOptions } from "./transport.js";
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
  WatchOptions,
  WatchTarget,
  WriteOptions,
} from "./types.js";
import { ChangeStream, connectSocket, watchQuery } from "./watch.js";
import { readChangeResult, readItem, readResults, readTransactionResult, readWriteResult } from "./wire.js";
import { answerParser, encodeBatch, encodeIndex, encodeValue } from "./encode.js";

export interface CmpxchgClientOptions extends TransportOptions {
  /** The database name (letters, digits, `_`, `-`, `.`). */
  database: string;
  /**
   * Read numbers exactly: a number a double would change (past 2^53, or `1.50`) is returned as a
   * `JsonNumber` holding its text, and written back as it was. Off: numbers are JS numbers.
   */
  exactNumbers?: boolean;
}

/** The server's long-poll limits. */
const WAIT_DEFAULT_MS = 30_000;
const WAIT_MAX_MS = 60_000;
/** Longest query string we build for getMany; longer key lists are split into several requests. */
const MAX_QUERY_CHARS = 6_000;
/** The official client's version: the server turns atomic guards on for clients at 5.2 or above. */
const CLIENT_VERSION = "7.2.2";
const JSON_HEADERS = { "Content-Type": "application/json; charset=utf-8" };

/**
 * @example
 * const client = new CmpxchgClient({ url: "https://cmpxchg.example.com", database: "shop", token });
 * const res = await client.create("emails/ada@example.com", "users/1");
 * if (!res.successful) console.log("taken by", res.value);
 */
export class CmpxchgClient implements CmpxchgApi {
  readonly database: string;
  private readonly transport: Transport;
  private readonly root: string;
  private readonly parse: (text: string) => unknown;

  constructor(options: CmpxchgClientOptions) {
    this.database = options.database;
    this.transport = new Transport(options);
    this.root = `/databases/${encodeURIComponent(options.database)}`;
    this.parse = answerParser(options.exactNumbers);
  }

  async get<T = unknown>(key: string, options: ReadOptions = {}): Promise<CompareExchangeValue<T> | null> {
    const answer = await this.transport.send({
      method: "GET",
      path: `${this.root}/cmpxchg?key=${encodeURIComponent(key)}`,
      accept: [404],
      signal: options.signal,
    });
    if (answer.status === 404) return null;
    return readItem<T>(readResults(this.parse(answer.text))[0]);
  }

  async getMany<T = unknown>(keys: string[], options: ReadOptions = {}): Promise<(CompareExchangeValue<T> | null)[]> {
    const out: (CompareExchangeValue<T> | null)[] = [];
    for (const chunk of chunkKeys(keys)) {
      // One key alone answers 404 when missing; get() knows that shape.
      if (chunk.length === 1) {
        out.push(await this.get<T>(chunk[0]!, options));
        continue;
      }
      const query = chunk.map((key) => `key=${encodeURIComponent(key)}`).join("&");
      const answer = await this.transport.send({ method: "GET", path: `${this.root}/cmpxchg?${query}`, signal: options.signal });
      const results = readResults(this.parse(answer.text));
      chunk.forEach((_, i) => out.push(readItem<T>(results[i])));
    }
    return out;
  }

  async list<T = unknown>(prefix: string, options: ListOptions = {}): Promise<ListPage<T>> {
    const params = new URLSearchParams({ startsWith: prefix, pageSize: String(options.pageSize ?? 100) });
    if (options.continuationToken) params.set("continuationToken", options.continuationToken);
    const answer = await this.transport.send({ method: "GET", path: `${this.root}/cmpxchg?${params}`, signal: options.signal });
    const json = this.parse(answer.text) as { ContinuationToken?: string | null };
    const items = readResults(json)
      .map((entry) => readItem<T>(entry))
      .filter((item) => item !== null);
    return { items, continuationToken: json.ContinuationToken ?? null };
  }

  pages<T = unknown>(prefix: string, options: ListOptions = {}): AsyncIterableIterator<ListPage<T>> {
    return followPages((p, o) => this.list<T>(p, o), prefix, options);
  }

  listAll<T = unknown>(prefix: string, options: ListOptions = {}): AsyncIterableIterator<CompareExchangeValue<T>> {
    return flattenPages(this.pages<T>(prefix, options));
  }

  async put<T = unknown>(
    key: string,
    value: T,
    index: number,
    metadata?: Metadata,
    options: WriteOptions = {},
  ): Promise<CompareExchangeResult<T>> {
    const answer = await this.transport.send({
      method: "PUT",
      path: `${this.root}/cmpxchg?key=${encodeURIComponent(key)}&index=${encodeIndex(index)}&${requestIdParam(options)}`,
      body: encodeValue(value, metadata),
      headers: JSON_HEADERS,
      signal: options.signal,
    });
    return readWriteResult<T>(this.parse(answer.text));
  }

  create<T = unknown>(key: string, value: T, metadata?: Metadata, options: WriteOptions = {}): Promise<CompareExchangeResult<T>> {
    return this.put(key, value, 0, metadata, options);
  }

  async delete<T = unknown>(key: string, index: number, options: WriteOptions = {}): Promise<CompareExchangeResult<T>> {
    const answer = await this.transport.send({
      method: "DELETE",
      path: `${this.root}/cmpxchg?key=${encodeURIComponent(key)}&index=${encodeIndex(index)}&${requestIdParam(options)}`,
      signal: options.signal,
    });
    return readWriteResult<T>(this.parse(answer.text));
  }

  transaction(): ClusterTransaction {
    return new ClusterTransaction((commands, options) => this.commit(commands, options));
  }

  async commit(commands: TransactionCommand[], options: WriteOptions = {}): Promise<TransactionResult> {
    const answer = await this.transport.send({
      method: "POST",
      path: `${this.root}/bulk_docs?${requestIdParam(options)}`,
      body: encodeBatch(commands),
      headers: { ...JSON_HEADERS, "Raven-Client-Version": CLIENT_VERSION },
      signal: options.signal,
    });
    return readTransactionResult(this.parse(answer.text));
  }

  async waitForChange<T = unknown>(key: string, index: number, options: WaitOptions = {}): Promise<ChangeResult<T>> {
    const timeout = Math.min(Math.max(0, Math.round(options.timeoutMs ?? WAIT_DEFAULT_MS)), WAIT_MAX_MS);
    const answer = await this.transport.send({
      method: "GET",
      path: `${this.root}/cmpxchg/wait?key=${encodeURIComponent(key)}&index=${index}&timeout=${timeout}`,
      // The server holds the request up to `timeout`: the attempt must outlast it.
      timeoutMs: timeout + this.transport.timeoutMs,
      signal: options.signal,
    });
    return readChangeResult<T>(this.parse(answer.text));
  }

  async routing(options: ReadOptions = {}): Promise<DatabaseRouting> {
    const answer = await this.transport.send({ method: "GET", path: `${this.root}/routing`, signal: options.signal });
    const body = this.parse(answer.text) as { KeyHashTags?: unknown; ShardCount?: unknown };
    return { keyHashTags: body.KeyHashTags === true, shardCount: Number(body.ShardCount) };
  }

  /**
   * Every change of one key (`"k"` or `{ key }`) or of a prefix (`{ prefix }`), until `return()`,
   * `break`, the signal, or the server closes. Await `stream.ready` before relying on delivery.
   * `fromIndex` replays the changes above an index first; a dropped connection is resumed by
   * itself with no gap and no duplicate; `stream.cursor` continues a stream later (see WatchOptions).
   */
  watch<T = unknown>(target: WatchTarget, options: WatchOptions = {}): ChangeStream<T> {
    const path = `${this.root}/cmpxchg/changes?${watchQuery(target)}`;
    const timeoutMs = options.connectTimeoutMs ?? this.transport.timeoutMs;
    const key = typeof target === "string" ? target : "key" in target ? target.key : null;
    // What a resync after HistoryCompacted reads: the key's item, or every item under the prefix.
    const snapshot = async (): Promise<CompareExchangeValue<T>[]> => {
      if (key !== null) return [await this.get<T>(key)].filter((item) => item !== null);
      const items: CompareExchangeValue<T>[] = [];
      for await (const item of this.listAll<T>((target as { prefix: string }).prefix)) items.push(item);
      return items;
    };
    return new ChangeStream<T>((query) => connectSocket(this.transport, path + query, timeoutMs), options, {
      target: key ?? (target as { prefix: string }).prefix,
      snapshot,
    });
  }
}

/** `raft-request-id=<id>`: the caller's id, else a fresh one. Built once per call, reused by every retry. */
function requestIdParam(options: WriteOptions): string {
  return `raft-request-id=${encodeURIComponent(options.requestId ?? crypto.randomUUID())}`;
}

/** Splits keys so that no query string grows past what proxies and servers reliably accept. */
function chunkKeys(keys: string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let length = 0;
  for (const key of keys) {
    const cost = encodeURIComponent(key).length + 5;
    if (current.length > 0 && length + cost > MAX_QUERY_CHARS) {
      chunks.push(current);
      current = [];
      length = 0;
    }
    current.push(key);
    length += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
