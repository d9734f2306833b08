/**
 * Writes are rate-limited per database by the Workers rate-limiting binding WRITE_LIMIT where
 * the deployment declares one (wrangler.toml [env.production]); without the binding, no limit.
 * Applied by the write guard (access.ts), after authorization, so strangers cannot spend a
 * database's budget.
 */
import { ErrorTypes, RavenError } from "../core/errors";

/** What a limited client is told to wait, in seconds: the binding's shortest period. */
export const RETRY_AFTER_SECONDS = 10;

export async function enforceWriteLimit(env: Env, database: string): Promise<void> {
  const limiter = env.WRITE_LIMIT;
  if (!limiter) return;
  const { success } = await limiter.limit({ key: database.toLowerCase() });
  if (success) return;
  throw new RavenError(
    429,
    ErrorTypes.server,
    `The write rate limit of database '${database}' is exceeded; retry after ${RETRY_AFTER_SECONDS} s with the same raft-request-id.`,
    {},
    { "Retry-After": String(RETRY_AFTER_SECONDS) },
  );
}
