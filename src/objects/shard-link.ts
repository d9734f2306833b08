/**
 * A coordinator's line to one shard: phase-one and phase-two messages of all its transactions,
 * batched into `ShardObject.deliver` calls (batcher.ts). Kept in a field of the coordinator for
 * the life of the instance, one per shard.
 */
import type { TxMode, TxOp } from "../core/transaction";
import { Batcher } from "./batcher";
import type { ShardObject } from "./shard";
import type { Lead, ShardMessage, ShardReplies, ShardReply } from "./shard/types";

export class ShardLink {
  private stub: DurableObjectStub<ShardObject> | null = null;
  private readonly batcher: Batcher<ShardMessage, ShardReply>;

  /** `connect` makes a stub; a new one is made after a call failed (a failed stub may stay broken). */
  constructor(private readonly connect: () => DurableObjectStub<ShardObject>) {
    this.batcher = new Batcher(async (batch) => {
      this.stub ??= this.connect();
      try {
        return await this.stub.deliver(batch);
      } catch (err) {
        this.stub = null;
        throw err;
      }
    });
  }

  prepare(txnId: string, mode: TxMode, ops: TxOp[], lead: Lead): Promise<ShardReplies["prepare"]> {
    return this.send({ kind: "prepare", txnId, mode, ops, lead });
  }

  commit(txnId: string, index: number, at: number | undefined): Promise<ShardReplies["commit"]> {
    return this.send({ kind: "commit", txnId, index, at });
  }

  abort(txnId: string): Promise<ShardReplies["abort"]> {
    return this.send({ kind: "abort", txnId });
  }

  release(txnId: string): Promise<ShardReplies["release"]> {
    return this.send({ kind: "release", txnId });
  }

  /** Each kind of message is answered with its own kind of reply (ShardObject.stepOf). */
  private send<K extends ShardMessage["kind"]>(message: Extract<ShardMessage, { kind: K }>): Promise<ShardReplies[K]> {
    return this.batcher.submit(message) as Promise<ShardReplies[K]>;
  }
}
