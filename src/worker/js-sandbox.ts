/**
 * The sandbox that runs a query's JavaScript (`declare function`, `select { … }`): QuickJS
 * compiled to WebAssembly (quickjs-emscripten), because Workers forbid `eval` and `new Function`.
 * The .wasm is imported as a module (wrangler and the vitest plugin hand it over as a compiled
 * WebAssembly.Module), instantiated once per isolate.
 *
 * One QuickJS runtime per round of a query, created, used and disposed synchronously (no `await`
 * while it lives), so at most one exists in the isolate at a time. The instance's WebAssembly
 * memory has a hard maximum (QuickJS's own heap limit undercounts strings in this build, so it
 * alone did not stop a string bomb); each runtime has a heap limit, a stack limit and a step
 * budget (checks of the interrupt handler, which QuickJS polls every 10,000 calls and loop
 * iterations) shared by all rounds of the query. Steps, not only milliseconds: deployed Workers
 * do not advance `Date.now()` while code runs, so a deadline alone would never fire there.
 *
 * What checks do not see: native calls run between two of them, and QuickJS checks only every
 * 10,000 calls, so a loop whose body is one expensive native call could run thousands of them per
 * check. Every built-in whose work grows with its input is therefore wrapped by the metering
 * prelude (worker/js-meter.ts) and spends the budget by the size it handles (UNITS_PER_STEP), and
 * every script is parsed and rewritten first (core/js-rewrite.ts) so that syntax whose one
 * operation is O(n) natively (for…in, string +, templates, object spread/rest) calls the
 * prelude's charging helpers; BigInt literals, `with` and the helpers' names are refused there,
 * and the prelude removes `eval` and the function constructors, so only rewritten source runs.
 *
 * Values cross the boundary as JSON text only (parsed and written by core/json.ts on this side,
 * by the VM's own JSON on the other). `cmpxchg(key)` and `load(id)` answer from lookups fetched
 * beforehand; a key not fetched yet marks the row as missing it, and the caller fetches every
 * missing key of the round in one batch and runs those rows again (worker/js-projection.ts).
 */
import RELEASE_SYNC from "@jitl/quickjs-wasmfile-release-sync";
import wasmModule from "@jitl/quickjs-wasmfile-release-sync/wasm";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { echo, RavenError } from "../core/errors";
import { lowerKey } from "../core/keys";
import { meterPrelude, UNITS_PER_STEP } from "./js-meter";
import { JsRewriteError, rewriteExpression, rewriteScript } from "../core/js-rewrite";
import { MAX_QUERY_JS_HEAP, MAX_QUERY_JS_MEMORY, MAX_QUERY_JS_MS, MAX_QUERY_JS_STACK, MAX_QUERY_JS_STEPS } from "../core/limits";

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

/**
 * The CPU budget of one query, spent across its rounds: interrupt checks, and milliseconds of
 * running scripts (not the lookups between rounds) where the clock advances while code runs.
 */
export class StepBudget {
  used = 0;
  /** How many of the steps used were interrupt checks (the rest were charged by size). */
  checks = 0;
  /** Set once the budget is spent: every later check stops the script too. */
  stopped = false;
  private ms = 0;
  private roundStart = 0;
  constructor(
    readonly limit = MAX_QUERY_JS_STEPS,
    readonly msLimit = MAX_QUERY_JS_MS,
  ) {}
  startRound(): void {
    this.roundStart = Date.now();
  }
  endRound(): void {
    this.ms += Date.now() - this.roundStart;
  }
  /** Called at each interrupt check (and by charge()): true stops the script. */
  spend(steps = 1): boolean {
    this.used += steps;
    return (this.stopped ||= this.used > this.limit || this.ms + (Date.now() - this.roundStart) > this.msLimit);
  }
}

/** WebAssembly pages of 64 KiB: 16 MiB to start with (the build's default), the cap at most. */
const PAGES = { initial: 256, maximum: MAX_QUERY_JS_MEMORY / 65536 };

let instance: Promise<QuickJSWASMModule> | null = null;

/** The isolate's QuickJS module (instantiated on first use). */
export function quickJs(): Promise<QuickJSWASMModule> {
  if (!instance) {
    const variant = newVariant(RELEASE_SYNC, { wasmModule, wasmMemory: new WebAssembly.Memory(PAGES) });
    instance = newQuickJSWASMModuleFromVariant(variant).catch((err) => {
      instance = null;
      throw err;
    });
  }
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

/** A marker the host throws into the VM for a lookup it has not fetched yet. */
const MISSING = "__edge_cmpxchg_missing__";

/**
 * Runs the program over `rows` in one fresh runtime. Throws a RavenError (JavaScriptException or
 * JavaScriptParseException, 400) for a script that fails, runs out of steps or memory.
 */
export function runRound(engine: QuickJSWASMModule, program: JsProgram, rows: Row[], lookups: Lookups, budget: StepBudget): RowOutcome[] {
  const runtime = engine.newRuntime({ memoryLimitBytes: MAX_QUERY_JS_HEAP, maxStackSizeBytes: MAX_QUERY_JS_STACK });
  runtime.setInterruptHandler(() => {
    budget.checks++;
    return budget.spend();
  });
  const vm = runtime.newContext();
  budget.startRound();
  try {
    return runIn(vm, program, rows, lookups, () => budget.stopped, budget);
  } catch (err) {
    if (err instanceof RavenError) throw err;
    // The host's own limits hit inside QuickJS (its stack, say): the instance may be left
    // half-way through a call, so the next query gets a fresh one.
    instance = null;
    throw jsError(`The query's JavaScript failed in the engine: ${echo(String(err), 300)}`);
  } finally {
    budget.endRound();
    try {
      vm.dispose();
      runtime.dispose();
    } catch {
      // A runtime that cannot be freed cleanly (a trap or an assertion in QuickJS): drop the
      // whole module, the next query starts from a fresh instance.
      instance = null;
    }
  }
}

function runIn(
  vm: QuickJSContext,
  program: JsProgram,
  rows: Row[],
  lookups: Lookups,
  interrupted: () => boolean,
  budget: StepBudget,
): RowOutcome[] {
  const rewritten = rewrite(program);
  // Per row: what it asked for that is not fetched yet, and what it included.
  let missing = { cmpxchg: new Set<string>(), docs: new Set<string>() };
  let includeCmpxchg: string[] = [];
  let includeDocs: string[] = [];
  const lookup = (map: Map<string, string | null>, wanted: Set<string>, key: string): QuickJSHandle => {
    const found = map.get(lowerKey(key));
    if (found === undefined) {
      wanted.add(key);
      throw vm.newError({ name: "Error", message: MISSING });
    }
    return found === null ? vm.null : vm.newString(found);
  };
  const host = (name: string, fn: (arg: string) => QuickJSHandle | undefined) => {
    const handle = vm.newFunction(name, (arg) => fn(vm.getString(arg)));
    vm.setProp(vm.global, name, handle);
    handle.dispose();
  };
  host("__host_cmpxchg", (key) => lookup(lookups.cmpxchg, missing.cmpxchg, key));
  host("__host_load", (id) => lookup(lookups.docs, missing.docs, id));
  host("__host_include_cmpxchg", (key) => void includeCmpxchg.push(key));
  host("__host_include", (id) => void includeDocs.push(id));
  const charge = vm.newFunction("__host_charge", (chars) => {
    // NaN (`'x'.repeat(NaN)`) must not poison the count: `used` would never compare above the limit again.
    const n = vm.getNumber(chars);
    if (budget.spend(n > 0 ? n / UNITS_PER_STEP : 0)) throw vm.newError({ name: "InternalError", message: "interrupted" });
  });
  vm.setProp(vm.global, "__host_charge", charge);
  charge.dispose();

  const params = Object.entries(program.queryParameters)
    .filter(([name]) => /^[A-Za-z_][\w]*$/.test(name))
    .map(([name, json]) => `var $${name} = ${json};`)
    .join("\n");
  const run = `(function (__texts) {
    var __a = __texts.map(function (t) { return t === null ? null : __sbx_json.parse(t); });
    var __r = (function (${program.parameters.join(", ")}) { return (${rewritten.expression}); }).apply(__a[0], __a);
    return __r === undefined || __r === null ? null : __sbx_json.stringify(__r);
  })`;
  evaluate(vm, PRELUDE, "prelude", interrupted, budget);
  evaluate(vm, params, "parameters", interrupted, budget);
  for (const source of rewritten.functions) evaluate(vm, source, "declare function", interrupted, budget);
  const runner = evaluate(vm, run, "select", interrupted, budget, true);
  try {
    return rows.map((row): RowOutcome => {
      missing = { cmpxchg: new Set(), docs: new Set() };
      includeCmpxchg = [];
      includeDocs = [];
      const texts = vm.newArray();
      row.forEach((text, i) => {
        const handle = text === null ? vm.null : vm.newString(text);
        vm.setProp(texts, i, handle);
        handle.dispose();
      });
      const result = vm.callFunction(runner, vm.undefined, texts);
      texts.dispose();
      if (missing.cmpxchg.size || missing.docs.size) {
        // Whatever the row did without the value is discarded (even if the script caught the error).
        (result.error ?? result.value).dispose();
        return { kind: "missing", cmpxchg: [...missing.cmpxchg], docs: [...missing.docs] };
      }
      if (result.error) throw failed(vm, result.error, "select", interrupted(), budget);
      const json = vm.typeof(result.value) === "string" ? vm.getString(result.value) : null;
      result.value.dispose();
      return { kind: "done", json, includeCmpxchg, includeDocs };
    });
  } finally {
    runner.dispose();
  }
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

/** Evaluates `code` at the top level; returns its value's handle when `keep`, else disposes it. */
function evaluate(
  vm: QuickJSContext,
  code: string,
  where: string,
  interrupted: () => boolean,
  budget: StepBudget,
  keep: true,
): QuickJSHandle;
function evaluate(vm: QuickJSContext, code: string, where: string, interrupted: () => boolean, budget: StepBudget): void;
function evaluate(vm: QuickJSContext, code: string, where: string, interrupted: () => boolean, budget: StepBudget, keep = false) {
  const result = vm.evalCode(code, where);
  if (result.error) throw failed(vm, result.error, where, interrupted(), budget);
  if (keep) return result.value;
  result.value.dispose();
}

/** The error a failed evaluation becomes (the VM's error handle is disposed here). */
function failed(vm: QuickJSContext, error: QuickJSHandle, where: string, interrupted: boolean, budget: StepBudget): RavenError {
  const dumped = vm.dump(error) as { name?: unknown; message?: unknown } | unknown;
  error.dispose();
  if (interrupted) {
    return jsError(
      `The query's JavaScript ran past its CPU budget (${budget.limit} interrupt checks, about ${budget.limit / 100} million operations, or ${MAX_QUERY_JS_MS} ms) and was stopped: a loop that never ends?`,
    );
  }
  const { name, message } = (dumped !== null && typeof dumped === "object" ? dumped : {}) as { name?: unknown; message?: unknown };
  const text = typeof message === "string" ? `${typeof name === "string" ? name : "Error"}: ${message}` : String(dumped);
  // With the heap full, the engine may not even manage to describe the error (it dumps as "").
  if (/out of memory/i.test(text) || dumped === null || dumped === "") {
    return jsError(`The query's JavaScript ran out of memory (its limit is ${MAX_QUERY_JS_HEAP / (1024 * 1024)} MiB) and was stopped.`);
  }
  if (name === "SyntaxError" && where !== "select") return new RavenError(400, JS_PARSE_ERROR, `In ${where}: ${echo(text, 500)}`);
  if (name === "SyntaxError") return new RavenError(400, JS_PARSE_ERROR, `In the projection: ${echo(text, 500)}`);
  return jsError(`In ${where}: ${echo(text, 500)}`);
}

const jsError = (message: string) => new RavenError(400, JS_ERROR, message);
