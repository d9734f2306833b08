/**
 * The sandbox that runs a query's JavaScript (`declare function`, `select { … }`): QuickJS
 * compiled to WebAssembly (worker/js-engine.ts, engine/), because Workers forbid `eval` and
 * `new Function`. One engine instance per isolate.
 *
 * One QuickJS runtime per round of a query, opened, used and closed synchronously (no `await`
 * while it lives), so at most one exists in the isolate at a time. The instance's WebAssembly
 * memory has a hard maximum (MAX_QUERY_JS_MEMORY); each runtime has a heap limit, a stack limit
 * and a step budget shared by all rounds of the query. Steps, not only milliseconds: deployed
 * Workers do not advance `Date.now()` while code runs, so a deadline alone would never fire there.
 *
 * What a step is (worker/js-budget.ts): ten thousand calls or loop iterations, where our build of
 * QuickJS also turns native work into that count (bytes allocated, compared, hashed or converted,
 * prototype links walked) and checks as soon as 64 KiB of it piled up, so a loop whose body is
 * one expensive operator pays for it. On top of that, every built-in whose work grows with its
 * input is wrapped by the metering prelude (worker/js-meter.ts) and spends the budget by the size
 * it handles, and every script is parsed and rewritten first (core/js-rewrite.ts) so that syntax
 * whose one operation is O(n) natively (for…in, string +, templates, object spread/rest) calls
 * the prelude's charging helpers; BigInt literals, `with` and the helpers' names are refused
 * there, and the prelude removes `eval` and the function constructors, so only rewritten source
 * runs.
 *
 * Values cross the boundary as JSON text only (parsed and written by core/json.ts on this side,
 * by the VM's own JSON on the other). `cmpxchg(key)` and `load(id)` answer from lookups fetched
 * beforehand; a key not fetched yet marks the row as missing it, and the caller fetches every
 * missing key of the round in one batch and runs those rows again (worker/js-projection.ts).
 */
import { echo, RavenError } from "../core/errors";
import { lowerKey } from "../core/keys";
import { StepBudget } from "./js-budget";
import { type EngineResult, type HostAnswer, MISSING, QueryEngine } from "./js-engine";
import wasm from "./query-engine.wasm";
import { meterPrelude } from "./js-meter";
import { SET_METHODS_POLYFILL } from "./js-polyfills";
import { JsRewriteError, rewriteExpression, rewriteScript } from "../core/js-rewrite";
import { MAX_QUERY_JS_HEAP, MAX_QUERY_JS_MEMORY, MAX_QUERY_JS_MS, MAX_QUERY_JS_STACK } from "../core/limits";

export { StepBudget };
export const JS_ERROR = "Raven.Client.Exceptions.Documents.Patching.JavaScriptException";
export const JS_PARSE_ERROR = "Raven.Client.Exceptions.Documents.Patching.JavaScriptParseException";

/** A query's JavaScript: its declared functions and the projection evaluated per result. */
export interface JsProgram {
  /** `function name(…) { … }` sources. */
  functions: string[];
  /** The projection expression (an object literal or a call). */
  expression: string;
  /** Names bound to the arguments of each row, in order (the document alias, load aliases). */
  parameters: string[];
  /** Query parameters, visible as `$name` globals (JSON-encodable values). */
  queryParameters: Record<string, string>;
}

/** Values fetched so far, by lower-cased key/id: JSON text, or null for missing. */
export interface Lookups {
  cmpxchg: Map<string, string | null>;
  docs: Map<string, string | null>;
}

/** One result to project: JSON texts of its arguments (null for a missing load), the first is `this`. */
export type Row = (string | null)[];

export type RowOutcome =
  | { kind: "done"; json: string | null; includeCmpxchg: string[]; includeDocs: string[] }
  | { kind: "missing"; cmpxchg: string[]; docs: string[] };

let instance: QueryEngine | null = null;

/** The isolate's QuickJS engine (instantiated on first use), its memory capped at MAX_QUERY_JS_MEMORY. */
export async function quickJs(): Promise<QueryEngine> {
  instance ??= new QueryEngine(wasm, MAX_QUERY_JS_MEMORY);
  return instance;
}

/**
 * Helpers the scripts see, written in JavaScript over four host functions. `cmpxchg()` answers
 * the item's value (its `Object`), as RavenDB's does; `load()` a document or null; `id()` and
 * `getMetadata()` read `@metadata`; `includes.cmpxchg()` and `include()` add to the response.
 */
const PRELUDE = `
const __sbx_h = { c: __host_cmpxchg, l: __host_load, ic: __host_include_cmpxchg, id: __host_include, charge: __host_charge };
delete globalThis.__host_cmpxchg; delete globalThis.__host_load; delete globalThis.__host_include_cmpxchg;
delete globalThis.__host_include; delete globalThis.__host_charge;
// The runner's own JSON, before the scripts' copies are metered (js-meter.ts). Global constants
// named __sbx…: not properties of globalThis, and the rewrite refuses the names in scripts.
const __sbx_json = { parse: JSON.parse, stringify: JSON.stringify };
${SET_METHODS_POLYFILL}
${meterPrelude("__sbx_h.charge")}
function cmpxchg(key) {
  if (key === null || key === undefined) return null;
  var t = __sbx_h.c(String(key));
  if (t === null) return null;
  var v = __sbx_json.parse(t);
  return v !== null && typeof v === "object" && "Object" in v ? v.Object : null;
}
function load(id) {
  if (Array.isArray(id)) return id.map(load);
  if (id === null || id === undefined) return null;
  var t = __sbx_h.l(String(id));
  return t === null ? null : __sbx_json.parse(t);
}
function id(doc) {
  var m = doc && doc["@metadata"];
  return m ? m["@id"] : null;
}
function getMetadata(doc) { return doc ? doc["@metadata"] : null; }
var metadataFor = getMetadata;
function include(id) {
  if (Array.isArray(id)) { id.forEach(include); return; }
  if (id !== null && id !== undefined) __sbx_h.id(String(id));
}
var includes = {
  cmpxchg: function (key) {
    if (Array.isArray(key)) { key.forEach(includes.cmpxchg); return; }
    if (key !== null && key !== undefined) __sbx_h.ic(String(key));
  },
};
`;

/**
 * Runs the program over `rows` in one fresh runtime. Throws a RavenError (JavaScriptException or
 * JavaScriptParseException, 400) for a script that fails, runs out of steps or memory.
 */
export function runRound(engine: QueryEngine, program: JsProgram, rows: Row[], lookups: Lookups, budget: StepBudget): RowOutcome[] {
  const rewritten = rewrite(program);
  // What the row being run asked of the host (runIn starts each row with a fresh one).
  let asks = noAsks();
  const lookup = (map: Map<string, string | null>, wanted: Set<string>, key: string): HostAnswer => {
    const found = map.get(lowerKey(key));
    if (found !== undefined) return found;
    wanted.add(key);
    return MISSING;
  };
  engine.open(MAX_QUERY_JS_HEAP, MAX_QUERY_JS_STACK, {
    call(fn, arg) {
      if (fn === "__host_cmpxchg") return lookup(lookups.cmpxchg, asks.cmpxchg, arg);
      if (fn === "__host_load") return lookup(lookups.docs, asks.docs, arg);
      (fn === "__host_include_cmpxchg" ? asks.includeCmpxchg : asks.includeDocs).push(arg);
      return undefined;
    },
    charge: (units) => budget.charge(units),
    interrupt: (ticks, nativeBytes) => budget.check(ticks, nativeBytes),
  });
  budget.startRound();
  try {
    return runIn(engine, program, rewritten, rows, budget, () => (asks = noAsks()));
  } catch (err) {
    if (err instanceof RavenError) throw err;
    // The host's own limits hit inside QuickJS (its stack, a trap): the instance may be left
    // half-way through a call, so the next query gets a fresh one.
    instance = null;
    throw jsError(`The query's JavaScript failed in the engine: ${echo(String(err), 300)}`);
  } finally {
    budget.endRound();
    try {
      engine.close();
    } catch {
      // A runtime that cannot be freed cleanly (a trap or an assertion in QuickJS): drop the
      // whole instance, the next query starts from a fresh one.
      instance = null;
    }
  }
}

/** What one row's script asked of the host: keys not fetched yet, and what it included. */
interface RowAsks {
  cmpxchg: Set<string>;
  docs: Set<string>;
  includeCmpxchg: string[];
  includeDocs: string[];
}

const noAsks = (): RowAsks => ({ cmpxchg: new Set(), docs: new Set(), includeCmpxchg: [], includeDocs: [] });

function runIn(
  engine: QueryEngine,
  program: JsProgram,
  rewritten: { functions: string[]; expression: string },
  rows: Row[],
  budget: StepBudget,
  startRow: () => RowAsks,
): RowOutcome[] {
  const params = Object.entries(program.queryParameters)
    .filter(([name]) => /^[A-Za-z_][\w]*$/.test(name))
    .map(([name, json]) => `var $${name} = ${json};`)
    .join("\n");
  // A row's arguments arrive as one JSON array (their texts joined), parsed once.
  const run = `(function (__row) {
    var __a = __sbx_json.parse(__row);
    var __r = (function (${program.parameters.join(", ")}) { return (${rewritten.expression}); }).apply(__a[0], __a);
    return __r === undefined || __r === null ? null : __sbx_json.stringify(__r);
  })`;
  evaluate(engine, PRELUDE, "prelude", budget);
  engine.forgetCost();
  evaluate(engine, params, "parameters", budget);
  for (const source of rewritten.functions) evaluate(engine, source, "declare function", budget);
  evaluate(engine, run, "select", budget, true);
  return rows.map((row): RowOutcome => {
    const asks = startRow();
    const result = engine.call(`[${row.map((text) => text ?? "null").join(",")}]`);
    // Whatever the row did without a value it lacked is discarded (even if the script caught the error).
    if (asks.cmpxchg.size || asks.docs.size) return { kind: "missing", cmpxchg: [...asks.cmpxchg], docs: [...asks.docs] };
    if (result.kind === "error") throw failed(result, "select", budget);
    const json = result.kind === "value" ? result.text : null;
    return { kind: "done", json, includeCmpxchg: asks.includeCmpxchg, includeDocs: asks.includeDocs };
  });
}

const rewrites = new WeakMap<JsProgram, { functions: string[]; expression: string }>();

/**
 * The program's pieces as core/js-rewrite.ts rewrites them (once per query: its rounds share it).
 * Whatever acorn cannot parse, or the rewrite refuses, is a JavaScriptParseException, as before.
 */
function rewrite(program: JsProgram): { functions: string[]; expression: string } {
  const known = rewrites.get(program);
  if (known) return known;
  let where = "declare function";
  try {
    const functions = program.functions.map(rewriteScript);
    where = "the projection";
    const done = { functions, expression: rewriteExpression(program.expression) };
    rewrites.set(program, done);
    return done;
  } catch (err) {
    if (!(err instanceof JsRewriteError)) throw err;
    throw new RavenError(400, JS_PARSE_ERROR, `In ${where}: SyntaxError: ${echo(err.message, 500)}`);
  }
}

/** Evaluates `code` at the top level (`keep`: as the function each row calls). */
function evaluate(engine: QueryEngine, code: string, where: string, budget: StepBudget, keep = false): void {
  const result = engine.eval(code, where, keep);
  if (result.kind === "error") throw failed(result, where, budget);
}

/** The error a failed evaluation becomes. */
function failed(error: Extract<EngineResult, { kind: "error" }>, where: string, budget: StepBudget): RavenError {
  if (budget.stopped) {
    return jsError(
      `The query's JavaScript ran past its CPU budget (${budget.limit} steps of about 10,000 operations each, or ${MAX_QUERY_JS_MS} ms) and was stopped: a loop that never ends?`,
    );
  }
  const { name, message } = error;
  const text = name ? `${name}: ${message}` : message;
  // With the heap full, the engine may not even manage to describe the error.
  if (/out of memory/i.test(text) || text === "") {
    return jsError(`The query's JavaScript ran out of memory (its limit is ${MAX_QUERY_JS_HEAP / (1024 * 1024)} MiB) and was stopped.`);
  }
  if (name === "SyntaxError" && where !== "select") return new RavenError(400, JS_PARSE_ERROR, `In ${where}: ${echo(text, 500)}`);
  if (name === "SyntaxError") return new RavenError(400, JS_PARSE_ERROR, `In the projection: ${echo(text, 500)}`);
  return jsError(`In ${where}: ${echo(text, 500)}`);
}

const jsError = (message: string) => new RavenError(400, JS_ERROR, message);
