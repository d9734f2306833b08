/**
 * RavenDB features this server does not have, by the paths their operations use. A request for
 * one answers what is missing (501 NotSupportedException) instead of RavenDB's generic "no handler
 * for path", so a user who ran `new MyIndex().execute(store)` or `session.countersFor(…)` reads
 * why, not just where. Only consulted when no route matched.
 */
import { ErrorTypes, RavenError } from "./errors";

interface Unsupported {
  /** Upper-case HTTP method; null: any. */
  method: string | null;
  /** The path after `/databases/<db>`. */
  path: RegExp;
  feature: string;
}

const FEATURES: Unsupported[] = [
  { method: "PUT", path: /^\/(admin\/)?indexes$/, feature: "static indexes" },
  { method: null, path: /^\/counters$/, feature: "counters" },
  { method: null, path: /^\/attachments(\/|$)/, feature: "attachments" },
  { method: null, path: /^\/timeseries(\/|$)/, feature: "time series" },
  { method: null, path: /^\/revisions(\/|$)/, feature: "revisions" },
  { method: null, path: /^\/subscriptions(\/|$)/, feature: "data subscriptions" },
  { method: "PATCH", path: /^\/docs$/, feature: "patching documents" },
  { method: "PATCH", path: /^\/queries$/, feature: "patching by query" },
  { method: "DELETE", path: /^\/queries$/, feature: "deleting by query" },
];

const DATABASE_PATH = /^\/databases\/[^/]+(\/.*)$/;

/** The error for a request to a feature this server lacks; null when the path is simply unknown. */
export function unsupportedFeature(method: string, pathname: string): RavenError | null {
  const rest = DATABASE_PATH.exec(pathname)?.[1];
  if (rest === undefined) return null;
  const found = FEATURES.find((f) => (f.method === null || f.method === method.toUpperCase()) && f.path.test(rest));
  if (!found) return null;
  return new RavenError(
    501,
    ErrorTypes.notSupported,
    `This server does not support ${found.feature}: it serves compare-exchange items, documents, identities and queries over collections.`,
  );
}
