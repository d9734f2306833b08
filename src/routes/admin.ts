/**
 * Database administration as the official client's server operations send it:
 * `PUT /admin/databases` (CreateDatabaseOperation), `DELETE /admin/databases`
 * (DeleteDatabasesOperation: removes every shard's and the coordinator's data), `GET /databases`
 * (GetDatabaseNamesOperation), and `GET /databases/<db>/stats[/detailed]`.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { optionalInt } from "../core/cmpxchg";
import { checkDatabaseName } from "../core/database";
import { badInput, ErrorTypes, RavenError } from "../core/errors";
import { databaseId } from "../core/change-vector";
import { NODE_TAG } from "../core/server-info";
import { catalog, createDatabase, forgetDatabase } from "../worker/databases";
import { allCoordinators } from "../stubs";
import { recentTransactions } from "../transactions";
import { allShards } from "../worker/shards";

export const admin = new Hono<AppEnv>();

admin.put("/admin/databases", access.serverAdmin, async (c) => {
  let record: Record<string, unknown> = {};
  const text = await c.req.text();
  if (text.trim() !== "") {
    try {
      record = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw badInput(ErrorTypes.invalidData, "The database record is not valid JSON.");
    }
  }
  const name = checkDatabaseName(c.req.query("name") ?? (record.DatabaseName as string | undefined));
  const keyHashTags = keyHashTagsOf(record);
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
});

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

admin.delete("/admin/databases", access.serverAdmin, async (c) => {
  let body: { DatabaseNames?: unknown };
  try {
    body = (await c.req.json()) as typeof body;
  } catch {
    throw badInput(ErrorTypes.invalidData, 'The body must be {"DatabaseNames": [ … ]}.');
  }
  const names = body.DatabaseNames;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === "string")) {
    throw badInput(ErrorTypes.argument, "Database names must be provided.");
  }
  let index = 0;
  for (const name of names as string[]) {
    const database = checkDatabaseName(name);
    forgetDatabase(database);
    index = (await catalog(c.env).remove(database)).index;
    // Everything the database stored, on every shard and in its coordinator.
    await Promise.all(allShards(c.env, database).map((stub) => stub.destroy()));
    await Promise.all(allCoordinators(c.env, database).map((stub) => stub.destroy()));
  }
  return c.json({ RaftCommandIndex: index, PendingDeletes: [] });
});

admin.get("/databases", access.serverAdmin, async (c) => {
  const start = Math.max(0, optionalInt("start", c.req.query("start")) ?? 0);
  const pageSize = Math.min(Math.max(1, optionalInt("pageSize", c.req.query("pageSize")) ?? 1024), 1024);
  const names = await catalog(c.env).list(start, pageSize);
  return c.json({ Databases: names });
});

/** Recent transactions, newest first (read-only; the Studio's panel), from every log that has them. */
admin.get("/databases/:db/transactions", access.read, async (c) => {
  const database = c.var.database;
  const limit = Math.min(Math.max(1, optionalInt("limit", c.req.query("limit")) ?? 50), 500);
  return c.json({ Results: await recentTransactions(c.env, database, limit) });
});

/**
 * How the database routes keys (beyond RavenDB): whether it was created with key hash tags. The
 * fair lock asks once per client, to know whether its queue's indexes are one shard's order.
 */
admin.get("/databases/:db/routing", access.read, (c) =>
  c.json({ KeyHashTags: c.var.routing.hashTags, ShardCount: c.var.routing.shardCount }),
);

admin.get("/databases/:db/stats", access.read, async (c) => c.json(await statistics(c.env, c.var.database, false)));
admin.get("/databases/:db/stats/detailed", access.read, async (c) => c.json(await statistics(c.env, c.var.database, true)));

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
