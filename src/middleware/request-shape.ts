/**
 * The first middleware: a request whose URL is not canonical (core/request-url.ts) or whose body
 * is larger than MAX_BODY_BYTES is refused before anything else reads it. The body limit is
 * Hono's bodyLimit, which counts bytes as a chunked body streams in and stops reading at the
 * limit, rather than trusting Content-Length alone.
 */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ErrorTypes, RavenError } from "../core/errors";
import { MAX_BODY_BYTES } from "../core/limits";
import { requireCanonicalUrl } from "../core/request-url";
import type { AppEnv } from "./env";

export const canonicalUrl = createMiddleware<AppEnv>(async (c, next) => {
  requireCanonicalUrl(c.req.url);
  return next();
});

export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new RavenError(413, ErrorTypes.argument, `The request body is larger than the limit of ${MAX_BODY_BYTES} bytes.`);
  },
});
