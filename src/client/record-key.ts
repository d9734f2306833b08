/**
 * Where an idempotency record lives: the item `<prefix><sha256 hex of scope>/<base32 of key>`,
 * shared by the Hono middleware (idempotency.ts) and the function wrapper (idempotent.ts). Free
 * of Hono, so the main entry of the client package needs nothing from it.
 */
import { isWellFormed } from "../core/keys.js";

/** Longest idempotency key, in characters (as Stripe allows). */
export const MAX_KEY_LENGTH = 255;
/** The server's limit on a compare-exchange key, in UTF-8 bytes. */
const MAX_RECORD_KEY_BYTES = 512;
/** sha256 hex (64) + "/" + base32 of the longest key (ceil(255 * 8 / 5) = 408). */
export const MAX_PREFIX_BYTES = MAX_RECORD_KEY_BYTES - 64 - 1 - Math.ceil((MAX_KEY_LENGTH * 8) / 5);

/** Throws at construction when a record prefix could push record keys past the server's limit. */
export function checkPrefix(prefix: string, who: string): void {
  if (new TextEncoder().encode(prefix).byteLength > MAX_PREFIX_BYTES) {
    throw new Error(
      `${who}: \`prefix\` must be at most ${MAX_PREFIX_BYTES} UTF-8 bytes so record keys stay within ${MAX_RECORD_KEY_BYTES}.`,
    );
  }
}

/**
 * The record item of `key` for the caller `scope`: `<prefix><sha256 hex of scope>/<base32 of key>`.
 * Both parts are in the server's lower case already (hex, RFC 4648 base32 unpadded, which is
 * injective across lengths), so the server's case folding changes nothing and distinct
 * (scope, key) pairs never share an item. Records written before keys were scoped (the raw key
 * under the prefix) are not read: a retry spanning that upgrade runs its handler again.
 */
export async function recordKey(scope: string, key: string, prefix = "idempotency/"): Promise<string> {
  if (!isWellFormed(scope)) throw new TypeError("idempotency: the scope is not well-formed UTF-16");
  const scopeHash = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(scope)));
  return `${prefix}${scopeHash}/${base32(new TextEncoder().encode(key))}`;
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** RFC 4648 base32 in lower case, unpadded: case-proof under the server's key folding. */
function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

export function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
