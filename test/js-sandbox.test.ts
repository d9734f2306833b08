// The query JavaScript sandbox (worker/js-sandbox.ts) inside workerd: QuickJS from the imported
// .wasm, host lookups that mark rows as missing until fetched, includes, and the limits (steps,
// memory, stack), each ending in a clear error after which the next script runs.
import { describe, expect, it } from "vitest";
import { RavenError } from "../src/core/errors";
import { type JsProgram, type Lookups, quickJs, type Row, runRound, StepBudget } from "../src/worker/js-sandbox";

const program = (expression: string, functions: string[] = [], parameters = ["c"], queryParameters = {}): JsProgram => ({
  functions,
  expression,
  parameters,
  queryParameters,
});
const lookups = (cmpxchg: [string, string | null][] = [], docs: [string, string | null][] = []): Lookups => ({
  cmpxchg: new Map(cmpxchg),
  docs: new Map(docs),
});
const doc = (body: Record<string, unknown>, id = "companies/1") => JSON.stringify({ ...body, "@metadata": { "@id": id } });

async function run(p: JsProgram, rows: Row[], l = lookups(), budget = new StepBudget()) {
  return runRound(await quickJs(), p, rows, l, budget);
}

async function failure(p: JsProgram, rows: Row[], budget = new StepBudget()): Promise<RavenError> {
  try {
    await run(p, rows, lookups(), budget);
  } catch (err) {
    return err as RavenError;
  }
  throw new Error("expected the script to fail");
}

describe("js sandbox", () => {
  it("projects an object literal, with this, id() and $parameters", async () => {
    const out = await run(program("{ N: c.name, L: this.name.length, Id: id(c), P: $p0 }", [], ["c"], { p0: '"x"' }), [
      [doc({ name: "Acme" })],
    ]);
    expect(out).toEqual([{ kind: "done", json: '{"N":"Acme","L":4,"Id":"companies/1","P":"x"}', includeCmpxchg: [], includeDocs: [] }]);
  });

  it("cmpxchg() and load(): a row asks for what is not fetched yet, then answers from the lookups", async () => {
    const p = program("{ Ext: cmpxchg(c.ext), Parent: load(c.parent) && load(c.parent).name }");
    const rows = [[doc({ ext: "ext/A", parent: "companies/2" })]];
    expect(await run(p, rows)).toEqual([{ kind: "missing", cmpxchg: ["ext/A"], docs: [] }]);
    // Both at once only when the first lookup does not stop the row: here cmpxchg() came first.
    const second = await run(p, rows, lookups([["ext/a", JSON.stringify({ Object: { country: "NO" } })]]));
    expect(second).toEqual([{ kind: "missing", cmpxchg: [], docs: ["companies/2"] }]);
    const l = lookups(
      [["ext/a", JSON.stringify({ Object: { country: "NO" } })]],
      [["companies/2", doc({ name: "Globex" }, "companies/2")]],
    );
    expect(await run(p, rows, l)).toEqual([
      { kind: "done", json: '{"Ext":{"country":"NO"},"Parent":"Globex"}', includeCmpxchg: [], includeDocs: [] },
    ]);
    // Missing items and documents are null.
    expect(await run(p, rows, lookups([["ext/a", null]], [["companies/2", null]]))).toEqual([
      { kind: "done", json: '{"Ext":null,"Parent":null}', includeCmpxchg: [], includeDocs: [] },
    ]);
  });

  it("a script that catches the lookup's error is still run again", async () => {
    const p = program("f(c)", ["function f(c) { try { return { v: cmpxchg('k') }; } catch (e) { return { caught: true }; } }"]);
    expect(await run(p, [[doc({})]])).toEqual([{ kind: "missing", cmpxchg: ["k"], docs: [] }]);
  });

  it("declare function with includes.cmpxchg() and include()", async () => {
    const p = program("incl(c)", ["function incl(c) { includes.cmpxchg(c.ext); include(c.parent); return c; }"]);
    const [out] = await run(p, [[doc({ ext: "ext/a", parent: "companies/2" })]]);
    expect(out).toMatchObject({ kind: "done", includeCmpxchg: ["ext/a"], includeDocs: ["companies/2"] });
    expect(JSON.parse((out as { json: string }).json)).toEqual({
      ext: "ext/a",
      parent: "companies/2",
      "@metadata": { "@id": "companies/1" },
    });
  });

  it("a runaway loop ends with a JavaScriptException naming the CPU budget; the next script runs", async () => {
    const err = await failure(program("f()", ["function f() { while (true) {} }"]), [[doc({})]]);
    expect(err).toBeInstanceOf(RavenError);
    expect(err.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptException");
    expect(err.status).toBe(400);
    expect(err.message).toContain("CPU budget");
    // The budget is the query's: a second round of the same query has none left.
    const spent = new StepBudget(5);
    await failure(program("f()", ["function f() { for (var i = 0; i < 1e7; i++) {} return {}; }"]), [[doc({})]], spent);
    expect(spent.used).toBeGreaterThan(5);
    expect((await run(program("{ ok: true }"), [[doc({})]]))[0]).toMatchObject({ kind: "done", json: '{"ok":true}' });
  });

  it("loops over expensive natives are metered: JSON.stringify, join and repeat spend the budget", async () => {
    for (const body of [
      "var o = []; for (var i = 0; i < 1e3; i++) o.push({ a: i, b: 'x' }); for (;;) JSON.stringify(o);",
      "var o = []; for (var i = 0; i < 1e4; i++) o.push('abc'); for (;;) o.join(',');",
      "for (;;) 'x'.repeat(1e6);",
      "var o = []; for (var i = 0; i < 1e3; i++) o.push({ a: i }); for (;;) { try { JSON.stringify(o); } catch (e) {} }",
      // A NaN charge must not disable the count for what follows.
      "'x'.repeat(NaN); 'x'.repeat(-1 / 0 + 1 / 0); while (true) {}",
    ]) {
      const budget = new StepBudget(100, Number.POSITIVE_INFINITY); // steps only, as deployed (no clock)
      const err = await failure(program("f()", [`function f() { ${body} }`]), [[doc({})]], budget);
      expect(err.message).toContain("CPU budget");
    }
  });

  it("a memory bomb ends with a JavaScriptException: out of memory; the next script runs", async () => {
    // Small objects until the heap is full. The engine of engine/ runs faster than the packaged
    // one did, and with the default budget this bomb now spends its steps first; a budget ten
    // times larger lets it reach the heap limit, which is what this test is about.
    const bomb = "function f() { var a = []; for (;;) a.push({ i: a.length, s: 'abc', t: [a.length] }); }";
    const err = await failure(program("f()", [bomb]), [[doc({})]], new StepBudget(1000, Number.POSITIVE_INFINITY));
    expect(err.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptException");
    expect(err.message).toContain("out of memory");
    expect((await run(program("{ ok: 1 }"), [[doc({})]]))[0]).toMatchObject({ kind: "done", json: '{"ok":1}' });
  });

  it("unbounded recursion ends with a clear error", async () => {
    const err = await failure(program("f(1)", ["function f(n) { return f(n + 1) + 1; }"]), [[doc({})]]);
    expect(err.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptException");
    expect(err.message).toMatch(/stack|recursion/i);
    expect((await run(program("{ ok: 2 }"), [[doc({})]]))[0]).toMatchObject({ kind: "done", json: '{"ok":2}' });
  });

  it("syntax errors are JavaScriptParseExceptions; thrown errors JavaScriptExceptions with their message", async () => {
    const parse = await failure(program("f(c)", ["function f(c) { return {; }"]), [[doc({})]]);
    expect(parse.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptParseException");
    const thrown = await failure(program("f(c)", ["function f(c) { throw new Error('no way'); }"]), [[doc({})]]);
    expect(thrown.message).toContain("Error: no way");
  });

  it("no host globals, no eval, no function made from source text, no helper reachable", async () => {
    const thrower = (code: string) => `(function () { try { ${code}; return "ran"; } catch (e) { return e.name; } })()`;
    const out = await run(
      program(`{
        f: typeof fetch, g: typeof __host_cmpxchg, e: typeof eval, b: [typeof BigInt, typeof BigInt64Array, typeof DataView.prototype.getBigInt64],
        F: ${thrower("Function('return 1')")}, n: ${thrower("new Function('return 1')")},
        c: ${thrower("(function () {}).constructor('return 1')")}, gen: ${thrower("(function* () {}).constructor('yield 1')")},
        as: ${thrower("(async function () {}).constructor('')")}, ag: ${thrower("(async function* () {}).constructor('')")},
        inst: (function () {}) instanceof Function && Function.prototype.constructor === Function,
        h: [typeof globalThis["__sbx_add"], typeof globalThis["__sbx_json"], typeof globalThis["__sbx_h"], typeof globalThis["__json"]],
      }`),
      [[doc({})]],
    );
    expect(JSON.parse((out[0] as { json: string }).json)).toEqual({
      f: "undefined",
      g: "undefined",
      e: "undefined",
      b: ["undefined", "undefined", "undefined"],
      F: "TypeError",
      n: "TypeError",
      c: "TypeError",
      gen: "TypeError",
      as: "TypeError",
      ag: "TypeError",
      inst: true,
      h: ["undefined", "undefined", "undefined", "undefined"],
    });
  });

  it("refused syntax answers JavaScriptParseException: BigInt literals, with, the helpers' names, text after the projection", async () => {
    for (const [expression, functions, says] of [
      ["f(c)", ["function f(c) { return { n: 10n ** 2n }; }"], "BigInt is not supported"],
      ["{ n: 1n }", [], "BigInt is not supported"],
      ["f(c)", ["function f(c) { with (c) { return { n: name }; } }"], "'with' is not supported"],
      ["{ a: __sbx_add }", [], "reserved"],
      ["{ a: 1 }); while (true) {} ({", [], "SyntaxError"],
    ] as [string, string[], string][]) {
      const err = await failure(program(expression, functions), [[doc({})]]);
      expect(err.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptParseException");
      expect(err.status).toBe(400);
      expect(err.message).toContain(says);
    }
    expect((await run(program("{ ok: 3 }"), [[doc({})]]))[0]).toMatchObject({ kind: "done", json: '{"ok":3}' });
  });
});
