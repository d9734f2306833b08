/**
 * Identities: `POST /identity/next` (NextIdentityForOperation), `POST /identity/seed`
 * (SeedIdentityForOperation), `GET /debug/identities` (GetIdentitiesOperation). Each identity
 * lives in the shard that owns its name (objects/shard/store/identities.ts), not in the
 * coordinator; src/worker/server-ids.ts resolves `people|` and `people/` ids in a batch.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { badInput, ErrorTypes } from "../core/errors";
import { identityName } from "../core/identities";
import { MAX_PAGE_SIZE } from "../core/limits";
import { allShards, stubForKey } from "../worker/shards";

export const identities = new Hono<AppEnv>();

identities.post("/databases/:db/identity/next", access.write, async (c) => {
  const database = c.var.database;
  const name = identityName(c.req.query("name"));
  const value = await stubForKey(c.env, database, c.var.routing, name).stub.nextIdentities(name, 1);
  return c.json({ NewIdentityValue: value });
});

identities.post("/databases/:db/identity/seed", access.write, async (c) => {
  const database = c.var.database;
  const name = identityName(c.req.query("name"));
  const raw = c.req.query("value");
  const value = Number(raw);
  if (raw === undefined || !/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw badInput(ErrorTypes.argument, "Query string value is mandatory and must be a whole number.");
  }
  const force = c.req.query("force") === "true";
  const result = await stubForKey(c.env, database, c.var.routing, name).stub.seedIdentity(name, value, force);
  return c.json({ NewSeedValue: result });
});

/** `{"people|": 7, …}` over every shard, by name; at most MAX_PAGE_SIZE of them. */
identities.get("/databases/:db/debug/identities", access.read, async (c) => {
  const database = c.var.database;
  const perShard = await Promise.all(allShards(c.env, database).map((stub) => stub.identities(MAX_PAGE_SIZE)));
  const all = perShard.flat().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return c.json(Object.fromEntries(all.slice(0, MAX_PAGE_SIZE).map(({ name, value }) => [name, value])));
});
