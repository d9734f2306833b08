/**
 * Evaluating a parsed RQL query (core/rql.ts) against documents: the values at field paths (arrays
 * walked, as RavenDB's auto indexes do), comparisons (strings without case unless inside
 * `exact(…)`, numbers as numbers),
 * the where clause, and what the route needs before it scans (cmpxchg() keys, pinned ids, the size
 * of `in` lists).
 */
import type { Expr, Operand } from "./rql";

/** Every cmpxchg(...) key operand in the where clause. */
export function cmpxchgOperands(expr: Expr | null): Operand[] {
  if (!expr) return [];
  switch (expr.kind) {
    case "and":
    case "or":
      return [...cmpxchgOperands(expr.left), ...cmpxchgOperands(expr.right)];
    case "not":
    case "exact":
      return cmpxchgOperands(expr.inner);
    case "compare":
      return [expr.left, expr.right].flatMap((o) => (o.kind === "cmpxchg" ? [o.key] : []));
    case "in":
      return [expr.left, ...expr.values].flatMap((o) => (o.kind === "cmpxchg" ? [o.key] : []));
    case "between":
      return [expr.left, expr.low, expr.high].flatMap((o) => (o.kind === "cmpxchg" ? [o.key] : []));
    case "startsWith":
    case "endsWith":
      return expr.value.kind === "cmpxchg" ? [expr.value.key] : [];
    default:
      return [];
  }
}

/** The ids a where clause pins the result to (`id() == x`, `id() in (…)` joined by or/and), or null to scan. */
export function pinnedIds(expr: Expr | null, value: (o: Operand) => unknown): string[] | null {
  if (!expr) return null;
  if (expr.kind === "and" || expr.kind === "or") {
    const left = pinnedIds(expr.left, value);
    const right = pinnedIds(expr.right, value);
    if (expr.kind === "and") return left ?? right;
    return left && right ? [...left, ...right] : null;
  }
  const constant = (o: Operand) => o.kind !== "id" && o.kind !== "field";
  if (expr.kind === "in" && !expr.all && expr.left.kind === "id" && expr.values.every(constant)) {
    return expr.values.flatMap((o) => flatValues(value(o))).filter((v): v is string => typeof v === "string");
  }
  if (expr.kind !== "compare" || expr.op !== "==") return null;
  const other = expr.left.kind === "id" ? expr.right : expr.right.kind === "id" ? expr.left : null;
  if (!other || !constant(other)) return null;
  const v = value(other);
  return typeof v === "string" ? [v] : [];
}

const flatValues = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(flatValues) : [v]);

/**
 * The values `in (…)` lists compare with, counting a $param's array as its items: bounded like
 * conditions (MAX_QUERY_CONDITIONS), since each is compared with every scanned document.
 */
export function inListSize(expr: Expr | null, value: (o: Operand) => unknown): number {
  if (!expr) return 0;
  switch (expr.kind) {
    case "and":
    case "or":
      return inListSize(expr.left, value) + inListSize(expr.right, value);
    case "not":
    case "exact":
      return inListSize(expr.inner, value);
    case "in":
      return expr.values.reduce((sum, o) => sum + (o.kind === "param" ? flatValues(value(o)).length : 1), 0);
    default:
      return 0;
  }
}

export interface EvalContext {
  /** Resolves a param or a literal or a cmpxchg() to its value. */
  value(o: Operand): unknown;
}

/**
 * The values at a path: arrays along the way are walked (as RavenDB's auto indexes do for
 * `Lines[].Product` and `Lines.Product`); missing is [null].
 */
export function valuesAt(doc: unknown, path: string[]): unknown[] {
  let current: unknown[] = [doc];
  for (const part of path) {
    const next: unknown[] = [];
    for (const at of current.flatMap(flatValues)) {
      if (at !== null && typeof at === "object") next.push((at as Record<string, unknown>)[part] ?? null);
    }
    current = next;
  }
  const flat = current.flatMap(flatValues);
  return flat.length ? flat : [null];
}

/** The value at a path, arrays kept as they are (projections); undefined when the path is missing. */
export function valueAt(doc: unknown, path: string[]): unknown {
  let current: unknown = doc;
  for (const part of path) {
    if (Array.isArray(current))
      current = current.map((item) => (item && typeof item === "object" ? ((item as Record<string, unknown>)[part] ?? null) : null));
    else if (current !== null && typeof current === "object") current = (current as Record<string, unknown>)[part];
    else return undefined;
  }
  return current;
}

/**
 * Does the document (with its id) match? Strings compare case-insensitively, as RavenDB's auto
 * indexes do, except inside `exact(…)`, where they must be equal as written.
 */
export function matches(expr: Expr | null, doc: Record<string, unknown>, id: string, ctx: EvalContext): boolean {
  if (!expr) return true;
  const read = (o: Operand): unknown[] => {
    if (o.kind === "id") return [id];
    if (o.kind === "field") return valuesAt(doc, o.path);
    return [ctx.value(o)];
  };
  const test = (expr: Expr, exact: boolean): boolean => {
    const compare = (a: unknown, b: unknown) => compareValues(a, b, exact);
    switch (expr.kind) {
      case "true":
        return true;
      case "and":
        return test(expr.left, exact) && test(expr.right, exact);
      case "or":
        return test(expr.left, exact) || test(expr.right, exact);
      case "not":
        return !test(expr.inner, exact);
      case "exact":
        return test(expr.inner, true);
      case "exists":
        return expr.field.kind === "id" || valuesAt(doc, (expr.field as { path: string[] }).path).some((v) => v !== null);
      case "startsWith":
      case "endsWith": {
        const wanted = read(expr.value).flatMap(flatValues)[0];
        if (typeof wanted !== "string") return false;
        const fold = (text: string) => (exact ? text : text.toLowerCase());
        const needle = fold(wanted);
        return read(expr.field).some(
          (v) => typeof v === "string" && (expr.kind === "startsWith" ? fold(v).startsWith(needle) : fold(v).endsWith(needle)),
        );
      }
      case "in": {
        const wanted = expr.values.flatMap((o) => read(o).flatMap(flatValues));
        const have = read(expr.left);
        return expr.all
          ? wanted.every((w) => have.some((h) => compare(h, w) === 0))
          : have.some((h) => wanted.some((w) => compare(h, w) === 0));
      }
      case "between": {
        const [low] = read(expr.low);
        const [high] = read(expr.high);
        return read(expr.left).some((v) => {
          const a = compare(v, low);
          const b = compare(v, high);
          return a !== null && b !== null && a >= 0 && b <= 0;
        });
      }
      case "compare": {
        const lefts = read(expr.left);
        const rights = read(expr.right);
        if (expr.op === "!=") return !lefts.some((l) => rights.some((r) => compare(l, r) === 0));
        return lefts.some((l) =>
          rights.some((r) => {
            const c = compare(l, r);
            if (c === null) return false;
            switch (expr.op) {
              case "==":
                return c === 0;
              case "<":
                return c < 0;
              case "<=":
                return c <= 0;
              case ">":
                return c > 0;
              default:
                return c >= 0;
            }
          }),
        );
      }
    }
  };
  return test(expr, false);
}

const isNumeric = (v: unknown) => typeof v === "number" || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)));

/**
 * -1/0/1 between two scalars, or null when they cannot be compared (null with a value, a number
 * with a non-numeric string). Numbers (and numeric strings against numbers) compare as numbers,
 * strings case-insensitively by code unit (`exact`: as written), booleans as true/false.
 */
export function compareValues(a: unknown, b: unknown, exact = false): number | null {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b ? 0 : null;
  if (typeof a === "number" || typeof b === "number") {
    if (!isNumeric(a) || !isNumeric(b)) return null;
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") {
    const x = exact ? a : a.toLowerCase();
    const y = exact ? b : b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    const [x, y] = exact ? [String(a), String(b)] : [String(a).toLowerCase(), String(b).toLowerCase()];
    return x === y ? 0 : null;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? 0 : null;
}

/** RavenDB evaluates cmpxchg() in where clauses to the item's Object as a string, null when missing. */
export function cmpxchgAsString(json: string | null): string | null {
  if (json === null) return null;
  const object = (JSON.parse(json) as { Object?: unknown }).Object;
  if (object === null || object === undefined) return null;
  return typeof object === "string" ? object : typeof object === "object" ? JSON.stringify(object) : String(object);
}
