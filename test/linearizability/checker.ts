/**
 * A linearizability checker: Wing & Gong's search with Lowe's memoization
 * ("WGL", as in Porcupine and Knossos), run per key (P-compositionality), against a sequential
 * model. Pure TypeScript: no Workers API and no Node API, so it runs in workerd and in Node alike.
 *
 * - A history is a list of operations with closed intervals `[call, ret]` on one clock; an
 *   operation whose outcome is unknown (`info`: a timeout, a 503, a crash) has `ret = Infinity`
 *   and may take effect at any point after its call, or never.
 * - Models are nondeterministic (`step` returns every possible next state, `[]` when the output
 *   is impossible); the search runs over sets of states (Porcupine's NondeterministicModel), so a
 *   model can say "this write got some index above the current one" or "this unknown write may or
 *   may not have happened" without guessing.
 * - The answer is "ok" (with a witness order), "illegal" (with the longest linearizable prefix
 *   found and the operations that could not be placed after it) or "unknown" when the deadline or
 *   the step budget ran out.
 * - Two refinements keep unknown outcomes cheap, both exact: the search is done as soon as every
 *   operation with a known outcome is placed (the rest may never have happened), and it tries
 *   unknown operations only after the known ones, never placing one where it changes nothing.
 *   On Porcupine's Jepsen etcd vectors this cut the work about 8×; a run of ours with 63 unknown
 *   writes went from "unknown" after 5 M steps to "ok" in under 2 k.
 * - Two more, for histories with many unknown writes, also exact: a model may say which state
 *   covers another (accepts every future it does), and covered states are dropped from state
 *   sets; and a failed configuration also rules out every one with the same known operations and
 *   state but more unknown operations placed. A recorded fault run with 97 unknown writes went
 *   from undecided after 60 s (4.7 M steps) to "ok" in 386 k; on 9,300 generated histories of 6–60
 *   operations the verdicts were those of the search without them, in 5–47× fewer steps.
 * - The memo is an open-addressing table keyed by a Zobrist hash of the linearized set and the
 *   interned state, confirmed bit by bit, so a hash collision can never prune a live branch.
 */

export type Outcome = "ok" | "fail" | "info";

/** One operation of a history. `output` is undefined for `info` operations. */
export interface Operation<I = unknown, O = unknown> {
  id: number;
  /** The logical client that ran it (for messages only; the search does not need it). */
  process: number;
  /** Partition: operations of different keys are checked independently. */
  key: string;
  input: I;
  output: O | undefined;
  outcome: Outcome;
  /** Invocation time, taken just before the request was sent. */
  call: number;
  /** Completion time, taken just after the answer arrived; Infinity when the outcome is unknown. */
  ret: number;
}

/** A sequential specification. States must have a canonical `hash` (equal states, equal hashes). */
export interface Model<S, I, O> {
  init(key: string): S;
  step(state: S, op: Operation<I, O>): S[];
  hash(state: S): string;
  /**
   * Optional: whether state `a` covers state `b`, that is, every continuation of the history
   * that is legal from `b` is also legal from `a`. A covered state is dropped from a state set,
   * which keeps sets small and lets the memo see more states as equal. Must be exact: a wrong
   * "true" could hide a violation.
   */
  covers?(a: S, b: S): boolean;
  describe?(op: Operation<I, O>): string;
}

export type Verdict = "ok" | "illegal" | "unknown";

export interface PartitionResult {
  key: string;
  verdict: Verdict;
  ops: number;
  /** ok: the operations' ids in a legal order. illegal: the longest legal prefix found. */
  order: number[];
  /** illegal: operations that could not be linearized after the longest prefix. */
  stuck: number[];
  /** Search steps spent. */
  steps: number;
}

export interface CheckResult {
  verdict: Verdict;
  /** Operations checked (all partitions). */
  ops: number;
  partitions: PartitionResult[];
  /** The first illegal partition, if any. */
  illegal?: PartitionResult;
  /** A human-readable account of the violation (or of "unknown"). */
  explanation?: string;
  elapsedMs: number;
}

export interface CheckOptions {
  /** Wall-clock budget for the whole check; past it the answer is "unknown". */
  timeoutMs?: number;
  /** Search-step budget per partition (deterministic, unlike the clock); past it "unknown". */
  maxSteps?: number;
  /** The clock for the deadline (performance.now by default). */
  clock?: () => number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_STEPS = 5_000_000;

// ── the search ─────────────────────────────────────────────────────────────────────────────────

interface Entry {
  /** Index of the operation in the partition. */
  op: number;
  isCall: boolean;
  /** A call's matching return (null for returns). */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/** A set of model states, deduplicated, with a canonical key. */
interface StateSet<S> {
  states: S[];
  key: string;
}

function stateSet<S, I, O>(model: Model<S, I, O>, states: S[]): StateSet<S> {
  if (states.length === 1) return { states, key: model.hash(states[0]!) };
  const byHash = new Map<string, S>();
  for (const s of states) byHash.set(model.hash(s), s);
  let keys = [...byHash.keys()].sort();
  const covers = model.covers;
  if (covers && keys.length > 1) {
    // Drop every state another one covers (the set still accepts the same futures); of two that
    // cover each other, keep the first.
    const all = keys.map((k) => byHash.get(k)!);
    keys = keys.filter((_, i) => !all.some((other, j) => j !== i && covers(other, all[i]!) && (j < i || !covers(all[i]!, other))));
  }
  return { states: keys.map((k) => byHash.get(k)!), key: keys.join("\u0001") };
}

/** Whether every state of `b` is in `a` or covered by one of `a`'s: `a` accepts every future `b` does. */
function subsumes<S, I, O>(model: Model<S, I, O>, a: StateSet<S>, b: StateSet<S>): boolean {
  if (a.key === b.key) return true;
  const covers = model.covers;
  if (!covers) return false;
  const aHashes = new Set(a.states.map((s) => model.hash(s)));
  return b.states.every((t) => aHashes.has(model.hash(t)) || a.states.some((s) => covers(s, t)));
}

/**
 * The set of linearized operations as a bitset, with Zobrist hashes kept up to date (two 32-bit
 * XOR sums of per-operation random words): `h1`/`h2` over every operation, `d1`/`d2` over the
 * operations with a known outcome only.
 */
class Linearized {
  readonly words: Uint16Array;
  h1 = 0;
  h2 = 0;
  d1 = 0;
  d2 = 0;
  private readonly z1: Uint32Array;
  private readonly z2: Uint32Array;
  private readonly definite: boolean[];
  constructor(definite: boolean[]) {
    const n = definite.length;
    this.definite = definite;
    this.words = new Uint16Array(Math.max(1, Math.ceil(n / 16)));
    this.z1 = new Uint32Array(n);
    this.z2 = new Uint32Array(n);
    let seed = 0x2545f491;
    const next = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    };
    for (let i = 0; i < n; i++) {
      this.z1[i] = next();
      this.z2[i] = next();
    }
  }
  toggle(i: number): void {
    this.words[i >> 4]! ^= 1 << (i & 15);
    this.h1 = (this.h1 ^ this.z1[i]!) >>> 0;
    this.h2 = (this.h2 ^ this.z2[i]!) >>> 0;
    if (this.definite[i]) {
      this.d1 = (this.d1 ^ this.z1[i]!) >>> 0;
      this.d2 = (this.d2 ^ this.z2[i]!) >>> 0;
    }
  }
}

/**
 * Configurations that failed, to prune by unknown operations. An unknown operation not yet placed
 * only adds options: it may be placed later or never, and having no return it orders nothing. So
 * when (known-outcome set D, state set S, unknown set U) failed, every (D, S, U') with U' ⊇ U
 * fails too. Only finished configurations are recorded, never one still on the search path, so
 * the pruning is exact.
 */
class Failed {
  private readonly byKey = new Map<string, Uint16Array[]>();
  private readonly unknownMask: Uint16Array;
  constructor(definite: boolean[], width: number) {
    this.unknownMask = new Uint16Array(width);
    definite.forEach((d, i) => {
      if (!d) this.unknownMask[i >> 4]! |= 1 << (i & 15);
    });
  }

  private static key(stateKey: string, set: Linearized): string {
    return `${set.d1}:${set.d2}:${stateKey}`;
  }

  record(stateKey: string, set: Linearized): void {
    const key = Failed.key(stateKey, set);
    const list = this.byKey.get(key);
    if (list) list.push(set.words.slice());
    else this.byKey.set(key, [set.words.slice()]);
  }

  /** Whether a recorded failure has the same known-outcome set and state, and a subset of the unknowns. */
  covers(stateKey: string, set: Linearized): boolean {
    const list = this.byKey.get(Failed.key(stateKey, set));
    if (!list) return false;
    const mask = this.unknownMask;
    const words = set.words;
    next: for (const failed of list) {
      for (let i = 0; i < words.length; i++) {
        const m = mask[i]!;
        const f = failed[i]!;
        const w = words[i]!;
        // Known-outcome bits equal (the key's hash could collide); the failure's unknowns a subset of ours.
        if ((f & ~m) !== (w & ~m) || (f & m & ~w) !== 0) continue next;
      }
      return true;
    }
    return false;
  }
}

/**
 * Lowe's memo: the (linearized set, state set) pairs already explored. An open-addressing hash
 * table over typed arrays, keyed by the set's hash and the interned state key, and confirmed by
 * comparing the stored bitset word by word (a hash collision never prunes a live branch).
 */
class Memo {
  private readonly stateIds = new Map<string, number>();
  private slots = new Int32Array(1 << 12);
  private count = 0;
  private h1 = new Uint32Array(1 << 11);
  private h2 = new Uint32Array(1 << 11);
  private sid = new Int32Array(1 << 11);
  private pool: Uint16Array;
  private readonly width: number;
  constructor(width: number) {
    this.width = width;
    this.pool = new Uint16Array((1 << 11) * width);
  }

  /** Adds the pair; false if it was there already. */
  add(stateKey: string, set: Linearized): boolean {
    let sid = this.stateIds.get(stateKey);
    if (sid === undefined) this.stateIds.set(stateKey, (sid = this.stateIds.size));
    const mask = this.slots.length - 1;
    let slot = (set.h1 ^ Math.imul(sid, 0x9e3779b1)) & mask;
    for (;;) {
      const at = this.slots[slot]!;
      if (at === 0) break;
      const e = at - 1;
      if (this.h1[e] === set.h1 && this.h2[e] === set.h2 && this.sid[e] === sid && this.sameWords(e, set.words)) return false;
      slot = (slot + 1) & mask;
    }
    if (this.count === this.h1.length) this.growEntries();
    const e = this.count++;
    this.h1[e] = set.h1;
    this.h2[e] = set.h2;
    this.sid[e] = sid;
    this.pool.set(set.words, e * this.width);
    this.slots[slot] = e + 1;
    if (this.count * 2 > this.slots.length) this.rehash();
    return true;
  }

  get size(): number {
    return this.count;
  }

  private sameWords(e: number, words: Uint16Array): boolean {
    const base = e * this.width;
    for (let i = 0; i < this.width; i++) if (this.pool[base + i] !== words[i]) return false;
    return true;
  }

  private growEntries(): void {
    const grow = <T extends Uint32Array | Int32Array | Uint16Array>(a: T, make: (n: number) => T) => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.h1 = grow(this.h1, (n) => new Uint32Array(n));
    this.h2 = grow(this.h2, (n) => new Uint32Array(n));
    this.sid = grow(this.sid, (n) => new Int32Array(n));
    this.pool = grow(this.pool, (n) => new Uint16Array(n));
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.count; e++) {
      let slot = (this.h1[e]! ^ Math.imul(this.sid[e]!, 0x9e3779b1)) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = e + 1;
    }
    this.slots = slots;
  }
}

/**
 * Checks one partition. Events are ordered by time; at equal times calls come first, so touching
 * intervals count as concurrent (closed intervals, as in Porcupine).
 */
export function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  key: string,
  ops: Operation<I, O>[],
  budget: { deadline: number; clock: () => number; maxSteps: number },
): PartitionResult {
  const n = ops.length;
  const events: { time: number; isCall: boolean; op: number }[] = [];
  ops.forEach((op, i) => {
    if (!(op.ret >= op.call)) throw new Error(`operation ${op.id} returns (${op.ret}) before its call (${op.call})`);
    events.push({ time: op.call, isCall: true, op: i }, { time: op.ret, isCall: false, op: i });
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));

  const head: Entry = { op: -1, isCall: false, match: null, prev: null, next: null };
  let tail = head;
  const calls = new Array<Entry | undefined>(n);
  for (const ev of events) {
    const entry: Entry = { op: ev.op, isCall: ev.isCall, match: null, prev: tail, next: null };
    if (ev.isCall) calls[ev.op] = entry;
    else calls[ev.op]!.match = entry;
    tail.next = entry;
    tail = entry;
  }

  const lift = (call: Entry) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Entry) => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  let state = stateSet(model, [model.init(key)]);
  const definite = ops.map((op) => op.ret !== Infinity);
  const linearized = new Linearized(definite);
  const memo = new Memo(linearized.words.length);
  const failed = new Failed(definite, linearized.words.length);
  const stack: { entry: Entry; state: StateSet<S>; pass: 1 | 2 }[] = [];
  let best: number[] = [];
  // The operations that could not be placed after the longest prefix: the candidates before the
  // first pending return at the first dead end at that depth.
  let stuckAtBest: number[] | null = null;
  let steps = 0;
  // Operations with a known outcome still to place; unknown ones may simply never have happened.
  let definiteLeft = definite.filter(Boolean).length;
  let unknownLeft = n - definiteLeft;
  // Candidates are the calls before the first pending return. Pass 1 tries those with a known
  // outcome, pass 2 the unknown ones: placing an unknown operation only when something needs it
  // prunes the search a lot, and trying every candidate in some order keeps it complete.
  let pass: 1 | 2 = 1;
  let entry = head.next;

  while (definiteLeft > 0) {
    if (++steps % 1024 === 0 && (steps > budget.maxSteps || budget.clock() > budget.deadline)) {
      return { key, verdict: "unknown", ops: n, order: best, stuck: [], steps };
    }
    if (entry === null) throw new Error("internal: ran off the event list");
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const unknown = op.ret === Infinity;
      if (unknown === (pass === 2)) {
        const next: S[] = [];
        for (const s of state.states) next.push(...model.step(s, op));
        const nextSet = next.length > 0 ? stateSet(model, next) : null;
        // An unknown operation that adds nothing here is not placed: leaving it pending (to be
        // placed later, or never) can do everything placing it could.
        if (nextSet !== null && !(unknown && subsumes(model, state, nextSet))) {
          linearized.toggle(entry.op);
          if (memo.add(nextSet.key, linearized) && !failed.covers(nextSet.key, linearized)) {
            stack.push({ entry, state, pass });
            state = nextSet;
            lift(entry);
            if (unknown) unknownLeft--;
            else definiteLeft--;
            if (stack.length > best.length) {
              best = stack.map((f) => ops[f.entry.op]!.id);
              stuckAtBest = null;
            }
            entry = head.next;
            pass = 1;
            continue;
          }
          linearized.toggle(entry.op);
        }
      }
      entry = entry.next;
      continue;
    }
    // The earliest pending return: its operation could not be placed before it.
    if (pass === 1 && unknownLeft > 0) {
      pass = 2;
      entry = head.next;
      continue;
    }
    if (stack.length === best.length && stuckAtBest === null) {
      stuckAtBest = [];
      for (let e = head.next; e !== null && e !== entry; e = e.next) if (e.isCall) stuckAtBest.push(ops[e.op]!.id);
    }
    if (stack.length === 0) {
      return { key, verdict: "illegal", ops: n, order: best, stuck: stuckAtBest ?? [], steps };
    }
    const top = stack.pop()!;
    failed.record(state.key, linearized);
    state = top.state;
    linearized.toggle(top.entry.op);
    unlift(top.entry);
    if (ops[top.entry.op]!.ret !== Infinity) definiteLeft++;
    else unknownLeft++;
    entry = top.entry.next;
    pass = top.pass;
  }
  return { key, verdict: "ok", ops: n, order: stack.map((f) => ops[f.entry.op]!.id), stuck: [], steps };
}

/**
 * Checks a whole history: partitions by key, checks the smallest partitions first and stops at
 * the first illegal one. Unknown only when no partition is illegal and some ran out of budget.
 */
export function check<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[], options: CheckOptions = {}): CheckResult {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  const budget = {
    clock,
    deadline: started + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
  };
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  const parts = [...byKey.entries()].sort((a, b) => a[1].length - b[1].length);
  const partitions: PartitionResult[] = [];
  let verdict: Verdict = "ok";
  let illegal: PartitionResult | undefined;
  for (const [key, ops] of parts) {
    const result = checkPartition(model, key, ops, budget);
    partitions.push(result);
    if (result.verdict === "illegal") {
      verdict = "illegal";
      illegal = result;
      break;
    }
    if (result.verdict === "unknown") verdict = "unknown";
  }
  const out: CheckResult = { verdict, ops: history.length, partitions, elapsedMs: clock() - started };
  if (illegal) {
    out.illegal = illegal;
    out.explanation = explain(model, byKey.get(illegal.key)!, illegal);
  } else if (verdict === "unknown") {
    out.explanation = `no answer within the budget for key(s) ${partitions
      .filter((p) => p.verdict === "unknown")
      .map((p) => p.key)
      .join(", ")}`;
  }
  return out;
}

/** The violation in words: the longest legal prefix found, then the operations stuck after it. */
export function explain<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], result: PartitionResult): string {
  const byId = new Map(ops.map((op) => [op.id, op]));
  const show = (id: number) => {
    const op = byId.get(id)!;
    const text = model.describe ? model.describe(op) : JSON.stringify({ input: op.input, output: op.output });
    return `  #${op.id} p${op.process} [${op.call}, ${op.ret}] ${op.outcome} ${text}`;
  };
  const tailOfPrefix = result.order.slice(-8);
  return [
    `key ${JSON.stringify(result.key)}: not linearizable (${result.ops} ops). Longest legal prefix: ${result.order.length} ops, ending with:`,
    ...tailOfPrefix.map(show),
    `none of these could be placed next:`,
    ...result.stuck.slice(0, 12).map(show),
  ].join("\n");
}

// ── recording ──────────────────────────────────────────────────────────────────────────────────

/**
 * Records a history on one logical clock: every invocation and completion takes the next tick of
 * one counter, in the single event loop that runs every client, so tick order is real-time order
 * as the clients saw it (a completion observed before an invocation really happened before it).
 */
export class HistoryRecorder<I, O> {
  readonly ops: Operation<I, O>[] = [];
  private tick = 0;
  private nextId = 0;

  now(): number {
    return ++this.tick;
  }

  /** Starts an operation; call `ok`, `fail` or `info` on the handle when it ends. */
  invoke(process: number, key: string, input: I) {
    const op: Operation<I, O> = {
      id: this.nextId++,
      process,
      key,
      input,
      output: undefined,
      outcome: "info",
      call: this.now(),
      ret: Infinity,
    };
    this.ops.push(op);
    const end = (outcome: Outcome, output: O | undefined) => {
      op.outcome = outcome;
      op.output = output;
      op.ret = outcome === "info" ? Infinity : this.now();
    };
    return {
      op,
      ok: (output: O) => end("ok", output),
      fail: (output: O) => end("fail", output),
      info: () => end("info", undefined),
      /** Forget an operation that had no effect (a failed read). */
      drop: () => {
        const at = this.ops.indexOf(op);
        if (at >= 0) this.ops.splice(at, 1);
      },
    };
  }
}

// ── the compare-exchange model ─────────────────────────────────────────────────────────────────

/** Input of a compare-exchange operation. `index` 0 on put = create only if absent. */
export type CxInput = { f: "get" } | { f: "put"; index: number; value: string } | { f: "delete"; index: number };

/**
 * Output: a get's item (`value` null = 404, index ignored), or a write's `{Index, Value, Successful}`
 * with `value` the Object (null when RavenDB answers no value).
 */
export type CxOutput = { value: string | null; index: number; successful?: boolean };

/**
 * The state of one key: `value` (null = absent) and the index of its last successful write (put
 * or delete; 0 = never written). `exact` false means the index is only known to be above `lo`:
 * an unknown-outcome write took some fresh index nobody has reported yet.
 */
export interface CxState {
  value: string | null;
  lo: number;
  exact: boolean;
}

const canBe = (s: CxState, index: number) => (s.exact ? s.lo === index : index > s.lo);
/** Whether `index` can be the index of a write that came after the state's last write. */
const canFollow = (s: CxState, index: number) => (s.exact ? index > s.lo : index > s.lo + 1);
/** The lowest index a write after this state may take, minus one. */
const floor = (s: CxState) => (s.exact ? s.lo : s.lo + 1);
/** The state after an unknown write that took a fresh index. */
const after = (s: CxState, value: string | null, resolvedIndex?: number): CxState => ({
  value,
  lo: resolvedIndex ?? (s.exact ? s.lo : s.lo + 1),
  exact: false,
});

/**
 * RavenDB's compare-exchange, per key, as this service implements it:
 * - indexes strictly increase per key on every successful write, delete and re-create included,
 *   but are not contiguous (a per-shard Lamport counter), so a success may report any higher index;
 * - put index 0 creates only if absent; put index n updates only if the current index is n;
 *   a mismatch answers the current index and value (index 0 and no value when absent);
 * - delete succeeds if the current index matches, or if the key is absent (with a fresh index), and
 *   returns the deleted value; a mismatch answers the current index and value;
 * - a get answers the current value and index, or 404;
 * - an unknown outcome may or may not have taken effect.
 */
export const cmpxchgModel: Model<CxState, CxInput, CxOutput> = {
  init: () => ({ value: null, lo: 0, exact: true }),
  // An absent key hashes by its floor: "absent, index above 14" and "absent, index exactly 15"
  // accept the same futures.
  hash: (s) => (s.value === null ? `∅|${floor(s)}` : `=${s.value}|${s.exact ? "" : ">"}${s.lo}`),
  // An inexact state stands for every exact state above its `lo` (the index is some value nobody
  // has reported), so covering is inclusion of those sets. An absent key is observed only through
  // the floor a later write's index must clear, so a lower floor covers a higher one.
  covers(a, b) {
    if (a.value !== b.value) return false;
    if (a.value === null) return floor(a) <= floor(b);
    if (a.exact) return b.exact && a.lo === b.lo;
    return b.exact ? b.lo > a.lo : b.lo >= a.lo;
  },
  describe: (op) => {
    const i = op.input;
    const call = i.f === "get" ? "get" : i.f === "put" ? `put(index=${i.index}, ${i.value})` : `delete(index=${i.index})`;
    const o = op.output;
    const res =
      o === undefined
        ? "?"
        : `${o.successful === undefined ? "" : o.successful ? "Successful " : "Failed "}{Index ${o.index}, Value ${o.value}}`;
    return `${call} → ${res}`;
  },
  step(s, op) {
    const input = op.input;
    const out = op.output;
    if (input.f === "get") {
      // A read without an answer has no effect.
      if (op.outcome !== "ok" || out === undefined) return [s];
      if (out.value === null) return s.value === null ? [s] : [];
      return s.value === out.value && out.index > 0 && canBe(s, out.index) ? [{ value: s.value, lo: out.index, exact: true }] : [];
    }
    const present = s.value !== null;
    if (op.outcome === "info" || out === undefined) {
      // May or may not have happened; if it happened, it met its precondition.
      if (input.f === "put") {
        if (input.index === 0) return present ? [s] : [s, after(s, input.value)];
        return present && canBe(s, input.index) ? [s, after(s, input.value, input.index)] : [s];
      }
      if (!present) return [s, after(s, null)];
      return canBe(s, input.index) ? [s, after(s, null, input.index)] : [s];
    }
    if (input.f === "put") {
      if (out.successful) {
        if (out.value !== input.value) return [];
        const matches = input.index === 0 ? !present : present && canBe(s, input.index);
        const fresh = input.index === 0 ? canFollow(s, out.index) : out.index > input.index;
        return matches && fresh ? [{ value: input.value, lo: out.index, exact: true }] : [];
      }
      if (!present) return input.index !== 0 && out.index === 0 && out.value === null ? [s] : [];
      return out.value === s.value && out.index !== input.index && canBe(s, out.index)
        ? [{ value: s.value, lo: out.index, exact: true }]
        : [];
    }
    // delete
    if (out.successful) {
      if (!present) return out.value === null && canFollow(s, out.index) ? [{ value: null, lo: out.index, exact: true }] : [];
      return out.value === s.value && canBe(s, input.index) && out.index > input.index ? [{ value: null, lo: out.index, exact: true }] : [];
    }
    return present && out.value === s.value && out.index !== input.index && canBe(s, out.index)
      ? [{ value: s.value, lo: out.index, exact: true }]
      : [];
  },
};

// ── Porcupine's models, for its test vectors ───────────────────────────────────────────────────

/** Jepsen's etcd CAS register (Porcupine's etcdModel): read, write, cas(from, to); nil = absent. */
export type RegisterInput = { f: "read" } | { f: "write"; value: number } | { f: "cas"; from: number; to: number };
export type RegisterOutput = { value: number | null } | { ok: boolean };

export const casRegisterModel: Model<number | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  hash: (s) => String(s),
  describe: (op) => `${JSON.stringify(op.input)} → ${op.output === undefined ? "?" : JSON.stringify(op.output)}`,
  step(s, op) {
    const input = op.input;
    const out = op.output;
    const unknown = op.outcome === "info" || out === undefined;
    switch (input.f) {
      case "read":
        return unknown || (out as { value: number | null }).value === s ? [s] : [];
      case "write":
        return [input.value];
      case "cas": {
        const matches = s === input.from;
        if (unknown) return [matches ? input.to : s];
        const ok = (out as { ok: boolean }).ok;
        return ok === matches ? [matches ? input.to : s] : [];
      }
    }
  },
};

/** Porcupine's kv model: a string per key; get, put, append. */
export type KvInput = { f: "get" } | { f: "put"; value: string } | { f: "append"; value: string };
export type KvOutput = { value: string };

export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => "",
  hash: (s) => s,
  describe: (op) => `${JSON.stringify(op.input)} → ${op.output === undefined ? "?" : JSON.stringify(op.output)}`,
  step(s, op) {
    const input = op.input;
    if (op.outcome === "fail") return [s];
    switch (input.f) {
      case "get":
        return op.outcome !== "ok" || op.output?.value === s ? [s] : [];
      case "put":
        return [input.value];
      case "append":
        return [s + input.value];
    }
  },
};
