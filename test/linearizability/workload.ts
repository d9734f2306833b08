/**
 * The single-key workload: concurrent clients on a few hot keys doing
 * create / update (read, then compare-and-set on the index read) / delete / get with a unique
 * value per write, recording every operation on one logical clock. An operation whose answer is
 * lost (503, a thrown error) is retried with the same raft-request-id; a retry that gets a definite
 * answer makes it ok/fail over the whole interval, otherwise it stays `info` (unknown).
 *
 * The service is behind a small interface, so the same driver runs against the Worker
 * (workload.test.ts) and against in-memory fakes that are correct, racy or lossy.
 */
import { HistoryRecorder, type CxInput, type CxOutput, type Operation } from "./checker";

/** A definite answer, or an unknown outcome (the request may or may not have taken effect). */
export type Reply = { kind: "answer"; output: CxOutput } | { kind: "unknown"; detail: string };

export interface CxService {
  /** `output.value` null = absent (404). */
  get(key: string): Promise<Reply>;
  put(key: string, index: number, value: string, requestId: string): Promise<Reply>;
  remove(key: string, index: number, requestId: string): Promise<Reply>;
}

export interface WorkloadOptions {
  clients: number;
  keys: string[];
  /** Upper bound on operations recorded (the final reads come on top). */
  maxOps: number;
  /** Stop issuing new operations after this many milliseconds. */
  maxMs: number;
  seed: number;
  /** Retries with the same request id after an unknown outcome. */
  retries?: number;
  /** Pause between retries (ms). */
  retryDelayMs?: number;
  /** Vary the case of keys (they are case-insensitive). */
  varyCase?: boolean;
  /**
   * A nemesis, run from the clients' own loop (local workerd fires timers only when its event loop
   * is idle, so a timer-driven nemesis would starve under load): about every `every` operations
   * one client injects a fault (`inject` answers its name, or null if none was injected) while the
   * other clients go on.
   */
  nemesis?: { every: number; inject: (rng: () => number) => Promise<string | null>; settle?: () => Promise<void> };
  /** Runs after the clients and the nemesis stopped, before the final reads (recovery). */
  heal?: () => Promise<void>;
}

export interface WorkloadResult {
  history: Operation<CxInput, CxOutput>[];
  stats: {
    ops: number;
    reads: number;
    writes: number;
    okWrites: number;
    failedWrites: number;
    unknownAnswers: number;
    retries: number;
    /** Writes whose outcome stayed unknown after every retry. */
    info: number;
    faults: number;
    faultKinds: Record<string, number>;
    /** The slowest request or fault injection, to spot stalls. */
    slowest: { ms: number; what: string };
    droppedReads: number;
    elapsedMs: number;
  };
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runWorkload(service: CxService, options: WorkloadOptions): Promise<WorkloadResult> {
  const started = Date.now();
  const recorder = new HistoryRecorder<CxInput, CxOutput>();
  const random = rng(options.seed);
  const retries = options.retries ?? 4;
  const retryDelay = options.retryDelayMs ?? 5;
  const stats: WorkloadResult["stats"] = {
    ops: 0,
    reads: 0,
    writes: 0,
    okWrites: 0,
    failedWrites: 0,
    unknownAnswers: 0,
    retries: 0,
    info: 0,
    faults: 0,
    faultKinds: {},
    slowest: { ms: 0, what: "" },
    droppedReads: 0,
    elapsedMs: 0,
  };
  let issued = 0;
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      const ms = Date.now() - t0;
      if (ms > stats.slowest.ms) stats.slowest = { ms, what };
    }
  };
  let requestSeq = 0;
  const done = () => issued >= options.maxOps || Date.now() - started >= options.maxMs;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const spell = (key: string) => (options.varyCase ? [...key].map((c) => (random() < 0.5 ? c.toUpperCase() : c)).join("") : key);
  const partition = (key: string) => key.toLowerCase();

  async function read(process: number, key: string): Promise<CxOutput | null> {
    issued++;
    const handle = recorder.invoke(process, partition(key), { f: "get" });
    const reply = await timed(`get ${key}`, () => service.get(spell(key)));
    if (reply.kind === "unknown") {
      // A read has no effect: forget it.
      handle.drop();
      stats.droppedReads++;
      return null;
    }
    handle.ok(reply.output);
    stats.reads++;
    return reply.output;
  }

  async function write(process: number, key: string, input: Exclude<CxInput, { f: "get" }>): Promise<CxOutput | null> {
    issued++;
    stats.writes++;
    const requestId = `lin-${options.seed}-${++requestSeq}`;
    const handle = recorder.invoke(process, partition(key), input);
    const spelled = spell(key);
    for (let attempt = 0; ; attempt++) {
      const reply = await timed(`${input.f} ${key} attempt ${attempt}`, () =>
        input.f === "put" ? service.put(spelled, input.index, input.value, requestId) : service.remove(spelled, input.index, requestId),
      );
      if (reply.kind === "answer") {
        if (reply.output.successful) {
          handle.ok(reply.output);
          stats.okWrites++;
        } else {
          handle.fail(reply.output);
          stats.failedWrites++;
        }
        return reply.output;
      }
      stats.unknownAnswers++;
      if (attempt >= retries) {
        handle.info();
        stats.info++;
        return null;
      }
      stats.retries++;
      if (retryDelay > 0) await sleep(retryDelay * (attempt + 1));
    }
  }

  let nextFault = options.nemesis ? options.nemesis.every : Infinity;
  let injecting = false;
  async function maybeInjectFault() {
    if (!options.nemesis || injecting || issued < nextFault) return;
    injecting = true;
    nextFault = issued + Math.max(1, Math.round(options.nemesis.every * (0.5 + random())));
    try {
      const kind = await timed("fault injection", () => options.nemesis!.inject(random));
      if (kind) {
        stats.faults++;
        stats.faultKinds[kind] = (stats.faultKinds[kind] ?? 0) + 1;
      }
    } finally {
      injecting = false;
    }
  }

  async function client(c: number) {
    let generation = 0;
    let seq = 0;
    // What this client last saw of each key: its index, or 0 when absent.
    const known = new Map<string, number>();
    while (!done()) {
      await maybeInjectFault();
      const process = c * 1000 + generation;
      const key = pick(options.keys);
      const roll = random();
      const value = `c${c}.${++seq}`;
      let outcome: CxOutput | null;
      if (roll < 0.25) {
        outcome = await read(process, key);
        if (outcome) known.set(key, outcome.value === null ? 0 : outcome.index);
      } else if (roll < 0.45) {
        outcome = await write(process, key, { f: "put", index: 0, value });
      } else if (roll < 0.85) {
        // Update: compare-and-set on the index just read, or (sometimes) on a stale one.
        let index = known.get(key);
        if (index === undefined || random() < 0.6) {
          const seen = await read(process, key);
          if (!seen || done()) continue;
          index = seen.value === null ? 0 : seen.index;
        }
        outcome = await write(process, key, { f: "put", index, value });
      } else {
        let index = known.get(key);
        if (index === undefined || random() < 0.5) {
          const seen = await read(process, key);
          if (!seen || done()) continue;
          index = seen.value === null ? 0 : seen.index;
        }
        outcome = await write(process, key, { f: "delete", index });
      }
      if (outcome === null) {
        // Unknown outcome: as in Jepsen, this process is retired; the client goes on as a new one.
        generation++;
        known.delete(key);
      } else if (outcome.value === null) known.set(key, 0);
      else known.set(key, outcome.index);
    }
  }

  await Promise.all(Array.from({ length: options.clients }, (_, c) => client(c)));
  await options.nemesis?.settle?.();
  await options.heal?.();
  // The final state of every key, read after the faults stopped: it must be explained by the
  // history, so an acknowledged write that was lost shows up as a violation.
  for (const key of options.keys) {
    for (let attempt = 0; ; attempt++) {
      const handle = recorder.invoke(9999, partition(key), { f: "get" });
      const reply = await service.get(key);
      if (reply.kind === "answer") {
        handle.ok(reply.output);
        break;
      }
      handle.drop();
      if (attempt > 20) throw new Error(`final read of ${key} keeps failing: ${reply.detail}`);
      await sleep(20);
    }
  }
  stats.ops = recorder.ops.length;
  stats.elapsedMs = Date.now() - started;
  return { history: recorder.ops, stats };
}

// ── in-memory fakes, to prove the checker catches what it should ──────────────────────────────

interface FakeItem {
  value: string;
  index: number;
}

export interface FakeOptions {
  /** Await between reading and writing (a compare-and-set that is not atomic). */
  racy?: boolean;
  /** Probability that a write's reply is lost after it was applied (the client retries). */
  dropReply?: number;
  /**
   * Acknowledged puts are only buffered: a "crash" loses the last one of each key (it was visible
   * to everyone until then; the item goes back to what it was before it).
   */
  loseLastPut?: boolean;
  seed?: number;
}

/** An in-memory compare-exchange with RavenDB's semantics, optionally with injected bugs. */
export class FakeCmpxchg implements CxService {
  private readonly items = new Map<string, FakeItem>();
  private counter = 0;
  private readonly requests = new Map<string, Reply>();
  private readonly random: () => number;
  /** Each key as it was before its last put, if that put is still unflushed; restored by a crash. */
  private readonly undo = new Map<string, FakeItem | null>();

  constructor(private readonly options: FakeOptions = {}) {
    this.random = rng(options.seed ?? 1);
  }

  async get(key: string): Promise<Reply> {
    await sleep(0);
    const item = this.items.get(key.toLowerCase());
    return { kind: "answer", output: item ? { value: item.value, index: item.index } : { value: null, index: 0 } };
  }

  async put(key: string, index: number, value: string, requestId: string): Promise<Reply> {
    return this.write(key, requestId, (current) => {
      const matches = current ? current.index === index : index === 0;
      if (!matches)
        return { next: undefined, output: current ? { ...current, successful: false } : { value: null, index: 0, successful: false } };
      const fresh = ++this.counter;
      return { next: { value, index: fresh }, output: { value, index: fresh, successful: true } };
    });
  }

  async remove(key: string, index: number, requestId: string): Promise<Reply> {
    return this.write(key, requestId, (current) => {
      if (current && current.index !== index) return { next: undefined, output: { ...current, successful: false } };
      return { next: null, output: { value: current?.value ?? null, index: ++this.counter, successful: true } };
    });
  }

  private async write(
    key: string,
    requestId: string,
    decide: (current: FakeItem | undefined) => { next: FakeItem | null | undefined; output: CxOutput },
  ): Promise<Reply> {
    await sleep(0);
    const lowered = key.toLowerCase();
    const seen = this.requests.get(requestId);
    if (seen) return seen;
    const snapshot = this.items.get(lowered);
    if (this.options.racy) await sleep(this.random() < 0.5 ? 0 : 1);
    // A racy fake decides on what it read before the pause; a correct one reads and writes at once.
    const current = this.options.racy ? snapshot : this.items.get(lowered);
    const { next, output } = decide(current);
    if (next !== undefined) {
      if (this.options.loseLastPut && next !== null) this.undo.set(lowered, this.items.get(lowered) ?? null);
      else this.undo.delete(lowered);
      if (next === null) this.items.delete(lowered);
      else this.items.set(lowered, next);
    }
    const reply: Reply = { kind: "answer", output };
    this.requests.set(requestId, reply);
    if (this.options.dropReply && this.random() < this.options.dropReply) return { kind: "unknown", detail: "reply dropped" };
    return reply;
  }

  /** The lossy fake's crash: unflushed puts are forgotten. Answers how many were lost. */
  crash(): number {
    const lost = this.undo.size;
    for (const [key, item] of this.undo) {
      if (item === null) this.items.delete(key);
      else this.items.set(key, item);
    }
    this.undo.clear();
    return lost;
  }
}
