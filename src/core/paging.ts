/**
 * Prefix listing across shards. RavenDB pages by offset (`start`, `pageSize`); across N shards an
 * offset page needs the first start+pageSize items of every shard. The continuation token (our
 * addition) names the last key returned instead, so every shard seeks straight past it.
 */
import { badInput, ErrorTypes } from "./errors";
import { compareKeys } from "./keys";

export interface ListedItem {
  key: string;
  index: number;
  json: string;
}

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
  throw badInput(ErrorTypes.argument, `The continuation token '${text}' is not one this server issued.`);
}

/** Merges shard pages (each sorted) into one sorted list, keeping at most `limit` items. */
export function mergeSorted(pages: ListedItem[][], limit: number): ListedItem[] {
  const all = pages.flat();
  all.sort((a, b) => compareKeys(a.key, b.key));
  return limit >= 0 ? all.slice(0, limit) : all;
}
