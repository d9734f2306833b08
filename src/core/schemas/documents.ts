/**
 * Requests and answers of the document endpoints: loads (`/docs`), batches (`/bulk_docs`),
 * queries and multi_get. Bodies are checked by their parsers (src/core/bulk-docs.ts and the
 * routes), then by the shapes here (see checked.ts).
 */
import { z } from "@hono/zod-openapi";
import { badInput, ErrorTypes } from "../errors";
import { JsonNumber } from "../json";
import { MAX_BATCH_BYTES, MAX_BATCH_COMMANDS } from "../bulk-docs";
import { MAX_INDEX } from "../cmpxchg";
import { parseIncludePath } from "../includes";
import { MAX_KEYS_PER_REQUEST, MAX_MULTI_GET_REQUESTS } from "../limits";
import { repeated, text } from "./checked";
import { AnyObject, CompareExchangeValue } from "./common";

const includes = {
  include: repeated((paths) => paths.map(parseIncludePath), {
    type: "array",
    items: { type: "string" },
    description: "Also return the documents whose ids are at this path (`Lines[].Product`)",
  }),
  cmpxchg: repeated((paths) => paths.map(parseIncludePath), {
    type: "array",
    items: { type: "string" },
    description: "Also return the compare-exchange items whose keys are at this path",
  }),
};
const txMode = text({ type: "string", enum: ["ClusterWide"], description: "Also return the ids' atomic guards" });

export const LoadQuery = z.object({
  id: repeated((ids) => ids, {
    type: "array",
    items: { type: "string" },
    maxItems: MAX_KEYS_PER_REQUEST,
    required: true,
    description: "Document id (repeat for several)",
    example: ["users/none"],
  }),
  txMode,
  ...includes,
});

export const LoadManyQuery = z.object({ txMode, ...includes });

// At most MAX_KEYS_PER_REQUEST ids: past that the load answers 413, as a GET does.
export const LoadManyBody = z
  .looseObject({ Ids: z.array(z.string()).openapi({ maxItems: MAX_KEYS_PER_REQUEST }) })
  .openapi("LoadMany", { example: { Ids: ["users/none", "users/other"] } });

export const DocumentIdQuery = (example: string) =>
  z.object({ id: text({ type: "string", required: true, description: "Document id", example }) });

export const IfMatchHeaders = z.object({ "If-Match": text({ type: "string", description: "Expected change vector" }) });

export const Document = z
  .looseObject({
    "@metadata": z
      .looseObject({ "@collection": z.string().nullable().optional(), "@expires": z.string().optional() })
      .optional()
      .openapi({ description: "`@collection`; on reads also `@id`, `@change-vector`, `@last-modified`" }),
  })
  .openapi("Document", { example: { name: "Ada", "@metadata": { "@collection": "Users" } } });

export const LoadResult = z
  .looseObject({
    Results: z.array(Document.nullable()),
    Includes: AnyObject,
    CompareExchangeValueIncludes: AnyObject.optional(),
  })
  .openapi("LoadResult");

export const PutResult = z.object({ Id: z.string().nullable(), ChangeVector: z.string().nullable() });

/** A whole number as our JSON reader gives it: a number, or a JsonNumber when it has more digits. */
const wholeNumber = z
  .custom<number | JsonNumber>((v) => typeof v === "number" || v instanceof JsonNumber)
  .openapi({ type: "integer", minimum: 0, maximum: MAX_INDEX });

export const BatchCommand = z
  .looseObject({
    Type: z.enum(["PUT", "DELETE", "CompareExchangePUT", "CompareExchangeDELETE", "CompareExchangeCHECK"]).openapi({
      description:
        "CompareExchangeCHECK is our extension (cluster-wide only): the batch commits only if the item `Id` is at `Index` (0: absent); it writes nothing, and its result is `{Type, Key, Index}` with the item's unchanged index.",
    }),
    Id: z.string().openapi({ description: "Document id, or compare-exchange key" }),
    ChangeVector: z.string().nullable().optional(),
    OriginalChangeVector: z.string().nullable().optional(),
    Index: wholeNumber.optional().openapi({ description: "CompareExchangePUT/DELETE/CHECK: the expected index" }),
    Document: z
      .union([Document, CompareExchangeValue])
      .optional()
      .openapi({ description: "PUT: the document; CompareExchangePUT: a value" }),
  })
  .openapi("BatchCommand");

export const Batch = z
  .looseObject({
    Commands: z.array(BatchCommand).min(1).max(MAX_BATCH_COMMANDS),
    TransactionMode: z.enum(["SingleNode", "ClusterWide"]).nullable().optional(),
  })
  .openapi("Batch", {
    description: `A session's saveChanges: at most ${MAX_BATCH_COMMANDS} commands, ${MAX_BATCH_BYTES} bytes. Compare-exchange commands need "TransactionMode": "ClusterWide"; all or nothing.`,
    example: {
      Commands: [{ Type: "CompareExchangePUT", Id: "openapi/batch", Index: 0, Document: { Object: { user: "users/1" } } }],
      TransactionMode: "ClusterWide",
    },
  });

export const BatchQuery = z.object({
  // Read as sent (only the single PUT and DELETE of /cmpxchg bound its length, as they always did).
  "raft-request-id": text({ type: "string", description: "Exactly-once id: a retry with the same id gets the first result" }),
  disableAtomicDocumentWrites: text({ type: "boolean", description: "`true`: no atomic guards for documents in a cluster-wide batch" }),
});

export const BatchHeaders = z.object({
  "Raven-Client-Version": text({
    type: "string",
    description: "The official client's version: from 5.2 on, a cluster-wide batch gets atomic guards for its documents",
    example: "7.2.2",
  }),
});

/** Loads and queries: the client's HTTP cache sends the ETag it has. */
export const IfNoneMatchHeaders = z.object({
  "If-None-Match": text({ type: "string", description: "The `ETag` of an earlier answer: 304 with no body while it still holds" }),
});

/** HEAD's id: exactly one, not blank, as RavenDB's GetQueryStringValueAndAssertIfSingleAndNotEmpty wants it. */
export const ExistsQuery = z.object({
  id: repeated(
    (ids) => {
      if (ids.length === 0 || ids[0]!.trim() === "")
        throw badInput(ErrorTypes.argument, "Query string value 'id' must have a non empty value");
      if (ids.length > 1) throw badInput(ErrorTypes.argument, "Query string value 'id' must appear exactly once");
      return ids[0]!;
    },
    { type: "string", required: true, description: "Document id (once)", example: "users/none" },
  ),
});

export const ExistsHeaders = z.object({
  "If-None-Match": text({ type: "string", description: "A change vector: 304 while the document still has it" }),
});

export const BatchResult = z.looseObject({ Results: z.array(AnyObject), TransactionIndex: z.int().optional() }).openapi("BatchResult");

export const QueryBody = z
  .looseObject({
    Query: z.string().openapi({ description: "RQL: `from <Collection>`, `where`, `order by`, `select`, `load`, `include`, `limit`" }),
    QueryParameters: AnyObject.nullable().optional(),
    Start: z.unknown().optional().openapi({ type: "integer", description: "Results to skip (ignored unless a positive number)" }),
    PageSize: z.unknown().optional().openapi({ type: "integer", description: "Results per page (ignored unless a number ≥ 0)" }),
  })
  .openapi("Query", { example: { Query: "from Users where name = $name", QueryParameters: { name: "Ada" } } });

export const QueryResult = z
  .looseObject({
    TotalResults: z.int(),
    Results: z.array(AnyObject),
    Includes: AnyObject,
    IndexName: z.string(),
    IsStale: z.boolean(),
    ResultEtag: z.int(),
  })
  .openapi("QueryResult");

export const MultiGetBody = z
  .looseObject({
    Requests: z
      .array(
        z.looseObject({
          Url: z.string().openapi({ description: "`/databases/<db>/…`, this database's path, without a query" }),
          Query: z.string().optional().openapi({ description: "`?…`" }),
          Method: z.string().optional().openapi({ description: "GET, or POST of `/databases/<db>/queries` (a lazy query)" }),
          Headers: z.record(z.string(), z.string()).nullable().optional(),
          Content: z.unknown().optional().openapi({ description: "A POST's body: the query, as JSON text or an object" }),
        }),
      )
      .max(MAX_MULTI_GET_REQUESTS),
  })
  .openapi("MultiGet", { example: { Requests: [{ Url: "/databases/shop/cmpxchg", Query: "?key=openapi/none" }] } });

export const MultiGetResult = z.object({
  Results: z.array(
    z.object({
      Result: z.unknown().openapi({ description: "The inner answer; null with StatusCode 304" }),
      StatusCode: z.int(),
      Headers: AnyObject.openapi({ description: "`ETag` of the inner answer, when it has one" }),
    }),
  ),
});
