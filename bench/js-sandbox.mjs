// The query JavaScript sandbox's limits, measured (`npm run bench:js-sandbox`; BENCHMARKS.md,
// "Query JavaScript"): how long runaway scripts run before the step budget or the memory cap
// stops them, with the clock deadline OFF (as deployed, where Workers freeze the clock while
// code runs), and what a normal projection costs per row. It builds QuickJS as
// src/worker/js-sandbox.ts does (same package, same limits from src/core/limits.ts: the
// WebAssembly memory cap, heap, stack, steps); Node runs it, so the figures are V8's as in workerd.
import RELEASE_SYNC from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import { MAX_QUERY_JS_HEAP, MAX_QUERY_JS_MEMORY, MAX_QUERY_JS_STACK, MAX_QUERY_JS_STEPS } from "../src/core/limits.ts";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_QUERY_JS_MEMORY / 65536 });
const t0 = performance.now();
const engine = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
console.log(`instantiate: ${(performance.now() - t0).toFixed(0)} ms`);

/** One run of `code` in a fresh runtime; the outcome and the milliseconds it took. */
function once(code) {
  const runtime = engine.newRuntime({ memoryLimitBytes: MAX_QUERY_JS_HEAP, maxStackSizeBytes: MAX_QUERY_JS_STACK });
  let checks = 0;
  runtime.setInterruptHandler(() => ++checks > MAX_QUERY_JS_STEPS);
  const vm = runtime.newContext();
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
  return { outcome, ms, checks };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function measure(label, code) {
  const runs = Array.from({ length: REPEATS }, () => once(code));
  const ms = runs.map((r) => r.ms);
  console.log(
    `${label.padEnd(44)} ${runs[0].outcome.padEnd(28)} median ${median(ms).toFixed(0).padStart(6)} ms  max ${Math.max(...ms)
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
// A normal projection: 1,000 rows of a 20-field document, parsed, projected and written back.
const doc = JSON.stringify(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, `value ${i}`])));
measure(
  "1,000 rows: JSON.parse, project, stringify",
  `var d = ${JSON.stringify(doc)}; var out = 0; for (var i = 0; i < 1000; i++) { var c = JSON.parse(d); out += JSON.stringify({ Name: c.f1, Ext: c.f2, N: i }).length; } out`,
);
