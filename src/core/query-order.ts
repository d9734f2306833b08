/**
 * `order by` for queries that scan: sort keys taken from each matching document, compared the way
 * RavenDB's auto indexes sort (strings by default, `as long`/`as double` numerically,
 * `as alphaNumeric` with digit runs as numbers), and a collector that keeps only the best `window`
 * matches while a scan runs, so memory stays bounded however many documents match.
 */
import { compareKeys } from "./keys";
import type { OrderBy } from "./rql";
import { valuesAt } from "./rql-eval";

/** A string sort key is cut to this many characters: the collector holds `2 × window` keys at most. */
export const MAX_SORT_KEY_CHARS = 1024;

export type SortKey = (string | number | null)[];

/** The sort key of a document: one value per `order by` term (the first value of an array). */
export function sortKeyOf(orderBy: OrderBy[], doc: unknown, id: string): SortKey {
  return orderBy.map(({ operand, ordering }) => {
    const raw = operand.kind === "id" ? id : operand.kind === "field" ? valuesAt(doc, operand.path)[0] : null;
    if (raw === null || raw === undefined) return null;
    if (ordering === "long" || ordering === "double") {
      const n = typeof raw === "number" ? raw : Number(raw);
      if (!Number.isFinite(n)) return null;
      return ordering === "long" ? Math.trunc(n) : n;
    }
    const text = typeof raw === "string" ? raw : typeof raw === "object" ? JSON.stringify(raw) : String(raw);
    return text.slice(0, MAX_SORT_KEY_CHARS);
  });
}

const natural = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Compares two sort keys term by term; nulls first ascending, as RavenDB puts missing values. */
export function compareSortKeys(orderBy: OrderBy[], a: SortKey, b: SortKey): number {
  for (let i = 0; i < orderBy.length; i++) {
    const { ordering, desc } = orderBy[i]!;
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    let c = 0;
    if (x === null || y === null) c = x === y ? 0 : x === null ? -1 : 1;
    else if (typeof x === "number" && typeof y === "number") c = x < y ? -1 : x > y ? 1 : 0;
    else if (ordering === "alphanumeric") c = natural.compare(String(x), String(y));
    else {
      const p = String(x).toLowerCase();
      const q = String(y).toLowerCase();
      c = p < q ? -1 : p > q ? 1 : 0;
    }
    if (c !== 0) return desc ? -c : c;
  }
  return 0;
}

export interface Ranked {
  key: string;
  sort: SortKey;
}

/**
 * The best `window` entries seen so far (by sort key, then by key). Holds at most `2 × window`
 * entries: past that it sorts and drops the tail, so adding n entries costs O(n log window).
 */
export class TopWindow {
  private entries: Ranked[] = [];
  constructor(
    private readonly orderBy: OrderBy[],
    private readonly window: number,
  ) {}

  private readonly compare = (a: Ranked, b: Ranked) => compareSortKeys(this.orderBy, a.sort, b.sort) || compareKeys(a.key, b.key);

  add(entry: Ranked): void {
    this.entries.push(entry);
    if (this.entries.length >= 2 * Math.max(1, this.window)) this.trim();
  }

  private trim(): void {
    this.entries.sort(this.compare);
    this.entries.length = Math.min(this.entries.length, this.window);
  }

  /** The best `window`, best first. */
  result(): Ranked[] {
    this.trim();
    return this.entries;
  }

  /** Merges several windows (one per shard) into the best `window` overall. */
  static merge(orderBy: OrderBy[], window: number, parts: Ranked[][]): Ranked[] {
    const all = new TopWindow(orderBy, window);
    for (const part of parts) for (const entry of part) all.add(entry);
    return all.result();
  }
}
