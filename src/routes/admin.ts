/**
 * Database administration as the official client's server operations send it:
 * `PUT /admin/databases` (CreateDatabaseOperation), `DELETE /admin/databases`
 * (DeleteDatabasesOperation: removes every shard's and the coordinator's data), `GET /databases`
 * (GetDatabaseNamesOperation), and `GET /databases/<db>/stats[/detailed]`.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { checkDatabaseName } from "../core/database";
import { badInput, ErrorTypes, RavenError } from "../core/errors";
import { databaseId } from "../core/change-vector";
import { NODE_TAG } from "../core/server-info";
import {
  CreateDatabaseQuery,
  CreatedDatabase,
  DatabaseListQuery,
  DatabaseNames,
  DatabaseRecord,
  DeleteDatabasesBody,
  DeletedDatabases,
  Statistics,
  Routing,
  Transactions,
  TransactionsQuery,
} from "../core/schemas/admin";
import { checkBody } from "../core/schemas/checked";
import { errors, json } from "../core/schemas/common";
import { catalog, createDatabase, forgetDatabase } from "../worker/databases";
import { allCoordinators } from "../stubs";
import { recentTransactions } from "../transactions";
import { allShards } from "../worker/shards";
import { operation } from "./define";

export const admin = new OpenAPIHono<AppEnv>();
const tags = ["Databases"];

operation(
  admin,
  {
    method: "put",
    path: "/admin/databases",
    guard: access.serverAdmin,
    operationId: "createDatabase",
    tags,
    summary: "Create a database (admin; needed when databases are explicit)",
    query: CreateDatabaseQuery,
    body: { schema: DatabaseRecord, required: false },
    responses: { 201: json("Created", CreatedDatabase), ...errors(400, 401, 403, 409) },
  },
  async (c, { query }) => {
    let record: Record<string, unknown> = {};
    const text = await c.req.text();
    if (text.trim() !== "") {
      try {
        record = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw badInput(ErrorTypes.invalidData, "The database record is not valid JSON.");
      }
    }
    const { name, keyHashTags } = checkBody(DatabaseRecord, record, () => ({
      name: checkDatabaseName(query.name ?? (record.DatabaseName as string | undefined)),
      keyHashTags: keyHashTagsOf(record),
    }));
    const outcome = await createDatabase(c.env, name, JSON.stringify(record), keyHashTags);
    if ("occupied" in outcome) {
      throw new RavenError(
        409,
        ErrorTypes.concurrency,
        `Database '${name}' already holds data stored with whole-key routing; key hash tags can only be chosen for an empty database.`,
      );
    }
    const { created, index } = outcome;
    if (!created) throw new RavenError(409, ErrorTypes.concurrency, `Database '${name}' already exists!`);
    return c.json(
      {
        RaftCommandIndex: index,
        Name: name,
        Topology: { Members: [NODE_TAG], Promotables: [], Rehabs: [], ReplicationFactor: 1 },
        NodesAddedTo: [new URL(c.req.url).origin],
      },
      201,
    );
  },
);

operation(
  admin,
  {
    method: "delete",
    path: "/admin/databases",
    guard: access.serverAdmin,
    operationId: "deleteDatabases",
    tags,
    summary: "Delete databases and everything they stored (admin)",
    body: { schema: DeleteDatabasesBody },
    responses: { 200: json("Deleted", DeletedDatabases), ...errors(400, 401, 403) },
  },
  async (c) => {
    let body: { DatabaseNames?: unknown } | null;
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      throw badInput(ErrorTypes.invalidData, 'The body must be {"DatabaseNames": [ … ]}.');
    }
    const names = checkBody(DeleteDatabasesBody, body, () => {
      const names = body?.DatabaseNames;
      if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === "string")) {
        throw badInput(ErrorTypes.argument, "Database names must be provided.");
      }
      return names as string[];
    });
    let index = 0;
    for (const name of names) {
      const database = checkDatabaseName(name);
      forgetDatabase(database);
      index = (await catalog(c.env).remove(database)).index;
      // Everything the database stored, on every shard and in its coordinator.
      await Promise.all(allShards(c.env, database).map((stub) => stub.destroy()));
      await Promise.all(allCoordinators(c.env, database).map((stub) => stub.destroy()));
    }
    return c.json({ RaftCommandIndex: index, PendingDeletes: [] });
  },
);

operation(
  admin,
  {
    method: "get",
    path: "/databases",
    guard: access.serverAdmin,
    operationId: "listDatabases",
    tags,
    summary: "Explicitly created databases (admin)",
    query: DatabaseListQuery,
    responses: { 200: json("Names", DatabaseNames), ...errors(400, 401, 403) },
  },
  async (c, { query }) => {
    const start = Math.max(0, query.start ?? 0);
    const pageSize = Math.min(Math.max(1, query.pageSize ?? 1024), 1024);
    const names = await catalog(c.env).list(start, pageSize);
    return c.json({ Databases: names });
  },
);

/** Recent transactions, newest first (read-only; the Studio's panel), from every log that has them. */
operation(
  admin,
  {
    method: "get",
    path: "/databases/{db}/transactions",
    guard: access.read,
    operationId: "recentTransactions",
    tags,
    summary: "Recent cluster-wide transactions, newest first (the Studio's panel)",
    query: TransactionsQuery,
    responses: { 200: json("Transactions", Transactions), ...errors(400, 401, 403, 503) },
  },
  async (c, { query }) => {
    const limit = Math.min(Math.max(1, query.limit ?? 50), 500);
    return c.json({ Results: await recentTransactions(c.env, c.var.database, limit) });
  },
);

for (const [path, detailed] of [
  ["/databases/{db}/stats", false],
  ["/databases/{db}/stats/detailed", true],
] as const) {
  operation(
    admin,
    {
      method: "get",
      path,
      guard: access.read,
      operationId: detailed ? "databaseStatsDetailed" : "databaseStats",
      tags,
      summary: detailed ? "Detailed statistics: also counts of compare-exchange items and identities" : "Counts of documents",
      responses: { 200: json("Statistics", Statistics), ...errors(401, 403, 503) },
    },
    async (c) => c.json(await statistics(c.env, c.var.database, detailed)),
  );
}

async function statistics(env: Env, database: string, detailed: boolean) {
  const counts = await Promise.all(allShards(env, database).map((stub) => stub.stats()));
  const documents = counts.reduce((sum, s) => sum + s.documents, 0);
  const stats: Record<string, unknown> = {
    CountOfIndexes: 0,
    CountOfDocuments: documents,
    CountOfRevisionDocuments: 0,
    CountOfDocumentsConflicts: 0,
    CountOfTombstones: 0,
    CountOfConflicts: 0,
    CountOfAttachments: 0,
    CountOfUniqueAttachments: 0,
    CountOfCounterEntries: 0,
    CountOfTimeSeriesSegments: 0,
    Indexes: [],
    DatabaseChangeVector: "",
    DatabaseId: databaseId(database, "db"),
    Is64Bit: true,
    Pager: "SQLite (Durable Objects)",
    LastDocEtag: 0,
    LastDatabaseEtag: 0,
    LastIndexingTime: null,
    SizeOnDisk: { HumaneSize: "0 Bytes", SizeInBytes: 0 },
    TempBuffersSizeOnDisk: { HumaneSize: "0 Bytes", SizeInBytes: 0 },
    NumberOfTransactionMergerQueueOperations: 0,
  };
  if (detailed) {
    stats.CountOfIdentities = counts.reduce((sum, s) => sum + s.identities, 0);
    stats.CountOfCompareExchange = counts.reduce((sum, s) => sum + s.items, 0);
    stats.CountOfCompareExchangeTombstones = 0;
    stats.CountOfTimeSeriesDeletedRanges = 0;
  }
  return stats;
}

/**
 * Our extension of the database record: `"KeyHashTags": true`, or the setting
 * `"Settings": {"KeyHashTags": "true"}` (what the official client's DatabaseRecord can carry), routes
 * keys by their `{tag}` (core/routing.ts). Off unless asked for; fixed at creation.
 */
function keyHashTagsOf(record: Record<string, unknown>): boolean {
  const field = record.KeyHashTags;
  if (field !== undefined && field !== null && typeof field !== "boolean") {
    throw badInput(ErrorTypes.argument, "KeyHashTags must be true or false.");
  }
  const settings = record.Settings;
  const setting = settings !== null && typeof settings === "object" ? (settings as Record<string, unknown>).KeyHashTags : undefined;
  if (setting !== undefined && setting !== null && setting !== "true" && setting !== "false") {
    throw badInput(ErrorTypes.argument, 'Settings.KeyHashTags must be "true" or "false".');
  }
  const fromSetting = setting === "true" ? true : setting === "false" ? false : undefined;
  const fromField = typeof field === "boolean" ? field : undefined;
  if (fromField !== undefined && fromSetting !== undefined && fromField !== fromSetting) {
    throw badInput(ErrorTypes.argument, "KeyHashTags and Settings.KeyHashTags disagree.");
  }
  return fromField ?? fromSetting ?? false;
}

/**
 * How the database routes keys (beyond RavenDB): whether it was created with key hash tags. The
 * fair lock asks once per client, to know whether its queue's indexes are one shard's order.
 */
operation(
  admin,
  {
    method: "get",
    path: "/databases/{db}/routing",
    guard: access.read,
    operationId: "databaseRouting",
    tags,
    summary: "How the database routes keys: created with key hash tags or not (beyond RavenDB)",
    responses: { 200: json("The routing", Routing), ...errors(400, 401, 403, 503) },
  },
  (c) => c.json({ KeyHashTags: c.var.routing.hashTags, ShardCount: c.var.routing.shardCount }),
);
