/**
 * Rewrites a query's JavaScript (a `declare function` or the projection expression) before the
 * sandbox (worker/js-sandbox.ts) evaluates it, so that syntax whose single operation costs O(n)
 * natively spends the step budget like the metered built-ins do (worker/js-meter.ts).
 *
 * Why: QuickJS polls its interrupt handler (the step budget) only every 10,000 calls and backward
 * jumps, never inside one operation. A loop whose body is one such operation ran thousands of
 * them per check: `for (k in o)` builds o's whole key list natively each time a loop starts; `+`
 * and template literals copy long strings; object spread and object rest copy every own key.
 * Deployed Workers freeze the clock while code runs, so only steps stop such a loop there.
 *
 * What the rewrite does (the helpers are global lexical bindings of the metering prelude that no
 * script can reach by another name, see RESERVED):
 * - `for (L in E) S` → `for (L of __sbx_forIn(E)) S`: the keys for-in visits, charged by count.
 * - `a + b` → `__sbx_add(a, b)`; `x += y` → `x = __sbx_add(x, y)`, and for a member
 *   `__sbx_addEnd(__sbx_addStart(o, k), y)` (o and k evaluated once, o[k] read before y, as the
 *   language does); a template literal with `${…}` → `__sbx_str(`…`)`. A string result longer than
 *   1,024 characters is charged by its length (js-meter.ts).
 * - `{ ...o }` → `{ ...__sbx_own(o) }` (o's own key count charged first); an object rest pattern
 *   (`{ a, ...r } = o`, in declarations, parameters, catch, for heads and assignments) charges
 *   the rest targets' key counts right after the copy.
 * - Refused with a parse error: BigInt literals (arithmetic and printing of huge BigInts are O(n²)
 *   natively; the sandbox has no BigInt at all), `with` (it could rebind a helper's name), names
 *   beginning with `__sbx`, and `import()`.
 * `eval` and every function constructor are gone from the sandbox (js-meter.ts), so no source the
 * rewrite did not see can run.
 *
 * Pure (acorn only, no Workers API). The output keeps the input's text except for rewritten
 * nodes, so positions in later error messages stay close to the user's.
 */
import { type Node, parse } from "acorn";

/** Thrown for a script that does not parse or uses a refused construct: the sandbox answers JavaScriptParseException. */
export class JsRewriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyntaxError";
  }
}

/** Prefix of the helpers' names; scripts may not use it. */
export const RESERVED = "__sbx";

// acorn's nodes, read generically: every property that holds a node or an array of nodes is a child.
// biome-ignore lint/suspicious/noExplicitAny: ESTree nodes are walked generically, by property
type N = Node & { [key: string]: any };

const OPTIONS = { ecmaVersion: "latest", sourceType: "script", preserveParens: true } as const;

/** Rewrites a script (`function f(…) { … }`). */
export function rewriteScript(source: string): string {
  return new Rewriter(source).emit(parsed(source));
}

/**
 * Rewrites a projection expression: it must be exactly one expression (what the sandbox
 * evaluates as `return (EXPRESSION);`), so text that closes the parenthesis and goes on is refused.
 */
export function rewriteExpression(expression: string): string {
  const wrapped = `(${expression}\n)`;
  const program = parsed(wrapped);
  const body = program.body as N[];
  const only = body[0];
  const whole = only?.type === "ExpressionStatement" && only.expression.type === "ParenthesizedExpression";
  if (body.length !== 1 || !whole || only.expression.start !== 0 || only.expression.end !== wrapped.length) {
    throw new JsRewriteError("The projection must be a single JavaScript expression.");
  }
  const inner = only.expression.expression as N;
  return new Rewriter(wrapped).emit(inner);
}

function parsed(source: string): N {
  try {
    return parse(source, OPTIONS) as N;
  } catch (err) {
    throw new JsRewriteError(err instanceof Error ? err.message : String(err));
  }
}

function isNode(x: unknown): x is N {
  return x !== null && typeof x === "object" && typeof (x as { type?: unknown }).type === "string";
}

/** A node's children in source order (a shorthand property's key and value share a range: the wider comes first). */
function children(node: N): N[] {
  const out: N[] = [];
  for (const key in node) {
    if (key === "type" || key === "start" || key === "end" || key === "loc" || key === "range") continue;
    const v = node[key];
    if (Array.isArray(v)) for (const c of v) isNode(c) && out.push(c);
    else if (isNode(v)) out.push(v);
  }
  return out.sort((a, b) => a.start - b.start || b.end - a.end);
}

const unparen = (n: N): N => (n.type === "ParenthesizedExpression" ? unparen(n.expression) : n);

class Rewriter {
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  /** The node's text with its children rewritten; `override` may emit a child itself. */
  private range(node: N, override?: (child: N) => string | undefined): string {
    let out = "";
    let at = node.start;
    for (const c of children(node)) {
      if (c.start < at) continue;
      out += this.src.slice(at, c.start) + (override?.(c) ?? this.emit(c));
      at = c.end;
    }
    return out + this.src.slice(at, node.end);
  }

  emit(node: N): string {
    switch (node.type) {
      case "Identifier":
        if (node.name.startsWith(RESERVED))
          throw new JsRewriteError(`Names beginning with ${RESERVED} are reserved in query scripts (${node.name}).`);
        return this.range(node);
      case "Literal":
        if (node.bigint !== undefined) throw new JsRewriteError("BigInt is not supported in query scripts.");
        return this.range(node);
      case "WithStatement":
        throw new JsRewriteError("'with' is not supported in query scripts.");
      case "ImportExpression":
        throw new JsRewriteError("import() is not supported in query scripts.");
      case "BinaryExpression":
        if (node.operator !== "+") return this.range(node);
        return `__sbx_add(${this.emit(node.left)}, ${this.emit(node.right)})`;
      case "AssignmentExpression":
        return this.assignment(node);
      case "TemplateLiteral":
        return node.expressions.length ? `__sbx_str(${this.range(node)})` : this.range(node);
      case "TaggedTemplateExpression":
        // The tag receives the pieces; nothing is concatenated natively (String.raw is metered).
        return this.emit(node.tag) + this.src.slice(node.tag.end, node.quasi.start) + this.range(node.quasi);
      case "ObjectExpression":
        return this.range(node, (c) =>
          c.type === "SpreadElement" ? `${this.src.slice(c.start, c.argument.start)}__sbx_own(${this.emit(c.argument)})` : undefined,
        );
      case "ForInStatement":
        return this.forIn(node);
      case "ForOfStatement":
        return this.withRestCharge(node, restTargets(node.left));
      case "CatchClause":
        return node.param ? this.withRestCharge(node, restTargets(node.param)) : this.range(node);
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        return this.withRestCharge(node, node.params.flatMap(restTargets));
      case "VariableDeclaration":
        return this.declaration(node);
      default:
        return this.range(node);
    }
  }

  private assignment(node: N): string {
    if (node.operator === "=" && (unparen(node.left).type === "ObjectPattern" || unparen(node.left).type === "ArrayPattern")) {
      const targets = restTargets(node.left);
      if (targets.length === 0) return this.range(node);
      // Charged after the copy, by re-reading the targets: only targets whose reading has no effect.
      for (const t of targets)
        if (!plainTarget(t)) throw new JsRewriteError("Object rest into a computed or called target is not supported in query scripts.");
      return `__sbx_first((${this.range(node)}), __sbx_own(${targets.map((t) => this.src.slice(t.start, t.end)).join(", ")}))`;
    }
    if (node.operator !== "+=") return this.range(node);
    const left = unparen(node.left);
    const right = this.emit(node.right);
    if (left.type === "Identifier") {
      const name = this.emit(left);
      return `${name} = __sbx_add(${name}, ${right})`;
    }
    if (left.type !== "MemberExpression") throw new JsRewriteError("Invalid left-hand side of +=.");
    const property = left.property as N;
    if (left.object.type === "Super" || property.type === "PrivateIdentifier") {
      // Reading the target twice is exact only where its parts cannot change or run code.
      const simple = left.object.type === "Super" || left.object.type === "ThisExpression";
      if (!simple || (left.computed && property.type !== "Literal")) {
        throw new JsRewriteError(
          "+= on a private field of another object, or on a computed super property, is not supported in query scripts.",
        );
      }
      const target = this.src.slice(left.start, left.end);
      return `${target} = __sbx_add(${target}, ${right})`;
    }
    const key = left.computed ? this.emit(property) : JSON.stringify(property.name);
    return `__sbx_addEnd(__sbx_addStart(${this.emit(left.object)}, ${key}), ${right})`;
  }

  private forIn(node: N): string {
    const left = node.left as N;
    if (left.type === "VariableDeclaration" && left.declarations[0]?.init) {
      throw new JsRewriteError("A for-in variable with an initializer is not supported in query scripts.");
    }
    let head = this.emit(left);
    // `for (async of …)` and `for (let of …)` would not parse: the name is parenthesized.
    if (left.type === "Identifier" && (left.name === "async" || left.name === "let")) head = `(${head})`;
    const start = this.src.slice(node.start, left.start);
    const afterRight = this.src.slice(node.right.end, node.body.start);
    return `${start}${head} of __sbx_forIn(${this.emit(node.right)})${afterRight}${this.body(node.body, restTargets(left))}`;
  }

  /** A function, catch clause or for-of with object rest targets in its head: the body charges them first. */
  private withRestCharge(node: N, targets: N[]): string {
    if (targets.length === 0) return this.range(node);
    return this.range(node, (c) => (c === node.body ? this.body(c, targets) : undefined));
  }

  /** A body (block, statement, or an arrow's expression) that first charges `targets`' own keys. */
  private body(body: N, targets: N[]): string {
    const text = this.emit(body);
    if (targets.length === 0) return text;
    for (const t of targets)
      if (!plainTarget(t)) throw new JsRewriteError("Object rest into a computed or called target is not supported in query scripts.");
    const charge = `__sbx_own(${targets.map((t) => this.src.slice(t.start, t.end)).join(", ")})`;
    if (body.type === "BlockStatement") return `{ ${charge}; ${text.slice(1)}`;
    // An arrow's expression body (a parenthesized object literal stays parenthesized in `text`).
    if (isExpression(body)) return `(${charge}, ${text})`;
    return `{ ${charge}; ${text} }`;
  }

  private declaration(node: N): string {
    const targets = (node.declarations as N[]).flatMap((d) => (d.init ? restTargets(d.id) : []));
    const text = this.range(node);
    if (targets.length === 0) return text;
    // An extra declarator after the others runs right after the copies (also in a for head).
    const end = text.length;
    const semicolon = text.endsWith(";") ? 1 : 0;
    const charge = `, ${RESERVED}_rest${nextRest++} = __sbx_own(${targets.map((t) => this.src.slice(t.start, t.end)).join(", ")})`;
    return text.slice(0, end - semicolon) + charge + text.slice(end - semicolon);
  }
}

/** Declarators' names stay unique across all the pieces of all the queries of the isolate. */
let nextRest = 0;

function isExpression(n: N): boolean {
  return !n.type.endsWith("Statement") && n.type !== "VariableDeclaration" && !n.type.endsWith("Declaration");
}

/** The targets of object rest elements inside a pattern (or a declaration's patterns). */
function restTargets(pattern: N | null | undefined): N[] {
  if (!pattern) return [];
  switch (pattern.type) {
    case "VariableDeclaration":
      return (pattern.declarations as N[]).flatMap((d) => restTargets(d.id));
    case "ObjectPattern":
      return (pattern.properties as N[]).flatMap((p) => (p.type === "RestElement" ? [unparen(p.argument)] : restTargets(p.value)));
    case "ArrayPattern":
      return (pattern.elements as (N | null)[]).flatMap((e) => restTargets(e));
    case "RestElement":
      return restTargets(pattern.argument);
    case "AssignmentPattern":
      return restTargets(pattern.left);
    case "ParenthesizedExpression":
      return restTargets(pattern.expression);
    default:
      return [];
  }
}

/** An identifier, or a member chain of identifiers/this with names only: reading it twice is the same read. */
function plainTarget(t: N): boolean {
  if (t.type === "Identifier") return true;
  if (t.type === "MemberExpression" && !t.computed && t.property.type === "Identifier") {
    return t.object.type === "ThisExpression" || plainTarget(t.object);
  }
  return false;
}
