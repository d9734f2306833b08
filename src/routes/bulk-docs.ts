/**
 * `POST /databases/<db>/bulk_docs`: a session's saveChanges. Single-node batches of document
 * PUT/DELETE, and cluster-wide transactions mixing documents and compare-exchange items with
 * atomic guards, all or nothing.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { parseBulkDocs } from "../core/bulk-docs";
import { clientSupportsAtomicGuards } from "../core/documents";
import { executeBatch } from "../worker/execute";
import { resolveServerIds } from "../worker/server-ids";

export const bulkDocs = new Hono<AppEnv>();

bulkDocs.post("/databases/:db/bulk_docs", access.write, async (c) => {
  const database = c.var.database;
  const atomicGuards =
    c.req.query("disableAtomicDocumentWrites") !== "true" && clientSupportsAtomicGuards(c.req.header("Raven-Client-Version"));
  const text = await resolveServerIds(c.env, database, c.var.routing, await c.req.text());
  const batch = parseBulkDocs(text, { routing: c.var.routing, atomicGuards });
  const { body } = await executeBatch(c.env, database, batch, c.req.query("raft-request-id") || undefined);
  return c.json(body, 201);
});
