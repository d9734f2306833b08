/**
 * Shapes shared by many operations: the database path parameter, RavenDB's error envelope, a
 * compare-exchange value and item. Response shapes document the answers; the answers themselves
 * are written by the routes byte for byte as RavenDB writes them (test/openapi.test.ts checks
 * real answers against these shapes).
 */
import { z } from "@hono/zod-openapi";
import { checkDatabaseName, MAX_DATABASE_NAME_LENGTH } from "../database";
import { MAX_VALUE_BYTES } from "../cmpxchg";
import { checked } from "./checked";

/** `:db` of every database-scoped route (checked by the route's guard with the same function). */
export const DatabaseParams = z.object({
  db: checked(checkDatabaseName, {
    type: "string",
    pattern: `^[A-Za-z0-9_.-]{1,${MAX_DATABASE_NAME_LENGTH}}$`,
    description: "Database name: letters, digits, `_`, `-`, `.` (not first or last), case-insensitive",
    example: "shop",
    required: true,
  }),
});

export const ErrorEnvelope = z
  .looseObject({
    Url: z.string(),
    Type: z.string().openapi({ examples: ["System.ArgumentException"] }),
    Message: z.string(),
    Error: z.string(),
  })
  .openapi("ErrorEnvelope", {
    description: "RavenDB's error envelope. The official client names its exception after the last dotted segment of `Type`.",
  });

export const Metadata = z
  .looseObject({
    "@expires": z.string().optional().openapi({ format: "date-time", description: "ISO-8601, UTC: the item is absent from that instant" }),
  })
  .openapi("Metadata", { description: "`@expires` makes the item absent from that instant; other entries are stored as they are." });

export const CompareExchangeValue = z
  .looseObject({
    Object: z
      .unknown()
      .refine((v) => v !== undefined, { message: "'Object' is required" })
      .openapi({ description: "Any JSON" }),
    "@metadata": Metadata.optional(),
  })
  .openapi("CompareExchangeValue", {
    description: `A stored value: \`{"Object": <any JSON>, "@metadata": {…}}\`, at most ${MAX_VALUE_BYTES} bytes as compact JSON. Numbers keep every digit.`,
    required: ["Object"],
    example: { Object: { user: "users/1" }, "@metadata": { "@expires": "2099-01-01T00:00:00.0000000Z" } },
  });

export const Item = z
  .object({ Key: z.string(), Value: CompareExchangeValue.nullable(), Index: z.int().openapi({ description: "-1 for a missing key" }) })
  .openapi("Item");

/** A JSON object whose fields this document does not list (RavenDB's own shapes, passed through). */
export const AnyObject = z.record(z.string(), z.unknown());

/** The answers every operation may give besides its success. */
export const ERROR_TEXT: Record<number, string> = {
  400: "Bad input (RavenDB's error envelope; `Type` names the exception)",
  401: "No valid credentials (when authentication is on; with `WWW-Authenticate: Bearer`)",
  403: "Credentials without the right for this database or route",
  409: "Conflict: an index or change vector did not match",
  413: "Body too large",
  429: "Write rate limit of the database reached (`Retry-After`)",
  503: "Unknown database (`Database-Missing` header) or a shard did not answer; retry with the same raft-request-id",
};

export function errors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: ERROR_TEXT[status] ?? "Error", content: { "application/json": { schema: ErrorEnvelope } } },
    ]),
  );
}

export const json = <S extends z.ZodType>(description: string, schema: S) => ({
  description,
  content: { "application/json": { schema } },
});

export const html = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });
