/**
 * The RQL subset edge-cmpxchg answers, parsed into a small AST. The clauses come in RavenDB's order:
 *
 *   from <Collection> | from '<Collection>' | from @all_docs      [as <alias>]
 *   [where <expr>]     expr: cond (and|or cond)*, `not`, parentheses; cond is one of
 *                        operand (=|==|!=|<|<=|>|>=) operand
 *                        operand [all] in (<value>, …)       a $param holding an array counts as its items
 *                        operand between <value> and <value>
 *                        startsWith(field, v) | endsWith(field, v) | exists(field) | true
 *                        exact(expr)       string comparisons inside it respect case
 *                      operand: id() | field.path (`[]` allowed) | 'string' | number | true | false |
 *                               null | $param | cmpxchg(<string or $param>)
 *   [order by <field|id()> [as long|double|alphaNumeric|string] [asc|desc], …]
 *   [load <alias.path> as <name>, …]
 *   [select <field|id()> [as <name>], … | select { <JavaScript object literal> } | select <declared function>(…)]
 *   [include <path>|cmpxchg(<path>), …]
 *   [limit <n> [offset <m>] | limit <skip>, <take>] [offset <m>]      (numbers or $params)
 *
 * Before `from`, any number of `declare function <name>(<params>) { <JavaScript> }`. A projection
 * that is an object literal or a call of a declared function is JavaScript: its text is cut out
 * here (core/js-source.ts) and run by the sandbox (worker/js-sandbox.ts), as RavenDB does.
 *
 * Anything else is refused with an InvalidQueryException that names the construct: a wrong answer
 * would be worse than none. Evaluation is in core/rql-eval.ts.
 */
import { badInput, ErrorTypes, RavenError } from "./errors";
import { matchingBrace } from "./js-source";
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
  /** `exact(…)`: string comparisons inside respect case (outside they ignore it, as RavenDB's auto indexes do). */
  | { kind: "exact"; inner: Expr }
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

/** A `declare function`: its name and whole source text (`function name(…) { … }`). */
export interface Declaration {
  name: string;
  source: string;
}

export interface Query {
  /** null for @all_docs. */
  collection: string | null;
  where: Expr | null;
  orderBy: OrderBy[];
  /** `load <path> as <alias>`: the alias names the document whose id the path holds. */
  loads: { path: string[]; alias: string }[];
  /** null: whole documents (or a JavaScript projection). */
  select: Projection[] | null;
  /** `declare function …` before `from`, in order. */
  declarations: Declaration[];
  /**
   * A JavaScript projection: the expression's source text (an object literal or a call of a
   * declared function), evaluated per result with the document bound to `alias` (and `this`) and
   * each `load … as <name>` document to its name.
   */
  jsProjection: { expression: string; alias: string | null; loadAliases: string[] } | null;
  /** Literal numbers or $params (resolved by the caller); null when absent. */
  skip: Operand | null;
  take: Operand | null;
  /** `include cmpxchg(<path>)`: paths in each result whose values are compare-exchange keys. */
  includeCmpxchg: Operand[];
  /** `include <path>`: paths in each result whose values are document ids. */
  includeDocs: Operand[];
}

/** `js`: a brace-delimited JavaScript block, kept as its raw text (braces included). */
type Token = { type: "word" | "string" | "number" | "param" | "punct" | "js"; text: string; at: number };

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
    } else if (c === "{") {
      // RQL has braces only around JavaScript (object-literal projections, function bodies).
      const end = matchingBrace(text, i);
      tokens.push({ type: "js", text: text.slice(i, end), at: i });
      i = end;
    } else {
      const two = text.slice(i, i + 2);
      const op = ["==", "!=", "<=", ">=", "[]"].includes(two) ? two : c;
      tokens.push({ type: "punct", text: op, at: i });
      i += op.length;
    }
  }
  return tokens;
}

const isId = (o: Operand) => o.kind === "id";

/** Does a comparison in `expr` (not within a nested exact(), already checked) take id()? */
function comparesId(expr: Expr): boolean {
  switch (expr.kind) {
    case "and":
    case "or":
      return comparesId(expr.left) || comparesId(expr.right);
    case "not":
      return comparesId(expr.inner);
    case "compare":
      return [expr.left, expr.right].some(isId);
    case "in":
      return [expr.left, ...expr.values].some(isId);
    case "between":
      return [expr.left, expr.low, expr.high].some(isId);
    case "startsWith":
    case "endsWith":
      return [expr.field, expr.value].some(isId);
    default:
      return false;
  }
}

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

  const declarations: Declaration[] = [];
  while (isWord("declare")) {
    const start = peek()!.at;
    pos++;
    if (!isWord("function")) throw unsupported(`'declare ${peek()?.text ?? ""}' (only 'declare function')`);
    pos++;
    const fn = peek();
    if (fn?.type !== "word" || !/^[A-Za-z_$][\w$]*$/.test(fn.text)) throw invalid(`Expected a function name at ${where()}.`);
    pos++;
    expectPunct("(");
    while (!isPunct(")")) {
      if (peek()?.type !== "word") throw invalid(`Expected a parameter name at ${where()}.`);
      pos++;
      if (isPunct(",")) pos++;
    }
    pos++;
    const body = peek();
    if (body?.type !== "js") throw invalid(`Expected the body of function '${fn.text}' ('{ … }') at ${where()}.`);
    pos++;
    if (declarations.some((d) => d.name === fn.text)) throw invalid(`The function '${fn.text}' is declared twice.`);
    declarations.push({ name: fn.text, source: text.slice(start + "declare".length, body.at + body.text.length).trim() });
  }
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
    if (t.type === "number") {
      pos++;
      return { kind: "literal", value: Number(t.text) };
    }
    if (t.type === "param") {
      pos++;
      return { kind: "param", name: t.text };
    }
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
    if (t.type === "js") throw unsupported("JavaScript object literals ('{ … }') outside 'select'");
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
    if (isWord("exact") && isPunct("(", 1)) return nest(exact);
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
  /**
   * `exact(<expr>)`, as the client's `whereEquals(field, value, true)` writes it: one argument,
   * one comparison or a whole and/or expression. RavenDB runs what is inside against its exact
   * (case-kept) index fields: =, !=, <, >, in, between, startsWith, endsWith.
   */
  const exact = (): Expr => {
    pos += 2;
    if (isPunct(")")) throw invalid("Method exact() expects one argument, got 0.");
    const inner = orExpr();
    if (isPunct(",")) throw invalid("Method exact() expects one argument, got more.");
    expectPunct(")");
    // Ids compare without case everywhere (they are stored lower-cased); what RavenDB answers for
    // a case-kept id() comparison depends on its query path, so it is refused, not guessed.
    if (comparesId(inner)) throw unsupported("id() inside exact()");
    return { kind: "exact", inner };
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
        if (isWord("desc") || isWord("descending")) {
          desc = true;
          pos++;
        } else if (isWord("asc") || isWord("ascending")) pos++;
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

  const fieldProjections = (): Projection[] =>
    commaList((): Projection => {
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

  let select: Projection[] | null = null;
  let jsProjection: Query["jsProjection"] = null;
  const declared = (t: Token | undefined) => t?.type === "word" && declarations.some((d) => d.name === t.text);
  if (isWord("select")) {
    pos++;
    if (isWord("distinct")) throw unsupported("'select distinct'");
    const first = peek();
    if (first?.type === "js") {
      pos++;
      jsProjection = { expression: first.text, alias, loadAliases: [...loadAliases] };
    } else if (declared(first) && isPunct("(", 1)) {
      // A call of a declared function: its source text up to the matching ')'.
      pos += 2;
      for (let depth = 1; depth > 0; pos++) {
        if (!peek()) throw invalid(`The call of '${first!.text}' has no closing ')'.`);
        if (isPunct("(")) depth++;
        else if (isPunct(")")) depth--;
      }
      const close = tokens[pos - 1]!;
      jsProjection = { expression: text.slice(first!.at, close.at + 1), alias, loadAliases: [...loadAliases] };
    }
    if (jsProjection && isPunct(",")) throw unsupported("A JavaScript projection beside other fields");
    if (!jsProjection) select = fieldProjections();
  }
  let skip: Operand | null = null;
  let take: Operand | null = null;
  const count = (): Operand => {
    const t = peek();
    if (t?.type === "param") {
      pos++;
      return { kind: "param", name: t.text };
    }
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
          if (t.text.toLowerCase() !== "cmpxchg")
            throw unsupported(`'include ${t.text}(…)' (counters, time series, revisions, highlights, timings, explanations)`);
          pos += 2;
          const arg = operand();
          expectPunct(")");
          if (arg.kind === "field" && arg.source !== null) throw unsupported("Including through a load alias");
          includeCmpxchg.push(arg);
          return;
        }
        const arg = operand();
        if ((arg.kind !== "field" || arg.source !== null) && arg.kind !== "literal" && arg.kind !== "param")
          throw unsupported("This include");
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
  return { collection, where: whereExpr, orderBy, loads, select, declarations, jsProjection, skip, take, includeCmpxchg, includeDocs };
}
