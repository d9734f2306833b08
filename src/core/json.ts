/**
 * The one JSON reader and writer for stored values and documents. `JSON.parse` turns every number
 * into a double, so `12345678901234567890123` would come back as `1.2345678901234568e+22` and
 * `1.50` as `1.5`; RavenDB keeps numbers as sent. Here a number whose text a double does not
 * reproduce stays a {@link JsonNumber} holding that text, and {@link encodeJson} writes it back
 * verbatim. Everything else is plain JSON data.
 *
 * Pure and dependency-free: the Worker's routes, the edge client (Node ≥ 20, browsers, Workers)
 * and the tests all use this file. It does not rely on `JSON.rawJSON` or the reviver's `source`
 * argument, which Node 20 and some browsers lack.
 */

/** A JSON number kept as its source text because a double would change it. */
export class JsonNumber {
  constructor(readonly text: string) {
    if (!NUMBER.test(text)) throw new SyntaxError(`Not a JSON number: ${text}`);
  }
  /** The nearest double, for arithmetic (digits beyond a double's precision are lost). */
  valueOf(): number {
    return Number(this.text);
  }
  toString(): string {
    return this.text;
  }
  /** `JSON.stringify` of an object holding one: the double (it cannot write raw text). */
  toJSON(): number {
    return Number(this.text);
  }
}

export type JsonValue = null | boolean | number | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A JSON object (not an array, not null, not a kept number). */
export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** A number as a JS value: a double when its text survives one, else a {@link JsonNumber}. */
export function numberFromText(text: string): number | JsonNumber {
  const value = Number(text);
  return JSON.stringify(value) === text ? value : new JsonNumber(text);
}

/**
 * Parses JSON text as `JSON.parse` does (same grammar, last duplicate key wins), keeping numbers
 * exact. Throws SyntaxError naming the position of the first error.
 */
export function parseJson(text: string): JsonValue {
  if (nativeReadsSame(text)) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // Not JSON: the reader below names the error as it always did.
    }
  }
  return readJson(text);
}

/** The reader alone, without the native fast path (exported for the test that compares them). */
export function readJson(text: string): JsonValue {
  const parser = new Parser(text);
  parser.space();
  const value = parser.value(0);
  parser.space();
  if (parser.at < text.length) parser.fail("Unexpected non-whitespace character after JSON");
  return value;
}

/** Deeper nesting is refused instead of overflowing the stack. */
export const MAX_JSON_DEPTH = 512;

/**
 * Strings, numbers and brackets of JSON text, as the grammar reads them when the text is valid
 * (a match never starts inside a string: every string is consumed whole from its opening quote,
 * and outside strings a digit or `-` starts only a number).
 */
const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|[[{]|[\]}]/g;

/**
 * Whether `JSON.parse` would read `text` exactly as the reader below does: every number survives
 * a double (its text is what the double prints) and nothing nests deeper than MAX_JSON_DEPTH.
 * Why: `JSON.parse` is native and 2–4× faster than the reader (a batch or value body is parsed
 * on every write); the scan is one native regular expression. False (the reader then runs) on
 * anything unusual, including text that is not JSON at all — never a different result.
 */
function nativeReadsSame(text: string): boolean {
  let depth = 0;
  TOKEN.lastIndex = 0;
  try {
    for (let match = TOKEN.exec(text); match; match = TOKEN.exec(text)) {
      const token = match[0];
      const first = token.charCodeAt(0);
      if (first === 0x22) continue;
      if (first === 0x5b || first === 0x7b) {
        if (++depth > MAX_JSON_DEPTH) return false;
      } else if (first === 0x5d || first === 0x7d) depth--;
      else if (JSON.stringify(Number(token)) !== token) return false;
    }
  } catch {
    // A regular-expression engine limit on a huge string: the reader handles it.
    return false;
  }
  return true;
}

class Parser {
  at = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new SyntaxError(this.at >= this.text.length ? `Unexpected end of JSON input` : `${what} at position ${this.at}`);
  }

  space(): void {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(this.at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.at++;
      else return;
    }
  }

  value(depth: number): JsonValue {
    const c = this.text[this.at];
    switch (c) {
      case "{":
        return this.object(depth + 1);
      case "[":
        return this.array(depth + 1);
      case '"':
        return this.string();
      case "t":
        return this.word("true", true);
      case "f":
        return this.word("false", false);
      case "n":
        return this.word("null", null);
      default:
        return this.number();
    }
  }

  private object(depth: number): JsonObject {
    if (depth > MAX_JSON_DEPTH) this.fail(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    this.at++;
    const result: JsonObject = {};
    this.space();
    if (this.text[this.at] === "}") {
      this.at++;
      return result;
    }
    for (;;) {
      if (this.text[this.at] !== '"') this.fail(`Expected property name or '}' in JSON`);
      const key = this.string();
      this.space();
      if (this.text[this.at] !== ":") this.fail(`Expected ':' after property name in JSON`);
      this.at++;
      this.space();
      // defineProperty: a "__proto__" key is data, as with JSON.parse.
      Object.defineProperty(result, key, { value: this.value(depth), enumerable: true, writable: true, configurable: true });
      this.space();
      const next = this.text[this.at];
      this.at++;
      if (next === "}") return result;
      if (next !== ",") {
        this.at--;
        this.fail(`Expected ',' or '}' after property value in JSON`);
      }
      this.space();
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > MAX_JSON_DEPTH) this.fail(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    this.at++;
    const result: JsonValue[] = [];
    this.space();
    if (this.text[this.at] === "]") {
      this.at++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth));
      this.space();
      const next = this.text[this.at];
      this.at++;
      if (next === "]") return result;
      if (next !== ",") {
        this.at--;
        this.fail(`Expected ',' or ']' after array element in JSON`);
      }
      this.space();
    }
  }

  private string(): string {
    const text = this.text;
    const start = this.at;
    let end = start + 1;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(end);
      if (Number.isNaN(c)) {
        this.at = end;
        this.fail("Unterminated string in JSON");
      }
      if (c === 0x22) break;
      if (c < 0x20) {
        this.at = end;
        this.fail("Bad control character in string literal in JSON");
      }
      if (c === 0x5c) {
        escaped = true;
        end += 2;
      } else end++;
    }
    this.at = end + 1;
    const literal = text.slice(start, end + 1);
    if (!escaped) return literal.slice(1, -1);
    try {
      // The grammar of escapes is JSON.parse's own, on this one string only.
      return JSON.parse(literal) as string;
    } catch {
      this.at = start;
      return this.fail("Bad escaped character in JSON");
    }
  }

  private word<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) this.fail(`Unexpected token '${this.text[this.at]}'`);
    this.at += word.length;
    return value;
  }

  private number(): number | JsonNumber {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.at;
    const found = match.exec(this.text);
    if (!found) this.fail(`Unexpected token '${this.text[this.at]}'`);
    this.at += found[0].length;
    return numberFromText(found[0]);
  }
}

/**
 * Compact JSON text of a value: `JSON.stringify`'s output, except that a {@link JsonNumber} is
 * written as its text. Accepts what `JSON.stringify` accepts (toJSON, undefined members skipped).
 */
export function encodeJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, "");
  return out.join("");
}

function write(input: unknown, out: string[], key: string): boolean {
  let value = input;
  if (value instanceof JsonNumber) {
    out.push(value.text);
    return true;
  }
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON(key: string): unknown }).toJSON(key);
    if (value instanceof JsonNumber) return write(value, out, key);
  }
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") {
      out.push(value.toString());
      return true;
    }
    const text = JSON.stringify(value);
    if (text === undefined) return false;
    out.push(text);
    return true;
  }
  if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      if (!write(item, out, String(i))) out.push("null");
    });
    out.push("]");
    return true;
  }
  out.push("{");
  let first = true;
  for (const name of Object.keys(value)) {
    const mark = out.length;
    out.push(first ? "" : ",", JSON.stringify(name), ":");
    if (write((value as Record<string, unknown>)[name], out, name)) first = false;
    else out.length = mark;
  }
  out.push("}");
  return true;
}
