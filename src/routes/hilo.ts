/**
 * HiLo id generation (`session.store(entity)` without an id; ids are `<prefix><n>-A`). The ranges
 * of a collection tag come from its document `Raven/Hilo/<tag>` on the shard that holds it, as in
 * RavenDB (core/hilo.ts has the rules, objects/shard/hilo.ts the write).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { hiloCapacity, hiloDocId, hiloTimestamp, rangeExhausted } from "../core/hilo";
import { lowerKey } from "../core/keys";
import { shardOfKey, type Routing } from "../core/routing";
import { NODE_TAG } from "../core/server-info";
import { HiloNextQuery, HiloRange, HiloReturnQuery } from "../core/schemas/admin";
import { errors, json } from "../core/schemas/common";
import type { HiloDoc } from "../objects/shard/hilo";
import { legacyHiloStub, shardStub } from "../stubs";
import { operation } from "./define";

export const hilo = new OpenAPIHono<AppEnv>();

const tags = ["Ids"];

/** The tag's HiLo document and the shard stub that holds it. */
function hiloDoc(env: Env, database: string, routing: Routing, tag: string): { doc: HiloDoc; shard: ReturnType<typeof shardStub> } {
  const id = hiloDocId(tag);
  const key = lowerKey(id);
  const shard = shardOfKey(key, routing);
  return { doc: { id, key, shard }, shard: shardStub(env, database, shard) };
}

operation(
  hilo,
  {
    method: "get",
    path: "/databases/{db}/hilo/next",
    guard: access.write,
    operationId: "hiloNext",
    tags,
    summary: "The next range of ids for a collection (HiLo)",
    query: HiloNextQuery,
    responses: { 201: json("The range, taken from the document Raven/Hilo/{tag}", HiloRange), ...errors(400, 401, 403, 429, 503) },
  },
  async (c, { query }) => {
    const { tag } = query;
    const separator = query.identityPartsSeparator || "/";
    const lastMax = Math.max(0, query.lastMax ?? 0);
    const now = Date.now();
    const capacity = hiloCapacity(Math.max(0, query.lastBatchSize ?? 0), query.lastRangeAt, now);
    const { doc, shard } = hiloDoc(c.env, c.var.database, c.var.routing, tag);
    let answer = await shard.hiloNext(doc, capacity, lastMax, null);
    if ("needsLegacy" in answer) {
      const legacyMax = await legacyHiloStub(c.env, c.var.database).hiloLegacyMax(tag);
      answer = await shard.hiloNext(doc, capacity, lastMax, legacyMax);
    }
    if ("needsLegacy" in answer) throw new Error("the HiLo document step asked twice for the legacy maximum");
    if ("exhausted" in answer) throw rangeExhausted(answer.exhausted);
    // 201 as RavenDB answers it: the range was taken (the document written).
    return c.json(
      {
        Prefix: `${tag}${separator}`,
        Low: answer.oldMax + 1,
        High: answer.oldMax + capacity,
        LastSize: capacity,
        ServerTag: NODE_TAG,
        LastRangeAt: hiloTimestamp(now),
      },
      201,
    );
  },
);

operation(
  hilo,
  {
    method: "put",
    path: "/databases/{db}/hilo/return",
    guard: access.write,
    operationId: "hiloReturn",
    tags,
    summary: "Give back the unused end of a range",
    query: HiloReturnQuery,
    responses: { 204: { description: "Taken back if nothing came after it" }, ...errors(400, 401, 403, 429, 503) },
  },
  async (c, { query }) => {
    const { doc, shard } = hiloDoc(c.env, c.var.database, c.var.routing, query.tag);
    await shard.hiloReturn(doc, query.end, query.last);
    return c.body(null, 204);
  },
);
