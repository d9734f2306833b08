/**
 * HiLo id generation (`session.store(entity)` without an id): the database's coordinator 0 hands
 * out ranges per collection tag; ids are `<prefix><n>-A`.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { NODE_TAG } from "../core/server-info";
import { HiloNextQuery, HiloRange, HiloReturnQuery } from "../core/schemas/admin";
import { errors, json } from "../core/schemas/common";
import { hiloStub } from "../stubs";
import { operation } from "./define";

export const hilo = new OpenAPIHono<AppEnv>();

const RANGE_SIZE = 32;
const tags = ["Ids"];

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
    responses: { 200: json("The range", HiloRange), ...errors(400, 401, 403, 429, 503) },
  },
  async (c, { query }) => {
    const { tag } = query;
    const separator = query.identityPartsSeparator || "/";
    const lastMax = Math.max(0, query.lastMax ?? 0);
    const range = await hiloStub(c.env, c.var.database).hiloNext(tag, RANGE_SIZE, lastMax);
    return c.json({
      Prefix: `${tag}${separator}`,
      Low: range.low,
      High: range.high,
      LastSize: RANGE_SIZE,
      ServerTag: NODE_TAG,
      LastRangeAt: range.lastRangeAt,
    });
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
    await hiloStub(c.env, c.var.database).hiloReturn(query.tag, query.end, query.last);
    return c.body(null, 204);
  },
);
