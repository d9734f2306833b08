/**
 * The service's API description: an OpenAPI 3.1 document, served at `GET /openapi.json` (and as
 * a reference page at `GET /docs`).
 *
 * Written as data here, next to the request rules it describes: every limit below is the
 * constant the validators use (value size, batch size, key bytes, largest index), so the two
 * cannot disagree on a number. test/openapi.test.ts keeps the rest honest: every route of the
 * app is documented (and nothing that is not a route), and every example request in this
 * document is accepted by the running Worker with the documented status.
 *
 * The RavenDB-compatible answers are described as they are; nothing here changes them.
 */
import { MAX_BATCH_BYTES, MAX_BATCH_COMMANDS } from "./bulk-docs";
import { MAX_VALUE_BYTES } from "./cmpxchg";
import { MAX_KEY_BYTES } from "./keys";

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, example?: unknown): Json => ({
  "application/json": example === undefined ? { schema } : { schema, example },
});
const errors = (...statuses: number[]): Json =>
  Object.fromEntries(
    statuses.map((status) => [String(status), { description: ERROR_TEXT[status] ?? "Error", content: json(ref("ErrorEnvelope")) }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: "Bad input (RavenDB's error envelope; `Type` names the exception)",
  401: "No valid credentials (when authentication is on)",
  403: "Credentials without the right for this database or route",
  409: "Conflict: an index or change vector did not match",
  413: "Body too large",
  429: "Write rate limit of the database reached (`Retry-After`)",
  503: "Unknown database (`Database-Missing` header) or a shard did not answer; retry with the same raft-request-id",
};

const db = {
  name: "db",
  in: "path",
  required: true,
  description: "Database name: letters, digits, `_`, `-`, `.` (case-insensitive)",
  schema: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,128}$" },
  example: "shop",
};
const key = (required: boolean, example = "emails/ada@example.com") => ({
  name: "key",
  in: "query",
  required,
  description: `Compare-exchange key: any non-blank string, case-insensitive; at most ${MAX_KEY_BYTES} UTF-8 bytes on writes`,
  schema: { type: "string" },
  example,
});
const index = (description: string, example = 0) => ({
  name: "index",
  in: "query",
  required: true,
  description,
  schema: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  example,
});
const requestId = {
  name: "raft-request-id",
  in: "query",
  required: false,
  description: "Exactly-once id: a retry with the same id gets the first result instead of applying again",
  schema: { type: "string", maxLength: 256 },
};
const intQuery = (name: string, description: string, example?: number) => ({
  name,
  in: "query",
  required: false,
  description,
  schema: { type: "integer" },
  ...(example === undefined ? {} : { example }),
});

const schemas: Json = {
  ErrorEnvelope: {
    type: "object",
    description: "RavenDB's error envelope. The official client names its exception after the last dotted segment of `Type`.",
    required: ["Url", "Type", "Message", "Error"],
    properties: {
      Url: { type: "string" },
      Type: { type: "string", examples: ["System.ArgumentException"] },
      Message: { type: "string" },
      Error: { type: "string" },
    },
    additionalProperties: true,
  },
  Metadata: {
    type: "object",
    description: "`@expires` (ISO-8601, UTC) makes the item absent from that instant; other entries are stored as they are.",
    properties: { "@expires": { type: "string", format: "date-time" } },
    additionalProperties: true,
  },
  CompareExchangeValueBody: {
    type: "object",
    description: `A stored value: \`{"Object": <any JSON>, "@metadata": {…}}\`, at most ${MAX_VALUE_BYTES} bytes as compact JSON. Numbers keep every digit.`,
    required: ["Object"],
    properties: { Object: {}, "@metadata": ref("Metadata") },
  },
  Item: {
    type: "object",
    required: ["Key", "Value", "Index"],
    properties: {
      Key: { type: "string" },
      Value: { oneOf: [ref("CompareExchangeValueBody"), { type: "null" }] },
      Index: { type: "integer", description: "-1 for a missing key" },
    },
  },
  ItemList: {
    type: "object",
    required: ["Results"],
    properties: {
      Results: { type: "array", items: ref("Item") },
      ContinuationToken: { type: ["string", "null"], description: "Listing only: pass as `continuationToken` for the next page" },
    },
  },
  WriteResult: {
    type: "object",
    description: "RavenDB's CompareExchangeResult. On failure, `Index` and `Value` describe the current item (0 and null when absent).",
    required: ["Index", "Value", "Successful"],
    properties: {
      Index: { type: "integer" },
      Value: { oneOf: [ref("CompareExchangeValueBody"), { type: "null" }] },
      Successful: { type: "boolean" },
    },
  },
  ChangeResult: {
    type: "object",
    required: ["Key", "Value", "Index", "Changed"],
    properties: {
      Key: { type: "string" },
      Value: { oneOf: [ref("CompareExchangeValueBody"), { type: "null" }] },
      Index: { type: "integer" },
      Changed: { type: "boolean", description: "false when the wait timed out" },
    },
  },
  Document: {
    type: "object",
    description: "A document; `@metadata` carries `@collection`, and on reads `@id`, `@change-vector`, `@last-modified`.",
    properties: { "@metadata": { type: "object", additionalProperties: true } },
    additionalProperties: true,
  },
  BatchCommand: {
    type: "object",
    required: ["Type"],
    properties: {
      Type: { enum: ["PUT", "DELETE", "CompareExchangePUT", "CompareExchangeDELETE"] },
      Id: { type: "string", description: "Document id, or compare-exchange key" },
      ChangeVector: { type: ["string", "null"] },
      OriginalChangeVector: { type: ["string", "null"] },
      Index: {
        type: "integer",
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: "CompareExchangePUT/DELETE: the expected index",
      },
      Document: {
        description: "PUT: the document; CompareExchangePUT: a value body",
        oneOf: [ref("Document"), ref("CompareExchangeValueBody")],
      },
    },
  },
  Batch: {
    type: "object",
    description: `A session's saveChanges: at most ${MAX_BATCH_COMMANDS} commands, ${MAX_BATCH_BYTES} bytes. Compare-exchange commands need "TransactionMode": "ClusterWide"; all or nothing.`,
    required: ["Commands"],
    properties: {
      Commands: { type: "array", maxItems: MAX_BATCH_COMMANDS, items: ref("BatchCommand") },
      TransactionMode: { enum: ["SingleNode", "ClusterWide"] },
    },
  },
  BatchResult: {
    type: "object",
    properties: {
      Results: { type: "array", items: { type: "object", additionalProperties: true } },
      TransactionIndex: { type: "integer" },
    },
  },
};

const okJson = (description: string, schema: Json, example?: unknown) => ({ description, content: json(schema, example) });

const paths: Json = {
  "/databases/{db}/cmpxchg": {
    parameters: [db],
    get: {
      operationId: "getCompareExchange",
      summary: "Get items by key, or list by key prefix",
      description:
        "With `key` (repeatable): those items in request order; one missing key alone answers 404 with an empty body. Without: a listing of `startsWith`, in lower-cased key order.",
      parameters: [
        { ...key(false), description: "Key to read (repeat for several)" },
        { name: "startsWith", in: "query", required: false, schema: { type: "string" }, description: "Listing: key prefix" },
        intQuery("start", "Listing: items to skip"),
        intQuery("pageSize", "Listing: items per page (0 or less: all)", 10),
        {
          name: "continuationToken",
          in: "query",
          required: false,
          schema: { type: "string" },
          description: "Listing: resume after the previous page",
        },
      ],
      responses: {
        "200": okJson("Items", ref("ItemList")),
        "404": { description: "A single requested key does not exist (empty body)" },
        ...errors(400, 401, 403, 503),
      },
    },
    put: {
      operationId: "putCompareExchange",
      summary: "Create (index 0) or update at an index",
      description:
        "Writes only if the item's index is `index` (0: only if the key does not exist). A mismatch is not an error: `Successful` is false.",
      parameters: [key(true, "openapi/example"), index("Expected index; 0 creates"), requestId],
      requestBody: {
        required: true,
        content: json(ref("CompareExchangeValueBody"), {
          Object: { user: "users/1" },
          "@metadata": { "@expires": "2099-01-01T00:00:00.0000000Z" },
        }),
      },
      responses: { "200": okJson("The outcome", ref("WriteResult")), ...errors(400, 401, 403, 413, 429, 503) },
    },
    delete: {
      operationId: "deleteCompareExchange",
      summary: "Delete at an index",
      description: "Deletes only if the item's index is `index`; deleting a missing key is a success.",
      parameters: [key(true, "openapi/missing"), index("Expected index"), requestId],
      responses: { "200": okJson("The outcome", ref("WriteResult")), ...errors(400, 401, 403, 429, 503) },
    },
  },
  "/databases/{db}/cmpxchg/wait": {
    parameters: [db],
    get: {
      operationId: "waitForChange",
      summary: "Long poll until an item's index differs from `index` (beyond RavenDB)",
      parameters: [
        key(true, "openapi/example"),
        { ...index("The index waited on (-1: until the key exists)", 0), schema: { type: "integer", minimum: -1 }, required: false },
        intQuery("timeout", "Milliseconds to hold the request (default 30000, at most 60000)", 10),
      ],
      responses: { "200": okJson("The item now, and whether it changed", ref("ChangeResult")), ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/cmpxchg/changes": {
    parameters: [db],
    get: {
      operationId: "watchChanges",
      summary: "WebSocket stream of puts, deletes and expiries of a key or a prefix (beyond RavenDB)",
      description: "Send `Upgrade: websocket`. Messages are JSON `{Type: Put|Delete|Expire, Key, Index, Value}`.",
      parameters: [
        key(false),
        {
          name: "prefix",
          in: "query",
          required: false,
          schema: { type: "string" },
          description: "Watch every key with this prefix (instead of `key`)",
        },
      ],
      responses: { "101": { description: "Switching to the WebSocket" }, ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/bulk_docs": {
    parameters: [db],
    post: {
      operationId: "bulkDocs",
      summary: "A batch: documents (single-node) or documents and compare-exchange items (cluster-wide), all or nothing",
      parameters: [requestId, { name: "disableAtomicDocumentWrites", in: "query", required: false, schema: { type: "boolean" } }],
      requestBody: {
        required: true,
        content: json(ref("Batch"), {
          Commands: [{ Type: "CompareExchangePUT", Id: "openapi/batch", Index: 0, Document: { Object: { user: "users/1" } } }],
          TransactionMode: "ClusterWide",
        }),
      },
      responses: { "201": okJson("Committed", ref("BatchResult")), ...errors(400, 401, 403, 409, 413, 429, 503) },
    },
  },
  "/databases/{db}/docs": {
    parameters: [db],
    get: {
      operationId: "getDocuments",
      summary: "Load documents by id",
      parameters: [
        {
          name: "id",
          in: "query",
          required: true,
          schema: { type: "string" },
          description: "Document id (repeat for several)",
          example: "users/none",
        },
        {
          name: "txMode",
          in: "query",
          required: false,
          schema: { enum: ["ClusterWide"] },
          description: "Also return the ids' atomic guards",
        },
      ],
      responses: {
        "200": okJson("The documents, null for missing ones", {
          type: "object",
          properties: { Results: { type: "array", items: { oneOf: [ref("Document"), { type: "null" }] } } },
        }),
        "404": { description: "A single requested id does not exist" },
        ...errors(400, 401, 403, 503),
      },
    },
    post: {
      operationId: "getDocumentsPost",
      summary: "Load many documents by id",
      requestBody: {
        required: true,
        content: json(
          { type: "object", required: ["Ids"], properties: { Ids: { type: "array", items: { type: "string" } } } },
          { Ids: ["users/none", "users/other"] },
        ),
      },
      responses: { "200": okJson("The documents, null for missing ones", { type: "object" }), ...errors(400, 401, 403, 503) },
    },
    put: {
      operationId: "putDocument",
      summary: "Store one document",
      parameters: [
        { name: "id", in: "query", required: true, schema: { type: "string" }, example: "users/openapi" },
        { name: "If-Match", in: "header", required: false, schema: { type: "string" }, description: "Expected change vector" },
      ],
      requestBody: { required: true, content: json(ref("Document"), { name: "Ada", "@metadata": { "@collection": "Users" } }) },
      responses: {
        "201": okJson("Stored", { type: "object", properties: { Id: { type: "string" }, ChangeVector: { type: "string" } } }),
        ...errors(400, 401, 403, 409, 413, 429, 503),
      },
    },
    delete: {
      operationId: "deleteDocument",
      summary: "Delete one document",
      parameters: [
        { name: "id", in: "query", required: true, schema: { type: "string" }, example: "users/none" },
        { name: "If-Match", in: "header", required: false, schema: { type: "string" } },
      ],
      responses: { "204": { description: "Deleted (or absent)" }, ...errors(400, 401, 403, 409, 429, 503) },
    },
  },
  "/databases/{db}/queries": {
    parameters: [db],
    post: {
      operationId: "query",
      summary: "A query in the RQL subset the official client's sessions send",
      requestBody: {
        required: true,
        content: json(
          {
            type: "object",
            required: ["Query"],
            properties: {
              Query: { type: "string" },
              QueryParameters: { type: "object" },
              Start: { type: "integer" },
              PageSize: { type: "integer" },
            },
          },
          { Query: "from Users where name = $name", QueryParameters: { name: "Ada" } },
        ),
      },
      responses: { "200": okJson("Query results", { type: "object" }), ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/multi_get": {
    parameters: [db],
    post: {
      operationId: "multiGet",
      summary: "Several GET requests of this database in one (lazy operations)",
      requestBody: {
        required: true,
        content: json({
          type: "object",
          required: ["Requests"],
          properties: {
            Requests: {
              type: "array",
              items: { type: "object", properties: { Url: { type: "string" }, Query: { type: "string" }, Method: { type: "string" } } },
            },
          },
        }),
      },
      responses: { "200": okJson("One result per request", { type: "object" }), ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/hilo/next": {
    parameters: [db],
    get: {
      operationId: "hiloNext",
      summary: "The next range of ids for a collection (HiLo)",
      parameters: [
        { name: "tag", in: "query", required: true, schema: { type: "string" }, example: "users" },
        intQuery("lastBatchSize", "Size of the previous range"),
        { name: "lastRangeAt", in: "query", required: false, schema: { type: "string" } },
        { name: "identityPartsSeparator", in: "query", required: false, schema: { type: "string" } },
        intQuery("lastMax", "Highest id the client used"),
      ],
      responses: {
        "200": okJson("The range", {
          type: "object",
          properties: { Low: { type: "integer" }, High: { type: "integer" }, Prefix: { type: "string" } },
        }),
        ...errors(400, 401, 403, 503),
      },
    },
  },
  "/databases/{db}/hilo/return": {
    parameters: [db],
    put: {
      operationId: "hiloReturn",
      summary: "Give back the unused end of a range",
      parameters: [
        { name: "tag", in: "query", required: true, schema: { type: "string" }, example: "users" },
        { ...intQuery("end", "End of the range", 32), required: true },
        { ...intQuery("last", "Last id used", 1), required: true },
      ],
      responses: { "204": { description: "Taken back if nothing came after it" }, ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/identity/next": {
    parameters: [db],
    post: {
      operationId: "nextIdentity",
      summary: "Take the next identity of a name (NextIdentityForOperation); `people|` ids use the same counter",
      parameters: [{ name: "name", in: "query", required: true, schema: { type: "string" }, example: "people" }],
      responses: {
        "200": okJson("The identity taken", { type: "object", properties: { NewIdentityValue: { type: "integer" } } }),
        ...errors(400, 401, 403, 503),
      },
    },
  },
  "/databases/{db}/identity/seed": {
    parameters: [db],
    post: {
      operationId: "seedIdentity",
      summary: "Raise an identity to a value, or set it with force=true (SeedIdentityForOperation)",
      parameters: [
        { name: "name", in: "query", required: true, schema: { type: "string" }, example: "people" },
        { ...intQuery("value", "The value", 10), required: true },
        { name: "force", in: "query", required: false, schema: { type: "boolean" } },
      ],
      responses: {
        "200": okJson("The identity's value now", { type: "object", properties: { NewSeedValue: { type: "integer" } } }),
        ...errors(400, 401, 403, 503),
      },
    },
  },
  "/databases/{db}/debug/identities": {
    parameters: [db],
    get: {
      operationId: "listIdentities",
      summary: "Every identity of the database and its value (GetIdentitiesOperation)",
      responses: {
        "200": okJson("Identities by name", { type: "object", additionalProperties: { type: "integer" } }),
        ...errors(401, 403, 503),
      },
    },
  },
  "/databases/{db}/transactions": {
    parameters: [db],
    get: {
      operationId: "recentTransactions",
      summary: "Recent cluster-wide transactions, newest first (the Studio's panel)",
      parameters: [intQuery("limit", "How many (default 50, at most 500)", 5)],
      responses: { "200": okJson("Transactions", { type: "object" }), ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/routing": {
    parameters: [db],
    get: {
      operationId: "databaseRouting",
      summary: "How the database routes keys: created with key hash tags or not (beyond RavenDB)",
      responses: {
        "200": okJson("The routing", {
          type: "object",
          required: ["KeyHashTags", "ShardCount"],
          properties: { KeyHashTags: { type: "boolean" }, ShardCount: { type: "integer" } },
        }),
        ...errors(400, 401, 403, 503),
      },
    },
  },
  "/databases/{db}/stats": {
    parameters: [db],
    get: {
      operationId: "databaseStats",
      summary: "Counts of documents and compare-exchange items",
      responses: { "200": okJson("Statistics", { type: "object" }), ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/stats/detailed": {
    parameters: [db],
    get: {
      operationId: "databaseStatsDetailed",
      summary: "Detailed statistics",
      responses: { "200": okJson("Statistics", { type: "object" }), ...errors(400, 401, 403, 503) },
    },
  },
  "/databases/{db}/configuration/client": {
    parameters: [db],
    get: {
      operationId: "clientConfiguration",
      summary: "Client configuration (the official client asks for it)",
      responses: { "200": okJson("Configuration", { type: "object" }), ...errors(401, 403, 503) },
    },
  },
  "/databases": {
    get: {
      operationId: "listDatabases",
      summary: "Explicitly created databases (admin)",
      parameters: [
        intQuery("start", "Names to skip"),
        intQuery("pageSize", "At most this many (1–1024)"),
        { name: "namesOnly", in: "query", required: false, schema: { type: "boolean" } },
      ],
      responses: {
        "200": okJson("Names", { type: "object", properties: { Databases: { type: "array", items: { type: "string" } } } }),
        ...errors(400, 401, 403),
      },
    },
  },
  "/admin/databases": {
    put: {
      operationId: "createDatabase",
      summary: "Create a database (admin; needed when databases are explicit)",
      parameters: [{ name: "name", in: "query", required: false, schema: { type: "string" }, example: "openapi_created" }],
      requestBody: {
        required: false,
        content: json({ type: "object", properties: { DatabaseName: { type: "string" } } }, { DatabaseName: "openapi_created" }),
      },
      responses: {
        "201": okJson("Created", {
          type: "object",
          required: ["Name", "RaftCommandIndex"],
          properties: { Name: { type: "string" }, RaftCommandIndex: { type: "integer" } },
        }),
        ...errors(400, 401, 403, 409),
      },
    },
    delete: {
      operationId: "deleteDatabases",
      summary: "Delete databases and everything they stored (admin)",
      requestBody: {
        required: true,
        content: json(
          {
            type: "object",
            required: ["DatabaseNames"],
            properties: { DatabaseNames: { type: "array", items: { type: "string" } }, HardDelete: { type: "boolean" } },
          },
          { DatabaseNames: ["openapi_created"], HardDelete: true },
        ),
      },
      responses: { "200": okJson("Deleted", { type: "object" }), ...errors(400, 401, 403) },
    },
  },
  "/topology": {
    get: {
      operationId: "topology",
      summary: "Database topology (one node: this service)",
      parameters: [{ name: "name", in: "query", required: true, schema: { type: "string" }, example: "shop" }],
      responses: { "200": okJson("Topology", { type: "object" }), ...errors(400, 401, 403) },
    },
  },
  "/cluster/topology": {
    get: {
      operationId: "clusterTopology",
      summary: "Cluster topology",
      responses: { "200": okJson("Topology", { type: "object" }), ...errors(401, 403) },
    },
  },
  "/cluster/node-info": {
    get: {
      operationId: "nodeInfo",
      summary: "Node information (also a health check)",
      responses: { "200": okJson("Node", { type: "object" }) },
    },
  },
  "/studio": {
    get: {
      operationId: "studio",
      summary: "The Studio: a management page for compare-exchange items (HTML)",
      responses: { "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
    },
  },
  "/": {
    get: {
      operationId: "home",
      summary: "A landing page linking the Studio, this reference and the health check (HTML)",
      responses: { "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
    },
  },
  "/health": {
    get: {
      operationId: "health",
      summary: "Liveness: the Worker answers (public)",
      responses: {
        "200": okJson("Alive", { type: "object", properties: { Status: { type: "string" }, ServerVersion: { type: "string" } } }),
      },
    },
  },
  "/openapi.json": {
    get: { operationId: "openapi", summary: "This document", responses: { "200": okJson("OpenAPI 3.1", { type: "object" }) } },
  },
  "/docs": {
    get: {
      operationId: "docs",
      summary: "This document as a reference page (HTML)",
      responses: { "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
    },
  },
};

/** The document. `serverUrl`: the origin it is served from, listed as the server. */
export function openApiDocument(serverUrl?: string): Json {
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-cmpxchg",
      version: "0.1.0",
      summary: "RavenDB-compatible compare-exchange on Cloudflare Workers and Durable Objects",
      description:
        "Versioned key/value items: create, update and delete succeed only if the caller's index matches. Wire-compatible with the official RavenDB clients; errors are RavenDB's envelope. Clients: the `ravendb` npm package, or `edge-cmpxchg-client` (also a CLI).",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }, {}],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A token whose SHA-256 is in AUTH_TOKENS (when AUTH is on)" },
      },
      schemas,
    },
    paths,
  };
}
