/**
 * Compare-exchange key rules, as RavenDB's server applies them.
 *
 * RavenDB lower-cases keys one UTF-16 code unit at a time with .NET's invariant, simple (1:1)
 * mapping and leaves surrogates alone. JavaScript's `toLowerCase` uses full, context-sensitive
 * mapping (`İ` → `i̇`, final `Σ` → `ς`, supplementary letters lowered), so it is applied per code
 * unit here and multi-unit results are cut back to their first unit.
 */

/** RavenDB's `MaxNumberOfCompareExchangeKeyBytes`: checked on the characters and on the UTF-8 bytes. */
export const MAX_KEY_BYTES = 512;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point: keys that need no per-unit folding
const ASCII = /^[\x00-\x7f]*$/;
const encoder = new TextEncoder();

/** The storage form of a key: RavenDB-compatible case folding. */
export function lowerKey(key: string): string {
  if (ASCII.test(key)) return key.toLowerCase();
  let out = "";
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    // Surrogates are left unchanged, as .NET's per-char ToLowerInvariant does.
    if (unit >= 0xd800 && unit <= 0xdfff) {
      out += key[i];
      continue;
    }
    const lowered = String.fromCharCode(unit).toLowerCase();
    out += lowered.length === 1 ? lowered : lowered[0];
  }
  return out;
}

export function utf8Length(text: string): number {
  if (ASCII.test(text)) return text.length;
  return encoder.encode(text).length;
}

/** RavenDB checks `key.Length > 512 || UTF8ByteCount(key) > 512`. */
export function isKeyTooBig(key: string): boolean {
  return key.length > MAX_KEY_BYTES || utf8Length(key) > MAX_KEY_BYTES;
}

/** Blank means missing to RavenDB's query-string reader (`GetStringQueryString`). */
export function isBlank(value: string | null | undefined): value is null | undefined | "" {
  return value == null || value.trim() === "";
}

/**
 * Orders strings by Unicode code point, which is the order of their UTF-8 bytes — the order SQLite's
 * BINARY collation and RavenDB's Voron both use. JavaScript's `<` compares UTF-16 units, which
 * disagrees for characters above U+FFFF, so merges of shard pages use this instead.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) sorts after every BMP unit from U+E000 up.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? (y >= 0xe000 ? 1 : x - y) : x >= 0xe000 ? -1 : x - y;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The least string greater than every string that starts with `prefix` (in code point order), or
 * null when there is none. Lets a prefix scan be an index range `key >= prefix AND key < upper`.
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return points.join("") + String.fromCodePoint(next);
  }
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A key must be well-formed UTF-16 (no lone surrogate): one that is not has no UTF-8 form, so it
 * would be stored as something no request can name again.
 */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}
