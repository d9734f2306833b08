/**
 * JSON for display: big numbers keep their digits where the browser has JSON.rawJSON.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
export function createJson() {
  type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: unknown }) => unknown;
  const raw = (JSON as { rawJSON?: (text: string) => unknown }).rawJSON;
  const hasRaw = typeof raw === "function";

  function parseJson(text: string): unknown {
    if (!raw) return JSON.parse(text);
    const rawJSON = raw;
    const reviver: Reviver = (_key, value, context) => {
      if (typeof value === "number" && context && typeof context.source === "string" && String(value) !== context.source) {
        return rawJSON(context.source);
      }
      return value;
    };
    return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
  }
  function pretty(value: unknown): string {
    return value === undefined ? "null" : JSON.stringify(value, null, 2);
  }
  function compact(value: unknown): string {
    let s: string | undefined;
    try {
      s = JSON.stringify(value);
    } catch {
      s = String(value);
    }
    return s === undefined ? "null" : s;
  }
  function clip(s: string, n: number): string {
    return s.length > n ? `${s.slice(0, n - 1)}\u2026` : s;
  }
  function isPlainObject(v: unknown): v is { [key: string]: unknown } {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }
  return { hasRaw, parseJson, pretty, compact, clip, isPlainObject };
}

export type Json = ReturnType<typeof createJson>;
