/**
 * The Hono app: validates, authenticates and routes each request to the Durable Object that owns
 * its keys. The Worker's entry (index.ts) serves it; the Service Binding (service.ts) runs its RPC
 * calls through it too.
 *
 * Order matters: the URL's shape and the body's size are checked before anything reads them;
 * authorization happens inside each route (middleware/access.ts), on what the router matched.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { echo, ErrorTypes, RavenError } from "./core/errors";
import { unsupportedFeature } from "./core/unsupported";
import { SERVER_VERSION } from "./core/server-info";
import { admin } from "./routes/admin";
import { bulkDocs } from "./routes/bulk-docs";
import { cmpxchg } from "./routes/cmpxchg";
import { collections } from "./routes/collections";
import { docs } from "./routes/docs";
import { hilo } from "./routes/hilo";
import { identities } from "./routes/identities";
import { multiGet } from "./routes/multi-get";
import { home } from "./routes/home";
import { openapiRoutes } from "./routes/openapi";
import { operation } from "./routes/define";
import { errors, json } from "./core/schemas/common";
import { MultiGetBody, MultiGetResult } from "./core/schemas/documents";
import { queries } from "./routes/queries";
import { studio } from "./routes/studio";
import { access, isAnonymous, unauthenticated } from "./middleware/access";
import type { AppEnv } from "./middleware/env";
import { principalOf } from "./middleware/principal";
import { canonicalUrl, limitBody } from "./middleware/request-shape";
import { JSON_TYPE } from "./worker/respond";
import { topology } from "./routes/topology";
import { watch } from "./routes/watch";

const app = new OpenAPIHono<AppEnv>();

app.use(async (c, next) => {
  await next();
  // A WebSocket upgrade's response cannot be rebuilt with new headers without losing the socket.
  if (c.res.status === 101) return;
  c.header("Raven-Server-Version", SERVER_VERSION);
  // RavenDB answers every JSON body with an explicit charset; Hono's c.json leaves it out.
  if (c.res.headers.get("Content-Type") === "application/json") c.header("Content-Type", JSON_TYPE);
});

app.use(canonicalUrl);
app.use(limitBody);

app.route("/", topology);
app.route("/", admin);
app.route("/", collections);
app.route("/", watch);
app.route("/", cmpxchg);
app.route("/", docs);
app.route("/", bulkDocs);
app.route("/", hilo);
app.route("/", identities);
app.route("/", queries);
app.route("/", studio);
app.route("/", home);
operation(
  app,
  {
    method: "post",
    path: "/databases/{db}/multi_get",
    guard: access.read,
    operationId: "multiGet",
    tags: ["Documents"],
    summary: "Several GET requests of this database in one (lazy operations); each is authorized as if sent alone",
    body: { schema: MultiGetBody },
    responses: { 200: json("One result per request, in order", MultiGetResult), ...errors(400, 401, 403, 413, 503) },
  },
  multiGet((request, env) => app.fetch(request, env)),
);
openapiRoutes(app);

const pathAndQuery = (url: string) => {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
};

app.notFound(async (c) => {
  // No route, so no guard ran: a stranger learns nothing about which paths exist.
  if (isAnonymous(await principalOf(c))) return errorResponse(unauthenticated(), c.req.url);
  const missing = unsupportedFeature(c.req.method, new URL(c.req.url).pathname);
  if (missing) return errorResponse(missing, c.req.url);
  const err = new RavenError(
    400,
    ErrorTypes.routeNotFound,
    `There is no handler for path: ${c.req.method} ${echo(new URL(c.req.url).pathname)}`,
  );
  return errorResponse(err, c.req.url);
});

app.onError((err, c) => {
  if (err instanceof RavenError) return errorResponse(err, c.req.url);
  // Anything else is our bug or the platform's: log it, answer the envelope without a stack.
  console.error("unhandled error", c.req.method, c.req.url, err);
  const overloaded = (err as { overloaded?: boolean }).overloaded === true;
  const failure = new RavenError(
    503,
    overloaded ? ErrorTypes.timeout : ErrorTypes.server,
    overloaded
      ? "The shard is overloaded; retry later with the same raft-request-id."
      : `Internal error while processing the request: ${(err as Error).message ?? String(err)}`,
  );
  return errorResponse(failure, c.req.url);
});

function errorResponse(err: RavenError, url: string): Response {
  return new Response(JSON.stringify(err.envelope(pathAndQuery(url))), {
    status: err.status,
    headers: { "Content-Type": JSON_TYPE, "Raven-Server-Version": SERVER_VERSION, ...err.headers },
  });
}

export default app;
