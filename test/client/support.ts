// Shared pieces of the client tests: a client wired to the Worker in-process, unique databases.
import { exports } from "cloudflare:workers";
// The Worker's modules, loaded while the test file is collected (see ../load-worker.ts).
import "../load-worker";
import { CmpxchgClient, type CmpxchgClientOptions } from "../../src/client";

export const BASE = "http://cmpxchg.test";
let counter = 0;

/** Storage is shared by the tests of a file: every test works in a database of its own. */
export const freshDb = (label = "client") => `${label}_${Date.now()}_${++counter}`;

/** The Worker's own fetch, as the client's transport. */
export const workerFetch = (request: Request) => exports.default.fetch(request);

export function clientFor(database: string, options: Partial<CmpxchgClientOptions> = {}): CmpxchgClient {
  return new CmpxchgClient({ url: BASE, database, fetch: workerFetch, ...options });
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn` and returns what it threw (fails the test if it did not throw). */
export async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to throw");
}
