/**
 * A cluster-wide transaction builder: compare-exchange items and documents, committed all or
 * nothing in one request (RavenDB's `TransactionMode: ClusterWide` batch).
 */
import type { Metadata, TransactionCommand, TransactionResult, WriteOptions } from "./types.js";

export type Committer = (commands: TransactionCommand[], options?: WriteOptions) => Promise<TransactionResult>;

export interface DocumentOptions {
  /** The document's collection (`@metadata.@collection`), e.g. "Users". */
  collection?: string;
  /**
   * The change vector the stored document must have. Absent or null: the document must not
   * exist yet (its atomic guard is created), so two concurrent creates cannot both commit.
   */
  changeVector?: string | null;
  /** More `@metadata` entries for the document (e.g. `@expires`). */
  metadata?: Metadata;
}

/**
 * Collects commands; `commit()` sends them. The server refuses two commands on one key or one
 * document id, so each may appear once. A builder commits at most once.
 */
export class ClusterTransaction {
  private readonly commands: TransactionCommand[] = [];
  private committed = false;

  constructor(private readonly committer: Committer) {}

  /** Writes `key` if its index is `index` (0: only if absent). */
  put(key: string, value: unknown, index: number, metadata?: Metadata): this {
    return this.add({ type: "CompareExchangePUT", key, value, index, ...(metadata ? { metadata } : {}) });
  }

  /** Creates `key`; the transaction fails if it exists. */
  create(key: string, value: unknown, metadata?: Metadata): this {
    return this.put(key, value, 0, metadata);
  }

  /** Deletes `key` if its index is `index`. */
  delete(key: string, index: number): this {
    return this.add({ type: "CompareExchangeDELETE", key, index });
  }

  /**
   * Makes the transaction conditional on `key` being at `index` (0: absent) without writing it
   * (our server's extension `CompareExchangeCHECK`, like etcd's compare without a put). The item
   * keeps its index; a mismatch fails the whole transaction like a put's would.
   */
  check(key: string, index: number): this {
    return this.add({ type: "CompareExchangeCHECK", key, index });
  }

  /** Stores a document (new unless `options.changeVector` names the stored version). */
  putDocument(id: string, document: Record<string, unknown>, options: DocumentOptions = {}): this {
    return this.add({ type: "PUT", id, document, ...options });
  }

  /** Deletes a document (only that version when `changeVector` is given). */
  deleteDocument(id: string, changeVector?: string | null): this {
    return this.add({ type: "DELETE", id, changeVector: changeVector ?? null });
  }

  /** The commands so far, in order. */
  get size(): number {
    return this.commands.length;
  }

  /**
   * Sends the transaction. Resolves with its index and per-command results, or throws
   * `ClusterTransactionConcurrencyException` (with `violations`) when any expectation failed; then
   * nothing was applied. Retries reuse one request id: a lost reply never applies it twice.
   */
  async commit(options?: WriteOptions): Promise<TransactionResult> {
    if (this.committed) throw new Error("This transaction was already committed; build a new one.");
    if (this.commands.length === 0) throw new Error("A transaction needs at least one command.");
    this.committed = true;
    return this.committer([...this.commands], options);
  }

  private add(command: TransactionCommand): this {
    if (this.committed) throw new Error("This transaction was already committed; build a new one.");
    this.commands.push(command);
    return this;
  }
}
