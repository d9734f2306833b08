/**
 * Requests and answers of administration, topology, HiLo and identities: the query values each
 * route reads, checked by the validators of src/core.
 */
import { z } from "@hono/zod-openapi";
import { badInput, ErrorTypes } from "../errors";
import { optionalInt, optionalLong } from "../cmpxchg";
import { checkDatabaseName } from "../database";
import { identityName } from "../identities";
import { checked, type Doc, text, thenCheck } from "./checked";
import { AnyObject } from "./common";

const int = (name: string, doc: Omit<Doc, "type">) => checked((raw) => optionalInt(name, raw), { type: "integer", ...doc });
const long = (name: string, doc: Omit<Doc, "type">) => checked((raw) => optionalLong(name, raw), { type: "integer", ...doc });

export const DatabaseListQuery = z.object({
  start: int("start", { minimum: 0, description: "Names to skip" }),
  pageSize: int("pageSize", { minimum: 1, maximum: 1024, description: "At most this many (1–1024, default 1024)" }),
  namesOnly: text({ type: "boolean", description: "Names only (the only form answered)" }),
});

export const CreateDatabaseQuery = z.object({
  name: text({ type: "string", description: "The database (or `DatabaseName` of the body)", example: "openapi_created" }),
});

export const DatabaseRecord = z
  .looseObject({
    DatabaseName: z.string().optional(),
    KeyHashTags: z.boolean().nullable().optional().openapi({
      description: "Our extension: keys route by their `{tag}` (as Redis Cluster hash tags); fixed at creation, off by default",
    }),
    Settings: z
      .record(z.string(), z.unknown())
      .nullable()
      .optional()
      .openapi({ description: 'Database settings; `"KeyHashTags": "true"` is the same as the field above' }),
  })
  .openapi("DatabaseRecord", { example: { DatabaseName: "openapi_created" } });

export const DeleteDatabasesBody = z
  .looseObject({ DatabaseNames: z.array(z.string()).min(1), HardDelete: z.boolean().optional() })
  .openapi("DeleteDatabases", { example: { DatabaseNames: ["openapi_created"], HardDelete: true } });

export const TransactionsQuery = z.object({
  limit: int("limit", { minimum: 1, maximum: 500, description: "How many (default 50, at most 500)", example: 5 }),
});

export const TopologyQuery = z.object({
  name: checked(checkDatabaseName, { type: "string", required: true, description: "The database", example: "shop" }),
});

export const HiloNextQuery = z.object({
  tag: checked(
    (raw) => {
      if (!raw) throw badInput(ErrorTypes.argument, "Query string tag is mandatory, but wasn't specified.");
      return raw;
    },
    { type: "string", required: true, description: "The collection tag", example: "users" },
  ),
  lastBatchSize: long("lastBatchSize", {
    description: "Size of the previous range: the next is twice as large within 30 s of it, half after a minute",
  }),
  lastRangeAt: text({ type: "string", description: "When the previous range was taken (its `LastRangeAt`)" }),
  identityPartsSeparator: text({ type: "string", description: "Separator of the id's prefix (default `/`)" }),
  lastMax: long("lastMax", { description: "Highest id the client used" }),
});

export const HiloReturnQuery = thenCheck(
  z.object({
    tag: text({ type: "string", required: true, description: "The collection tag", example: "users" }),
    end: long("end", { required: true, description: "End of the range", example: 32 }),
    last: long("last", { required: true, description: "Last id used", example: 1 }),
  }),
  ({ tag, end, last }) => {
    if (!tag || end === undefined || last === undefined) {
      throw badInput(ErrorTypes.argument, "Query strings tag, end and last are mandatory.");
    }
    return { tag, end, last };
  },
);

const name = checked(identityName, {
  type: "string",
  required: true,
  description: "The identity (`people` or `people|`, case-insensitive)",
  example: "people",
});

export const IdentityNextQuery = z.object({ name });

export const IdentitySeedQuery = z.object({
  name,
  value: checked(
    (raw) => {
      const value = Number(raw);
      if (raw === undefined || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
        throw badInput(ErrorTypes.argument, "Query string value is mandatory and must be a whole number.");
      }
      return value;
    },
    { type: "integer", required: true, description: "The value", example: 10 },
  ),
  force: text({ type: "boolean", description: "`true`: set the value even if lower" }),
});

export const HiloRange = z.looseObject({
  Prefix: z.string(),
  Low: z.int(),
  High: z.int(),
  LastSize: z.int(),
  ServerTag: z.string(),
  LastRangeAt: z.unknown(),
});

export const CreatedDatabase = z.looseObject({ Name: z.string(), RaftCommandIndex: z.int() });
export const DeletedDatabases = z.looseObject({ RaftCommandIndex: z.int(), PendingDeletes: z.array(z.unknown()) });
export const DatabaseNames = z.object({ Databases: z.array(z.string()) });
export const Statistics = z.looseObject({ CountOfDocuments: z.int(), DatabaseId: z.string() });
const Size = z.object({ HumaneSize: z.string(), SizeInBytes: z.int() });
export const CollectionStatistics = z
  .object({
    CountOfDocuments: z.int(),
    CountOfConflicts: z.int(),
    Collections: z
      .record(z.string(), z.int())
      .openapi({ description: "Documents per collection, by the collection's name", example: { Users: 2 } }),
  })
  .openapi("CollectionStatistics");
export const DetailedCollectionStatistics = z
  .object({
    CountOfDocuments: z.int(),
    CountOfConflicts: z.int(),
    Collections: z.record(
      z.string(),
      z.object({
        Name: z.string(),
        CountOfDocuments: z.int(),
        Size: Size,
        DocumentsSize: Size,
        TombstonesSize: Size,
        RevisionsSize: Size,
      }),
    ),
  })
  .openapi("DetailedCollectionStatistics", { description: "Sizes are the documents' JSON bytes (no tombstones or revisions are kept)" });
export const Transactions = z.object({ Results: z.array(AnyObject) });
export const Topology = z.looseObject({ Nodes: z.array(AnyObject), Etag: z.int() });
export const ClusterTopology = z.looseObject({ Topology: AnyObject, Leader: z.string(), NodeTag: z.string() });
export const NodeInfo = z.looseObject({ NodeTag: z.string(), ServerRole: z.string() });
export const ClientConfiguration = z.object({ Etag: z.int(), Configuration: z.unknown() });
export const Health = z.object({ Status: z.string(), ServerVersion: z.string() });

/** GET /databases/<db>/routing: how the database routes keys (our extension). */
export const Routing = z
  .object({ KeyHashTags: z.boolean(), ShardCount: z.int() })
  .openapi("Routing", { description: "KeyHashTags: keys route by their `{tag}` (chosen at creation)" });
