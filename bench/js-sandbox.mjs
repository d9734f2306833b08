// The query JavaScript sandbox's limits, measured (`npm run bench:js-sandbox`; BENCHMARKS.md,
// "Query JavaScript"): how long runaway scripts run before the step budget or the memory cap
// stops them, with the clock deadline OFF (as deployed, where Workers freeze the clock while
// code runs), and what a normal projection costs per row. It builds QuickJS as
// src/worker/js-sandbox.ts does (same package, same limits from src/core/limits.ts: the
// WebAssembly memory cap, heap, stack, steps); Node runs it, so the figures are V8's as in workerd.
import RELEASE_SYNC from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import { MAX_QUERY_JS_HEAP, MAX_QUERY_JS_MEMORY, MAX_QUERY_JS_STACK, MAX_QUERY_JS_STEPS } from "../src/core/limits.ts";
import { METER_PRELUDE, UNITS_PER_STEP } from "../src/worker/js-meter.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_QUERY_JS_MEMORY / 65536 });
const t0 = performance.now();
const engine = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
console.log(`instantiate: ${(performance.now() - t0).toFixed(0)} ms`);

/**
 * One run of `code` in a fresh runtime; the outcome and the milliseconds it took. `metered`: the
 * sandbox's metering prelude (src/worker/js-meter.ts) is evaluated first, charging the same budget.
 */
function once(code, metered) {
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
    vm.unwrapResult(vm.evalCode(`${METER_PRELUDE}(__charge); delete globalThis.__charge;`)).dispose();
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
    `${label.padEnd(52)} ${runs[0].outcome.slice(0, 28).padEnd(28)} median ${median(ms).toFixed(0).padStart(6)} ms  max ${Math.max(...ms)
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
for (const metered of [false, true]) {
  const tag = metered ? "metered" : "bare";
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
measure("still unmetered: 100 × for…in over 10^5 keys", `${bigObject} for (var j = 0; j < 100; j++) { for (var k in o) break; }`, true);
measure(
  "still unmetered: 1,000 × (s + j).charCodeAt(0), s 10^6 chars",
  // The + builds a rope (no copy); the read flattens it: a 1 MB copy per iteration.
  "var s = 'x'.repeat(1e6); var t; for (var j = 0; j < 1000; j++) t = (s + j).charCodeAt(0);",
  true,
);
measure("still unmetered: 100 × x * x, x = 7n ** 20000n", "var x = 7n ** 20000n; for (var j = 0; j < 100; j++) x * x; 1", true);
