/**
 * Built-ins the query sandbox's QuickJS (2025-04-26, engine/) lacks but scripts had with the
 * packaged build it replaced (2025-09-13): the ES2025 Set methods. Evaluated in each fresh
 * context before the metering prelude (worker/js-meter.ts), which then wraps them like any
 * built-in; being JavaScript, their loops also count towards the interrupt checks.
 *
 * They follow the specification's algorithm (GetSetRecord: the other argument is any object with
 * a numeric `size`, a `has` and a `keys` method; the smaller side is the one iterated), and only
 * fill in what the engine does not have.
 */
export const SET_METHODS_POLYFILL = `
(function () {
  var SP = Set.prototype;
  if (typeof SP.union === "function") return;
  var add = SP.add, del = SP["delete"], has = SP.has, values = SP.values;
  var size = Object.getOwnPropertyDescriptor(SP, "size").get;
  function record(o) {
    if (o === null || (typeof o !== "object" && typeof o !== "function")) throw new TypeError("a set-like object expected");
    var n = +o.size;
    if (n !== n) throw new TypeError("size is not a number");
    var h = o.has, k = o.keys;
    if (typeof h !== "function") throw new TypeError("has is not a function");
    if (typeof k !== "function") throw new TypeError("keys is not a function");
    return { size: n, has: function (v) { return !!h.call(o, v); }, keys: function () { return k.call(o); } };
  }
  // Calls f with each value until f answers false (then closes the iterator): false if stopped.
  function each(it, f) {
    for (;;) {
      var r = it.next();
      if (r.done) return true;
      if (f(r.value) === false) {
        if (typeof it["return"] === "function") it["return"]();
        return false;
      }
    }
  }
  function copy(s) {
    var out = new Set();
    each(values.call(s), function (v) { add.call(out, v); });
    return out;
  }
  var methods = {
    union: function union(other) {
      size.call(this);
      var r = record(other), out = copy(this);
      each(r.keys(), function (v) { add.call(out, v); });
      return out;
    },
    intersection: function intersection(other) {
      var self = this, n = size.call(self), r = record(other), out = new Set();
      if (n <= r.size) each(values.call(self), function (v) { if (r.has(v)) add.call(out, v); });
      else each(r.keys(), function (v) { if (has.call(self, v)) add.call(out, v); });
      return out;
    },
    difference: function difference(other) {
      var n = size.call(this), r = record(other), out = copy(this);
      if (n <= r.size) each(values.call(this), function (v) { if (r.has(v)) del.call(out, v); });
      else each(r.keys(), function (v) { del.call(out, v); });
      return out;
    },
    symmetricDifference: function symmetricDifference(other) {
      var self = this;
      size.call(self);
      var r = record(other), out = copy(self);
      each(r.keys(), function (v) { if (has.call(self, v)) del.call(out, v); else add.call(out, v); });
      return out;
    },
    isSubsetOf: function isSubsetOf(other) {
      var n = size.call(this), r = record(other);
      if (n > r.size) return false;
      return each(values.call(this), function (v) { return r.has(v); });
    },
    isSupersetOf: function isSupersetOf(other) {
      var self = this, n = size.call(self), r = record(other);
      if (n < r.size) return false;
      return each(r.keys(), function (v) { return has.call(self, v); });
    },
    isDisjointFrom: function isDisjointFrom(other) {
      var self = this, n = size.call(self), r = record(other);
      if (n <= r.size) return each(values.call(self), function (v) { return !r.has(v); });
      return each(r.keys(), function (v) { return !has.call(self, v); });
    },
  };
  Object.keys(methods).forEach(function (k) {
    Object.defineProperty(SP, k, { value: methods[k], writable: true, enumerable: false, configurable: true });
  });
})();
`;
