/**
 * Include paths, as the client sends them: `include=Company`, `include=Lines[].Product`,
 * `cmpxchg=Owner.Email` on a load, or the same paths in a query's include clause. The values at a
 * path in a document are the ids or compare-exchange keys to include, read as RavenDB's server
 * reads them (IncludeUtil):
 *
 * - arrays on the way are walked one level (`Lines[].Product` and `Lines.Product` alike);
 * - at the end, a scalar or the scalars of an array (nested arrays and objects are no ids);
 * - `Map.$Keys` / `Map.$Values` are an object's property names or values;
 * - `Path(prefix/)` also includes `prefix/<value>`, if the prefix is empty or ends with the
 *   identity parts separator `/`; `Path[{0}/suffix]` also includes `<value>/suffix`, and a suffix
 *   form that does not start with `{0}/` includes nothing at all. The value itself is included
 *   either way (a prefixed id the document already holds in full is found too).
 */
import { badInput, ErrorTypes } from "./errors";

/** The id built from the value besides the value itself: `prefix + value`, or the format with `{0}` = value. */
export type IncludeAddition = { kind: "prefix"; prefix: string } | { kind: "suffix"; format: string };

export interface IncludePath {
  path: string[];
  addition: IncludeAddition | null;
  /** A malformed `[…]` or `(…)`: RavenDB includes nothing for the path, not even the value. */
  nothing: boolean;
}

const SEPARATOR = "/";

/** `Lines[].Product` → path ["Lines", "Product"]; an alias prefix (`c.Company`) is the caller's to drop. */
export function parseIncludePath(text: string): IncludePath {
  let rest = text.trim();
  let addition: IncludeAddition | null = null;
  let nothing = false;
  const suffixAt = suffixStart(rest);
  const prefixAt = rest.indexOf("(");
  if (suffixAt !== -1) {
    const inside = rest.slice(suffixAt + 1);
    // RavenDB's rule: `[…]` must close, and from 4 characters on start with `{0}/`.
    nothing = !inside.endsWith("]") || (inside.length >= 4 && !inside.startsWith(`{0}${SEPARATOR}`));
    addition = { kind: "suffix", format: inside };
    rest = rest.slice(0, suffixAt);
  } else if (prefixAt !== -1) {
    const inside = rest.slice(prefixAt + 1);
    nothing = !inside.endsWith(")");
    const prefix = inside.slice(0, -1);
    // A prefix that does not end with the identity parts separator adds no id; the value still counts.
    if (prefix === "" || prefix.endsWith(SEPARATOR)) addition = { kind: "prefix", prefix };
    rest = rest.slice(0, prefixAt);
  }
  const path = rest
    .split(".")
    .map((part) => part.replace(/\[\]$/, "").trim())
    .filter((part) => part !== "");
  if (path.length === 0 || (!nothing && path.some((part) => /[[\]()]/.test(part)))) {
    throw badInput(
      ErrorTypes.invalidQuery,
      `The include path '${text.slice(0, 200)}' is not supported (field paths with [] for arrays, $Keys or $Values, then (prefix/) or [{0}/suffix]).`,
    );
  }
  return { path, addition, nothing };
}

/** The last `[` that is not an array marker `[]` (RavenDB's HasSuffixSeparator), or -1. */
function suffixStart(text: string): number {
  const at = text.lastIndexOf("[");
  if (at === -1) return -1;
  return text.startsWith("[].", at) || (text.startsWith("[]", at) && at + 2 === text.length) ? -1 : at;
}

/** The distinct ids (first spelling, case-insensitively) the paths name in the documents, in first-seen order. */
export function includedKeys(docs: readonly unknown[], paths: readonly IncludePath[]): string[] {
  const seen = new Map<string, string>();
  const add = (id: string | null) => {
    if (id && !seen.has(id.toLowerCase())) seen.set(id.toLowerCase(), id);
  };
  for (const doc of docs) {
    if (doc === null || typeof doc !== "object") continue;
    for (const { path, addition, nothing } of paths) {
      if (nothing) continue;
      for (const value of idsAt(doc, path)) {
        if (addition) add(withAddition(value, addition));
        add(value);
      }
    }
  }
  return [...seen.values()];
}

function withAddition(value: string, addition: IncludeAddition): string | null {
  if (addition.kind === "prefix") return addition.prefix + value;
  // string.Format(format, value).TrimEnd(']'), as RavenDB builds it.
  const id = addition.format.replaceAll("{0}", value).replace(/\]+$/, "");
  return id === "" ? null : id;
}

/** The scalar values at the path as ids (strings as they are, numbers as written). */
function idsAt(doc: unknown, path: string[]): string[] {
  let current: unknown[] = [doc];
  for (const part of path) {
    const next: unknown[] = [];
    for (const at of current.flatMap((v) => (Array.isArray(v) ? v : [v]))) {
      if (at === null || typeof at !== "object" || Array.isArray(at)) continue;
      const object = at as Record<string, unknown>;
      if (part === "$Keys" || part === "$Key") next.push(...Object.keys(object));
      else if (part === "$Values" || part === "$Value") next.push(...Object.values(object));
      else if (part in object) next.push(object[part]);
    }
    current = next;
  }
  const ids: string[] = [];
  for (const value of current.flatMap((v) => (Array.isArray(v) ? v : [v]))) {
    if (typeof value === "string" && value !== "") ids.push(value);
    else if (typeof value === "number" && Number.isFinite(value)) ids.push(String(value));
  }
  return ids;
}
