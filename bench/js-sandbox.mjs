// The query JavaScript sandbox's limits, measured (`npm run bench:js-sandbox`; BENCHMARKS.md,
// "Query JavaScript"): how long runaway scripts run before the step budget or the memory cap
// stops them, with the clock deadline OFF (as deployed, where Workers freeze the clock while
// code runs), and what a normal projection costs per row. It builds QuickJS as
// src/worker/js-sandbox.ts does (same package, same limits from src/core/limits.ts: the
// WebAssembly memory cap, heap, stack, steps); Node runs it, so the figures are V8's as in workerd.
import RELEASE_SYNC from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import { MAX_QUERY_JS_HEAP, MAX_QUERY_JS_MEMORY, MAX_QUERY_JS_STACK, MAX_QUERY_JS_STEPS } from "../src/core/limits.ts";
import { rewriteExpression, rewriteScript } from "../src/core/js-rewrite.ts";
import { meterPrelude, UNITS_PER_STEP } from "../src/worker/js-meter.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_QUERY_JS_MEMORY / 65536 });
const t0 = performance.now();
const engine = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
console.log(`instantiate: ${(performance.now() - t0).toFixed(0)} ms`);

/**
 * One run of `code` in a fresh runtime; the outcome and the milliseconds it took. `metered`: the
 * sandbox's metering prelude (src/worker/js-meter.ts) is evaluated first, charging the same budget;
 * "rewritten": also the code is rewritten as the sandbox does (src/core/js-rewrite.ts) first (not
 * timed here: the rewrite's own cost per query is the last row).
 */
function once(code, metered) {
  if (metered === "rewritten") {
    try {
      code = rewriteScript(code);
    } catch (err) {
      return { outcome: `refused: ${err.message}`, ms: 0, checks: 0 };
    }
  }
  return run(code, metered);
}
function run(code, metered) {
  const runtime = engine.newRuntime({ memoryLimitBytes: MAX_QUERY_JS_HEAP, maxStackSizeBytes: MAX_QUERY_JS_STACK });
  let checks = 0;
  runtime.setInterruptHandler(() => ++checks > MAX_QUERY_JS_STEPS);
  const vm = runtime.newContext();
  // The runner's own JSON (rows in, results out), unmetered as in js-sandbox.ts.
  vm.unwrapResult(vm.evalCode("var __json = { parse: JSON.parse, stringify: JSON.stringify };")).dispose();
  if (metered) {
    const charge = vm.newFunction("__charge", (units) => {
      const n = vm.getNumber(units);
      checks += n > 0 ? n / UNITS_PER_STEP : 0;
      if (checks > MAX_QUERY_JS_STEPS) throw vm.newError({ name: "InternalError", message: "interrupted" });
    });
    vm.setProp(vm.global, "__charge", charge);
    charge.dispose();
    vm.unwrapResult(vm.evalCode(`${meterPrelude("__charge")} delete globalThis.__charge;`)).dispose();
  }
  const start = performance.now();
  const result = vm.evalCode(code);
  const ms = performance.now() - start;
  const handle = result.error ?? result.value;
  const dumped = vm.dump(handle);
  handle.dispose();
  vm.dispose();
  runtime.dispose();
  // With the heap full the engine may not manage to describe the error (it dumps as "").
  const described = dumped && typeof dumped === "object" ? `${dumped.name}: ${dumped.message}` : "(undescribed: heap full)";
  const outcome = result.error ? described : "ok";
  return { outcome, ms, checks: Math.round(checks) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function measure(label, code, metered = false) {
  const runs = Array.from({ length: REPEATS }, () => once(code, metered));
  const ms = runs.map((r) => r.ms);
  console.log(
    `${label.padEnd(60)} ${runs[0].outcome.slice(0, 28).padEnd(28)} median ${median(ms).toFixed(0).padStart(6)} ms  max ${Math.max(...ms)
      .toFixed(0)
      .padStart(6)} ms  checks ${runs[0].checks}`,
  );
}

console.log(
  `limits: ${MAX_QUERY_JS_STEPS} checks, heap ${MAX_QUERY_JS_HEAP >> 20} MiB, cap ${MAX_QUERY_JS_MEMORY >> 20} MiB, stack ${MAX_QUERY_JS_STACK >> 10} KiB; ${REPEATS} runs each`,
);
measure("while (true) {}", "while (true) {}");
measure("for (var i …) {} (global var)", "for (var i = 0; ; i++) {}");
measure("function calls in a loop", "function g(x) { return x + 1; } var s = 0; for (;;) s = g(s);");
measure("objects until the memory cap", "var a = []; for (;;) a.push({ i: a.length, s: 'abc' + a.length });");
measure("1 MB strings until the memory cap", "var a = []; for (;;) a.push('x'.repeat(1e6) + a.length);");
measure("unbounded recursion", "function f(n) { return f(n + 1) + 1; } f(1)");
// What the step budget does not see: native calls run between two checks. QuickJS checks every
// 10,000 calls and loop iterations, so one check can stand for 5,000 iterations of a loop whose
// body is one expensive native call. Bounded here (5,000 iterations, no check fires) to show the
// cost of one such interval; an endless loop of it is stopped only after 100 of them.
measure(
  "5,000 × JSON.stringify(1,000 objects): one check",
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
// The same loops bounded and unmetered: 1,000 calls, what one check interval could hold ×5.
measure("unmetered: 1,000 × a.indexOf(-1), 10^5 elements", `${bigArray} for (var j = 0; j < 1000; j++) a.indexOf(-1);`);
measure("unmetered: 1,000 × [...a]", `${bigArray} for (var j = 0; j < 1000; j++) [...a];`);
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
// Still unmetered after the rewrite (operators on long strings, deep prototype chains, bound
// arguments): bounded to 1,000 iterations, rewritten and metered as in the sandbox.
const two = "var s = 'x'.repeat(1e6) + 'y', t = 'x'.repeat(1e6) + 'y';";
const deep = "function F() {} var d = {}; for (var i = 0; i < 1e5; i++) { F.prototype = d; d = new F(); }";
for (const [label, code] of [
  ["still unmetered: 1,000 × s === t, equal 1 MB strings", `${two} for (var j = 0; j < 1000; j++) s === t;`],
  ["still unmetered: 1,000 × s < t, 1 MB strings", `${two} for (var j = 0; j < 1000; j++) s < t;`],
  ["still unmetered: 1,000 × o[s], a 1 MB key", `${two} var o = {}; for (var j = 0; j < 1000; j++) o[s];`],
  ["still unmetered: 1,000 × d.missing, 10^5-deep prototypes", `${deep} for (var j = 0; j < 1000; j++) d.missing;`],
  [
    "still unmetered: 1,000 × g(), bound to 5,000 arguments",
    "var a = []; for (var i = 0; i < 5000; i++) a.push(i); var g = Math.max.bind(null, ...a); for (var j = 0; j < 1000; j++) g();",
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
