// The query JavaScript sandbox's limits, measured (`npm run bench:js-sandbox`; BENCHMARKS.md,
// "Query JavaScript"): how long runaway scripts run before the step budget or the memory cap
// stops them, with the clock deadline OFF (as deployed, where Workers freeze the clock while
// code runs), and what a normal projection costs per row. It builds QuickJS as
// src/worker/js-sandbox.ts does (same package, same limits from src/core/limits.ts: the
// WebAssembly memory cap, heap, stack, steps); Node runs it, so the figures are V8's as in workerd.
import { readFileSync } from "node:fs";
import { MAX_QUERY_JS_HEAP, MAX_QUERY_JS_MEMORY, MAX_QUERY_JS_STACK, MAX_QUERY_JS_STEPS } from "../src/core/limits.ts";
import { rewriteExpression, rewriteScript } from "../src/core/js-rewrite.ts";
import { StepBudget } from "../src/worker/js-budget.ts";
import { QueryEngine } from "../src/worker/js-engine.ts";
import { meterPrelude } from "../src/worker/js-meter.ts";
import { SET_METHODS_POLYFILL } from "../src/worker/js-polyfills.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const t0 = performance.now();
const wasm = new WebAssembly.Module(readFileSync(new URL("../src/worker/query-engine.wasm", import.meta.url)));
let engine = new QueryEngine(wasm, MAX_QUERY_JS_MEMORY);
console.log(`compile + instantiate: ${(performance.now() - t0).toFixed(0)} ms`);

/**
 * One run of `code` in a fresh runtime; the outcome and the milliseconds it took. `metered`: the
 * sandbox's metering prelude (src/worker/js-meter.ts) is evaluated first, charging the same budget;
 * "rewritten": also the code is rewritten as the sandbox does (src/core/js-rewrite.ts) first (not
 * timed here: the rewrite's own cost per query is the last row). The budget is the sandbox's
 * (src/worker/js-budget.ts) with no clock deadline, as deployed.
 */
function once(code, metered) {
  if (metered === "rewritten") {
    try {
      code = rewriteScript(code);
    } catch (err) {
      return { outcome: `refused: ${err.message}`, ms: 0, steps: 0 };
    }
  }
  return run(code, metered);
}
function run(code, metered) {
  const budget = new StepBudget(MAX_QUERY_JS_STEPS, Number.POSITIVE_INFINITY);
  engine.open(MAX_QUERY_JS_HEAP, MAX_QUERY_JS_STACK, {
    call: () => undefined,
    charge: (units) => budget.charge(units),
    interrupt: (ticks, nativeBytes) => budget.check(ticks, nativeBytes),
  });
  try {
    // The runner's own JSON (rows in, results out), unmetered as in js-sandbox.ts.
    engine.eval("var __json = { parse: JSON.parse, stringify: JSON.stringify };", "setup");
    if (metered) engine.eval(`${SET_METHODS_POLYFILL}\n${meterPrelude("__host_charge")}`, "prelude");
    engine.forgetCost();
    const start = performance.now();
    const result = engine.eval(code, "bench");
    const ms = performance.now() - start;
    // With the heap full the engine may not manage to describe the error.
    const described = result.name || result.message ? `${result.name}: ${result.message}` : "(undescribed: heap full)";
    return { outcome: result.kind === "error" ? described : "ok", ms, steps: Math.round(budget.used) };
  } finally {
    try {
      engine.close();
    } catch {
      // A runtime QuickJS cannot free cleanly (after running out of memory): a fresh instance, as js-sandbox.ts does.
      engine = new QueryEngine(wasm, MAX_QUERY_JS_MEMORY);
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function measure(label, code, metered = false) {
  const runs = Array.from({ length: REPEATS }, () => once(code, metered));
  const ms = runs.map((r) => r.ms);
  console.log(
    `${label.padEnd(60)} ${runs[0].outcome.slice(0, 28).padEnd(28)} median ${median(ms).toFixed(0).padStart(6)} ms  max ${Math.max(...ms)
      .toFixed(0)
      .padStart(6)} ms  steps ${runs[0].steps}`,
  );
}

console.log(
  `limits: ${MAX_QUERY_JS_STEPS} steps, heap ${MAX_QUERY_JS_HEAP >> 20} MiB, cap ${MAX_QUERY_JS_MEMORY >> 20} MiB, stack ${MAX_QUERY_JS_STACK >> 10} KiB; ${REPEATS} runs each`,
);
measure("while (true) {}", "while (true) {}");
measure("for (var i …) {} (global var)", "for (var i = 0; ; i++) {}");
measure("function calls in a loop", "function g(x) { return x + 1; } var s = 0; for (;;) s = g(s);");
measure("objects until the memory cap", "var a = []; for (;;) a.push({ i: a.length, s: 'abc' + a.length });");
measure("1 MB strings until the memory cap", "var a = []; for (;;) a.push('x'.repeat(1e6) + a.length);");
measure("unbounded recursion", "function f(n) { return f(n + 1) + 1; } f(1)");
// Native calls run between two checks: QuickJS counts 10,000 calls and loop iterations a check,
// so 5,000 iterations of a loop whose body is one expensive native call would be half a check.
// Our build also counts the bytes they allocate (engine/README.md): this bounded loop is stopped.
measure(
  "5,000 × JSON.stringify(1,000 objects), no prelude",
  "var o = []; for (var i = 0; i < 1e3; i++) o.push({ a: i, b: 'x' }); for (var j = 0; j < 5000; j++) JSON.stringify(o);",
);
// A normal projection: 1,000 rows of a 20-field document, parsed, projected and written back;
// then one that calls string and array built-ins per row. Bare and with the metering prelude.
const doc = JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, `value ${i}`])));
// Rows are parsed and results written by the runner's own (unmetered) JSON, as in js-sandbox.ts.
const plain = `var d = ${JSON.stringify(doc)}; var out = 0; for (var i = 0; i < 1000; i++) { var c = __json.parse(d); out += __json.stringify({ Name: c.f1, Ext: c.f2, N: i }).length; } out`;
const builtins = `var d = ${JSON.stringify(doc)}; var out = 0; for (var i = 0; i < 1000; i++) { var c = __json.parse(d);
  var p = { Name: c.f1.toUpperCase(), Words: c.f2.split(" "), Keys: Object.keys(c).length, Tags: [c.f3, c.f4, c.f5].sort().join(","),
    Has: c.f6.indexOf("6") >= 0, Short: c.f7.slice(0, 5).padStart(8, "."), Vals: Object.values(c).filter(function (v) { return v.length > 7; }).length };
  out += __json.stringify(p).length; } out`;
for (const metered of [false, true, "rewritten"]) {
  const tag = metered === "rewritten" ? "metered + rewritten" : metered ? "metered" : "bare";
  measure(`1,000 rows: JSON.parse, project, stringify (${tag})`, plain, metered);
  measure(`1,000 rows: with string/array built-ins (${tag})`, builtins, metered);
}

// Endless loops over one expensive built-in, metered: each call charges the budget by its size.
const bigArray = "var a = []; for (var i = 0; i < 1e5; i++) a.push((i * 7919) % 100003);";
const bigObject = "var o = {}; for (var i = 0; i < 1e5; i++) o['k' + i] = i;";
for (const [label, code] of [
  ["metered: for (;;) a.indexOf(-1), 10^5 elements", `${bigArray} for (;;) a.indexOf(-1);`],
  ["metered: for (;;) a.slice().sort()", `${bigArray} for (;;) a.slice().sort();`],
  ["metered: for (;;) [...a]", `${bigArray} for (;;) [...a];`],
  ["metered: for (;;) a.map(Math.abs)", `${bigArray} for (;;) a.map(Math.abs);`],
  ["metered: for (;;) Object.keys(o), 10^5 keys", `${bigObject} for (;;) Object.keys(o);`],
  ["metered: for (;;) s.indexOf(long needle), 10^5 chars", "var s = 'a'.repeat(1e5), t = 'a'.repeat(1e3) + 'b'; for (;;) s.indexOf(t);"],
  ["metered: for (;;) new Uint8Array(4e6)", "for (;;) new Uint8Array(4e6);"],
  ["/(a+)+b/.test('a' × 30) (engine checks)", "/(a+)+b/.test('a'.repeat(30))"],
]) {
  measure(label, code, true);
}
// The same loops bounded and without the prelude: 1,000 calls. A search allocates nothing, so
// only the prelude charges it; a copy allocates, so the engine charges it too.
measure("no prelude: 1,000 × a.indexOf(-1), 10^5 elements", `${bigArray} for (var j = 0; j < 1000; j++) a.indexOf(-1);`);
measure("no prelude: 1,000 × [...a]", `${bigArray} for (var j = 0; j < 1000; j++) [...a];`);
// What stays unmetered even with the prelude (syntax, not built-ins): bounded to 100 or 1,000
// iterations; an endless loop runs 10,000 of them per check.
measure("before the rewrite: 100 × for…in over 10^5 keys", `${bigObject} for (var j = 0; j < 100; j++) { for (var k in o) break; }`, true);
measure(
  "before the rewrite: 1,000 × (s + j).charCodeAt(0), s 10^6 chars",
  // The + builds a rope (no copy); the read flattens it: a 1 MB copy per iteration.
  "var s = 'x'.repeat(1e6); var t; for (var j = 0; j < 1000; j++) t = (s + j).charCodeAt(0);",
  true,
);
measure("before the rewrite: 100 × x * x, x = 7n ** 20000n", "var x = 7n ** 20000n; for (var j = 0; j < 100; j++) x * x; 1", true);
measure("before the rewrite: 100 × ({ ...o }), 10^5 keys", `${bigObject} for (var j = 0; j < 100; j++) ({ ...o });`, true);
// What no rewrite reaches (operators on long strings, string-to-number, deep prototype chains,
// bound arguments), endless, rewritten and metered as in the sandbox: our build of QuickJS
// charges the native work itself (engine/README.md). The packaged engine ran 10,000 of each
// operation between two checks (0.3–4 ms each: BENCHMARKS.md, "Query JavaScript").
const two = "var s = 'x'.repeat(1e6) + 'y', t = 'x'.repeat(1e6) + 'y';";
const deep = "function F() {} var d = {}; for (var i = 0; i < 1e5; i++) { F.prototype = d; d = new F(); }";
for (const [label, code] of [
  ["engine-charged: for (;;) s === t, equal 1 MB strings", `${two} for (;;) s === t;`],
  ["engine-charged: for (;;) s < t, 1 MB strings", `${two} for (;;) s < t;`],
  ["engine-charged: for (;;) o[s], a 1 MB key", `${two} var o = {}; for (;;) o[s];`],
  ["engine-charged: for (;;) +d, a 1 MB digit string", "var d = '1'.repeat(1e6); for (;;) +d;"],
  ["engine-charged: for (;;) d.missing, 10^5-deep prototypes", `${deep} for (;;) d.missing;`],
  [
    "engine-charged: for (;;) g(), bound to 5,000 arguments",
    "var a = []; for (var i = 0; i < 5000; i++) a.push(i); var g = Math.max.bind(null, ...a); for (;;) g();",
  ],
]) {
  measure(label, code, "rewritten");
}

// The slowest to stop of 22 further endless loops probed after the engine change (all stop): a
// bounded but slow native call that counts as one tick, and O(n) scans that allocate nothing.
for (const [label, code] of [
  ["probed: for (;;) (1.5).toFixed(100)", "for (;;) (1.5).toFixed(100);"],
  ["probed: for (;;) Date.parse(s), 1 MB of leading spaces", "var s = ' '.repeat(1e6) + '2020-01-01'; for (;;) Date.parse(s);"],
  [
    "probed: for (;;) JSON.stringify(o), 1,000 levels deep",
    "var o = {}, p = o; for (var i = 0; i < 1000; i++) { p.a = {}; p = p.a; } for (;;) JSON.stringify(o);",
  ],
]) {
  measure(label, code, "rewritten");
}

// The rewrite (src/core/js-rewrite.ts) charges that syntax: the same kinds, endless, clock off.
const bigObj = bigObject;
const mb = "var s = 'x'.repeat(1e6);";
for (const [label, code] of [
  ["rewritten: for (;;) for…in over 10^5 keys", `${bigObj} for (;;) { for (var k in o) break; }`],
  ["rewritten: for (;;) (s + j).charCodeAt(0), s 10^6 chars", `${mb} for (var j = 0; ; j++) (s + j).charCodeAt(0);`],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the label shows the script's template literal
  ["rewritten: for (;;) `${s}${j}`.charCodeAt(0)", `${mb} for (var j = 0; ; j++) \`\${s}\${j}\`.charCodeAt(0);`],
  ["rewritten: for (;;) { s += 'abcdefgh'; s.charCodeAt(0) }", "var s = ''; for (;;) { s += 'abcdefgh'; s.charCodeAt(0); }"],
  ["rewritten: for (;;) o.s += 'abcdefgh'", "var o = { s: '' }; for (;;) o.s += 'abcdefgh';"],
  ["rewritten: for (;;) ({ ...o }), 10^5 keys", `${bigObj} for (;;) ({ ...o });`],
  ["rewritten: for (;;) { var { k0, ...r } = o }", `${bigObj} for (;;) { var { k0, ...r } = o; }`],
  ["rewritten: for (;;) g(o), function g({ ...r })", `${bigObj} function g({ ...r }) {} for (;;) g(o);`],
  ["metered: for (;;) t.union(t), 10^5 elements", "var t = new Set(); for (var i = 0; i < 1e5; i++) t.add(i); for (;;) t.union(t);"],
  ["rewritten: x * x, x = 7n ** 20000n", "var x = 7n ** 20000n; for (;;) x * x;"],
]) {
  measure(label, code, "rewritten");
}
// What the rewrite itself costs a query: parsing and rewriting a typical declared function and
// projection expression (Node, the same JavaScript as in workerd).
const fn =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal of the script, not of this file
  "function project(c) { var name = c.FirstName + ' ' + c.LastName; var tags = []; for (var k in c.Tags) tags.push(k); return { Name: name, Tags: tags.join(','), Ext: cmpxchg(c.ExternalId), Label: `${c.Company}/${c.Id}` }; }";
const expr = "{ Name: c.Name, Country: c.Address.Country, Ext: cmpxchg(c.ExternalId), Total: c.Lines.length + 1 }";
// warm-up
for (let i = 0; i < 200; i++) {
  rewriteScript(fn);
  rewriteExpression(expr);
}
const N = 2000;
const r0 = performance.now();
for (let i = 0; i < N; i++) {
  rewriteScript(fn);
  rewriteExpression(expr);
}
console.log(
  `rewrite of a ${fn.length}-character function + a ${expr.length}-character projection: ${(((performance.now() - r0) / N) * 1000).toFixed(0)} µs per query`,
);
