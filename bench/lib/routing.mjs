/**
 * The shard of a key, from the service's own routing code (src/core/routing.ts, bundled on the fly
 * as bench/scenarios.mjs does): the transaction workloads pick key pairs on different shards.
 * bench/wrk/common.lua has the same hash in Lua (checked end to end: every (e) transaction of a
 * wrk run is led by a coordinator, none runs one-phase at a shard).
 */
import { buildSync } from "esbuild";
import path from "node:path";
import { ROOT } from "./config.mjs";

const routingJs = buildSync({ entryPoints: [path.join(ROOT, "src/core/routing.ts")], bundle: true, write: false, format: "esm" });
const routing = await import(`data:text/javascript,${encodeURIComponent(routingJs.outputFiles[0].text)}`);

/** Which of `count` shards owns the (lower-cased) key. */
export const shardOf = (key, count) => routing.shardOf(key.toLowerCase(), count);
