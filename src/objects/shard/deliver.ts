/**
 * A coordinator's messages to a shard — prepares, commits, aborts, releases of many transactions —
 * delivered in one call (objects/batcher.ts). Their steps run in ONE storage transaction, each in
 * its own savepoint, so they share one commit and one failing rolls back only itself; every
 * message gets its own reply, an error as a value. A prepare that meets a lock is settled
 * afterwards, on its own (`prepareBlocked`).
 *
 * The shard object hands in what this needs (`DeliveryHost`); the decision steps are steps.ts.
 */
import { olderThan, type PrepareVote, type TxAge } from "../../core/transaction";
import type { Reply } from "../batcher";
import type { Failpoints } from "../failpoints";
import type { ChangeEvent } from "../shard-watch";
import { finishStep, prepareStep, releaseStep, type Ledger, type Step } from "./steps";
import type { ShardMessage, ShardReply } from "./types";

type Prepare = Extract<ShardMessage, { kind: "prepare" }>;

/** What delivering a batch uses of the shard object. */
export interface DeliveryHost {
  readonly ledger: Ledger;
  readonly failpoints: Failpoints;
  /** Runs `fn` as one entry of the shard's group commit (shares a storage commit with concurrent writes). */
  grouped<T>(fn: () => T): Promise<T>;
  /** One storage transaction (a savepoint inside another); rolls back with the mirrored counter. */
  sync<T>(fn: () => T): T;
  publish(events: ChangeEvent[]): void;
  /** Applies the decisions already taken of these lock holders; returns the undecided. */
  settleDecided(txnIds: string[]): Promise<string[]>;
  /** The wait-die ages of these lock holders. */
  agesOf(txnIds: string[]): TxAge[];
  /** The alarm must come round to resolve new prepare locks (their coordinator may die). */
  afterPrepared(): Promise<void>;
  /** The alarm must cover what commits added (expiries, outcomes to forget). */
  afterCommitted(): Promise<void>;
}

export async function deliverBatch(host: DeliveryHost, batch: ShardMessage[]): Promise<Reply<ShardReply>[]> {
  await Promise.all(
    batch.map((m) => (m.kind === "prepare" || m.kind === "commit" ? host.failpoints.pause(`shard.${m.kind}.before`) : null)),
  );
  const events: ChangeEvent[] = [];
  // One entry of the group commit: deliveries from other coordinators and single-key writes
  // arriving meanwhile share its storage commit.
  const steps = await host.grouped(() =>
    batch.map((m) =>
      attempt(() => {
        // A message's change events count only if its savepoint committed.
        const own: ChangeEvent[] = [];
        const step = host.sync(() => stepOf(host, m, own));
        events.push(...own);
        return step;
      }),
    ),
  );
  host.publish(events);
  const replies = await Promise.all(
    batch.map(async (m, i): Promise<Reply<ShardReply>> => {
      const step = steps[i]!;
      if ("error" in step) return step;
      const result = step.ok;
      if ("done" in result) return { ok: result.done };
      if (m.kind !== "prepare") return { error: "only a prepare can be blocked" };
      return attemptAsync(() => prepareBlocked(host, m, result.blocked));
    }),
  );
  const answered = (kind: ShardMessage["kind"]) => replies.flatMap((r, i) => (batch[i]!.kind === kind && "ok" in r ? [r.ok] : []));
  if (answered("prepare").some((vote) => vote !== null && "vote" in vote && vote.vote === "yes")) await host.afterPrepared();
  if (answered("commit").some((outcome) => outcome !== null && "committed" in outcome && outcome.committed)) await host.afterCommitted();
  // The failpoints after each step: a fault fails that message's reply, after its work was done.
  return replies.map((reply, i) => {
    if ("error" in reply) return reply;
    return attempt(() => {
      host.failpoints.hit(`shard.${batch[i]!.kind}.after`);
      return reply.ok;
    });
  });
}

/** A message's synchronous step, inside the batch's storage transaction. */
function stepOf(host: DeliveryHost, m: ShardMessage, events: ChangeEvent[]): Step<ShardReply> {
  switch (m.kind) {
    case "prepare":
      return prepareStep(host.ledger, m.txnId, m.mode, m.ops, m.lead, host.failpoints);
    case "commit":
      return { done: finishStep(host.ledger, m.txnId, { decision: "committed", index: m.index, at: m.at }, events) ?? { unknown: true } };
    case "abort":
      return { done: finishStep(host.ledger, m.txnId, { decision: "aborted" }, events)! };
    case "release":
      releaseStep(host.ledger, m.txnId);
      return { done: null };
  }
}

/**
 * A prepare that met locks: settles those already decided and tries again, alone; while any is
 * still undecided, votes "busy" — wait-die says whether the coordinator may keep its other locks.
 */
async function prepareBlocked(host: DeliveryHost, m: Prepare, blocked: string[]): Promise<PrepareVote> {
  for (let attempt = 1; ; attempt++) {
    const undecided = await host.settleDecided(blocked);
    if (undecided.length === 0 && attempt <= 3) {
      const step = host.sync(() => prepareStep(host.ledger, m.txnId, m.mode, m.ops, m.lead, host.failpoints));
      if ("done" in step) return step.done;
      blocked = step.blocked;
      continue;
    }
    // Wait-die: older than every holder still deciding → may wait (keep its other locks).
    const me: TxAge = { born: m.lead.born, txnId: m.txnId };
    const holders = host.agesOf(undecided.length ? undecided : blocked);
    return { vote: "busy", wait: holders.every((holder) => olderThan(me, holder)) };
  }
}

/** Runs `fn`, its error as a value (each message of a batch fails alone). */
function attempt<T>(fn: () => T): Reply<T> {
  try {
    return { ok: fn() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

async function attemptAsync<T>(fn: () => Promise<T>): Promise<Reply<T>> {
  try {
    return { ok: await fn() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
