/**
 * The RQL subset edge-cmpxchg answers, parsed into a small AST. The clauses come in RavenDB's order:
 *
 *   from <Collection> | from '<Collection>' | from @all_docs      [as <alias>]
 *   [where <expr>]     expr: cond (and|or cond)*, `not`, parentheses; cond is one of
 *                        operand (=|==|!=|<|<=|>|>=) operand
 *                        operand [all] in (<value>, …)       a $param holding an array counts as its items
 *                        operand between <value> and <value>
 *                        startsWith(field, v) | endsWith(field, v) | exists(field) | true
 *                      operand: id() | field.path (`[]` allowed) | 'string' | number | true | false |
 *                               null | $param | cmpxchg(<string or $param>)
 *   [order by <field|id()> [as long|double|alphaNumeric|string] [asc|desc], …]
 *   [load <alias.path> as <name>, …]
 *   [select <field|id()> [as <name>], …]
 *   [include <path>|cmpxchg(<path>), …]
 *   [limit <n> [offset <m>] | limit <skip>, <take>] [offset <m>]      (numbers or $params)
 *
 * Anything else is refused with an InvalidQueryException that names the construct: a wrong answer
 * would be worse than none.
 */
import { badInput, ErrorTypes, RavenError } from "./errors";
import { MAX_QUERY_CONDITIONS, MAX_QUERY_LENGTH, MAX_QUERY_NESTING } from "./limits";

export type Operand =
  | { kind: "id" }
  /** `source` is a `load … as <name>` alias when the path starts with one (null: the document). */
  | { kind: "field"; path: string[]; source: string | null }
  | { kind: "literal"; value: string | number | boolean | null }
  | { kind: "param"; name: string }
  | { kind: "cmpxchg"; key: Operand };

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

export type Expr =
  | { kind: "true" }
  | { kind: "compare"; op: CompareOp; left: Operand; right: Operand }
  | { kind: "in"; left: Operand; values: Operand[]; all: boolean }
  | { kind: "between"; left: Operand; low: Operand; high: Operand }
  | { kind: "startsWith" | "endsWith"; field: Operand; value: Operand }
  | { kind: "exists"; field: Operand }
  | { kind: "not"; inner: Expr }
  | { kind: "and" | "or"; left: Expr; right: Expr };

export type Ordering = "string" | "long" | "double" | "alphanumeric";
export interface OrderBy {
  operand: Operand;
  ordering: Ordering;
  desc: boolean;
}
export interface Projection {
  operand: Operand;
  /** The property name in the result. */
  name: string;
}

export interface Query {
  /** null for @all_docs. */
  collection: string | null;
  where: Expr | null;
  orderBy: OrderBy[];
  /** `load <path> as <alias>`: the alias names the document whose id the path holds. */
  loads: { path: string[]; alias: string }[];
  /** null: whole documents. */
  select: Projection[] | null;
  /** Literal numbers or $params (resolved by the caller); null when absent. */
  skip: Operand | null;
  take: Operand | null;
  /** `include cmpxchg(<path>)`: paths in each result whose values are compare-exchange keys. */
  includeCmpxchg: Operand[];
  /** `include <path>`: paths in each result whose values are document ids. */
  includeDocs: Operand[];
}

type Token = { type: "word" | "string" | "number" | "param" | "punct"; text: string; at: number };

const invalid = (message: string) => badInput(ErrorTypes.invalidQuery, message);
export const unsupported = (construct: string) =>
  new RavenError(400, ErrorTypes.invalidQuery, `${construct} is not supported by this server's RQL subset (see README: Queries).`);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let value = "";
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === "\\" && j + 1 < text.length) j++;
        value += text[j];
      }
      if (j >= text.length) throw invalid(`Unterminated string starting at position ${i}.`);
      tokens.push({ type: "string", text: value, at: i });
      i = j + 1;
    } else if (c === "$") {
      const match = /^\$[A-Za-z_][\w]*/.exec(text.slice(i, i + 256));
      if (!match) throw invalid(`Expected a parameter name after '$' at position ${i}.`);
      tokens.push({ type: "param", text: match[0].slice(1), at: i });
      i += match[0].length;
    } else if (/[-\d]/.test(c) && /^-?\d/.test(text.slice(i, i + 2))) {
      const match = /^-?\d+(\.\d+)?/.exec(text.slice(i, i + 64))!;
      tokens.push({ type: "number", text: match[0], at: i });
      i += match[0].length;
    } else if (/[A-Za-z_@]/.test(c)) {
      // Metadata names may hold dashes: @metadata.@nested-object-types, @last-modified.
      const match = (c === "@" ? /^@[\w-]*/ : /^[A-Za-z_][\w]*/).exec(text.slice(i, i + 1024))!;
      tokens.push({ type: "word", text: match[0], at: i });
      i += match[0].length;
    } else {
      const two = text.slice(i, i + 2);
      const op = ["==", "!=", "<=", ">=", "[]"].includes(two) ? two : c;
      tokens.push({ type: "punct", text: op, at: i });
      i += op.length;
    }
  }
  return tokens;
}

/** Words that end a clause: a field path never continues into them. */
const CLAUSES = new Set(["where", "order", "load", "select", "include", "limit", "offset", "group", "filter", "update", "and", "or", "as"]);

export function parseRql(text: string): Query {
  if (typeof text !== "string" || text.trim() === "") throw invalid("The query is empty.");
  // Bounds first: the parser and the matcher recurse, and a query must not hold the Worker.
  if (text.length > MAX_QUERY_LENGTH) throw invalid(`The query is ${text.length} characters long; the limit is ${MAX_QUERY_LENGTH}.`);
  const tokens = tokenize(text);
  let conditions = 0;
  let nesting = 0;
  let pos = 0;
  const peek = (ahead = 0) => tokens[pos + ahead];
  const isWord = (word: string, ahead = 0) => peek(ahead)?.type === "word" && peek(ahead)!.text.toLowerCase() === word;
  const isPunct = (p: string, ahead = 0) => peek(ahead)?.type === "punct" && peek(ahead)!.text === p;
  const where = () => (peek() ? `position ${peek()!.at} ('${peek()!.text}')` : "the end of the query");
  const expectPunct = (p: string) => {
    if (!isPunct(p)) throw invalid(`Expected '${p}' at ${where()}.`);
    pos++;
  };
  const expectWord = (w: string) => {
    if (!isWord(w)) throw invalid(`Expected '${w}' at ${where()}.`);
    pos++;
  };
  const name = (what: string): string => {
    const t = peek();
    if (!t || (t.type !== "word" && t.type !== "string")) throw invalid(`Expected ${what} at ${where()}.`);
    pos++;
    return t.text;
  };

  if (isWord("declare")) throw unsupported("JavaScript functions ('declare function')");
  if (!isWord("from")) throw invalid(`A query starts with 'from', found ${where()}.`);
  pos++;
  if (isWord("index")) throw unsupported("'from index' (static indexes)");
  const source = peek();
  if (!source || (source.type !== "word" && source.type !== "string")) throw invalid("Expected a collection name after 'from'.");
  pos++;
  const collection = source.type === "word" && source.text.toLowerCase() === "@all_docs" ? null : source.text;
  let alias: string | null = null;
  if (isWord("as")) {
    pos++;
    alias = name("an alias after 'as'");
  }
  const loadAliases = new Set<string>();

  /** A field path; the document's alias is dropped, a load alias becomes the source. */
  const fieldPath = (first: string): Operand => {
    const path = [first];
    for (;;) {
      if (isPunct("[]")) {
        pos++;
        continue;
      }
      if (isPunct("[")) throw unsupported("Array indexing in field paths ('[n]')");
      if (!isPunct(".")) break;
      pos++;
      const part = peek();
      if (part?.type !== "word" && part?.type !== "string") throw invalid(`Expected a field name after '.' at ${where()}.`);
      path.push(part.text);
      pos++;
    }
    if (alias !== null && path.length > 1 && path[0] === alias) return { kind: "field", path: path.slice(1), source: null };
    if (path.length > 1 && loadAliases.has(path[0]!)) return { kind: "field", path: path.slice(1), source: path[0]! };
    if (alias !== null && path.length === 1 && path[0] === alias) throw unsupported(`Projecting the whole document alias '${alias}'`);
    return { kind: "field", path, source: null };
  };

  const operand = (): Operand => {
    const t = peek();
    if (!t) throw invalid("The query ends where a value was expected.");
    if (t.type === "string") {
      pos++;
      // A quoted name followed by '.' is a field path ('Address'.City), as RavenDB reads it.
      return isPunct(".") ? fieldPath(t.text) : { kind: "literal", value: t.text };
    }
    if (t.type === "number") return pos++, { kind: "literal", value: Number(t.text) };
    if (t.type === "param") return pos++, { kind: "param", name: t.text };
    if (t.type === "word") {
      const lower = t.text.toLowerCase();
      if (isPunct("(", 1)) {
        pos += 2;
        if (lower === "id") {
          if (!isPunct(")")) {
            const arg = name("an alias inside id()");
            if (arg !== alias) throw invalid(`id(${arg}): '${arg}' is not the query's alias.`);
          }
          expectPunct(")");
          return { kind: "id" };
        }
        if (lower === "cmpxchg") {
          const key = operand();
          expectPunct(")");
          return { kind: "cmpxchg", key };
        }
        throw unsupported(`The method '${t.text}()'`);
      }
      pos++;
      if (lower === "true" || lower === "false") return { kind: "literal", value: lower === "true" };
      if (lower === "null") return { kind: "literal", value: null };
      return fieldPath(t.text);
    }
    if (t.type === "punct" && t.text === "{") throw unsupported("JavaScript object literals ('{ … }')");
    throw invalid(`Unexpected ${where()}.`);
  };

  const counted = () => {
    if (++conditions > MAX_QUERY_CONDITIONS) throw invalid(`The where clause has more than ${MAX_QUERY_CONDITIONS} conditions.`);
  };
  const nest = <T>(inner: () => T): T => {
    if (++nesting > MAX_QUERY_NESTING) throw invalid(`The query nests parentheses deeper than ${MAX_QUERY_NESTING} levels.`);
    const result = inner();
    nesting--;
    return result;
  };
  const requireField = (o: Operand, method: string): Operand => {
    if (o.kind !== "field" && o.kind !== "id") throw invalid(`${method}() takes a field as its first argument.`);
    return o;
  };

  const condition = (): Expr => {
    if (isWord("not")) {
      pos++;
      return nest(() => ({ kind: "not", inner: condition() }));
    }
    if (isPunct("(")) {
      return nest(() => {
        pos++;
        const inner = orExpr();
        expectPunct(")");
        return inner;
      });
    }
    counted();
    const t = peek();
    if (t?.type === "word" && isPunct("(", 1)) {
      const method = t.text.toLowerCase();
      if (method === "startswith" || method === "endswith" || method === "exists") {
        pos += 2;
        const field = requireField(operand(), t.text);
        if (method === "exists") {
          expectPunct(")");
          return { kind: "exists", field };
        }
        expectPunct(",");
        const value = operand();
        expectPunct(")");
        return { kind: method === "startswith" ? "startsWith" : "endsWith", field, value };
      }
      if (method !== "id" && method !== "cmpxchg") throw unsupported(`The method '${t.text}()'`);
    }
    if (t?.type === "word" && t.text.toLowerCase() === "true" && !isPunct("=", 1) && !isPunct("==", 1) && !isPunct("!=", 1)) {
      pos++;
      return { kind: "true" };
    }
    const left = operand();
    const op = peek();
    if (op?.type === "punct" && ["==", "=", "!=", "<", "<=", ">", ">="].includes(op.text)) {
      pos++;
      const right = operand();
      if (left.kind === "cmpxchg" && right.kind === "cmpxchg") throw unsupported("Comparing cmpxchg() with cmpxchg()");
      return { kind: "compare", op: (op.text === "=" ? "==" : op.text) as CompareOp, left, right };
    }
    if (isWord("in") || (isWord("all") && isWord("in", 1))) {
      const all = isWord("all");
      pos += all ? 2 : 1;
      expectPunct("(");
      const values: Operand[] = [];
      if (!isPunct(")")) {
        values.push(operand());
        while (isPunct(",")) {
          pos++;
          counted();
          values.push(operand());
        }
      }
      expectPunct(")");
      return { kind: "in", left, values, all };
    }
    if (isWord("between")) {
      pos++;
      const low = operand();
      expectWord("and");
      return { kind: "between", left, low, high: operand() };
    }
    if (left.kind === "cmpxchg" || left.kind === "id") {
      throw invalid(`${left.kind}() cannot be the whole condition; compare it with a value.`);
    }
    throw invalid(`Expected a comparison at ${where()}.`);
  };
  const andExpr = (): Expr => {
    let left = condition();
    while (isWord("and")) {
      pos++;
      left = { kind: "and", left, right: condition() };
    }
    return left;
  };
  const orExpr = (): Expr => {
    let left = andExpr();
    while (isWord("or")) {
      pos++;
      left = { kind: "or", left, right: andExpr() };
    }
    return left;
  };
  const commaList = <T>(item: () => T): T[] => {
    const items = [item()];
    while (isPunct(",")) {
      pos++;
      items.push(item());
    }
    return items;
  };

  let whereExpr: Expr | null = null;
  if (isWord("group")) throw unsupported("'group by'");
  if (isWord("where")) {
    pos++;
    whereExpr = orExpr();
  }

  const orderBy: OrderBy[] = [];
  if (isWord("order")) {
    pos++;
    expectWord("by");
    orderBy.push(
      ...commaList((): OrderBy => {
        const t = peek();
        if (t?.type === "word" && isPunct("(", 1) && t.text.toLowerCase() !== "id") throw unsupported(`'order by ${t.text}()'`);
        const target = operand();
        if (target.kind !== "field" && target.kind !== "id") throw invalid(`'order by' takes a field or id(), found ${target.kind}.`);
        let ordering: Ordering = "string";
        if (isWord("as")) {
          pos++;
          const kind = name("an ordering after 'as'").toLowerCase();
          if (kind !== "string" && kind !== "long" && kind !== "double" && kind !== "alphanumeric") {
            throw unsupported(`'order by … as ${kind}'`);
          }
          ordering = kind;
        }
        let desc = false;
        if (isWord("desc") || isWord("descending")) (desc = true), pos++;
        else if (isWord("asc") || isWord("ascending")) pos++;
        return { operand: target, ordering, desc };
      }),
    );
  }

  const loads: { path: string[]; alias: string }[] = [];
  if (isWord("load")) {
    pos++;
    loads.push(
      ...commaList(() => {
        const target = operand();
        if (target.kind !== "field" || target.source !== null) throw unsupported("'load' of anything but a field path of the document");
        expectWord("as");
        const as = name("an alias after 'as'");
        loadAliases.add(as);
        return { path: target.path, alias: as };
      }),
    );
  }

  let select: Projection[] | null = null;
  if (isWord("select")) {
    pos++;
    if (isWord("distinct")) throw unsupported("'select distinct'");
    if (isPunct("{")) throw unsupported("JavaScript projections ('select { … }')");
    select = commaList((): Projection => {
      const t = peek();
      const target = operand();
      if (target.kind !== "field" && target.kind !== "id") throw unsupported(`Projecting ${t?.text ?? "this"} (only fields and id())`);
      let as = target.kind === "id" ? "id()" : target.path.join(".");
      if (isWord("as")) {
        pos++;
        as = name("a name after 'as'");
      }
      return { operand: target, name: as };
    });
  }

  let skip: Operand | null = null;
  let take: Operand | null = null;
  const count = (): Operand => {
    const t = peek();
    if (t?.type === "param") return pos++, { kind: "param", name: t.text };
    if (t?.type !== "number" || !/^\d+$/.test(t.text)) throw invalid(`Expected a whole number or a $parameter at ${where()}.`);
    pos++;
    return { kind: "literal", value: Number(t.text) };
  };
  const includeCmpxchg: Operand[] = [];
  const includeDocs: Operand[] = [];
  for (;;) {
    if (isWord("limit")) {
      pos++;
      const first = count();
      if (isPunct(",")) {
        pos++;
        skip = first;
        take = count();
      } else take = first;
    } else if (isWord("offset")) {
      pos++;
      skip = count();
    } else if (isWord("include")) {
      pos++;
      commaList(() => {
        const t = peek();
        if (t?.type === "word" && isPunct("(", 1)) {
          if (t.text.toLowerCase() !== "cmpxchg") throw unsupported(`'include ${t.text}(…)' (counters, time series, revisions, highlights, timings, explanations)`);
          pos += 2;
          const arg = operand();
          expectPunct(")");
          if (arg.kind === "field" && arg.source !== null) throw unsupported("Including through a load alias");
          includeCmpxchg.push(arg);
          return;
        }
        const arg = operand();
        if ((arg.kind !== "field" || arg.source !== null) && arg.kind !== "literal" && arg.kind !== "param") throw unsupported("This include");
        includeDocs.push(arg);
      });
    } else break;
  }
  if (peek()) {
    const word = peek()!.text.toLowerCase();
    const names: Record<string, string> = {
      order: "'order by' after other clauses",
      select: "'select' here",
      group: "'group by'",
      load: "'load' here",
      update: "'update'",
      filter: "'filter'",
      filter_limit: "'filter_limit'",
      where: "'where' here",
    };
    throw names[word] ? unsupported(names[word]!) : invalid(`Unexpected ${where()}.`);
  }
  return { collection, where: whereExpr, orderBy, loads, select, skip, take, includeCmpxchg, includeDocs };
}

/** Every cmpxchg(...) key operand in the where clause. */
export function cmpxchgOperands(expr: Expr | null): Operand[] {
  if (!expr) return [];
  switch (expr.kind) {
    case "and":
    case "or":
      return [...cmpxchgOperands(expr.left), ...cmpxchgOperands(expr.right)];
    case "not":
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
    if (Array.isArray(current)) current = current.map((item) => (item && typeof item === "object" ? ((item as Record<string, unknown>)[part] ?? null) : null));
    else if (current !== null && typeof current === "object") current = (current as Record<string, unknown>)[part];
    else return undefined;
  }
  return current;
}

/** Does the document (with its id) match? Strings compare case-insensitively, as RavenDB's auto indexes do. */
export function matches(expr: Expr | null, doc: Record<string, unknown>, id: string, ctx: EvalContext): boolean {
  if (!expr) return true;
  const read = (o: Operand): unknown[] => {
    if (o.kind === "id") return [id];
    if (o.kind === "field") return valuesAt(doc, o.path);
    return [ctx.value(o)];
  };
  switch (expr.kind) {
    case "true":
      return true;
    case "and":
      return matches(expr.left, doc, id, ctx) && matches(expr.right, doc, id, ctx);
    case "or":
      return matches(expr.left, doc, id, ctx) || matches(expr.right, doc, id, ctx);
    case "not":
      return !matches(expr.inner, doc, id, ctx);
    case "exists":
      return expr.field.kind === "id" || valuesAt(doc, (expr.field as { path: string[] }).path).some((v) => v !== null);
    case "startsWith":
    case "endsWith": {
      const wanted = read(expr.value).flatMap(flatValues)[0];
      if (typeof wanted !== "string") return false;
      const needle = wanted.toLowerCase();
      return read(expr.field).some(
        (v) => typeof v === "string" && (expr.kind === "startsWith" ? v.toLowerCase().startsWith(needle) : v.toLowerCase().endsWith(needle)),
      );
    }
    case "in": {
      const wanted = expr.values.flatMap((o) => read(o).flatMap(flatValues));
      const have = read(expr.left);
      return expr.all
        ? wanted.every((w) => have.some((h) => compareValues(h, w) === 0))
        : have.some((h) => wanted.some((w) => compareValues(h, w) === 0));
    }
    case "between": {
      const [low] = read(expr.low);
      const [high] = read(expr.high);
      return read(expr.left).some((v) => {
        const a = compareValues(v, low);
        const b = compareValues(v, high);
        return a !== null && b !== null && a >= 0 && b <= 0;
      });
    }
    case "compare": {
      const lefts = read(expr.left);
      const rights = read(expr.right);
      if (expr.op === "!=") return !lefts.some((l) => rights.some((r) => compareValues(l, r) === 0));
      return lefts.some((l) =>
        rights.some((r) => {
          const c = compareValues(l, r);
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
}

const isNumeric = (v: unknown) => typeof v === "number" || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)));

/**
 * -1/0/1 between two scalars, or null when they cannot be compared (null with a value, a number
 * with a non-numeric string). Numbers (and numeric strings against numbers) compare as numbers,
 * strings case-insensitively by code point, booleans as true/false.
 */
export function compareValues(a: unknown, b: unknown): number | null {
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
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") return String(a).toLowerCase() === String(b).toLowerCase() ? 0 : null;
  return JSON.stringify(a) === JSON.stringify(b) ? 0 : null;
}

/** RavenDB evaluates cmpxchg() in where clauses to the item's Object as a string, null when missing. */
export function cmpxchgAsString(json: string | null): string | null {
  if (json === null) return null;
  const object = (JSON.parse(json) as { Object?: unknown }).Object;
  if (object === null || object === undefined) return null;
  return typeof object === "string" ? object : typeof object === "object" ? JSON.stringify(object) : String(object);
}
