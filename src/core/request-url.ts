/**
 * What a request URL must look like before anything reads it. Authorization and routing must
 * agree on the path they look at; they do when there is only one way to spell it. So a path with
 * dot segments (`..`, `%2e%2e`), empty segments (`//`), encoded separators (`%2F`, `%5C`) or
 * percent-encodings that are not UTF-8 is refused instead of being normalised one way here and
 * another way elsewhere. The query string must decode to well-formed text too: otherwise two
 * different byte strings (`%FF%FF`, `%FE%FF`) would both read as U+FFFD and name the same key.
 */
import { badInput, echo, ErrorTypes } from "./errors";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Each run of %XX escapes must decode, on its own, to valid UTF-8 (encoded surrogates are not). */
export function hasValidEscapes(text: string): boolean {
  for (const run of text.match(/(?:%[0-9A-Fa-f]{2})+/g) ?? []) {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    try {
      utf8.decode(bytes);
    } catch {
      return false;
    }
  }
  // A "%" not followed by two hex digits is not an escape of anything.
  return !/%(?![0-9A-Fa-f]{2})/.test(text);
}

/** Why the raw path (as sent, before decoding) is not canonical, or null when it is. */
export function nonCanonicalPath(rawPath: string): string | null {
  if (!rawPath.startsWith("/")) return "it does not start with '/'";
  if (!hasValidEscapes(rawPath)) return "it has percent-encodings that are not UTF-8";
  const segments = rawPath.slice(1).split("/");
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    // A trailing slash leaves one empty last segment: routes decide about that (no route has one).
    if (segment === "" && i < segments.length - 1) return "it has an empty segment ('//')";
    const decoded = decodeURIComponent(segment);
    if (decoded === "." || decoded === "..") return "it has a dot segment ('.' or '..')";
    if (/[/\\]/.test(decoded)) return "it has an encoded '/' or '\\'";
  }
  return null;
}

/** Throws RavenDB's BadRequestException (400) unless the URL's path and query are canonical. */
export function requireCanonicalUrl(rawUrl: string): void {
  const afterScheme = rawUrl.indexOf("//");
  const pathStart = rawUrl.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2);
  const rest = pathStart === -1 ? "/" : rawUrl.slice(pathStart);
  const queryAt = rest.search(/[?#]/);
  const path = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? "" : rest.slice(queryAt);
  const problem = nonCanonicalPath(path);
  if (problem) throw badInput(ErrorTypes.badRequest, `The path '${echo(path)}' is refused: ${problem}.`);
  if (!hasValidEscapes(query)) {
    throw badInput(ErrorTypes.badRequest, "The query string has percent-encodings that are not UTF-8.");
  }
}
