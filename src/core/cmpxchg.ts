/**
 * Request rules of the compare-exchange endpoints: what a key, an index and a value body must be,
 * with RavenDB's exception types and wording. Pure: the routes call these before any object is
 * touched, so bad input never reaches storage.
 */
import { badInput, echo, ErrorTypes, RavenError } from "./errors.js";
import { parseExpires } from "./expires.js";
import { nestsDeeperThan } from "./json-depth.js";
import { encodeJson, isJsonObject, type JsonNumber, type JsonValue, parseJson } from "./json.js";
import { isBlank, isKeyTooBig, isWellFormed, utf8Length } from "./keys.js";
import { MAX_JSON_DEPTH } from "./limits.js";

/**
 * Largest accepted value body (the JSON of `{"Object":…,"@metadata":…}`), in UTF-8 bytes.
 * Cloudflare caps a SQLite row at 2 MB; 1 MiB leaves room for the key, metadata columns and the
 * request-log copy of the result, and local workerd does not enforce the platform cap at all.
 */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Indexes are SQLite integers read back as JS numbers: keep them exact. */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER;

export function requireKey(raw: string | null | undefined): string {
  if (isBlank(raw)) {
    throw badInput(ErrorTypes.argument, "Query string key is mandatory, but wasn't specified.");
  }
  return requireWellFormed(raw, "key");
}

/** Keys and ids must be well-formed UTF-16: a lone surrogate has no UTF-8 form to store or name. */
export function requireWellFormed(raw: string, what: string): string {
  if (!isWellFormed(raw)) {
    throw badInput(ErrorTypes.argument, `The ${what} '${echo(raw)}' is not well-formed text: it has a lone UTF-16 surrogate.`);
  }
  return raw;
}

/** Keys are length-checked where RavenDB checks them: on writes. */
export function requireWritableKey(raw: string | null | undefined): string {
  const key = requireKey(raw);
  if (isKeyTooBig(key)) {
    throw badInput(
      ErrorTypes.keyTooBig,
      `Compare Exchange key cannot exceed 512 bytes, but the key was ${utf8Length(key)} bytes. The invalid key is '${echo(key)}'.`,
    );
  }
  return key;
}

/** The index of a query string (`?index=`): required, one reading with the body's (see parseIndex). */
export function requireIndex(raw: string | null | undefined): number {
  if (isBlank(raw)) {
    throw badInput(ErrorTypes.argument, "Query string index is mandatory, but wasn't specified.");
  }
  const index = parseIndex(raw.trim());
  if (index === "negative") throw badInput(ErrorTypes.invalidData, "Index must be a non-negative number");
  if (index === "malformed") {
    throw badInput(ErrorTypes.argument, `Could not parse header 'index' header as long, value was: ${echo(raw)}`);
  }
  return index;
}

/**
 * The one reading of a compare-exchange index, wherever it comes from (a query string, a JSON
 * number of a batch, the edge client): a whole number written in digits, 0 to 2^53 - 1 (indexes
 * are SQLite integers read back as JS numbers, so they must stay exact). `1.0`, `1e3` and numbers
 * past 2^53 are "malformed", as they are in a query string.
 */
export function parseIndex(raw: string | number | JsonNumber): number | "malformed" | "negative" {
  const text = typeof raw === "number" ? (Number.isFinite(raw) ? JSON.stringify(raw) : "") : String(raw);
  if (!/^[+-]?\d+$/.test(text)) return "malformed";
  const index = Number(text);
  if (index < 0) return "negative";
  return index > MAX_INDEX ? "malformed" : index;
}

/** Optional integer query value as RavenDB's GetIntQueryString reads it (`start`, `pageSize`). */
export function optionalInt(name: string, raw: string | null | undefined): number | undefined {
  return optionalWhole(name, raw, "int", /^[+-]?\d{1,10}$/, (n) => Math.abs(n) <= 2 ** 31 - 1);
}

/**
 * A query-string long (RavenDB's GetLongQueryString: HiLo's maxima and sizes), as far as a double
 * holds it exactly; undefined when absent.
 */
export function optionalLong(name: string, raw: string | null | undefined): number | undefined {
  return optionalWhole(name, raw, "long", /^[+-]?\d{1,16}$/, Number.isSafeInteger);
}

function optionalWhole(
  name: string,
  raw: string | null | undefined,
  type: "int" | "long",
  digits: RegExp,
  fits: (n: number) => boolean,
): number | undefined {
  if (isBlank(raw)) return undefined;
  const text = raw.trim();
  if (!digits.test(text) || !fits(Number(text))) {
    throw badInput(ErrorTypes.argument, `Could not parse query string '${name}' as ${type}, value was: ${echo(raw)}`);
  }
  return Number(text);
}

/** A value body, checked: `json` is its compact text, numbers exactly as sent. */
export interface CheckedValue {
  json: string;
  /** The instant from `@metadata["@expires"]`, ms since the epoch; null when it never expires. */
  expiresAt: number | null;
}

/**
 * `PUT /cmpxchg`: the request body as text, parsed with the one JSON reader, then checked by
 * `check` (the route adds its documented schema to {@link checkValue}).
 */
export function checkValueBody(text: string, check: (body: JsonValue) => CheckedValue = (body) => checkValue(body)): CheckedValue {
  const size = utf8Length(text);
  // Whitespace only shrinks when encoded compactly: a body over twice the limit cannot fit.
  if (size > MAX_VALUE_BYTES * 2) throw valueTooBig(size);
  // Before any parse: the reader and every later writer recurse (see json-depth.ts).
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw tooDeep("The value");
  let parsed: JsonValue;
  try {
    parsed = parseJson(text);
  } catch (err) {
    throw badInput(
      ErrorTypes.invalidData,
      text.trim() === ""
        ? 'The request body is empty; expected a JSON object such as {"Object": …}.'
        : `The request body is not valid JSON: ${(err as Error).message}`,
    );
  }
  return check(parsed);
}

/**
 * The one validator and encoder of a compare-exchange value `{"Object": …, "@metadata": {…}}`,
 * whichever way it came: a single PUT, a batch's CompareExchangePUT, the edge client before it
 * sends. `what` names the value in messages ("The request body", "The value of 'k'").
 */
export function checkValue(body: unknown, what = "The request body"): CheckedValue {
  if (!isJsonObject(body)) {
    throw badInput(ErrorTypes.invalidData, `${what} must be a JSON object such as {"Object": …, "@metadata": {…}}.`);
  }
  if (!("Object" in body)) {
    throw badInput(ErrorTypes.invalidData, `${what} has no 'Object' property; the value is sent as {"Object": <value>}.`);
  }
  const expiresAt = readExpires(body["@metadata"]);
  const json = encodeJson(body);
  const size = utf8Length(json);
  if (size > MAX_VALUE_BYTES) throw valueTooBig(size);
  return { json, expiresAt };
}

/** A value body `{"Object": value}`, plus `@metadata` when there is any: what a client sends. */
export function valueBody(value: unknown, metadata?: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { Object: value === undefined ? null : value };
  if (metadata && Object.keys(metadata).length > 0) body["@metadata"] = metadata;
  return body;
}

/** Checks `@metadata` and returns the `@expires` instant it carries, if any. */
export function readExpires(metadata: unknown): number | null {
  if (metadata === undefined) return null;
  if (!isJsonObject(metadata)) {
    throw badInput(ErrorTypes.invalidData, "'@metadata' must be a JSON object.");
  }
  const expires = (metadata as Record<string, unknown>)["@expires"];
  if (expires === undefined) return null;
  if (typeof expires !== "string") {
    throw badInput(ErrorTypes.format, `@expires should contain date but has: ${echo(encodeJson(expires))}`);
  }
  const at = parseExpires(expires);
  if (at === null) {
    throw badInput(
      ErrorTypes.format,
      `@expires should contain date but has: '${echo(expires)}'. Use ISO-8601, e.g. 2030-01-01T00:00:00.0000000Z.`,
    );
  }
  return at;
}

/** A value, document or batch nested deeper than MAX_JSON_DEPTH levels (400, before any parse). */
export function tooDeep(what: string): RavenError {
  return badInput(ErrorTypes.invalidData, `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`);
}

export function valueTooBig(size: number): RavenError {
  return new RavenError(413, ErrorTypes.argument, `The compare exchange value is ${size} bytes; the limit is ${MAX_VALUE_BYTES} bytes.`);
}
