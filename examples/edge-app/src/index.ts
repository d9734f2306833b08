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
import { Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";
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

/** Request bodies, validated with zod before a handler runs (`@hono/zod-validator`). */
const signupBody = z.object({ email: z.string().trim().includes("@"), name: z.string().optional() });
const claimBody = z.object({ worker: z.string().min(1), leaseMs: z.number().positive().optional() });
const paymentBody = z.object({ amount: z.number().positive(), currency: z.string().optional() });

/**
 * A JSON body checked against `schema`, or a 400 problem+json (RFC 9457) naming what is wrong:
 * malformed or invalid input is the caller's error, never a 500.
 */
const jsonBody = <T extends z.ZodType>(schema: T) =>
  zValidator("json", schema, (result) => {
    if (!result.success) {
      const detail = result.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
      throw problem(400, "Invalid body", detail);
    }
  });

function problem(status: 400 | 409 | 422, title: string, detail: string): HTTPException {
  const res = new Response(JSON.stringify({ type: "about:blank", title, status, detail }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
  return new HTTPException(status, { res });
}

app.onError((err, c) => {
  // The validator's own refusal of a body that is not JSON comes without a response: make it one.
  if (err instanceof HTTPException)
    return err.res ? err.getResponse() : problem(err.status as 400, "Malformed JSON", err.message).getResponse();
  console.error("edge-app: unhandled error", err);
  return c.json({ type: "about:blank", title: "Internal error", status: 500 }, 500);
});
const cmpxchg = (env: AppEnv) => new CmpxchgServiceClient(env.CMPXCHG, env.DATABASE);

app.post("/signup", jsonBody(signupBody), async (c) => {
  const { email, name } = c.req.valid("json");
  const userId = `users/${crypto.randomUUID()}`;
  // Keys are case-insensitive on the server; normalizing here also makes " Ada@X.com" the same.
  const key = `emails/${email.trim().toLowerCase()}`;
  const result = await reserveUniqueWithDocument(cmpxchg(c.env), key, userId, userId, { email: email.trim(), name: name ?? null }, "Users");
  if (!result.reserved) return c.json({ error: "this email is already registered" }, 409);
  return c.json({ id: userId, email: email.trim() }, 201);
});

app.post("/jobs/:id/claim", jsonBody(claimBody), async (c) => {
  const { worker, leaseMs } = c.req.valid("json");
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

app.post("/payments", jsonBody(paymentBody), async (c) => {
  const { amount, currency } = c.req.valid("json");
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
