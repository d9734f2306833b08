/**
 * Collection statistics as RavenDB answers `GET /collections/stats[/detailed]`, from what each
 * shard counted (objects/shard/store/documents.ts countByCollection). A collection's documents
 * may sit on every shard, so the counts are summed here, collections told apart without case.
 */
import { humaneSize } from "./sizes";

/** One shard's count for one collection; `name` null for documents without a collection. */
export interface ShardCollectionCount {
  name: string | null;
  count: number;
  /** UTF-8 bytes of the bodies (0 when not asked for). */
  bytes: number;
}

/** RavenDB files documents without `@collection` under this name. */
export const EMPTY_COLLECTION = "@empty";

interface Merged {
  name: string;
  count: number;
  bytes: number;
}

/**
 * The shards' counts summed per collection, in name order. Spellings of one collection may differ
 * between shards (each keeps the spelling of its own rows): the smallest one is shown, as each
 * shard does for its own rows, so the answer does not depend on which shard answered first.
 */
export function mergeCollectionCounts(perShard: ShardCollectionCount[][]): Merged[] {
  const byKey = new Map<string, Merged>();
  for (const row of perShard.flat()) {
    const name = row.name ?? EMPTY_COLLECTION;
    const key = name.toLowerCase();
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { name, count: row.count, bytes: row.bytes });
    else {
      seen.count += row.count;
      seen.bytes += row.bytes;
      if (name < seen.name) seen.name = name;
    }
  }
  return [...byKey.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const size = (bytes: number) => ({ HumaneSize: humaneSize(bytes), SizeInBytes: bytes });

/**
 * RavenDB's CollectionStatistics (`Collections` maps a name to its count) or, `detailed`, its
 * DetailedCollectionStatistics (a name to CollectionDetails). Sizes are the documents' JSON
 * bytes: there are no tombstones or revisions here, and SQLite's pages are not RavenDB's.
 * There are no conflicts either (one node).
 */
export function collectionStatistics(perShard: ShardCollectionCount[][], detailed: boolean) {
  const merged = mergeCollectionCounts(perShard);
  const collections: Record<string, unknown> = {};
  for (const { name, count, bytes } of merged) {
    collections[name] = detailed
      ? {
          Name: name,
          CountOfDocuments: count,
          Size: size(bytes),
          DocumentsSize: size(bytes),
          TombstonesSize: size(0),
          RevisionsSize: size(0),
        }
      : count;
  }
  return {
    CountOfDocuments: merged.reduce((sum, c) => sum + c.count, 0),
    CountOfConflicts: 0,
    Collections: collections,
  };
}
