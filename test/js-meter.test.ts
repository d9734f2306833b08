// The metering prelude (worker/js-meter.ts) inside workerd: every built-in whose work grows with
// its input spends the step budget by that size, so a loop over one (which QuickJS's interrupt
// checks, every 10,000 operations, would let run for seconds) ends with the CPU-budget error. The
// budgets here have no clock deadline, as deployed Workers (whose clock stands still while code runs).
import { describe, expect, it } from "vitest";
import type { RavenError } from "../src/core/errors";
import { type JsProgram, quickJs, runRound, StepBudget } from "../src/worker/js-sandbox";

const program = (body: string): JsProgram => ({
  functions: [`function f(c) { ${body} }`],
  expression: "f(c)",
  parameters: ["c"],
  queryParameters: {},
});
const row = [JSON.stringify({ name: "Acme", "@metadata": { "@id": "companies/1" } })];
const noLookups = () => ({ cmpxchg: new Map(), docs: new Map() });

/** Runs `body` with a steps-only budget; its outcome: the projected JSON or the error. */
async function outcome(body: string, budget = new StepBudget(100, Number.POSITIVE_INFINITY)) {
  try {
    const [out] = runRound(await quickJs(), program(body), [row], noLookups(), budget);
    return { json: (out as { json: string | null }).json, budget };
  } catch (err) {
    return { error: err as RavenError, budget };
  }
}

const BIG_ARRAY = "var a = []; for (var i = 0; i < 1e5; i++) a.push((i * 7919) % 100003);";
const BIG_OBJECT = "var o = {}; for (var i = 0; i < 1e5; i++) o['k' + i] = i;";
const BIG_STRING = "var s = 'ab'; for (var i = 0; i < 16; i++) s = s + s;"; // 131,072 characters, no metered call

describe("js sandbox: expensive natives spend the step budget", () => {
  // Each loop body is one native call over 10⁵ elements or characters: unmetered, 5,000 of them
  // ran per interrupt check (seconds each check; BENCHMARKS.md). Metered, each ends in the budget.
  const loops: [string, string][] = [
    ["Array indexOf", `${BIG_ARRAY} for (;;) a.indexOf(-1);`],
    ["Array includes via call", `${BIG_ARRAY} for (;;) Array.prototype.includes.call(a, -1);`],
    ["Array lastIndexOf via Reflect.apply", `${BIG_ARRAY} for (;;) Reflect.apply(Array.prototype.lastIndexOf, a, [-1]);`],
    ["Array sort", `${BIG_ARRAY} for (;;) a.sort();`],
    ["Array slice", `${BIG_ARRAY} for (;;) a.slice();`],
    ["Array concat", `${BIG_ARRAY} for (;;) a.concat(a);`],
    ["Array splice", `${BIG_ARRAY} for (;;) { a.splice(0, 1); a.push(1); }`],
    ["Array shift", `${BIG_ARRAY} for (;;) { a.shift(); a.push(1); }`],
    ["Array reverse", `${BIG_ARRAY} for (;;) a.reverse();`],
    ["Array map with a native callback", `${BIG_ARRAY} for (;;) a.map(Math.abs);`],
    ["Array forEach with a native callback", `${BIG_ARRAY} for (;;) a.forEach(Number);`],
    ["Array fill", "var a = new Array(1e5); for (;;) a.fill(0);"],
    ["Array copyWithin", `${BIG_ARRAY} for (;;) a.copyWithin(0, 1);`],
    ["Array.from an array-like", "for (;;) Array.from({ length: 1e5 });"],
    ["spread", `${BIG_ARRAY} for (;;) [...a];`],
    ["spread into a call", "var a = []; for (var i = 0; i < 6e4; i++) a.push(i); function g() {} for (;;) g(...a);"],
    ["Function.prototype.apply", "var a = []; for (var i = 0; i < 6e4; i++) a.push(i); function g() {} for (;;) g.apply(null, a);"],
    ["spread of a Set", "var t = new Set(); for (var i = 0; i < 1e5; i++) t.add(i); for (;;) [...t];"],
    [
      "arguments' original iterator",
      `${BIG_ARRAY} var v = (function () { return arguments[Symbol.iterator]; })(); for (;;) [...v.call(a)];`,
    ],
    ["String indexOf", `${BIG_STRING} for (;;) s.indexOf('c');`],
    ["String indexOf with a long needle", `${BIG_STRING} var t = 'ab'.repeat(500) + 'c'; for (;;) s.indexOf(t);`],
    ["String includes via call", `${BIG_STRING} for (;;) String.prototype.includes.call(s, 'c');`],
    ["String split", `${BIG_STRING} for (;;) s.split('');`],
    ["String replace", `${BIG_STRING} for (;;) s.replace('c', 'd');`],
    ["String toUpperCase", `${BIG_STRING} for (;;) s.toUpperCase();`],
    ["String padStart", "for (;;) 'x'.padStart(1e5);"],
    ["String slice", `${BIG_STRING} for (;;) s.slice(1);`],
    ["Object.keys", `${BIG_OBJECT} for (;;) Object.keys(o);`],
    ["Object.entries", `${BIG_OBJECT} for (;;) Object.entries(o);`],
    ["Object.assign", `${BIG_OBJECT} for (;;) Object.assign({}, o);`],
    ["Reflect.ownKeys", `${BIG_OBJECT} for (;;) Reflect.ownKeys(o);`],
    ["new Uint8Array(n)", "for (;;) new Uint8Array(4e6);"],
    ["new ArrayBuffer(n)", "for (;;) new ArrayBuffer(4e6);"],
    ["typed array indexOf", "var u = new Float64Array(1e5); for (;;) u.indexOf(1);"],
    ["typed array sort", "var u = new Float64Array(1e5); for (;;) u.sort();"],
    ["typed array slice", "var u = new Float64Array(1e5); for (;;) u.slice();"],
    ["an array-like's length", "var o = { length: 1e5 }; for (;;) Array.prototype.indexOf.call(o, 1);"],
    ["new RegExp(long pattern)", `${BIG_STRING} for (;;) new RegExp(s);`],
    ["RegExp(long pattern) called", `${BIG_STRING} for (;;) RegExp(s, "g");`],
    ["encodeURIComponent", `${BIG_STRING} for (;;) encodeURIComponent(s);`],
    ["RegExp toString", `${BIG_STRING} var r = new RegExp(s.slice(0, 2e4)); for (;;) r.toString();`],
    ["String link (HTML methods)", `${BIG_STRING} for (;;) 'x'.link(s);`],
    ["String match compiling a long pattern", `${BIG_STRING} for (;;) 'x'.match(s);`],
    ["a pattern whose toString answers long", `${BIG_STRING} var p = { toString: function () { return s; } }; for (;;) 'x'.search(p);`],
    ["String includes with a long needle", `${BIG_STRING} for (;;) s.includes(s.slice(1) + 'c');`],
    ["parseFloat", "var s = '1'; for (var i = 0; i < 17; i++) s = s + s; for (;;) parseFloat(s);"],
    ["Number.parseFloat (the same function)", "var s = '1'; for (var i = 0; i < 17; i++) s = s + s; for (;;) Number.parseFloat(s);"],
  ];
  // Syntax, not built-ins: core/js-rewrite.ts turns each into a helper call that charges by size.
  const LONG = "var s = 'x'.repeat(1e6);";
  const charged: [string, string][] = [
    ["for…in over 10⁵ keys", `${BIG_OBJECT} for (;;) { for (var k in o) break; }`],
    ["for…in over a 10⁵-character string", "var t = 'x'.repeat(1e5); for (;;) { for (var k in t) break; }"],
    ["+ copying a 1 MB string", `${LONG} for (var j = 0; ; j++) (s + j).charCodeAt(0);`],
    ["+= growing a string", "var s = ''; for (;;) { s += 'abcdefgh'; s.charCodeAt(0); }"],
    ["+= on a member", "var o = { s: '' }; for (;;) o.s += 'abcdefgh';"],
    ["+= on a computed member", "var o = { s: '' }, k = 's'; for (;;) o[k] += 'abcdefgh';"],
    ["a template literal copying a 1 MB string", `${LONG} for (var j = 0; ; j++) \`\${s}\${j}\`.charCodeAt(0);`],
    ["object spread of 10⁵ keys", `${BIG_OBJECT} for (;;) ({ ...o });`],
    ["object rest in a declaration", `${BIG_OBJECT} for (;;) { var { k0, ...r } = o; }`],
    ["object rest in a parameter", `${BIG_OBJECT} function g({ ...r }) {} for (;;) g(o);`],
    ["object rest in an arrow's parameter", `${BIG_OBJECT} var g = ({ ...r }) => 1; for (;;) g(o);`],
    ["object rest in an assignment", `${BIG_OBJECT} var r; for (;;) ({ ...r } = o);`],
    ["object rest nested in a for…of head", `${BIG_OBJECT} var l = [[o]]; for (;;) { for (const [{ ...r }] of l); }`],
    ["Set union", "var t = new Set(); for (var i = 0; i < 1e5; i++) t.add(i); for (;;) t.union(t);"],
    [
      "String replace with a function answering a long string",
      "var big = 'y'.repeat(1e6); for (;;) 'x'.replace('x', function () { return big; });",
    ],
    ["Error toString of a long message", "var e = new Error('y'.repeat(1e6)); for (;;) String(e);"],
    ["Object toString of a long toStringTag", "var o = { [Symbol.toStringTag]: 'y'.repeat(1e6) }; for (;;) String(o);"],
    ["Symbol toString of a long description", "var y = Symbol('y'.repeat(1e6)); for (;;) y.toString();"],
    ["Map get with a long string key", "var k = 'y'.repeat(1e6), m = new Map(); for (;;) m.get(k);"],
    ["Set has with a long string key", "var k = 'y'.repeat(1e6), t = new Set([k]); for (;;) t.has(k);"],
    ["Set forEach with a native callback", "var t = new Set(); for (var i = 0; i < 1e5; i++) t.add(i); for (;;) t.forEach(Math.abs);"],
  ];
  // Operators and lookups whose one operation is O(n) inside QuickJS, where no rewrite reaches:
  // our build of the engine charges that native work itself (engine/README.md). Each of these ran
  // 0.3–4 ms an operation, 10,000 operations between two checks, with the packaged engine.
  const TWO = "var s = 'ab'.repeat(5e5), t = 'ab'.repeat(5e5);";
  const DIGITS = "var d = '1'.repeat(1e6);";
  const CHAIN = "function F() {} var o = {}; for (var i = 0; i < 1e5; i++) { F.prototype = o; o = new F(); }";
  const native: [string, string][] = [
    ["=== of two 1 MB strings", `${TWO} for (;;) s === t;`],
    ["< of two 1 MB strings", `${TWO} for (;;) s < t;`],
    ["switch over a 1 MB string", `${TWO} for (;;) { switch (s) { case t: break; } }`],
    ["unary + of a 1 MB digit string", `${DIGITS} for (;;) +d;`],
    ["* of a 1 MB digit string", `${DIGITS} for (;;) d * 1;`],
    ["Math.abs of a 1 MB digit string", `${DIGITS} for (;;) Math.abs(d);`],
    ["a missing property through a 10⁵-deep prototype chain", `${CHAIN} for (;;) o.missing;`],
    ["in through a 10⁵-deep prototype chain", `${CHAIN} for (;;) 'missing' in o;`],
    ["a computed property with a 1 MB key", "var k = 'y'.repeat(1e6), o = {}; for (;;) o[k];"],
  ];
  for (const [name, body] of native) {
    it(`${name}: a loop over it ends with the CPU-budget JavaScriptException, paid by native work`, async () => {
      // A clock deadline of 5 s as a safety net only: should the engine stop charging, the
      // loop would otherwise block the isolate for good; then `charged` below fails the test.
      const { error, budget } = await outcome(body, new StepBudget(100, 5_000));
      expect(error?.message).toContain("CPU budget");
      // Stopped by what the operations cost natively, not by 100 checks of 10,000 operations.
      expect(budget.charged).toBeGreaterThan(50);
      expect((await outcome("return { ok: c.name + '!' };")).json).toBe('{"ok":"Acme!"}');
    });
  }
  // String.raw's raw array-like is copied by a loop the interrupt checks count.
  loops.push(["String.raw with a long raw array-like", "for (;;) String.raw({ raw: { length: 1e6 } });"]);
  for (const [name, body] of [...loops, ...charged]) {
    it(`${name}: a loop over it ends with the CPU-budget JavaScriptException`, async () => {
      const { error, budget } = await outcome(body);
      expect(error?.status).toBe(400);
      expect(error?.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptException");
      expect(error?.message).toContain("CPU budget");
      expect(budget.stopped).toBe(true);
      // The syntax rows are stopped by what the operations charged, not by 100 interrupt checks
      // (each of which stood for seconds to minutes of such operations: BENCHMARKS.md).
      // (Over a third of the budget: with the engine of engine/, native callbacks count as ticks too.)
      if (charged.some(([n]) => n === name)) expect(budget.charged).toBeGreaterThan(33);
      // And the next query runs.
      expect((await outcome("return { ok: c.name + '!' };")).json).toBe('{"ok":"Acme!"}');
    });
  }

  it("catastrophic regex backtracking ends with the CPU-budget error (QuickJS checks inside the regex engine)", async () => {
    for (const body of [
      "return { m: /(a+)+b/.test('a'.repeat(40)) };",
      "return { m: 'a'.repeat(40).replace(/(a+)+b/g, 'x') };",
      "return { m: 'a'.repeat(40).split(/(a|aa)+b/) };",
      "return { m: new RegExp('(x+x+)+y').exec('x'.repeat(40)) };",
    ]) {
      const { error } = await outcome(body);
      expect(error?.type).toBe("Raven.Client.Exceptions.Documents.Patching.JavaScriptException");
      expect(error?.message).toContain("CPU budget");
    }
  });

  it("a length that lies (a getter) cannot make the original do more than the wrapper charged", async () => {
    // The non-mutating method runs on a copy read once; a mutating one refuses a getter length.
    const read = await outcome(
      "var n = 0, o = { get length() { return n++ ? 1e9 : 1; }, 0: 'x' }; return { i: Array.prototype.indexOf.call(o, 'x') };",
    );
    expect(read.json).toBe('{"i":0}');
    const write = await outcome("var n = 0, o = { get length() { return n++ ? 1e9 : 1; } }; Array.prototype.fill.call(o, 1); return {};");
    expect(write.error?.message).toContain("plain numeric length");
    // valueOf answering differently the second time: the buffer's size is coerced once.
    // A Symbol.match getter that answers "a RegExp" to the wrapper and "not one" to the original.
    const flip = await outcome(
      "var n = 0, p = { get [Symbol.match]() { return n++ ? undefined : true; }, toString: function () { return 'b'; } }; try { 'abc'.includes(p); return { threw: false }; } catch (e) { return { threw: e.name }; }",
    );
    expect(flip.json).toBe('{"threw":"TypeError"}');
    const size = await outcome("var n = 0; for (;;) new ArrayBuffer({ valueOf: function () { return n++ % 2 ? 4e6 : 0; } });");
    expect(size.error?.message).toContain("CPU budget");
  });

  it("the wrappers cannot be replaced or removed, the originals are out of reach, Proxy is gone", async () => {
    const { json } = await outcome(`
      "use strict";
      var tries = [];
      try { Array.prototype.sort = function () {}; } catch (e) { tries.push(e.name); }
      try { delete String.prototype.indexOf; } catch (e) { tries.push(e.name); }
      try { Object.defineProperty(Object, "keys", { value: function () {} }); } catch (e) { tries.push(e.name); }
      var d = Object.getOwnPropertyDescriptor(Array.prototype, "indexOf");
      return {
        tries: tries,
        fixed: [d.writable, d.configurable],
        proxy: typeof Proxy,
        ctor: new Uint8Array(1).constructor === Uint8Array && Uint8Array.prototype.constructor === Uint8Array,
        iter: Array.prototype[Symbol.iterator] === Array.prototype.values,
      };`);
    expect(JSON.parse(json as string)).toEqual({
      tries: ["TypeError", "TypeError", "TypeError"],
      fixed: [false, false],
      proxy: "undefined",
      ctor: true,
      iter: true,
    });
  });

  it("for…in visits what the language's does, in its order (the sandbox's against V8's, same objects)", async () => {
    // Written once, run natively here and as a declared function's source in the sandbox.
    function shapes() {
      const base = { inherited: 1, shadowed: 2, 7: "i" };
      const child = Object.create(base);
      child.z = 1;
      child[10] = 2;
      child.a = 3;
      child[2] = 4;
      child.shadowed = 5;
      Object.defineProperty(child, "hidden", { value: 6, enumerable: false });
      const hider = Object.create(base);
      Object.defineProperty(hider, "inherited", { value: 0, enumerable: false });
      const arr = ["x", "y"];
      (arr as unknown as { extra: number }).extra = 1;
      const deleting = { a: 1, b: 2, c: 3 };
      const visitedWhileDeleting: string[] = [];
      for (const k in deleting) {
        visitedWhileDeleting.push(k);
        delete (deleting as Record<string, number>).b;
      }
      const lists = [child, hider, arr, "abc", { "-1": 1, "1.5": 2, 4294967294: 3, 4294967295: 4, 1: 5 }, null, undefined, 42].map((o) => {
        const out: string[] = [];
        for (const k in o as object) out.push(k);
        return out;
      });
      return { lists, visitedWhileDeleting };
    }
    const source = shapes.toString();
    const { json, error } = await outcome(`${source.replace(/^function shapes/, "function g")} return g();`);
    expect(error).toBeUndefined();
    expect(JSON.parse(json as string)).toEqual(shapes());
    expect(shapes().lists[0]).toEqual(["2", "10", "z", "a", "shadowed", "7", "inherited"]);
  });

  it("a long string built by += costs budget by the square of its length; the same by join does not (README: Queries)", async () => {
    const plus = await outcome("var s = ''; for (var i = 0; i < 1024; i++) s += '0123456789'; return { n: s.length };");
    expect(plus.json).toBe('{"n":10240}');
    // About 13 steps from the rewrite's charge for the long results and 10 from the engine's for
    // the 5 MB it copies on the way (engine/README.md).
    const charged = plus.budget.charged;
    expect(charged).toBeGreaterThan(10);
    expect(charged).toBeLessThan(30);
    const join = await outcome("var a = []; for (var i = 0; i < 1024; i++) a.push('0123456789'); return { n: a.join('').length };");
    expect(join.json).toBe('{"n":10240}');
    expect(join.budget.charged).toBeLessThan(4);
  });

  it("the ES2025 Set methods (filled in for this QuickJS: worker/js-polyfills.ts) answer as V8's own", async () => {
    // The ES2025 methods, which this project's TypeScript library (ES2023) does not declare.
    interface Algebra extends Set<number> {
      union(o: unknown): Algebra;
      intersection(o: unknown): Algebra;
      difference(o: unknown): Algebra;
      symmetricDifference(o: unknown): Algebra;
      isSubsetOf(o: unknown): boolean;
      isSupersetOf(o: unknown): boolean;
      isDisjointFrom(o: unknown): boolean;
    }
    function sets() {
      const set = (xs: number[]) => new Set(xs) as Algebra;
      const a = set([1, 2, 3, 4]);
      const b = set([3, 4, 5]);
      const m = new Map([
        [4, "x"],
        [9, "y"],
      ]);
      const like = { size: 2, has: (v: number) => v === 1 || v === 7, keys: () => [1, 7][Symbol.iterator]() };
      const list = (s: Set<number>) => [...s];
      const errors = [null, { size: Number.NaN, has() {}, keys() {} }, { size: 1, keys() {} }, { size: 1, has() {} }].map((o) => {
        try {
          return a.union(o as never) && "no error";
        } catch (e) {
          return (e as Error).name;
        }
      });
      return {
        union: list(a.union(b)),
        intersection: [list(a.intersection(b)), list(b.intersection(a)), list(a.intersection(m)), list(a.intersection(like))],
        difference: [list(a.difference(b)), list(b.difference(a)), list(a.difference(like))],
        symmetric: [list(a.symmetricDifference(b)), list(a.symmetricDifference(m))],
        subset: [set([3]).isSubsetOf(a), a.isSubsetOf(b), set([1]).isSubsetOf(like)],
        superset: [a.isSupersetOf(set([1, 2])), a.isSupersetOf(b), a.isSupersetOf(like)],
        disjoint: [a.isDisjointFrom(set([9])), a.isDisjointFrom(b), a.isDisjointFrom(m), set([7, 8, 9]).isDisjointFrom(like)],
        shape: [a.union.length, Object.keys(Set.prototype).length, typeof Object.getOwnPropertyDescriptor(Set.prototype, "union")?.value],
        errors,
        notASet: (() => {
          try {
            a.union.call({}, b);
            return "no error";
          } catch (e) {
            return (e as Error).name;
          }
        })(),
      };
    }
    // The test file is TypeScript; the sandbox gets the same function as JavaScript (types erased by the bundler).
    const { json, error } = await outcome(`${sets.toString().replace(/^function sets/, "function g")} return g();`);
    expect(error).toBeUndefined();
    expect(JSON.parse(json as string)).toEqual(JSON.parse(JSON.stringify(sets())));
  });

  it("rewritten + and += answer as the operators do (numbers, strings, objects, evaluation order)", async () => {
    const { json, error } = await outcome(`
      var log = [];
      var o = { n: 1, s: "a", get g() { log.push("get"); return "G"; }, set g(v) { log.push("set " + v); } };
      function k() { log.push("key"); return "g"; }
      function v() { log.push("value"); return "!"; }
      o[k()] += v();
      var x = 1; x += 2; var t = "t"; t += 1;
      o.n += 1; o.s += o.s;
      var long = "x".repeat(2000) + "y";
      var obj = { toString: function () { return "T"; }, valueOf: function () { return 5; } };
      return {
        log: log, x: x, t: t, n: o.n, s: o.s, sum: 1 + 2 + "3" + 4, mixed: [1 + null, "a" + undefined, obj + 1, obj + "", [1] + [2]],
        len: long.length, tpl: \`\${x}-\${t}-\${obj}\`, nested: \`a\${\`b\${1 + 1}\`}\`,
        spread: { ...{ a: 1 }, ...null, ...[7], b: 2 }, rest: (function ({ a, ...r }) { return r; })({ a: 1, b: 2, c: 3 }),
        restAssigned: (function () { var r; ({ a: r, ...r } = { a: 1, q: 2 }); return r; })(),
        gen: [...(function* (o) { outer: for (var k in o) { for (var j in o) { if (j === k) continue outer; yield k + j; } } })({ a: 1, b: 2 })],
        cls: (function () { class A { #x = "p"; add(y) { this.#x += y; return this.#x; } } return new A().add("q"); })(),
        arrowRest: (({ a, ...r }) => Object.keys(r))({ a: 1, b: 2 }),
        sameParse: Number.parseFloat === parseFloat && Number.parseInt === parseInt,
        maps: (function () { var m = new Map([["a", 1]]); m.set("b", 2); var t = new Set(["x"]); t.add("y"); return [m.get("a"), m.has("b"), m.delete("a"), m.size, t.has("y"), t.delete("x"), t.size, [...t]]; })(),
        printed: [Object.prototype.toString.call(null), Object.prototype.toString.call(1), String(new TypeError("m")), String({}), Symbol("d").toString()],
      };`);
    expect(error).toBeUndefined();
    expect(JSON.parse(json as string)).toEqual({
      log: ["key", "get", "value", "set G!"],
      x: 3,
      t: "t1",
      n: 2,
      s: "aa",
      sum: "334",
      mixed: [1, "aundefined", 6, "5", "12"],
      len: 2001,
      tpl: "3-t1-T",
      nested: "ab2",
      spread: { a: 1, 0: 7, b: 2 },
      rest: { b: 2, c: 3 },
      restAssigned: { q: 2 },
      gen: ["ba"],
      cls: "pq",
      arrowRest: ["b"],
      sameParse: true,
      maps: [1, true, true, 1, true, true, 1, ["y"]],
      printed: ["[object Null]", "[object Number]", "TypeError: m", "[object Object]", "Symbol(d)"],
    });
  });

  it("metered built-ins answer as before", async () => {
    const { json, error } = await outcome(`
      var a = [3, 1, 2];
      var u = new Uint8Array([5, 4, 6]);
      class Bytes extends Uint8Array {}
      return {
        sorted: a.slice().sort(), byFn: [3, 1, 2].sort(function (x, y) { return y - x; }), spread: [...a, ...new Set([9])],
        like: Array.prototype.map.call({ length: 2, 0: "a", 1: "b" }, function (x) { return x.toUpperCase(); }),
        holes: Array.prototype.filter.call({ length: 3, 1: "x" }, function () { return true; }),
        args: (function () { return Array.prototype.slice.call(arguments, 1); })(1, 2, 3),
        str: ["abc".indexOf("c"), "abc".includes("b"), "a-b".split("-"), "abc".padStart(5, "."), "abc".replace(/b/, "B"), "ab".slice(1)],
        boxed: String.prototype.toUpperCase.call({ toString: function () { return "q"; } }),
        typed: [u.indexOf(4), Array.from(u.slice().sort()), u instanceof Uint8Array, new Bytes(2) instanceof Uint8Array, new Bytes(2).length],
        keys: Object.keys({ x: 1, y: 2 }), assigned: Object.assign({}, { z: 1 }), applied: Math.max.apply(null, [1, 7, 3]),
        from: Array.from({ length: 2 }, function (_, i) { return i * 2; }), ofs: Array.of(1, 2),
        json: JSON.parse(JSON.stringify({ k: [1, "2"] })), joined: [1, 2].join("+"), rep: "ab".repeat(2),
        regexOk: "hello world".match(/o/g), destructured: (function () { var [p, q] = [1, 2]; return p + q; })(),
        rx: [new RegExp("b+", "g").test("abb"), RegExp(/x/g).flags, /x/ instanceof RegExp, new RegExp(/y/i).source, "a,b".split(new RegExp(","))],
        printed: [String(/a/g), (function g() {}).toString(), "x".bold()],
        patterns: [
          "a1b2".replace(/\\d/g, function (d) { return "<" + d + ">"; }), "aXbX".replaceAll("X", "-"), "a.b".split("."), "a+b".search("\\\\+"),
          [..."a1b2".matchAll(/\\d/g)].map(function (m) { return m[0]; }), "ab".match("b").index,
          "x".replace({ [Symbol.replace]: function (s, r) { return s + r + "!"; } }, "y"), "a b".split({ toString: function () { return " "; } }),
          (function () { try { "aa".replaceAll(/a/, "b"); return "no"; } catch (e) { return e.name; } })(),
        ],
        uri: [encodeURIComponent("a b"), decodeURIComponent("a%20b"), parseInt("ff", 16), parseFloat("1.5")],
      };`);
    expect(error).toBeUndefined();
    expect(JSON.parse(json as string)).toEqual({
      sorted: [1, 2, 3],
      byFn: [3, 2, 1],
      spread: [3, 1, 2, 9],
      like: ["A", "B"],
      holes: ["x"],
      args: [2, 3],
      str: [2, true, ["a", "b"], "..abc", "aBc", "b"],
      boxed: "Q",
      typed: [1, [4, 5, 6], true, true, 2],
      keys: ["x", "y"],
      assigned: { z: 1 },
      applied: 7,
      from: [0, 2],
      ofs: [1, 2],
      json: { k: [1, "2"] },
      joined: "1+2",
      rep: "abab",
      regexOk: ["o", "o"],
      destructured: 3,
      rx: [true, "g", true, "y", ["a", "b"]],
      printed: ["/a/g", "function g() {}", "<b>x</b>"],
      patterns: ["a<1>b<2>", "a-b-", ["a", "b"], 1, ["1", "2"], 1, "xy!", ["a", "b"], "TypeError"],
      uri: ["a%20b", "a b", 255, 1.5],
    });
  });
});
