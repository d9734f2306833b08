/**
 * How routes reach the shard objects of a database: key → shard stub, and the fan-out to all.
 */
import { lowerKey } from "../core/keys";
import { shardOf } from "../core/routing";
import { allShards, shardCount, shardStub } from "../stubs";

export { allShards, shardCount, shardStub };

/** The stub owning a key, with the lower-cased key it stores it under. */
export function stubForKey(env: Env, database: string, key: string) {
  const lowered = lowerKey(key);
  return { lowered, stub: shardStub(env, database, shardOf(lowered, shardCount(env))) };
}

/** Items for the given keys, in order (null where missing), asking each shard once. */
export async function getItems(env: Env, database: string, keys: string[]) {
  const byStub = new Map<string, { stub: ReturnType<typeof shardStub>; at: number[]; keys: string[] }>();
  keys.forEach((key, at) => {
    const { lowered, stub } = stubForKey(env, database, key);
    const id = stub.id.toString();
    const group = byStub.get(id) ?? { stub, at: [], keys: [] };
    group.at.push(at);
    group.keys.push(lowered);
    byStub.set(id, group);
  });
  const found = new Array<{ index: number; json: string } | null>(keys.length).fill(null);
  await Promise.all(
    [...byStub.values()].map(async (group) => {
      const items = await group.stub.get(group.keys);
      items.forEach((item, i) => (found[group.at[i]!] = item));
    }),
  );
  return found;
}
