/**
 * The RQL subset edge-cmpxchg answers, parsed into a small AST:
 *
 *   from <Collection> | from '<Collection>' | from @all_docs
 *   [where <expr>]            expr: cond (and|or cond)*, parentheses; cond: operand (==|=|!=) operand
 *                             operand: id() | field.path | 'string' | "string" | number | true |
 *                                      false | null | $param | cmpxchg(<string or $param>)
 *   [limit <n> [offset <m>] | limit <skip>, <take>] [offset <m>]
 *   [include cmpxchg(<field.path or string>)[, …]]
 *
 * Anything else is refused with an error that names the construct: a wrong answer would be worse
 * than none.
 */
import { badInput, ErrorTypes, RavenError } from "./errors";
import { MAX_QUERY_CONDITIONS, MAX_QUERY_LENGTH, MAX_QUERY_NESTING } from "./limits";

export type Operand =
  | { kind: "id" }
  | { kind: "field"; path: string[] }
  | { kind: "literal"; value: string | number | boolean | null }
  | { kind: "param"; name: string }
  | { kind: "cmpxchg"; key: Operand };

export type Expr =
  | { kind: "compare"; op: "==" | "!="; left: Operand; right: Operand }
  | { kind: "and" | "or"; left: Expr; right: Expr };

export interface Query {
  /** null for @all_docs. */
  collection: string | null;
  where: Expr | null;
  skip: number;
  take: number | null;
  /** include cmpxchg(...) arguments. */
  includeCmpxchg: Operand[];
}

type Token = { type: "word" | "string" | "number" | "param" | "punct"; text: string; at: number };

const invalid = (message: string) => badInput(ErrorTypes.invalidQuery, message);
const unsupported = (construct: string) =>
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
      const match = /^\$[A-Za-z_][\w]*/.exec(text.slice(i));
      if (!match) throw invalid(`Expected a parameter name after '$' at position ${i}.`);
      tokens.push({ type: "param", text: match[0].slice(1), at: i });
      i += match[0].length;
    } else if (/[-\d]/.test(c) && /^-?\d/.test(text.slice(i))) {
      const match = /^-?\d+(\.\d+)?/.exec(text.slice(i))!;
      tokens.push({ type: "number", text: match[0], at: i });
      i += match[0].length;
    } else if (/[A-Za-z_@]/.test(c)) {
      const match = /^[@A-Za-z_][\w]*/.exec(text.slice(i))!;
      tokens.push({ type: "word", text: match[0], at: i });
      i += match[0].length;
    } else {
      const two = text.slice(i, i + 2);
      const op = ["==", "!=", "<=", ">="].includes(two) ? two : c;
      tokens.push({ type: "punct", text: op, at: i });
      i += op.length;
    }
  }
  return tokens;
}

export function parseRql(text: string): Query {
  if (typeof text !== "string" || text.trim() === "") throw invalid("The query is empty.");
  // Bounds first: the parser and the matcher recurse, and a query must not hold the Worker.
  if (text.length > MAX_QUERY_LENGTH) throw invalid(`The query is ${text.length} characters long; the limit is ${MAX_QUERY_LENGTH}.`);
  const tokens = tokenize(text);
  let conditions = 0;
  let nesting = 0;
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (word: string) => peek()?.type === "word" && peek()!.text.toLowerCase() === word;
  const isPunct = (p: string) => peek()?.type === "punct" && peek()!.text === p;
  const expectPunct = (p: string) => {
    if (!isPunct(p)) throw invalid(`Expected '${p}' at ${where()}.`);
    pos++;
  };
  const where = () => (peek() ? `position ${peek()!.at} ('${peek()!.text}')` : "the end of the query");

  if (isWord("declare")) throw unsupported("'declare function'");
  if (!isWord("from")) throw invalid(`A query starts with 'from', found ${where()}.`);
  pos++;
  if (isWord("index")) throw unsupported("'from index' (static indexes)");
  const source = peek();
  if (!source || (source.type !== "word" && source.type !== "string")) {
    throw invalid("Expected a collection name after 'from'.");
  }
  pos++;
  const collection = source.type === "word" && source.text.toLowerCase() === "@all_docs" ? null : source.text;
  if (isWord("as")) throw unsupported("Collection aliases ('as')");

  const operand = (): Operand => {
    const t = peek();
    if (!t) throw invalid("The query ends where a value was expected.");
    if (t.type === "string") return pos++, { kind: "literal", value: t.text };
    if (t.type === "number") return pos++, { kind: "literal", value: Number(t.text) };
    if (t.type === "param") return pos++, { kind: "param", name: t.text };
    if (t.type === "word") {
      const lower = t.text.toLowerCase();
      const next = tokens[pos + 1];
      if (next?.type === "punct" && next.text === "(") {
        pos += 2;
        if (lower === "id") {
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
      const path = [t.text];
      while (isPunct(".")) {
        pos++;
        const part = peek();
        if (part?.type !== "word") throw invalid(`Expected a field name after '.' at ${where()}.`);
        path.push(part.text);
        pos++;
      }
      if (isPunct("[")) throw unsupported("Array indexing in field paths");
      return { kind: "field", path };
    }
    throw invalid(`Unexpected ${where()}.`);
  };

  const condition = (): Expr => {
    if (isPunct("(")) {
      if (++nesting > MAX_QUERY_NESTING) throw invalid(`The query nests parentheses deeper than ${MAX_QUERY_NESTING} levels.`);
      pos++;
      const inner = orExpr();
      expectPunct(")");
      nesting--;
      return inner;
    }
    if (++conditions > MAX_QUERY_CONDITIONS) throw invalid(`The where clause has more than ${MAX_QUERY_CONDITIONS} conditions.`);
    if (isWord("not")) throw unsupported("'not'");
    const left = operand();
    const t = peek();
    if (t?.type === "punct" && (t.text === "==" || t.text === "=" || t.text === "!=")) {
      pos++;
      const right = operand();
      if (left.kind === "cmpxchg" && right.kind === "cmpxchg") throw unsupported("Comparing cmpxchg() with cmpxchg()");
      return { kind: "compare", op: t.text === "!=" ? "!=" : "==", left, right };
    }
    if (left.kind === "cmpxchg" || left.kind === "id") {
      throw invalid(`${left.kind}() cannot be the whole condition; compare it with a value.`);
    }
    if (t?.type === "word" && ["in", "between", "all"].includes(t.text.toLowerCase())) throw unsupported(`'${t.text}'`);
    if (t?.type === "punct" && ["<", ">", "<=", ">="].includes(t.text)) throw unsupported(`The range operator '${t.text}'`);
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

  let whereExpr: Expr | null = null;
  if (isWord("where")) {
    pos++;
    whereExpr = orExpr();
  }
  let skip = 0;
  let take: number | null = null;
  const integer = () => {
    const t = peek();
    if (t?.type !== "number" || !/^\d+$/.test(t.text)) throw invalid(`Expected a whole number at ${where()}.`);
    pos++;
    return Number(t.text);
  };
  const includes: Operand[] = [];
  for (;;) {
    if (isWord("limit")) {
      pos++;
      const first = integer();
      if (isPunct(",")) {
        pos++;
        skip = first;
        take = integer();
      } else take = first;
    } else if (isWord("offset")) {
      pos++;
      skip = integer();
    } else if (isWord("include")) {
      pos++;
      do {
        if (includes.length) pos++;
        const t = peek();
        if (!(t?.type === "word" && t.text.toLowerCase() === "cmpxchg")) throw unsupported(`'include ${t?.text ?? ""}' (only include cmpxchg(...))`);
        const arg = operand();
        if (arg.kind !== "cmpxchg") throw unsupported("This include");
        includes.push(arg.key);
      } while (isPunct(","));
    } else break;
  }
  if (peek()) {
    const word = peek()!.text.toLowerCase();
    const names: Record<string, string> = { order: "'order by'", select: "'select'", group: "'group by'", load: "'load'", update: "'update'" };
    throw names[word] ? unsupported(names[word]!) : invalid(`Unexpected ${where()}.`);
  }
  return { collection, where: whereExpr, skip, take, includeCmpxchg: includes };
}

/** Every cmpxchg(...) key operand in the where clause. */
export function cmpxchgOperands(expr: Expr | null): Operand[] {
  if (!expr) return [];
  if (expr.kind !== "compare") return [...cmpxchgOperands(expr.left), ...cmpxchgOperands(expr.right)];
  return [expr.left, expr.right].flatMap((o) => (o.kind === "cmpxchg" ? [o.key] : []));
}

/** The ids a where clause pins the result to (`id() == x` joined by `or`), or null to scan. */
export function pinnedIds(expr: Expr | null, value: (o: Operand) => unknown): string[] | null {
  if (!expr) return null;
  if (expr.kind !== "compare") {
    const left = pinnedIds(expr.left, value);
    const right = pinnedIds(expr.right, value);
    if (expr.kind === "and") return left ?? right;
    return left && right ? [...left, ...right] : null;
  }
  if (expr.op !== "==") return null;
  const other = expr.left.kind === "id" ? expr.right : expr.right.kind === "id" ? expr.left : null;
  if (!other || other.kind === "id" || other.kind === "field") return null;
  const v = value(other);
  return typeof v === "string" ? [v] : [];
}

export interface EvalContext {
  /** Resolves a param or a literal or a cmpxchg() to its value. */
  value(o: Operand): unknown;
}

/** Does the document (with its id) match? Strings compare case-insensitively, as RavenDB's auto indexes do. */
export function matches(expr: Expr | null, doc: Record<string, unknown>, id: string, ctx: EvalContext): boolean {
  if (!expr) return true;
  if (expr.kind !== "compare") {
    return expr.kind === "and"
      ? matches(expr.left, doc, id, ctx) && matches(expr.right, doc, id, ctx)
      : matches(expr.left, doc, id, ctx) || matches(expr.right, doc, id, ctx);
  }
  const read = (o: Operand): unknown => {
    if (o.kind === "id") return id;
    if (o.kind === "field") {
      let current: unknown = doc;
      for (const part of o.path) {
        if (current === null || typeof current !== "object") return null;
        current = (current as Record<string, unknown>)[part];
      }
      return current ?? null;
    }
    return ctx.value(o);
  };
  const equal = sameValue(read(expr.left), read(expr.right));
  return expr.op === "==" ? equal : !equal;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  if (typeof a === "number" || typeof b === "number") return Number(a) === Number(b) && String(a) !== "" && String(b) !== "";
  if (Array.isArray(a)) return a.some((item) => sameValue(item, b));
  return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b);
}

/** RavenDB evaluates cmpxchg() in where clauses to the item's Object as a string, null when missing. */
export function cmpxchgAsString(json: string | null): string | null {
  if (json === null) return null;
  const object = (JSON.parse(json) as { Object?: unknown }).Object;
  if (object === null || object === undefined) return null;
  return typeof object === "string" ? object : typeof object === "object" ? JSON.stringify(object) : String(object);
}
