/**
 * Identities: `POST /identity/next` (NextIdentityForOperation), `POST /identity/seed`
 * (SeedIdentityForOperation), `GET /debug/identities` (GetIdentitiesOperation). Each identity
 * lives in the shard that owns its name (objects/shard/store/identities.ts), not in the
 * coordinator; src/worker/server-ids.ts resolves `people|` and `people/` ids in a batch.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { MAX_PAGE_SIZE } from "../core/limits";
import { IdentityNextQuery, IdentitySeedQuery } from "../core/schemas/admin";
import { errors, json } from "../core/schemas/common";
import { allShards, stubForKey } from "../worker/shards";
import { operation } from "./define";

export const identities = new OpenAPIHono<AppEnv>();
const tags = ["Ids"];

operation(
  identities,
  {
    method: "post",
    path: "/databases/{db}/identity/next",
    guard: access.write,
    operationId: "nextIdentity",
    tags,
    summary: "Take the next identity of a name (NextIdentityForOperation); `people|` ids use the same counter",
    query: IdentityNextQuery,
    responses: { 200: json("The identity taken", z.object({ NewIdentityValue: z.int() })), ...errors(400, 401, 403, 429, 503) },
  },
  async (c, { query }) => {
    const value = await stubForKey(c.env, c.var.database, c.var.routing, query.name).stub.nextIdentities(query.name, 1);
    return c.json({ NewIdentityValue: value });
  },
);

operation(
  identities,
  {
    method: "post",
    path: "/databases/{db}/identity/seed",
    guard: access.write,
    operationId: "seedIdentity",
    tags,
    summary: "Raise an identity to a value, or set it with force=true (SeedIdentityForOperation)",
    query: IdentitySeedQuery,
    responses: { 200: json("The identity's value now", z.object({ NewSeedValue: z.int() })), ...errors(400, 401, 403, 429, 503) },
  },
  async (c, { query }) => {
    const { name, value } = query;
    const result = await stubForKey(c.env, c.var.database, c.var.routing, name).stub.seedIdentity(name, value, query.force === "true");
    return c.json({ NewSeedValue: result });
  },
);

/** `{"people|": 7, …}` over every shard, by name; at most MAX_PAGE_SIZE of them. */
operation(
  identities,
  {
    method: "get",
    path: "/databases/{db}/debug/identities",
    guard: access.read,
    operationId: "listIdentities",
    tags,
    summary: `Every identity of the database and its value, by name (GetIdentitiesOperation; at most ${MAX_PAGE_SIZE})`,
    responses: { 200: json("Identities by name", z.record(z.string(), z.int())), ...errors(401, 403, 503) },
  },
  async (c) => {
    const perShard = await Promise.all(allShards(c.env, c.var.database).map((stub) => stub.identities(MAX_PAGE_SIZE)));
    const all = perShard.flat().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return c.json(Object.fromEntries(all.slice(0, MAX_PAGE_SIZE).map(({ name, value }) => [name, value])));
  },
);
