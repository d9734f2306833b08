/**
 * HiLo id generation (`session.store(entity)` without an id): the database's coordinator 0 hands
 * out ranges per collection tag; ids are `<prefix><n>-A`.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { badInput, ErrorTypes } from "../core/errors";
import { NODE_TAG } from "../core/server-info";
import { optionalInt } from "../core/cmpxchg";
import { hiloStub } from "../stubs";

export const hilo = new Hono<AppEnv>();

const RANGE_SIZE = 32;

hilo.get("/databases/:db/hilo/next", access.write, async (c) => {
  const database = c.var.database;
  const tag = c.req.query("tag");
  if (!tag) throw badInput(ErrorTypes.argument, "Query string tag is mandatory, but wasn't specified.");
  const separator = c.req.query("identityPartsSeparator") || "/";
  const lastMax = Math.max(0, optionalInt("lastMax", c.req.query("lastMax")) ?? 0);
  const range = await hiloStub(c.env, database).hiloNext(tag, RANGE_SIZE, lastMax);
  return c.json({
    Prefix: `${tag}${separator}`,
    Low: range.low,
    High: range.high,
    LastSize: RANGE_SIZE,
    ServerTag: NODE_TAG,
    LastRangeAt: range.lastRangeAt,
  });
});

hilo.put("/databases/:db/hilo/return", access.write, async (c) => {
  const database = c.var.database;
  const tag = c.req.query("tag");
  const end = optionalInt("end", c.req.query("end"));
  const last = optionalInt("last", c.req.query("last"));
  if (!tag || end === undefined || last === undefined) {
    throw badInput(ErrorTypes.argument, "Query strings tag, end and last are mandatory.");
  }
  await hiloStub(c.env, database).hiloReturn(tag, end, last);
  return c.body(null, 204);
});
