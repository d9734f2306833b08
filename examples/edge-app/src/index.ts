/**
 * edge-app: a Worker that uses edge-cmpxchg through a Service Binding (no HTTP hop, no token):
 *
 * - POST /signup             a user with a unique email: reservation and user document in one
 *                            cluster-wide transaction, so a failed signup leaves nothing behind;
 * - POST /jobs/:id/claim     claim a job once: a create-only item `jobs/<id>/claim` (a lease);
 * - POST /payments           an idempotent payment: retries with the same Idempotency-Key get the
 *                            first answer back, and the payment is recorded once;
 * - GET  /payments           the caller's recorded payments.
 *
 * /payments needs an API key (`Authorization: Bearer <key>`, keys in API_KEYS): it names the
 * account, and the account scopes both the payments and the Idempotency-Keys, so one caller's
 * `order-1001` is never another caller's.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { CmpxchgServiceClient, expiresIn, reserveUniqueWithDocument, type CmpxchgBinding } from "edge-cmpxchg-client";
import { idempotency } from "edge-cmpxchg-client/hono";

export interface AppEnv {
  /** Service Binding to the edge-cmpxchg Worker's `CmpxchgService` entrypoint. */
  CMPXCHG: CmpxchgBinding;
  /** The database this app keeps its items in. */
  DATABASE: string;
  /** The callers of /payments: JSON `[{"sha256": "<hex of SHA-256(API key)>", "account": "<id>"}]`. */
  API_KEYS: string;
}

type App = { Bindings: AppEnv; Variables: { account: string } };

const app = new Hono<App>();

/**
 * A JSON object body, or a 400 problem+json (RFC 9457) when the body is not JSON or not an object:
 * malformed input is the caller's error, never a 500.
 */
async function jsonBody(c: Context<App>): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch (err) {
    throw problem(400, "Malformed JSON", `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw problem(400, "Invalid body", "The request body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}

function problem(status: 400 | 409 | 422, title: string, detail: string): HTTPException {
  const res = new Response(JSON.stringify({ type: "about:blank", title, status, detail }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
  return new HTTPException(status, { res });
}

app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  console.error("edge-app: unhandled error", err);
  return c.json({ type: "about:blank", title: "Internal error", status: 500 }, 500);
});
const cmpxchg = (env: AppEnv) => new CmpxchgServiceClient(env.CMPXCHG, env.DATABASE);

app.post("/signup", async (c) => {
  const { email, name } = (await jsonBody(c)) as { email?: unknown; name?: unknown };
  if (typeof email !== "string" || !email.includes("@")) return c.json({ error: "a valid email is required" }, 400);
  const userId = `users/${crypto.randomUUID()}`;
  // Keys are case-insensitive on the server; normalizing here also makes " Ada@X.com" the same.
  const key = `emails/${email.trim().toLowerCase()}`;
  const result = await reserveUniqueWithDocument(
    cmpxchg(c.env),
    key,
    userId,
    userId,
    { email: email.trim(), name: typeof name === "string" ? name : null },
    "Users",
  );
  if (!result.reserved) return c.json({ error: "this email is already registered" }, 409);
  return c.json({ id: userId, email: email.trim() }, 201);
});

app.post("/jobs/:id/claim", async (c) => {
  const { worker, leaseMs } = (await jsonBody(c)) as { worker?: unknown; leaseMs?: unknown };
  if (typeof worker !== "string" || worker === "") return c.json({ error: "worker is required" }, 400);
  if (leaseMs !== undefined && (typeof leaseMs !== "number" || !(leaseMs > 0)))
    return c.json({ error: "leaseMs must be a positive number" }, 400);
  const key = `jobs/${c.req.param("id")}/claim`;
  // Create-only: exactly one claim succeeds. With a lease, a worker that dies frees the job.
  const metadata = typeof leaseMs === "number" ? expiresIn(leaseMs) : undefined;
  const claim = await cmpxchg(c.env).create(key, { worker, claimedAt: new Date().toISOString() }, metadata);
  if (!claim.successful) {
    return c.json({ claimed: false, by: (claim.value as { worker?: string } | null)?.worker ?? null }, 409);
  }
  // The index is a fencing token: strictly larger for every later claim of this job.
  return c.json({ claimed: true, worker, token: claim.index }, 200);
});

/** Account ids become part of item keys, which the server compares case-insensitively: lower case only. */
const ACCOUNT_ID = /^[a-z0-9_-]{1,64}$/;

/** Who is calling: the account of the API key in `Authorization: Bearer <key>`, or 401. */
const authenticate: MiddlewareHandler<App> = async (c, next) => {
  const match = /^Bearer +(\S+)$/i.exec(c.req.header("Authorization") ?? "");
  const account = match ? accountOf(c.env.API_KEYS, await sha256(match[1]!)) : null;
  if (!account) {
    return c.json({ error: "an API key is required: Authorization: Bearer <key>" }, 401, { "WWW-Authenticate": 'Bearer realm="edge-app"' });
  }
  c.set("account", account);
  return next();
};

function accountOf(apiKeys: string, hash: string): string | null {
  let entries: { sha256?: unknown; account?: unknown }[];
  try {
    entries = JSON.parse(apiKeys);
  } catch {
    console.error("edge-app: API_KEYS is not valid JSON");
    return null;
  }
  if (!Array.isArray(entries)) return null;
  const entry = entries.find((e) => typeof e?.sha256 === "string" && e.sha256.toLowerCase() === hash);
  return typeof entry?.account === "string" && ACCOUNT_ID.test(entry.account) ? entry.account : null;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

app.use("/payments", authenticate);
app.use(
  "/payments",
  idempotency({
    service: (c) => (c.env as AppEnv).CMPXCHG,
    database: (c) => (c.env as AppEnv).DATABASE,
    required: true,
    // Keys belong to the account (not to the API key: a rotated key keeps its account's keys).
    scope: (c) => c.get("account"),
  }),
);

app.post("/payments", async (c) => {
  const { amount, currency: given } = (await jsonBody(c)) as { amount?: unknown; currency?: unknown };
  if (given !== undefined && typeof given !== "string") return c.json({ error: "currency must be a string" }, 400);
  const currency = given as string | undefined;
  if (typeof amount !== "number" || amount <= 0) return c.json({ error: "amount must be a positive number" }, 400);
  const id = `pay_${crypto.randomUUID()}`;
  // The side effect a retry must not repeat: recording (in real life, charging) the payment.
  await cmpxchg(c.env).create(`payments/${c.get("account")}/${id}`, { amount, currency: currency ?? "EUR", at: new Date().toISOString() });
  return c.json({ id, amount, currency: currency ?? "EUR" }, 201, { Location: `/payments/${id}` });
});

app.get("/payments", async (c) => {
  const payments = [];
  const prefix = `payments/${c.get("account")}/`;
  for await (const item of cmpxchg(c.env).listAll(prefix)) payments.push({ id: item.key.slice(prefix.length), ...(item.value as object) });
  return c.json({ count: payments.length, payments });
});

export default app;
