// The rewrite of query JavaScript (core/js-rewrite.ts): what each construct becomes, what is
// refused, and that everything else is left as written. What the rewritten code does when run
// is tested in the sandbox (test/js-meter.test.ts, test/js-sandbox.test.ts).
import { describe, expect, it } from "vitest";
import { JsRewriteError, rewriteExpression, rewriteScript } from "../../src/core/js-rewrite";

const refused = (f: () => string): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(JsRewriteError);
    return (err as Error).message;
  }
  throw new Error("expected the rewrite to refuse");
};

describe("js rewrite", () => {
  it("for…in becomes for…of over the metered key list, whatever the left side", () => {
    expect(rewriteScript("function f(o) { for (var k in o) g(k); }")).toBe("function f(o) { for (var k of __sbx_forIn(o)) g(k); }");
    expect(rewriteScript("for (k in o) ;")).toBe("for (k of __sbx_forIn(o)) ;");
    expect(rewriteScript("for (const [a, b] in (x, y)) {}")).toBe("for (const [a, b] of __sbx_forIn((x, y))) {}");
    expect(rewriteScript("for (o.p in q) {}")).toBe("for (o.p of __sbx_forIn(q)) {}");
    // `for (async of …)` would not parse.
    expect(rewriteScript("for (async in o) {}")).toBe("for ((async) of __sbx_forIn(o)) {}");
    expect(rewriteScript("for (var a in o) for (var b in a) ;")).toBe("for (var a of __sbx_forIn(o)) for (var b of __sbx_forIn(a)) ;");
  });

  it("+, += and template literals become helper calls that evaluate each part once, in order", () => {
    expect(rewriteExpression("{ n: c.a + c.b + 1 }")).toBe("{ n: __sbx_add(__sbx_add(c.a, c.b), 1) }");
    expect(rewriteExpression("(a, b) + c")).toBe("__sbx_add((a, b), c)");
    expect(rewriteScript("x += y += 1;")).toBe("x = __sbx_add(x, y = __sbx_add(y, 1));");
    expect(rewriteScript("o.p += 1;")).toBe('__sbx_addEnd(__sbx_addStart(o, "p"), 1);');
    expect(rewriteScript("f()[g()] += h();")).toBe("__sbx_addEnd(__sbx_addStart(f(), g()), h());");
    expect(rewriteScript("class A { #x = ''; m() { this.#x += 'a'; super.y += 2; } }")).toBe(
      "class A { #x = ''; m() { this.#x = __sbx_add(this.#x, 'a'); super.y = __sbx_add(super.y, 2); } }",
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the scripts' template literals
    expect(rewriteExpression("`a${b + 1}c`")).toBe("__sbx_str(`a${__sbx_add(b, 1)}c`)");
    // No expression, nothing concatenated; a tag receives the pieces.
    expect(rewriteExpression("`plain`")).toBe("`plain`");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the scripts' template literals
    expect(rewriteExpression("String.raw`a${b}`")).toBe("String.raw`a${b}`");
    // Other operators are left alone.
    expect(rewriteScript("a - b; a * b; i++; x -= 1; a === b;")).toBe("a - b; a * b; i++; x -= 1; a === b;");
  });

  it("object spread charges its source first; object rest charges its targets right after the copy", () => {
    expect(rewriteExpression("{ ...c, x: 1 }")).toBe("{ ...__sbx_own(c), x: 1 }");
    // Array and call spread go through iterators, which are metered already.
    expect(rewriteExpression("[...a, f(...b)]")).toBe("[...a, f(...b)]");
    expect(rewriteScript("function f({ a, ...r }, [b, { ...q }]) { return r; }")).toBe(
      "function f({ a, ...r }, [b, { ...q }]) { __sbx_own(r, q);  return r; }",
    );
    expect(rewriteScript("var g = ({ ...r }) => ({ r });")).toBe("var g = ({ ...r }) => (__sbx_own(r), ({ r }));");
    const declared = rewriteScript("function f() { const { x, ...rest } = o, z = 1; }");
    expect(declared).toMatch(/^function f\(\) \{ const \{ x, \.\.\.rest \} = o, z = 1, __sbx_rest\d+ = __sbx_own\(rest\); \}$/);
    expect(rewriteScript("for (const { ...e } of l) e;")).toBe("for (const { ...e } of l) { __sbx_own(e); e; }");
    expect(rewriteScript("try {} catch ({ ...c }) {}")).toBe("try {} catch ({ ...c }) { __sbx_own(c); }");
    expect(rewriteScript("({ a, ...this.r } = o);")).toBe("(__sbx_first(({ a, ...this.r } = o), __sbx_own(this.r)));");
    expect(refused(() => rewriteScript("({ ...o[f()] } = p);"))).toContain("not supported");
  });

  it("refuses BigInt, with, import(), the helpers' names, and a projection that is not one expression", () => {
    expect(refused(() => rewriteExpression("{ n: 1n }"))).toBe("BigInt is not supported in query scripts.");
    expect(refused(() => rewriteScript("function f() { return 2n ** 64n; }"))).toContain("BigInt");
    expect(refused(() => rewriteScript("function f(o) { with (o) { return a; } }"))).toContain("'with'");
    expect(refused(() => rewriteExpression("import('x')"))).toContain("import()");
    expect(refused(() => rewriteScript("function f(__sbx_add) { return a + b; }"))).toContain("reserved");
    expect(refused(() => rewriteExpression("{ a: 1 }); while (true) {} ({"))).toBeTruthy();
    expect(refused(() => rewriteExpression("1), (2"))).toContain("single JavaScript expression");
    expect(refused(() => rewriteScript("function f( { return 1; }"))).toMatch(/Unexpected/);
    expect(refused(() => rewriteScript("for (var k = 0 in o) ;"))).toBeTruthy();
  });

  it("leaves everything else as written (comments, strings, regular expressions, positions)", () => {
    const source =
      "function f(c) {\n  // a + b in a comment\n  var s = 'x + y'; /* for (k in o) */\n  return /a+b/.test(s) ? { v: c.v } : null;\n}";
    expect(rewriteScript(source)).toBe(source);
    expect(rewriteExpression("{ Name: c.Name, Ext: cmpxchg(c.ExternalId) } // trailing comment")).toBe(
      "{ Name: c.Name, Ext: cmpxchg(c.ExternalId) }",
    );
  });
});
