/**
 * Requests and answers of the compare-exchange endpoints (`/cmpxchg`, `/cmpxchg/wait`,
 * `/cmpxchg/changes`): each query value checked by src/core/cmpxchg.ts's validators, with
 * RavenDB's wording, and documented with what those validators accept.
 */
import { z } from "@hono/zod-openapi";
import { badInput, echo, ErrorTypes } from "../errors";
import { MAX_INDEX, optionalInt, requireIndex, requireKey, requireWritableKey } from "../cmpxchg";
import { lowerKey, MAX_KEY_BYTES } from "../keys";
import { MAX_LIST_OFFSET, MAX_PAGE_SIZE } from "../limits";
import { decodeContinuation } from "../paging";
import { type Cursor, parseCursor } from "../watch-history";
import { checked, repeated, text, thenCheck } from "./checked";
import { CompareExchangeValue, Item } from "./common";

export const MAX_REQUEST_ID_LENGTH = 256;
export const DEFAULT_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 60_000;

/** `raft-request-id`: a retry with the same id gets the first result instead of applying again. */
export function optionalRequestId(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw.length > MAX_REQUEST_ID_LENGTH) {
    throw badInput(ErrorTypes.argument, `raft-request-id is longer than ${MAX_REQUEST_ID_LENGTH} characters.`);
  }
  return raw;
}

export const requestId = checked(optionalRequestId, {
  type: "string",
  maxLength: MAX_REQUEST_ID_LENGTH,
  description: "Exactly-once id: a retry with the same id gets the first result instead of applying again",
});

const writableKey = (example: string) =>
  checked(requireWritableKey, {
    type: "string",
    required: true,
    description: `Compare-exchange key: any non-blank, well-formed string, case-insensitive; at most ${MAX_KEY_BYTES} UTF-8 bytes`,
    example,
  });

const expectedIndex = (description: string) =>
  checked(requireIndex, { type: "integer", minimum: 0, maximum: MAX_INDEX, required: true, description, example: 0 });

export const CmpxchgPutQuery = z.object({
  key: writableKey("openapi/example"),
  index: expectedIndex("Expected index; 0 creates (only if the key does not exist)"),
  "raft-request-id": requestId,
});

export const CmpxchgDeleteQuery = z.object({
  key: writableKey("openapi/missing"),
  index: expectedIndex("Expected index"),
  "raft-request-id": requestId,
});

/** Mode A: `?key=a&key=b`; mode B (no key): a listing of a prefix, checked only then, as RavenDB does. */
export type CmpxchgGet =
  | { mode: "keys"; keys: string[] }
  | { mode: "list"; prefix: string; start: number; pageSize: number; after: string | undefined };

export const CmpxchgGetQuery = thenCheck(
  z.object({
    key: repeated((keys) => keys, {
      type: "array",
      items: { type: "string" },
      description: "Key to read (repeat for several); without it, the request lists `startsWith`",
    }),
    startsWith: text({ type: "string", description: "Listing: key prefix" }),
    start: text({ type: "integer", minimum: 0, maximum: MAX_LIST_OFFSET, description: "Listing: items to skip" }),
    pageSize: text({
      type: "integer",
      description: `Listing: items per page (0 or less, or absent: ${MAX_PAGE_SIZE}, the most a page holds)`,
      example: 10,
    }),
    continuationToken: text({ type: "string", description: "Listing: resume after the previous page (`ContinuationToken` of its answer)" }),
  }),
  (query): CmpxchgGet => {
    if (query.key.length > 0) return { mode: "keys", keys: query.key };
    const prefix = lowerKey(query.startsWith ?? "");
    const start = Math.max(0, optionalInt("start", query.start) ?? 0);
    if (start > MAX_LIST_OFFSET) {
      throw badInput(ErrorTypes.argument, `start is at most ${MAX_LIST_OFFSET}; page further with the continuation token.`);
    }
    const requested = optionalInt("pageSize", query.pageSize);
    const pageSize = requested === undefined || requested <= 0 ? MAX_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
    const token = query.continuationToken ? decodeContinuation(query.continuationToken) : null;
    if (token && token.prefix !== prefix) {
      throw badInput(
        ErrorTypes.argument,
        `The continuation token belongs to a listing of prefix '${echo(token.prefix)}', not '${echo(prefix)}'.`,
      );
    }
    return { mode: "list", prefix, start, pageSize, after: token?.after };
  },
);

export const WaitQuery = z.object({
  key: checked(requireKey, { type: "string", required: true, description: "The key to watch", example: "openapi/example" }),
  index: checked(
    (raw) => {
      const index = optionalInt("index", raw);
      if (index === undefined || index < -1) {
        throw badInput(ErrorTypes.argument, "Query string index is mandatory: the index you know, or -1 to wait until the item exists.");
      }
      return index;
    },
    { type: "integer", minimum: -1, required: true, description: "The index waited on (-1: until the key exists)", example: 0 },
  ),
  timeout: checked(
    (raw) => {
      const timeout = optionalInt("timeout", raw) ?? DEFAULT_WAIT_MS;
      if (timeout < 0 || timeout > MAX_WAIT_MS) {
        throw badInput(ErrorTypes.argument, `timeout is in milliseconds, from 0 to ${MAX_WAIT_MS}.`);
      }
      return timeout;
    },
    {
      type: "integer",
      minimum: 0,
      maximum: MAX_WAIT_MS,
      description: `Milliseconds to hold the request (default ${DEFAULT_WAIT_MS})`,
      example: 10,
    },
  ),
});

export const ChangesHeaders = z.object({
  Upgrade: checked(
    (raw) => {
      if (raw !== "websocket") {
        throw badInput(ErrorTypes.badRequest, "This endpoint streams changes over a WebSocket: send Upgrade: websocket.");
      }
      return raw;
    },
    { type: "string", enum: ["websocket"], required: true, description: "The stream is a WebSocket" },
  ),
});

export const ChangesQuery = thenCheck(
  z.object({
    key: text({ type: "string", description: "Watch this key (or give `prefix`)" }),
    prefix: text({ type: "string", description: "Watch every key with this prefix (instead of `key`)" }),
    fromIndex: checked(
      (raw) => {
        const from = optionalInt("fromIndex", raw);
        if (from !== undefined && from < 0) throw badInput(ErrorTypes.argument, "fromIndex is an index: 0 or more.");
        return from;
      },
      {
        type: "integer",
        minimum: 0,
        description: "First replay the changes still held, from before the watch began, whose index is above this",
      },
    ),
    cursor: checked(
      (raw) => {
        if (raw === undefined) return undefined;
        const cursor = parseCursor(raw);
        if (!cursor) throw badInput(ErrorTypes.argument, `cursor is not one this server gave: ${echo(raw)}`);
        return cursor;
      },
      { type: "string", description: "Resume after this position: the `Cursor` of the last message received (opaque)" },
    ),
  }),
  (query): ({ key: string } | { prefix: string }) & { fromIndex: number | undefined; cursor: Cursor | undefined } => {
    if ((query.key === undefined) === (query.prefix === undefined)) {
      throw badInput(ErrorTypes.argument, "Give exactly one of key=<key> or prefix=<prefix>.");
    }
    const target = query.key !== undefined ? { key: requireKey(query.key) } : { prefix: query.prefix! };
    return { ...target, fromIndex: query.fromIndex, cursor: query.cursor };
  },
);

export const ItemList = z
  .object({
    Results: z.array(Item),
    ContinuationToken: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "Listing only: pass as `continuationToken` for the next page (also the `Continuation-Token` header)" }),
  })
  .openapi("ItemList");

export const WriteResult = z
  .object({ Index: z.int(), Value: CompareExchangeValue.nullable(), Successful: z.boolean() })
  .openapi("WriteResult", {
    description: "RavenDB's CompareExchangeResult. On failure, `Index` and `Value` describe the current item (0 and null when absent).",
  });

export const ChangeResult = z
  .object({
    Key: z.string(),
    Value: CompareExchangeValue.nullable(),
    Index: z.int(),
    Changed: z.boolean().openapi({ description: "false when the wait timed out" }),
  })
  .openapi("ChangeResult");

export { CompareExchangeValue };
