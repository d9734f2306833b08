/**
 * Include paths, as the client sends them: `include=Company`, `include=Lines[].Product`,
 * `cmpxchg=Owner.Email` on a load, or the same paths in a query's include clause. The values at a
 * path in a document (arrays walked) are the ids or compare-exchange keys to include.
 */
import { badInput, ErrorTypes } from "./errors";
import { valuesAt } from "./rql-eval";

/** `Lines[].Product` → ["Lines", "Product"]; an alias prefix (`c.Company`) is the caller's to drop. */
export function parseIncludePath(text: string): string[] {
  const path = text
    .split(".")
    .map((part) => part.replace(/\[\]$/, "").trim())
    .filter((part) => part !== "");
  if (path.length === 0 || path.some((part) => /[[\]()]/.test(part))) {
    throw badInput(
      ErrorTypes.invalidQuery,
      `The include path '${text.slice(0, 200)}' is not supported (only field paths, with [] for arrays).`,
    );
  }
  return path;
}

/** The distinct non-empty strings at the paths of the documents, in first-seen order. */
export function includedKeys(docs: readonly unknown[], paths: readonly string[][]): string[] {
  const seen = new Map<string, string>();
  for (const doc of docs) {
    if (doc === null || typeof doc !== "object") continue;
    for (const path of paths) {
      for (const value of valuesAt(doc, path)) {
        if (typeof value === "string" && value !== "" && !seen.has(value.toLowerCase())) seen.set(value.toLowerCase(), value);
      }
    }
  }
  return [...seen.values()];
}
