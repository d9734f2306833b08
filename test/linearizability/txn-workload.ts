/**
 * The atomic-pair workload for cluster-wide transactions: writers read every
 * key, then commit one transaction that compare-and-sets 2–3 of them to one unique token; readers
 * read the keys one after another (and sometimes all at once with a multi-key GET, which is not a
 * snapshot, so its answers count as separate reads). Everything goes on one logical clock for
 * txn-checker.ts. Unknown outcomes are retried with the same raft-request-id.
 */
import type { TxnOp } from "./txn-checker";
import { rng, sleep } from "./workload";

export type ReadReply = { kind: "answer"; value: string | null; index: number } | { kind: "unknown"; detail: string };
export type CommitReply = { kind: "committed"; index: number } | { kind: "conflict" } | { kind: "unknown"; detail: string };

export interface TxnService {
  read(key: string): Promise<ReadReply>;
  /** Several keys in one request (not a snapshot); null if the request failed. */
  readMany(keys: string[]): Promise<ReadReply[] | null>;
  commit(writes: { key: string; value: string; expected: number }[], requestId: string): Promise<CommitReply>;
}

export interface TxnWorkloadOptions {
  keys: string[];
  writers: number;
  readers: number;
  maxTxns: number;
  maxMs: number;
  seed: number;
  retries?: number;
  /** Readers pause this long between reads (lets delayed commits run in local workerd). */
  readerPauseMs?: number;
  /** About every `every` transactions a writer injects a fault; answers its name or null. */
  nemesis?: { every: number; inject: (rng: () => number) => Promise<string | null> };
}

export interface TxnWorkloadResult {
  history: TxnOp[];
  stats: {
    txns: number;
    committed: number;
    conflicts: number;
    unknown: number;
    reads: number;
    failedReads: number;
    lostAnswers: number;
    retries: number;
    faults: number;
    faultKinds: Record<string, number>;
    elapsedMs: number;
  };
}

export async function runTxnWorkload(service: TxnService, options: TxnWorkloadOptions): Promise<TxnWorkloadResult> {
  const started = Date.now();
  const random = rng(options.seed);
  const history: TxnOp[] = [];
  let tick = 0;
  const now = () => ++tick;
  const retries = options.retries ?? 5;
  const stats: TxnWorkloadResult["stats"] = {
    txns: 0,
    committed: 0,
    conflicts: 0,
    unknown: 0,
    reads: 0,
    failedReads: 0,
    lostAnswers: 0,
    retries: 0,
    faults: 0,
    faultKinds: {},
    elapsedMs: 0,
  };
  let txnsIssued = 0;
  let requestSeq = 0;
  const done = () => txnsIssued >= options.maxTxns || Date.now() - started >= options.maxMs;

  const record = (op: Omit<TxnOp, "id">) => {
    const full = { id: history.length, ...op };
    history.push(full);
    return full;
  };

  async function read(process: number, key: string): Promise<ReadReply> {
    const call = now();
    const reply = await service.read(key);
    if (reply.kind === "answer") {
      record({ process, call, ret: now(), outcome: "ok", reads: [{ key, value: reply.value, index: reply.index }], writes: [] });
      stats.reads++;
    } else stats.failedReads++;
    return reply;
  }

  async function readAll(process: number, keys: string[]) {
    const call = now();
    const replies = await service.readMany(keys);
    if (!replies) {
      stats.failedReads++;
      return;
    }
    const ret = now();
    // Not a snapshot: each key is its own read, all with the request's interval.
    replies.forEach((reply, i) => {
      if (reply.kind !== "answer") return;
      record({ process, call, ret, outcome: "ok", reads: [{ key: keys[i]!, value: reply.value, index: reply.index }], writes: [] });
      stats.reads++;
    });
  }

  async function commit(process: number, writes: TxnOp["writes"]): Promise<CommitReply> {
    const requestId = `pair-${options.seed}-${++requestSeq}`;
    const call = now();
    stats.txns++;
    for (let attempt = 0; ; attempt++) {
      const reply = await service.commit(writes, requestId);
      if (reply.kind === "committed") {
        record({ process, call, ret: now(), outcome: "ok", reads: [], writes, index: reply.index });
        stats.committed++;
        return reply;
      }
      if (reply.kind === "conflict") {
        record({ process, call, ret: now(), outcome: "fail", reads: [], writes });
        stats.conflicts++;
        return reply;
      }
      stats.lostAnswers++;
      if (attempt >= retries) {
        record({ process, call, ret: Infinity, outcome: "info", reads: [], writes });
        stats.unknown++;
        return reply;
      }
      stats.retries++;
    }
  }

  const setup = await commit(
    -1,
    options.keys.map((key) => ({ key, value: "init", expected: 0 })),
  );
  if (setup.kind !== "committed") throw new Error(`setup transaction failed: ${JSON.stringify(setup)}`);

  let nextFault = options.nemesis?.every ?? Infinity;
  let injecting = false;
  async function maybeInjectFault() {
    if (!options.nemesis || injecting || txnsIssued < nextFault) return;
    injecting = true;
    nextFault = txnsIssued + Math.max(1, Math.round(options.nemesis.every * (0.5 + random())));
    try {
      const kind = await options.nemesis.inject(random);
      if (kind) {
        stats.faults++;
        stats.faultKinds[kind] = (stats.faultKinds[kind] ?? 0) + 1;
      }
    } finally {
      injecting = false;
    }
  }

  async function writer(w: number) {
    let seq = 0;
    while (!done()) {
      await maybeInjectFault();
      const process = w;
      const seen = new Map<string, number>();
      for (const key of options.keys) {
        const reply = await read(process, key);
        if (reply.kind === "answer") seen.set(key, reply.value === null ? 0 : reply.index);
      }
      if (done()) break;
      // Two or three keys, all present in what we read.
      const keys = options.keys.filter((k) => seen.has(k)).filter(() => random() < 0.8);
      if (keys.length < 2) continue;
      txnsIssued++;
      const token = `w${w}.${++seq}`;
      await commit(
        process,
        keys.map((key) => ({ key, value: token, expected: seen.get(key)! })),
      );
    }
  }

  async function reader(r: number) {
    const process = 100 + r;
    while (!done()) {
      if (random() < 0.25) await readAll(process, options.keys);
      else {
        const order = [...options.keys].sort(() => random() - 0.5);
        for (const key of order) {
          await read(process, key);
          if (options.readerPauseMs) await sleep(options.readerPauseMs);
        }
      }
    }
  }

  await Promise.all([
    ...Array.from({ length: options.writers }, (_, w) => writer(w)),
    ...Array.from({ length: options.readers }, (_, r) => reader(r)),
  ]);

  // The final state, read after the load: lost or half-applied transactions show up here.
  for (const key of options.keys) {
    for (let attempt = 0; ; attempt++) {
      const reply = await read(999, key);
      if (reply.kind === "answer") break;
      if (attempt > 20) throw new Error(`final read of ${key} keeps failing: ${reply.detail}`);
      await sleep(20);
    }
  }
  stats.elapsedMs = Date.now() - started;
  return { history, stats };
}

/**
 * An in-memory transactional store: checks every expected index at once, then applies the writes
 * — atomically, or (broken: `torn`) one key at a time, holding the gap open until a reader has
 * been served a fractured pair: one key of the transaction new, then, in a read that started after
 * that answer, another key still old.
 *
 * The gap is event-driven, not a timer: an earlier version slept 1 ms between the keys and
 * hoped a reader's timers would land inside. Timers in workerd fire in deadline order computed
 * from a clock that stands still while code runs, so whether a reader's 0 ms and 1 ms sleeps fell
 * between a writer's two halves depended on how the turns were batched; on a loaded machine a
 * run saw no fractured read at all. Now every torn commit waits until the fractured pair has been
 * served (or no reader is reading any more).
 */
export class FakeTxnStore implements TxnService {
  private readonly items = new Map<string, { value: string; index: number }>();
  private counter = 0;
  private readonly done = new Map<string, CommitReply>();
  /** Order of read entries and answers, for "a read that started after that answer". */
  private seq = 0;
  /** The transaction applied halfway: its new and still-old keys, and when a new key was first served. */
  private half: { applied: Set<string>; pending: Set<string>; newServedAt: number | null; fractured: boolean } | null = null;
  /** Fractured pairs served (for the test's report). */
  fracturedServed = 0;

  constructor(private readonly options: { torn?: boolean } = {}) {}

  async read(key: string): Promise<ReadReply> {
    const entered = ++this.seq;
    await sleep(0);
    const item = this.items.get(key);
    const half = this.half;
    if (half) {
      if (half.applied.has(key) && half.newServedAt === null) half.newServedAt = ++this.seq;
      else if (half.pending.has(key) && half.newServedAt !== null && entered > half.newServedAt && !half.fractured) {
        half.fractured = true;
        this.fracturedServed++;
      }
    }
    return item ? { kind: "answer", ...item } : { kind: "answer", value: null, index: 0 };
  }

  async readMany(keys: string[]): Promise<ReadReply[]> {
    return Promise.all(keys.map((key) => this.read(key)));
  }

  async commit(writes: { key: string; value: string; expected: number }[], requestId: string): Promise<CommitReply> {
    await sleep(0);
    const seen = this.done.get(requestId);
    if (seen) return seen;
    const ok = writes.every((w) => (this.items.get(w.key)?.index ?? 0) === w.expected);
    if (!ok) {
      this.done.set(requestId, { kind: "conflict" });
      return { kind: "conflict" };
    }
    const index = ++this.counter;
    const reply: CommitReply = { kind: "committed", index };
    this.done.set(requestId, reply);
    if (!this.options.torn || writes.length < 2 || this.half) {
      for (const w of writes) this.items.set(w.key, { value: w.value, index });
      return reply;
    }
    const [first, ...rest] = writes;
    this.items.set(first!.key, { value: first!.value, index });
    const half = { applied: new Set([first!.key]), pending: new Set(rest.map((w) => w.key)), newServedAt: null, fractured: false };
    this.half = half;
    // Liveness bound: give up once no read has arrived for 20 turns (the readers have stopped).
    for (let idle = 0, last = this.seq; idle < 20 && !half.fractured; ) {
      await sleep(1);
      idle = this.seq === last ? idle + 1 : 0;
      last = this.seq;
    }
    for (const w of rest) this.items.set(w.key, { value: w.value, index });
    this.half = null;
    return reply;
  }
}
