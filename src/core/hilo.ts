/**
 * HiLo id ranges as RavenDB's server hands them out (HiLoHandler). The state of a collection tag
 * is an ordinary document, `Raven/Hilo/<tag>` in the `@hilo` collection, whose `Max` is the last
 * id given out. Keeping it there, not in a private table, is what makes ids safe after a user
 * writes or imports that document (data moved from RavenDB carries it): the next range starts
 * above its `Max`, never at 1 over documents that already exist.
 */
import { requireWellFormed } from "./cmpxchg";
import { badInput, echo, ErrorTypes, type RavenError } from "./errors";
import { parseExpires } from "./expires";
import { encodeJson, isJsonObject, type JsonObject, JsonNumber, parseJson } from "./json";
import { isKeyTooBig } from "./keys";

export const HILO_DOC_PREFIX = "Raven/Hilo/";
export const HILO_COLLECTION = "@hilo";
/** RavenDB's bounds on a range: never below 32 ids, never above 1,048,576. */
export const MIN_RANGE = 32;
export const MAX_RANGE = 1024 * 1024;

/** The tag's HiLo document id; refused as any document id would be (too long, ill-formed). */
export function hiloDocId(tag: string): string {
  const id = HILO_DOC_PREFIX + tag;
  if (isKeyTooBig(id)) throw badInput(ErrorTypes.argument, `The HiLo document id '${echo(id)}' is longer than 512 bytes.`);
  return requireWellFormed(id, "HiLo document id");
}

/**
 * The size of the next range: a client that came back within 30 s gets twice its last one, one
 * that took over a minute half of it, otherwise the same. A `lastRangeAt` that is no date (or
 * none: a client's first range) keeps the last size.
 */
export function hiloCapacity(lastSize: number, lastRangeAt: string | undefined, now: number): number {
  const at = lastRangeAt ? parseExpires(lastRangeAt) : null;
  if (at === null) return Math.max(MIN_RANGE, lastSize);
  const seconds = (now - at) / 1000;
  if (seconds < 30) return Math.min(Math.max(MIN_RANGE, lastSize, lastSize * 2), MAX_RANGE);
  if (seconds > 60) return Math.max(MIN_RANGE, Math.floor(lastSize / 2));
  return Math.max(MIN_RANGE, lastSize);
}

/** `o`-format UTC time (seven fractional digits), which the client sends back as `lastRangeAt`. */
export function hiloTimestamp(now: number): string {
  return new Date(now).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
}

/**
 * Takes the next range from the document's body (null: no document yet). The range starts above
 * both the document's `Max` and the highest id the client says it used (`lastMax`), so neither a
 * lost document nor a stale client can hand out an id twice. Every other field is kept. No body:
 * the range would pass the largest exact integer (any writer can send such a `lastMax`), so it
 * is refused rather than rounded ({@link rangeExhausted}).
 */
export function takeRange(body: string | null, capacity: number, lastMax: number): { oldMax: number; body: string | null } {
  const doc = body === null ? null : asObject(body);
  const oldMax = doc === null ? lastMax : Math.max(maxOf(doc), lastMax);
  if (!Number.isSafeInteger(oldMax + capacity)) return { oldMax, body: null };
  const next: JsonObject = doc ?? { "@metadata": { "@collection": HILO_COLLECTION } };
  next.Max = oldMax + capacity;
  return { oldMax, body: encodeJson(next) };
}

export function rangeExhausted(oldMax: number): RavenError {
  return badInput(
    ErrorTypes.argument,
    `The HiLo range after ${oldMax} would pass ${Number.MAX_SAFE_INTEGER}, the largest id this server counts to.`,
  );
}

/**
 * A client gives back the unused end of its range: `Max` goes back to `last` only if nothing was
 * handed out after that range (`Max` is still its `end`). Null: nothing to write.
 */
export function returnRange(body: string, end: number, last: number): string | null {
  const doc = asObject(body);
  const max = maxOf(doc);
  if (max !== end || last > max) return null;
  doc.Max = last;
  return encodeJson(doc);
}

function asObject(body: string): JsonObject {
  const value = parseJson(body);
  return isJsonObject(value) ? value : {};
}

/**
 * The document's `Max`; anything but a positive number counts as 0, as RavenDB's TryGet does. A
 * Max too large to count on exactly stays large, so {@link takeRange} refuses it rather than
 * starting over at 1.
 */
function maxOf(doc: JsonObject): number {
  const max = doc.Max;
  const value = typeof max === "number" ? max : max instanceof JsonNumber ? Number(max) : 0;
  return value > 0 ? Math.floor(value) : 0;
}
