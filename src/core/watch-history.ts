/**
 * Resumable watches, the pure part: the retention setting and the resume cursor.
 *
 * Each shard keeps a history of its item changes in commit order, numbered by a shard-local
 * sequence (`seq`). A change's index is per key strictly increasing, but across keys of one
 * shard it is not in commit order (a two-phase commit gets its index at prepare time, while
 * other keys move on), so the position of a stream in a shard is its seq, not an index. A
 * prefix spans every shard: its position is one seq per shard. The cursor text is
 * `<shard>:<seq>[:<until>]` parts joined by commas; clients treat it as opaque and pass it back.
 *
 * `fromIndex` chooses what is replayed: the changes a shard holds from before the watch began
 * whose index is above it. It does not filter what comes after (indexes are per shard: a shard
 * whose counter is behind gives a new change an index below fromIndex, yet it is new).
 */
import { MAX_WATCH_HISTORY, MAX_WATCH_HISTORY_BYTES } from "./limits.js";

/** Close code of a stream refused because the history no longer reaches back to its start. */
export const COMPACTED_CLOSE = 4410;

export interface Retention {
  /** Changes kept per shard (the oldest go first). */
  count: number;
  /** Changes older than this are dropped too; null: no age limit. */
  maxAgeMs: number | null;
  /** Characters of keys and values kept per shard (a value can be 1 MiB: this bounds the storage). */
  maxBytes: number;
}

export const DEFAULT_RETENTION_TEXT = "10000,24h,64mb";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZES: Record<string, number> = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const MAX_AGE_MS = 365 * 86_400_000;

/**
 * WATCH_HISTORY_RETENTION: any of a count of changes per shard, an age (`90s`, `30m`, `24h`,
 * `7d`) and a size (`64mb`; kb, mb, gb), separated by commas. An omitted count or size means the
 * most (MAX_WATCH_HISTORY, MAX_WATCH_HISTORY_BYTES); an omitted age, none. Unset:
 * DEFAULT_RETENTION_TEXT. Anything else is a configuration error.
 */
export function parseRetention(raw: string | undefined): Retention {
  const text = raw === undefined || raw.trim() === "" ? DEFAULT_RETENTION_TEXT : raw;
  let count: number | null = null;
  let maxAgeMs: number | null = null;
  let maxBytes: number | null = null;
  const bad = () =>
    new Error(
      `WATCH_HISTORY_RETENTION must be a count (1 to ${MAX_WATCH_HISTORY}), an age (e.g. 24h; units s, m, h, d) and/or a size (e.g. 64mb; kb, mb, gb; at most 1gb), comma-separated as "10000,24h,64mb"; got ${JSON.stringify(raw)}`,
    );
  for (const part of text.split(",").map((p) => p.trim().toLowerCase())) {
    const age = /^(\d+)([smhd])$/.exec(part);
    const size = /^(\d+)(kb|mb|gb)$/.exec(part);
    if (size && maxBytes === null) {
      maxBytes = Number(size[1]) * SIZES[size[2]!]!;
      if (maxBytes < 1024 || maxBytes > MAX_WATCH_HISTORY_BYTES) throw bad();
    } else if (age && maxAgeMs === null) {
      maxAgeMs = Number(age[1]) * UNITS[age[2]!]!;
      if (maxAgeMs < 1000 || maxAgeMs > MAX_AGE_MS) throw bad();
    } else if (/^\d+$/.test(part) && count === null) {
      count = Number(part);
      if (count < 1 || count > MAX_WATCH_HISTORY) throw bad();
    } else {
      throw bad();
    }
  }
  return { count: count ?? MAX_WATCH_HISTORY, maxAgeMs, maxBytes: maxBytes ?? MAX_WATCH_HISTORY_BYTES };
}

/**
 * A stream's position in one shard: the last seq delivered (or passed over), and while a
 * `fromIndex` replay is not done, the seq it ends at (`until`: the shard's last change when the
 * watch began; up to it only changes above fromIndex are sent, after it every change).
 */
export interface ShardPosition {
  seq: number;
  until: number | null;
}

/** A stream's position per shard. */
export type Cursor = Map<number, ShardPosition>;

/** `3:17,5:2:9` → {3 → seq 17, 5 → seq 2 until 9}; null when the text is not a cursor. */
export function parseCursor(text: string): Cursor | null {
  const cursor: Cursor = new Map();
  if (text === "") return cursor;
  for (const part of text.split(",")) {
    const match = /^(\d{1,4}):(\d{1,15})(?::(\d{1,15}))?$/.exec(part);
    if (!match) return null;
    const seq = Number(match[2]);
    const until = match[3] === undefined ? null : Number(match[3]);
    cursor.set(Number(match[1]), { seq, until: until !== null && until > seq ? until : null });
  }
  return cursor;
}

/** One shard's part of a cursor (`until` only while the replay is not done). */
export function formatPosition(shard: number, position: ShardPosition): string {
  return position.until !== null && position.until > position.seq
    ? `${shard}:${position.seq}:${position.until}`
    : `${shard}:${position.seq}`;
}

export function formatCursor(cursor: Cursor): string {
  return [...cursor].map(([shard, position]) => formatPosition(shard, position)).join(",");
}
