/**
 * Prefix listing across shards. RavenDB pages by offset (`start`, `pageSize`); across N shards an
 * offset page is found by merging the shards' sorted key streams and skipping `start` of them.
 * The continuation token (our addition) names the last key returned instead, so every shard
 * seeks straight past it.
 */
import { badInput, echo, ErrorTypes } from "./errors";
import { compareKeys } from "./keys";

export interface Continuation {
  /** The lower-cased prefix the listing was started with. */
  prefix: string;
  /** The last lower-cased key already returned. */
  after: string;
}

export function encodeContinuation(token: Continuation): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, p: token.prefix, a: token.after }));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeContinuation(text: string): Continuation {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const token = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)) as unknown;
    if (
      token !== null &&
      typeof token === "object" &&
      (token as { v?: unknown }).v === 1 &&
      typeof (token as { p?: unknown }).p === "string" &&
      typeof (token as { a?: unknown }).a === "string"
    ) {
      return { prefix: (token as { p: string }).p, after: (token as { a: string }).a };
    }
  } catch {
    // fall through to the error below
  }
  throw badInput(ErrorTypes.argument, `The continuation token '${echo(text)}' is not one this server issued.`);
}

/** One key of a listing, with the size of its value and the source (shard) it came from. */
export interface KeyEntry {
  key: string;
  bytes: number;
  source: number;
}

/** Reads the next keys of one source after `after` (all from the start when undefined). */
export type KeySource = (after: string | undefined, limit: number) => Promise<{ key: string; bytes: number }[]>;

export interface PageRequest {
  /** Resume after this key (a continuation token's), or from the start. */
  after?: string | undefined;
  /** Entries to skip first (RavenDB's `start`). */
  start: number;
  /** Most entries in the page. */
  pageSize: number;
  /** Most value bytes in the page; the page stops before the entry that would pass it (one entry always fits). */
  maxBytes: number;
  /** Keys asked of a source at a time: bounds what is held per source while merging. */
  chunk: number;
}

/**
 * Chooses a listing page by merging the sorted key streams of several sources, in key order,
 * holding at most `chunk` keys per source at a time — so skipping far (`start`) costs time, not
 * memory. `more` says the page was cut (by size or bytes) and a continuation may follow.
 */
export async function pickPage(sources: KeySource[], request: PageRequest): Promise<{ page: KeyEntry[]; more: boolean }> {
  const buffers = sources.map(() => ({ entries: [] as { key: string; bytes: number }[], at: 0, done: false, after: request.after }));
  const refill = () =>
    Promise.all(
      buffers.map(async (buffer, i) => {
        if (buffer.done || buffer.at < buffer.entries.length) return;
        buffer.entries = await sources[i]!(buffer.after, request.chunk);
        buffer.at = 0;
        if (buffer.entries.length < request.chunk) buffer.done = true;
        if (buffer.entries.length > 0) buffer.after = buffer.entries[buffer.entries.length - 1]!.key;
      }),
    );
  const page: KeyEntry[] = [];
  let skipped = 0;
  let bytes = 0;
  for (;;) {
    await refill();
    let best = -1;
    for (let i = 0; i < buffers.length; i++) {
      const head = buffers[i]!.entries[buffers[i]!.at];
      if (head && (best < 0 || compareKeys(head.key, buffers[best]!.entries[buffers[best]!.at]!.key) < 0)) best = i;
    }
    if (best < 0) return { page, more: false };
    const head = buffers[best]!.entries[buffers[best]!.at]!;
    if (skipped < request.start) {
      skipped++;
      buffers[best]!.at++;
      continue;
    }
    if (page.length >= request.pageSize || (page.length > 0 && bytes + head.bytes > request.maxBytes)) return { page, more: true };
    page.push({ ...head, source: best });
    bytes += head.bytes;
    buffers[best]!.at++;
  }
}
