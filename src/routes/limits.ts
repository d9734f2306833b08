/**
 * Request limits. Bodies are refused by their declared length before anything reads them, and
 * writes are rate-limited per database by the Workers rate-limiting binding WRITE_LIMIT where
 * the deployment declares one (wrangler.toml [env.production]); without the binding, no limit.
 */
import type { MiddlewareHandler } from "hono";
import { MAX_BATCH_BYTES } from "../core/bulk-docs";
import { ErrorTypes, RavenError } from "../core/errors";

/** The largest body any endpoint takes (a bulk_docs batch); single values are capped lower. */
export const MAX_BODY_BYTES = MAX_BATCH_BYTES;
/** What a limited client is told to wait, in seconds: the binding's shortest period. */
export const RETRY_AFTER_SECONDS = 10;

export const limitBodies: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const declared = Number(c.req.header("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    throw new RavenError(413, ErrorTypes.argument, `The request body is ${declared} bytes; the limit is ${MAX_BODY_BYTES} bytes.`);
  }
  return next();
};

export const limitWrites: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const limiter = (c.env as unknown as { WRITE_LIMIT?: RateLimit }).WRITE_LIMIT;
  const method = c.req.method.toUpperCase();
  const database = c.req.param("db");
  const writes = method === "PUT" || method === "DELETE" || (method === "POST" && c.req.path.endsWith("/bulk_docs"));
  if (limiter && database && writes) {
    const { success } = await limiter.limit({ key: database.toLowerCase() });
    if (!success) {
      throw new RavenError(
        429,
        ErrorTypes.server,
        `The write rate limit of database '${database}' is exceeded; retry after ${RETRY_AFTER_SECONDS} s with the same raft-request-id.`,
        {},
        { "Retry-After": String(RETRY_AFTER_SECONDS) },
      );
    }
  }
  return next();
};
