/**
 * Server-side ids, as RavenDB assigns them on a PUT:
 * - an id ending in `|` takes the next identity of its prefix: `people|` → `people/1`, `people/2`, …
 *   (the identity's name is the prefix with its `|`, case-insensitive: `people|`);
 * - an id ending in `/` gets a unique number from the server: `people/` → `people/0000000000000000001-A`
 *   (RavenDB writes the document's etag with 19 digits and the node tag).
 */
import { badInput, echo, ErrorTypes } from "./errors";
import { isBlank, isKeyTooBig, lowerKey } from "./keys";
import { NODE_TAG } from "./server-info";

/** RavenDB's default identity parts separator. */
export const IDENTITY_SEPARATOR = "/";

export type ServerIdKind = "identity" | "unique";

/** Which kind of server-side id this id asks for, or null when it is a plain id. */
export function serverIdKind(id: unknown): ServerIdKind | null {
  if (typeof id !== "string" || id.length < 2 || isBlank(id.slice(0, -1))) return null;
  return id.endsWith("|") ? "identity" : id.endsWith("/") ? "unique" : null;
}

/** The stored name of an identity: `people`, `People|` → `people|`. */
export function identityName(raw: string | null | undefined): string {
  if (raw == null || isBlank(raw) || isBlank(raw.replace(/\|$/, ""))) {
    throw badInput(ErrorTypes.argument, "Query string name is mandatory, but wasn't specified.");
  }
  const name = lowerKey(raw.endsWith("|") ? raw : `${raw}|`);
  if (isKeyTooBig(name)) throw badInput(ErrorTypes.argument, `The identity name '${echo(raw)}' is longer than 512 bytes.`);
  return name;
}

/** `people|` with value 7 → `people/7`. */
export function identityId(idWithPipe: string, value: number): string {
  return `${idWithPipe.slice(0, -1)}${IDENTITY_SEPARATOR}${value}`;
}

/** `people/` with number 1 → `people/0000000000000000001-A`. */
export function uniqueId(idWithSlash: string, value: number): string {
  return `${idWithSlash}${String(value).padStart(19, "0")}-${NODE_TAG}`;
}
