/**
 * The shard's index counter (its Lamport clock), mirrored in memory from the `counters` table so
 * that a write need not read it. A raise is persisted in the caller's storage transaction; when
 * that transaction rolls back, the caller restores the mirror (`reset`) too.
 */
import { readIndex, writeIndex } from "./store/counters";

export class IndexCounter {
  value = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Reads the persisted value (once, at startup). */
  load(): void {
    this.value = readIndex(this.sql);
  }

  /** Next index, persisted in the same transaction as the write. */
  next(): number {
    this.raise(this.value + 1);
    return this.value;
  }

  raise(to: number): void {
    if (to <= this.value) return;
    this.value = to;
    writeIndex(this.sql, to);
  }

  /** Back to a value read before a storage transaction that rolled back. */
  reset(value: number): void {
    this.value = value;
  }
}
