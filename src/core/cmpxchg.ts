/**
 * Request rules of the compare-exchange endpoints: what a key, an index and a value body must be,
 * with RavenDB's exception types and wording. Pure: the routes call these before any object is
 * touched, so bad input never reaches storage.
 */
import { badInput, echo, ErrorTypes, RavenError } from "./errors";
import { parseExpires } from "./expires";
import { nestsDeeperThan } from "./json-depth";
import { MAX_JSON_DEPTH } from "./limits";
import { isBlank, isKeyTooBig, isWellFormed, utf8Length } from "./keys";

/**
 * Largest accepted value body (the JSON of `{"Object":…,"@metadata":…}`), in UTF-8 bytes.
 * Cloudflare caps a SQLite row at 2 MB; 1 MiB leaves room for the key, metadata columns and the
 * request-log copy of the result, and local workerd does not enforce the platform cap at all.
 */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Indexes are SQLite integers read back as JS numbers: keep them exact. */
const MAX_INDEX = Number.MAX_SAFE_INTEGER;

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

export function requireIndex(raw: string | null | undefined): number {
  if (isBlank(raw)) {
    throw badInput(ErrorTypes.argument, "Query string index is mandatory, but wasn't specified.");
  }
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) {
    throw badInput(ErrorTypes.argument, `Could not parse header 'index' header as long, value was: ${echo(raw)}`);
  }
  const index = Number(text);
  if (index < 0) throw badInput(ErrorTypes.invalidData, "Index must be a non-negative number");
  if (index > MAX_INDEX) {
    throw badInput(ErrorTypes.argument, `Could not parse header 'index' header as long, value was: ${echo(raw)}`);
  }
  return index;
}

/** Optional non-negative integer query value (`start`, `pageSize`). */
export function optionalInt(name: string, raw: string | null | undefined): number | undefined {
  if (isBlank(raw)) return undefined;
  const text = raw.trim();
  if (!/^[+-]?\d{1,10}$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) {
    throw badInput(ErrorTypes.argument, `Could not parse query string '${name}' as int, value was: ${echo(raw)}`);
  }
  return Number(text);
}

/** A value body, checked: `json` is the text as sent (so big numbers keep their digits). */
export interface CheckedValue {
  json: string;
  /** The instant from `@metadata["@expires"]`, ms since the epoch; null when it never expires. */
  expiresAt: number | null;
}

export function checkValueBody(text: string): CheckedValue {
  const size = utf8Length(text);
  if (size > MAX_VALUE_BYTES) throw valueTooBig(size);
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw tooDeep("The value");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badInput(
      ErrorTypes.invalidData,
      text.trim() === ""
        ? "The request body is empty; expected a JSON object such as {\"Object\": …}."
        : `The request body is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badInput(
      ErrorTypes.invalidData,
      "The request body must be a JSON object such as {\"Object\": …, \"@metadata\": {…}}.",
    );
  }
  const body = parsed as Record<string, unknown>;
  if (!("Object" in body)) {
    throw badInput(
      ErrorTypes.invalidData,
      "The request body has no 'Object' property; the value is sent as {\"Object\": <value>}.",
    );
  }
  return { json: text.trim(), expiresAt: readExpires(body["@metadata"]) };
}

/** Checks `@metadata` and returns the `@expires` instant it carries, if any. */
export function readExpires(metadata: unknown): number | null {
  if (metadata === undefined) return null;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw badInput(ErrorTypes.invalidData, "'@metadata' must be a JSON object.");
  }
  const expires = (metadata as Record<string, unknown>)["@expires"];
  if (expires === undefined) return null;
  if (typeof expires !== "string") {
    throw badInput(ErrorTypes.format, `@expires should contain date but has: ${JSON.stringify(expires)}`);
  }
  const at = parseExpires(expires);
  if (at === null) {
    throw badInput(
      ErrorTypes.format,
      `@expires should contain date but has: '${expires}'. Use ISO-8601, e.g. 2030-01-01T00:00:00.0000000Z.`,
    );
  }
  return at;
}

/** A value, document or batch nested deeper than MAX_JSON_DEPTH levels (400, before any parse). */
export function tooDeep(what: string): RavenError {
  return badInput(ErrorTypes.invalidData, `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`);
}

export function valueTooBig(size: number): RavenError {
  return new RavenError(
    413,
    ErrorTypes.argument,
    `The compare exchange value is ${size} bytes; the limit is ${MAX_VALUE_BYTES} bytes.`,
  );
}
