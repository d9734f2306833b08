/**
 * The metering prelude of the query sandbox (worker/js-sandbox.ts): JavaScript evaluated in each
 * fresh QuickJS context before any script, which replaces every built-in whose work grows with its
 * input by a wrapper that first charges the step budget by that size (through the host function it
 * is given), then calls the original.
 *
 * Why: QuickJS polls its interrupt handler (our step budget) only every 10,000 calls and loop
 * iterations, and not inside a native call, so a loop whose body is one expensive native call
 * (sorting or searching a large array, Object.keys of a large object, spreading a large array) ran
 * thousands of them per check: seconds of CPU where deployed Workers' frozen clock cannot stop it.
 *
 * Units: one unit is about one element or character handled; the host turns units into steps
 * (UNITS_PER_STEP below; js-sandbox.ts's host function divides by it). Costs are charged before the call where the size is known
 * (n log n for a sort, the length for a search or a copy) and after it by the result's size where
 * only the result tells (slice, Object.keys, flat).
 *
 * How user code cannot get around it:
 * - Wrappers replace the properties themselves (non-writable, non-configurable), so every path to
 *   the method (`a.sort()`, `Array.prototype.sort.call(…)`, `Reflect.apply`, `Function.prototype
 *   .call`) reaches the wrapper. The originals live only in this closure; the wrappers call them
 *   through `Reflect.apply` captured here, never through a property a script could replace.
 * - Array methods called on something that is not an array (an array-like whose `length` is a
 *   getter could say 1 to the wrapper and 10⁹ to the original) run on a copy made by a JavaScript
 *   loop (which the interrupt checks count); mutating ones accept only a data `length`.
 * - `Proxy` is removed from the sandbox (RavenDB projections do not need it): a proxy could lie
 *   about `length` to the original after telling the wrapper the truth.
 * - Spread, destructuring, `for…of`, `Array.from(iterable)`, `new Set(iterable)` go through an
 *   iterator's `next`: every built-in iterator's `next` is wrapped by a JavaScript function, so
 *   each element is one call the interrupt checks count (and the arrays' fast path, which skips
 *   `next`, is off because `Array.prototype[Symbol.iterator]` is no longer the original).
 *
 * Not metered here, because they are cheap or already bounded: O(1) built-ins (Math, charAt, at,
 * push/pop, property access), and running regular expressions (this QuickJS polls the interrupt
 * handler inside the regex engine itself, so catastrophic backtracking is stopped by the step
 * budget: tested; compiling one at run time is metered by its pattern's length).
 *
 * Syntax whose one operation is O(n) natively is charged through the helpers at the end of this
 * prelude, which core/js-rewrite.ts puts in its place before any script runs: `for…in` (its key
 * list), `+`, `+=` and template literals (a string result longer than LONG_STRING: this build
 * copies on concatenation), object spread and object rest (the keys copied). The prelude also
 * takes away what would run source no rewrite saw (`eval`, every function constructor) and
 * BigInt (huge ones cost O(n²) in one operation). What stays unmetered: comparisons of very long
 * strings (`===`, `<`, ~0.3–0.5 ms per 1 MB comparison) and lookups through very deep prototype
 * chains (built with `new` after reassigning `F.prototype`, ~0.4 ms per lookup at 10⁵ levels); see
 * README: Queries, and BENCHMARKS.md for what they cost.
 */
/** Units a step of the budget stands for: one check of a plain loop is ~0.1–0.3 ms here; so is
 * writing ~4,000 characters of JSON or sorting ~4,000 elements' worth (BENCHMARKS.md). */
export const UNITS_PER_STEP = 4000;
/** A string made by + or a template literal is charged once longer than this (short ones are free). */
export const LONG_STRING = 1024;
/**
 * Characters of such a string a unit stands for: this build copies on concatenation (~0.13 ns a
 * character, ~0.3 with a read that follows; BENCHMARKS.md), and a unit is ~25–75 ns of work.
 */
export const CONCAT_CHARS_PER_UNIT = 100;
/** Characters of a string key a unit stands for when a Map or Set hashes it (~1.8 ns a character measured). */
export const MAP_KEY_CHARS_PER_UNIT = 16;
/** Units an own key costs object spread and object rest (~270 ns a key measured, native property definition). */
export const UNITS_PER_COPIED_KEY = 4;

export const METER_PRELUDE = `
(function (hostCharge) {
  // Charges add up here and reach the host (a call out of the WebAssembly, tens of microseconds)
  // once they make a tenth of a step: small calls cost a JavaScript addition, not a host call.
  // What is left below that when a round ends is forgiven (less than a tenth of a step).
  var pending = 0, TENTH = ${UNITS_PER_STEP / 10};
  function charge(n) {
    if (n > 0) pending += n;
    if (pending >= TENTH) { n = pending; pending = 0; hostCharge(n); }
  }
  var O = Object, R = Reflect, S = String, N = Number, G = globalThis;
  var rApply = R.apply, rConstruct = R.construct, ownKeys = R.ownKeys, gopd = O.getOwnPropertyDescriptor;
  var keys0 = O.keys, hasOwn = O.prototype.hasOwnProperty;
  var getProto = O.getPrototypeOf, defProp = O.defineProperty, isArray = Array.isArray, floor = Math.floor;
  var log2 = Math.log2, symMatch = Symbol.match, symIterator = Symbol.iterator;
  var TA = getProto(Uint8Array.prototype);
  var taLength = gopd(TA, "length").get;
  var P = Proxy, AB = ArrayBuffer, abLength = gopd(AB.prototype, "byteLength").get;
  delete G.Proxy;

  function fix(obj, name, value) { defProp(obj, name, { value: value, writable: false, enumerable: false, configurable: false }); }

  // JSON and repeat: by the characters they write or read (repeat's copy is cheap: 25 characters a unit).
  var stringify0 = JSON.stringify, parse0 = JSON.parse, repeat0 = String.prototype.repeat;
  fix(JSON, "stringify", function stringify(v, r, s) { charge(0); var t = rApply(stringify0, JSON, [v, r, s]); if (typeof t === "string") charge(t.length); return t; });
  fix(JSON, "parse", function parse(t, r) { t = S(t); charge(t.length); return rApply(parse0, JSON, [t, r]); });
  fix(String.prototype, "repeat", function repeat(n) { var s = S(this); n = N(n); charge((s.length * n) / 25); return rApply(repeat0, s, [n]); });
  function toLen(x) { x = N(x); return x > 0 ? (x === 1 / 0 ? 9007199254740991 : floor(x)) : 0; }
  /** A typed array's length by the original getter, or -1 for anything else. */
  function taLen(o) { try { return rApply(taLength, o, []); } catch (e) { return -1; } }
  /** Length of an array-like for a mutating method: a real array's, or a data property holding a number. */
  function dataLength(o) {
    if (isArray(o)) return o.length;
    if (o === null || o === undefined) return 0;
    for (var p = O(o); p !== null; p = getProto(p)) {
      var d = gopd(p, "length");
      if (d) {
        if ("value" in d && typeof d.value === "number") return toLen(d.value);
        throw new TypeError("In query JavaScript, this array method takes an array-like with a plain numeric length only");
      }
    }
    return 0;
  }
  /** A real array holding what an array-like holds (holes kept), read by a loop the checks count. */
  function snapshot(o) {
    var obj = O(o), n = toLen(obj.length), c = [];
    c.length = n;
    for (var i = 0; i < n; i++) if (i in obj) c[i] = obj[i];
    return c;
  }
  function lengthOf(x) {
    if (isArray(x) || typeof x === "string") return x.length;
    var t = taLen(x);
    return t >= 0 ? t : 0;
  }
  function nlogn(n) { return n > 1 ? n * log2(n) : n; }
  function name(w, orig) {
    defProp(w, "name", { value: orig.name, configurable: true });
    defProp(w, "length", { value: orig.length, configurable: true });
    return w;
  }
  function resultSize(r) { return r !== null && r !== undefined ? lengthOf(r) : 0; }

  /**
   * Wraps obj[key]. before(self, args) → units charged before; after → units by the result.
   * mode "copy": a non-array this runs on a snapshot; "data": a non-array this needs a data length;
   * "string": this is turned into a string once (the original then sees that same string).
   */
  function meter(obj, key, mode, before, after) {
    var orig = obj[key];
    if (typeof orig !== "function") return;
    var w = function () {
      var self = this;
      if (mode === "copy" && !isArray(self) && self !== null && self !== undefined) self = snapshot(self);
      else if (mode === "string" && typeof self !== "string" && self !== null && self !== undefined) self = S(self);
      // charge() inlined: this runs on every call of a metered built-in.
      var n = before ? before(self, arguments) : 0;
      if (n > 0) pending += n;
      if (pending >= TENTH) charge(0);
      var r = rApply(orig, self, arguments);
      if (after) {
        n = after(r);
        if (n > 0) pending += n;
        if (pending >= TENTH) charge(0);
      }
      return r;
    };
    fix(obj, key, name(w, orig));
  }
  var len = mode_len;
  function mode_len(self) { return isArray(self) ? self.length : taLen(self) >= 0 ? taLen(self) : dataLength(self); }
  function sorting(self) { return nlogn(mode_len(self)); }
  function argsLength(self, a) { var n = 0; for (var i = 0; i < a.length; i++) n += lengthOf(a[i]); return mode_len(self) + n; }

  // Arrays. Searches and whole-array passes (a native callback such as Math.abs or String runs
  // between checks too) cost the length; sorts n log n; copies their result.
  var AP = Array.prototype;
  ["indexOf", "lastIndexOf", "includes", "every", "some", "forEach", "map", "filter", "reduce", "reduceRight", "find",
   "findIndex", "findLast", "findLastIndex", "toReversed", "with", "toSpliced", "toLocaleString"]
    .forEach(function (k) { meter(AP, k, "copy", len); });
  meter(AP, "toSorted", "copy", sorting);
  meter(AP, "join", "copy", len, resultSize);
  meter(AP, "flat", "copy", len, resultSize);
  meter(AP, "flatMap", "copy", len, resultSize);
  meter(AP, "slice", "copy", null, resultSize);
  meter(AP, "concat", "copy", argsLength, resultSize);
  ["reverse", "fill", "copyWithin", "splice", "shift", "unshift"].forEach(function (k) { meter(AP, k, "data", len); });
  meter(AP, "sort", "data", sorting);
  ["keys", "values", "entries"].forEach(function (k) { meter(AP, k, "data", null); });
  fix(AP, symIterator, AP.values);
  meter(Array, "from", null, function (self, a) { return a[0] !== null && a[0] !== undefined && a[0][symIterator] === undefined ? dataLength(a[0]) : 0; });
  meter(Array, "of", null, function (self, a) { return a.length; });

  // Typed arrays share their methods on %TypedArray%.prototype; their length comes from the
  // original getter (an own "length" on an instance cannot lie to it).
  ["indexOf", "lastIndexOf", "includes", "every", "some", "forEach", "map", "filter", "reduce", "reduceRight", "find",
   "findIndex", "findLast", "findLastIndex", "toReversed", "with", "toLocaleString", "reverse", "fill", "copyWithin"]
    .forEach(function (k) { meter(TA, k, null, len); });
  meter(TA, "sort", null, sorting);
  meter(TA, "toSorted", null, sorting);
  meter(TA, "join", null, len, resultSize);
  meter(TA, "slice", null, null, resultSize);
  meter(TA, "set", null, function (self, a) { return lengthOf(a[0]) || dataLength(a[0]); });
  ["keys", "values", "entries"].forEach(function (k) { meter(TA, k, null, null); });
  fix(TA, symIterator, TA.values);
  ["from", "of"].forEach(function (k) { meter(getProto(Uint8Array), k, null, function (self, a) { return k === "of" ? a.length : a[0] !== null && a[0] !== undefined && a[0][symIterator] === undefined ? dataLength(a[0]) : 0; }); });
  // Constructors that allocate and zero (or copy) their size: a proxy charges it; the prototypes'
  // "constructor" (which species lookups use) points to the proxy, so the original is not reachable.
  ["ArrayBuffer", "SharedArrayBuffer", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
   "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"].forEach(function (k) {
    var C = G[k];
    if (typeof C !== "function") return;
    var p = new P(C, {
      construct: function (t, a, nt) {
        var x = a[0], n;
        if (typeof x !== "object" || x === null) {
          // A buffer's size is coerced once here, so valueOf cannot answer differently to the original.
          if (k.indexOf("Buffer") >= 0) a = [(x = N(x)), a[1]];
          // Zeroed memory is cheap next to element work: a unit per 16 bytes.
          n = (toLen(x) * (C.BYTES_PER_ELEMENT || 1)) / 16;
        } else {
          try { n = rApply(abLength, x, []) * 0; } catch (e) { n = lengthOf(x) || dataLength(x); }
        }
        charge(n);
        return rConstruct(t, a, nt === p ? t : nt);
      },
    });
    fix(C.prototype, "constructor", p);
    defProp(G, k, { value: p, writable: true, enumerable: false, configurable: true });
  });
  meter(AB.prototype, "slice", null, null, function (r) { try { return rApply(abLength, r, []); } catch (e) { return 0; } });

  // Strings: searches cost the length (and the needle, which a naive search compares over and
  // over); copies their result. The arguments a cost depends on are turned into strings once.
  var SP = String.prototype;
  function isRegExp(x) { return x !== null && (typeof x === "object" || typeof x === "function") && x[symMatch] !== undefined; }
  function meterSearch(k) {
    var orig = SP[k], refusesRegExp = k !== "indexOf" && k !== "lastIndexOf";
    var w = function (t, pos) {
      var s = typeof this === "string" || this === null || this === undefined ? this : S(this);
      // Decided once here: a Symbol.match getter must not answer the original differently.
      if (refusesRegExp && isRegExp(t)) throw new TypeError("String.prototype." + k + " does not take a regular expression");
      t = S(t);
      charge(s === null || s === undefined ? 0 : s.length * (1 + t.length / 64));
      return rApply(orig, s, arguments.length > 1 ? [t, pos] : [t]);
    };
    fix(SP, k, name(w, orig));
  }
  /**
   * split/replace/replaceAll/match/matchAll/search: as the specification does, an argument with
   * the method's symbol (a RegExp, or an object of the script's) is called here, once looked up;
   * anything else becomes a string here, once, and costs its length (a pattern that match,
   * matchAll and search compile: four units a character) on top of the string's.
   */
  function meterPattern(k, sym, compiles, needsGlobal) {
    var orig = SP[k];
    var w = function (p) {
      if (this === null || this === undefined) return rApply(orig, this, arguments);
      var args = [p];
      for (var i = 1; i < arguments.length; i++) args[i] = arguments[i];
      if (p !== null && p !== undefined) {
        var method = typeof p === "object" || typeof p === "function" ? p[sym] : undefined;
        if (method !== undefined && method !== null) {
          if (needsGlobal && isRegExp(p) && S(p.flags).indexOf("g") < 0) throw new TypeError("String.prototype." + k + " needs a global regular expression");
          args[0] = this;
          return rApply(method, p, args);
        }
        p = S(p);
      }
      var s = typeof this === "string" ? this : S(this);
      var m = typeof p === "string" ? p.length : 0;
      charge(s.length * (1 + m / 64) + (compiles ? m * 4 : 0));
      args[0] = p;
      var r = rApply(orig, s, args);
      // A replacement (a function's answer, or $& patterns) can make the result far longer than the string.
      if (k === "split" || k === "match" || k === "replace" || k === "replaceAll") charge(resultSize(r));
      return r;
    };
    fix(SP, k, name(w, orig));
  }
  meterPattern("split", Symbol.split, false, false);
  meterPattern("replace", Symbol.replace, false, false);
  meterPattern("replaceAll", Symbol.replace, false, true);
  meterPattern("match", symMatch, true, false);
  meterPattern("matchAll", Symbol.matchAll, true, true);
  meterPattern("search", Symbol.search, true, false);
  ["indexOf", "lastIndexOf", "includes", "startsWith", "endsWith"].forEach(meterSearch);
  var slen = function (s) { return s === null || s === undefined ? 0 : s.length; };
  ["trim", "trimStart", "trimEnd", "toUpperCase", "toLowerCase", "toLocaleUpperCase", "toLocaleLowerCase", "normalize",
   "isWellFormed", "toWellFormed", "localeCompare"].forEach(function (k) { meter(SP, k, "string", slen); });
  ["slice", "substring", "substr", "concat", "anchor", "big", "blink", "bold", "fixed", "fontcolor", "fontsize", "italics", "link",
   "small", "strike", "sub", "sup"].forEach(function (k) { meter(SP, k, "string", null, resultSize); });
  // Printing a function or a regular expression copies its source.
  meter(Function.prototype, "toString", null, null, resultSize);
  ["padStart", "padEnd"].forEach(function (k) {
    var orig = SP[k];
    var w = function (n, fill) {
      var s = typeof this === "string" || this === null || this === undefined ? this : S(this);
      n = toLen(n);
      charge(n);
      return rApply(orig, s, arguments.length > 1 ? [n, fill] : [n]);
    };
    fix(SP, k, name(w, orig));
  });
  ["fromCharCode", "fromCodePoint"].forEach(function (k) { meter(String, k, null, function (self, a) { return a.length; }); });

  // Objects: their own keys, counted by the result (or, where none is returned, by the original
  // Reflect.ownKeys first).
  function keysOf(self, a) { var o = a[0]; return o !== null && (typeof o === "object" || typeof o === "function") ? ownKeys(o).length : 0; }
  ["keys", "values", "entries", "getOwnPropertyNames", "getOwnPropertySymbols"].forEach(function (k) { meter(O, k, null, null, resultSize); });
  meter(O, "getOwnPropertyDescriptors", null, keysOf);
  ["freeze", "seal", "isFrozen", "isSealed", "preventExtensions"].forEach(function (k) { meter(O, k, null, keysOf); });
  meter(O, "assign", null, function (self, a) { var n = 0; for (var i = 1; i < a.length; i++) n += keysOf(null, [a[i]]); return n; });
  meter(O, "defineProperties", null, function (self, a) { return keysOf(null, [a[1]]); });
  meter(O, "create", null, function (self, a) { return keysOf(null, [a[1]]); });
  meter(R, "ownKeys", null, null, resultSize);

  // Calls with an argument list: copying it costs its length.
  meter(Function.prototype, "apply", null, function (self, a) { return lengthOf(a[1]) || (a[1] ? dataLength(a[1]) : 0); });
  meter(R, "apply", null, function (self, a) { return lengthOf(a[2]) || (a[2] ? dataLength(a[2]) : 0); });
  meter(R, "construct", null, function (self, a) { return lengthOf(a[1]) || (a[1] ? dataLength(a[1]) : 0); });

  // Functions of one string that scan or copy it: the string, coerced once, costs its length.
  ["encodeURI", "encodeURIComponent", "decodeURI", "decodeURIComponent", "escape", "unescape", "parseInt", "parseFloat"].forEach(function (k) {
    var orig = G[k];
    if (typeof orig !== "function") return;
    var w = function (x, radix) {
      x = S(x);
      charge(x.length);
      return rApply(orig, undefined, arguments.length > 1 ? [x, radix] : [x]);
    };
    defProp(G, k, { value: name(w, orig), writable: false, enumerable: false, configurable: false });
    // Number.parseInt and Number.parseFloat are the same functions as the globals.
    if (N[k] === orig) fix(N, k, G[k]);
  });

  // Compiling a regular expression is linear in its pattern (its execution is checked by QuickJS
  // itself): RegExp built at run time goes through a proxy that charges the pattern's length.
  // Literals are compiled with the script, whose length the query's length bounds.
  var sourceOf = gopd(RegExp.prototype, "source").get;
  function pattern(a) {
    var x = a[0];
    try { return { a: a, n: rApply(sourceOf, x, []).length }; } catch (e) {}
    if (x === undefined) return { a: a, n: 0 };
    x = S(x);
    return { a: a.length > 1 ? [x, a[1]] : [x], n: x.length };
  }
  var RX = RegExp;
  var rxProxy = new P(RX, {
    construct: function (t, a, nt) { var p = pattern(a); charge(p.n * 4); return rConstruct(t, p.a, nt === rxProxy ? t : nt); },
    apply: function (t, self, a) { var p = pattern(a); charge(p.n * 4); return rApply(t, self, p.a); },
  });
  fix(RX.prototype, "constructor", rxProxy);
  defProp(G, "RegExp", { value: rxProxy, writable: true, enumerable: false, configurable: true });
  meter(RX.prototype, "compile", null, function (self, a) { return pattern(a).n * 4; });
  meter(RX.prototype, "toString", null, null, resultSize);

  // Every built-in iterator's next becomes a JavaScript call, which the interrupt checks count.
  [[][symIterator](), new Set()[symIterator](), new Map()[symIterator](), ""[symIterator](), /x/[Symbol.matchAll]("x"),
   new Uint8Array(0)[symIterator]()].forEach(function (it) {
    var proto = getProto(it);
    var next = proto.next;
    if (typeof next !== "function" || gopd(proto, "next").configurable === false) return;
    fix(proto, "next", name(function () { return rApply(next, this, []); }, next));
  });

  // Set algebra and forEach (a native callback runs between checks): this set's size and the other's.
  var setSize = gopd(Set.prototype, "size").get, mapSize = gopd(Map.prototype, "size").get;
  function sizeOf(getter, x) { try { return rApply(getter, x, []); } catch (e) { return 0; } }
  ["union", "intersection", "difference", "symmetricDifference", "isSubsetOf", "isSupersetOf", "isDisjointFrom"].forEach(function (k) {
    meter(Set.prototype, k, null, function (self, a) { return sizeOf(setSize, self) + (sizeOf(setSize, a[0]) || sizeOf(mapSize, a[0])); });
  });
  meter(Set.prototype, "forEach", null, function (self) { return sizeOf(setSize, self); });
  meter(Map.prototype, "forEach", null, function (self) { return sizeOf(mapSize, self); });
  var LONG = ${LONG_STRING}, PER = ${CONCAT_CHARS_PER_UNIT}, PER_KEY = ${UNITS_PER_COPIED_KEY};
  // Printing that concatenates a string the script chose (an error's name and message, a
  // Symbol.toStringTag, a symbol's description) copies it: charged by the result, as + is.
  // Strict, so that a null or primitive this reaches the original as it is ("[object Null]").
  [[Error.prototype, "toString"], [O.prototype, "toString"], [Symbol.prototype, "toString"]].forEach(function (m) {
    var orig = m[0][m[1]];
    fix(m[0], m[1], name(function toString() {
      "use strict";
      var r = rApply(orig, this, []);
      if (typeof r === "string" && r.length > LONG) charge(r.length / PER);
      return r;
    }, orig));
  });
  // A Map or Set hashes a string key whole at each lookup (~1.8 ns a character: 1.2–1.8 ms for a
  // 1 MB key): a key longer than LONG is charged by its length.
  var KEY_PER = ${MAP_KEY_CHARS_PER_UNIT};
  [[Map.prototype, ["get", "set", "has", "delete"]], [Set.prototype, ["add", "has", "delete"]]].forEach(function (m) {
    m[1].forEach(function (k) {
      var orig = m[0][k];
      fix(m[0], k, name(function (key) {
        "use strict";
        if (typeof key === "string" && key.length > LONG) charge(key.length / KEY_PER);
        return rApply(orig, this, arguments);
      }, orig));
    });
  });
  // String.raw reads its template's raw array-like natively: it runs on a copy made by a loop the checks count.
  var raw0 = String.raw;
  fix(String, "raw", name(function raw(t) {
    var args = [{ raw: snapshot(O(O(t).raw)) }];
    for (var i = 1; i < arguments.length; i++) args[i] = arguments[i];
    charge(args.length);
    return rApply(raw0, String, args);
  }, raw0));

  // No source text the rewrite (core/js-rewrite.ts) did not see may run: no eval, and every
  // function constructor (Function, and the constructors behind generators, async functions and
  // async generators, reachable as their prototypes' "constructor") throws.
  var FP = Function.prototype;
  var NoSource = function Function() { throw new TypeError("Query scripts cannot make functions from source text"); };
  fix(NoSource, "prototype", FP);
  [function () {}, function* () {}, async function () {}, async function* () {}].forEach(function (f) {
    defProp(getProto(f), "constructor", { value: NoSource, writable: false, enumerable: false, configurable: false });
  });
  defProp(G, "Function", { value: NoSource, writable: true, enumerable: false, configurable: true });
  delete G.eval;
  // No BigInt: arithmetic on and printing of huge BigInts cost O(n²) in one operation; literals are
  // refused by the rewrite, and nothing else makes one without these.
  ["BigInt", "BigInt64Array", "BigUint64Array"].forEach(function (k) { delete G[k]; });
  ["getBigInt64", "getBigUint64", "setBigInt64", "setBigUint64"].forEach(function (k) { delete DataView.prototype[k]; });

  // Helpers the rewrite calls in place of syntax whose one operation costs O(n) natively.
  /** a + b; a string result longer than LONG is charged by its length (this build copies on concatenation). */
  function add(a, b) {
    var r = a + b;
    if (typeof r === "string" && r.length > LONG) { pending += r.length / PER; if (pending >= TENTH) charge(0); }
    return r;
  }
  /** A template literal's result, charged as add's. */
  function str(r) {
    if (r.length > LONG) { pending += r.length / PER; if (pending >= TENTH) charge(0); }
    return r;
  }
  /** o[k] += y in two calls, so that o[k] is read before y is evaluated: the key is converted once. */
  function addStart(o, k) {
    if (k !== null && (typeof k === "object" || typeof k === "function")) { var t = {}; t[k] = 0; k = ownKeys(t)[0]; }
    return { o: o, k: k, v: o[k] };
  }
  function addEnd(ref, y) { var r = add(ref.v, y); ref.o[ref.k] = r; return r; }
  /** Object spread and rest: each argument's own keys are copied natively (charged before or after the copy). */
  function own(x) {
    for (var i = 0; i < arguments.length; i++) {
      var o = arguments[i];
      if (o !== null && (typeof o === "object" || typeof o === "function")) pending += ownKeys(o).length * PER_KEY;
      else if (typeof o === "string") pending += o.length * PER_KEY;
    }
    if (pending >= TENTH) charge(0);
    return x;
  }
  function first(x) { return x; }
  var NONE = { value: undefined, done: true };
  /**
   * What for (k in x) visits, for for…of: own enumerable string keys (integer-like first, then
   * in creation order), then the prototype's not shadowed by a key seen before (enumerable or
   * not), and so on up the chain; a key deleted before its turn is skipped. Charged by the keys listed.
   */
  function forIn(x) {
    var keys = [], at = 0, o = null;
    if (x !== null && x !== undefined) {
      o = O(x);
      // The object's own: the original Object.keys lists them natively in for-in's order.
      keys = rApply(keys0, O, [o]);
      pending += keys.length;
      if (pending >= TENTH) charge(0);
      // The prototypes' (usually a few dozen keys, none enumerable), unless an object below has the key.
      var below = [o];
      for (var p = getProto(o); p !== null; p = getProto(p)) {
        var ks = ownKeys(p);
        pending += ks.length;
        if (pending >= TENTH) charge(0);
        for (var i = 0; i < ks.length; i++) {
          var k = ks[i], d = typeof k === "string" ? gopd(p, k) : undefined;
          if (d === undefined || !d.enumerable) continue;
          var shadowed = false;
          for (var j = 0; j < below.length && !shadowed; j++) shadowed = rApply(hasOwn, below[j], [k]);
          if (!shadowed) keys[keys.length] = k;
        }
        below[below.length] = p;
      }
    }
    var it = {
      next: function () {
        while (at < keys.length) { var k = keys[at++]; if (k in o) return { value: k, done: false }; }
        return NONE;
      },
    };
    it[symIterator] = function () { return it; };
    return it;
  }
  return { add: add, str: str, addStart: addStart, addEnd: addEnd, own: own, first: first, forIn: forIn };
})
`;

/** The names the rewrite calls, bound in the sandbox as global constants (not globalThis properties: no script reaches them by another name). */
export const HELPERS = ["add", "str", "addStart", "addEnd", "own", "first", "forIn"] as const;

/** Evaluates the metering prelude with `charge` (an expression naming the host's charge function) and binds the helpers. */
export function meterPrelude(charge: string): string {
  return `const __sbx = ${METER_PRELUDE}(${charge});\n${HELPERS.map((h) => `const __sbx_${h} = __sbx.${h};`).join(" ")}\n`;
}
