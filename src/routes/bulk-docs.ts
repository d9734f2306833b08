/**
 * `POST /databases/<db>/bulk_docs`: a session's saveChanges. Single-node batches of document
 * PUT/DELETE, and cluster-wide transactions mixing documents and compare-exchange items with
 * atomic guards, all or nothing.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { parseBatch, readBatch } from "../core/bulk-docs";
import { clientSupportsAtomicGuards } from "../core/documents";
import { checkBody } from "../core/schemas/checked";
import { errors, json } from "../core/schemas/common";
import { Batch, BatchHeaders, BatchQuery, BatchResult } from "../core/schemas/documents";
import { executeBatch } from "../worker/execute";
import { resolveServerIds } from "../worker/server-ids";
import { operation } from "./define";

export const bulkDocs = new OpenAPIHono<AppEnv>();

operation(
  bulkDocs,
  {
    method: "post",
    path: "/databases/{db}/bulk_docs",
    guard: access.write,
    operationId: "bulkDocs",
    tags: ["Documents"],
    summary: "A batch: documents (single-node) or documents and compare-exchange items (cluster-wide), all or nothing",
    query: BatchQuery,
    headers: BatchHeaders,
    body: { schema: Batch },
    responses: { 201: json("Committed", BatchResult), ...errors(400, 401, 403, 409, 413, 429, 503) },
  },
  async (c, { query, headers }) => {
    const database = c.var.database;
    const atomicGuards = query.disableAtomicDocumentWrites !== "true" && clientSupportsAtomicGuards(headers["Raven-Client-Version"]);
    const text = await resolveServerIds(c.env, database, c.var.routing, await c.req.text());
    const body = readBatch(text);
    const batch = checkBody(Batch, body, () => parseBatch(body, { routing: c.var.routing, atomicGuards }));
    const { body: answer } = await executeBatch(c.env, database, batch, query["raft-request-id"] || undefined);
    return c.json(answer, 201);
  },
);
