/**
 * `GET /databases/<db>/collections/stats[/detailed]` (the official client's
 * GetCollectionStatisticsOperation and GetDetailedCollectionStatisticsOperation): documents per
 * collection. Every shard counts its own; core/collection-stats.ts sums them.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { collectionStatistics } from "../core/collection-stats";
import { CollectionStatistics, DetailedCollectionStatistics } from "../core/schemas/admin";
import { errors, json } from "../core/schemas/common";
import { allShards } from "../worker/shards";
import { operation } from "./define";

export const collections = new OpenAPIHono<AppEnv>();
const tags = ["Databases"];

for (const [path, detailed] of [
  ["/databases/{db}/collections/stats", false],
  ["/databases/{db}/collections/stats/detailed", true],
] as const) {
  operation(
    collections,
    {
      method: "get",
      path,
      guard: access.read,
      operationId: detailed ? "collectionStatsDetailed" : "collectionStats",
      tags,
      summary: detailed ? "Documents per collection, with their sizes" : "Documents per collection",
      responses: {
        200: detailed
          ? json("Detailed collection statistics", DetailedCollectionStatistics)
          : json("Collection statistics", CollectionStatistics),
        ...errors(401, 403, 503),
      },
    },
    async (c) => {
      const perShard = await Promise.all(allShards(c.env, c.var.database).map((stub) => stub.collectionStats(detailed)));
      return c.json(collectionStatistics(perShard, detailed));
    },
  );
}
