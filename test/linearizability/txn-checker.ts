/**
 * A checker for multi-key transactions: Elle's dependency-graph method for
 * registers whose version order is known. Every item version carries its index, and a cluster-wide
 * transaction gives all of its items one index (the TransactionIndex), so the version order of a
 * key is its index order; values are unique per transaction, so a read names its writer.
 *
 * Nodes are committed write transactions and single-key reads. Edges: ww (a version → the next
 * version of that key), wr (the writer of a version → its reader), rw (the reader of a version → the
 * writer of the next one), rt (A completed before B was invoked). A cycle is an anomaly:
 * G0 (ww only), G1c (ww + wr), G-single (exactly one rw — a fractured read, read skew), G2 (more
 * rw); "-realtime" when the cycle needs an rt edge (serializable, but not strict serializable).
 * Point checks: aborted reads (G1a), reads of values nobody wrote, a read whose index is not its
 * writer's, two versions with one index, and lost updates (a compare-and-set that committed
 * against a version that was not the latest one).
 */
import type { Outcome } from "./checker";

export interface TxnOp {
  id: number;
  process: number;
  call: number;
  /** Infinity when the outcome is unknown. */
  ret: number;
  /** ok = committed (or a read answered), fail = certainly not committed, info = unknown. */
  outcome: Outcome;
  /** A read's answers: value null = absent (the key's initial state). */
  reads: { key: string; value: string | null; index: number }[];
  /** A transaction's compare-and-set writes: `expected` is the index it required. */
  writes: { key: string; value: string; expected: number }[];
  /** The transaction's index (TransactionIndex) when committed. */
  index?: number;
}

export type EdgeType = "ww" | "wr" | "rw" | "rt";

export interface Anomaly {
  type: string;
  ops: number[];
  detail: string;
}

export interface TxnCheckResult {
  anomalies: Anomaly[];
  stats: {
    txns: number;
    committed: number;
    failed: number;
    unknown: number;
    unknownSeen: number;
    reads: number;
    versions: number;
    edges: Record<EdgeType, number>;
  };
}

interface Version {
  index: number;
  writer: TxnOp;
  value: string;
  expected: number;
}

export function checkTransactions(history: TxnOp[]): TxnCheckResult {
  const anomalies: Anomaly[] = [];
  const txns = history.filter((op) => op.writes.length > 0);
  const reads = history.filter((op) => op.writes.length === 0 && op.outcome === "ok");
  const writerOf = new Map<string, TxnOp>();
  const slot = (key: string, value: string) => `${key}\u0000${value}`;
  for (const t of txns) {
    for (const w of t.writes) {
      if (writerOf.has(slot(w.key, w.value)))
        anomalies.push({ type: "duplicate-write", ops: [t.id], detail: `${w.key}=${w.value} written twice` });
      writerOf.set(slot(w.key, w.value), t);
    }
  }

  // Which transactions committed, at which index: ok ones by their answer; unknown ones only if
  // someone read what they wrote (then at the index that read reports).
  const committedAt = new Map<TxnOp, number>();
  for (const t of txns) if (t.outcome === "ok") committedAt.set(t, t.index!);
  for (const r of reads) {
    for (const read of r.reads) {
      if (read.value === null) continue;
      const writer = writerOf.get(slot(read.key, read.value));
      if (!writer) {
        anomalies.push({ type: "garbage-read", ops: [r.id], detail: `read ${read.key}=${read.value}, which nobody wrote` });
        continue;
      }
      if (writer.outcome === "fail") {
        anomalies.push({
          type: "G1a",
          ops: [writer.id, r.id],
          detail: `read ${read.key}=${read.value} from transaction ${writer.id}, which did not commit`,
        });
        continue;
      }
      const known = committedAt.get(writer);
      if (known === undefined) committedAt.set(writer, read.index);
      else if (known !== read.index) {
        anomalies.push({
          type: "index-mismatch",
          ops: [writer.id, r.id],
          detail: `read ${read.key}=${read.value} at index ${read.index}, but transaction ${writer.id} committed at ${known}`,
        });
      }
    }
  }

  // Version order per key: by index.
  const versions = new Map<string, Version[]>();
  for (const [t, index] of committedAt) {
    for (const w of t.writes) {
      const list = versions.get(w.key) ?? [];
      list.push({ index, writer: t, value: w.value, expected: w.expected });
      versions.set(w.key, list);
    }
  }
  const unseenUnknown = txns.filter((t) => t.outcome === "info" && !committedAt.has(t));
  for (const [key, list] of versions) {
    list.sort((a, b) => a.index - b.index);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.index === list[i - 1]!.index) {
        anomalies.push({
          type: "duplicate-index",
          ops: [list[i - 1]!.writer.id, list[i]!.writer.id],
          detail: `two versions of ${key} at index ${list[i]!.index}`,
        });
      }
    }
    // Lost updates: each committed compare-and-set must have expected the version right before it.
    const byExpected = new Map<number, Version>();
    list.forEach((v, i) => {
      const other = byExpected.get(v.expected);
      if (other) {
        anomalies.push({
          type: "lost-update",
          ops: [other.writer.id, v.writer.id],
          detail: `transactions ${other.writer.id} and ${v.writer.id} both committed ${key} on top of index ${v.expected}`,
        });
      }
      byExpected.set(v.expected, v);
      const previous = i === 0 ? 0 : list[i - 1]!.index;
      if (v.expected === previous) return;
      // An unknown transaction nobody read may have committed in between, unseen.
      const explained = v.expected > previous && unseenUnknown.some((t) => t.writes.some((w) => w.key === key && w.expected === previous));
      if (!explained) {
        anomalies.push({
          type: "lost-update",
          ops: [v.writer.id],
          detail: `transaction ${v.writer.id} committed ${key} expecting index ${v.expected}, but the version before it has index ${previous}`,
        });
      }
    });
  }
  for (const r of reads) {
    for (const read of r.reads) {
      if (read.value === null) continue;
      const writer = writerOf.get(slot(read.key, read.value));
      const v = writer && versions.get(read.key)?.find((x) => x.writer === writer);
      if (writer && v && v.index !== read.index && !anomalies.some((a) => a.type === "index-mismatch" && a.ops.includes(r.id))) {
        anomalies.push({
          type: "index-mismatch",
          ops: [writer.id, r.id],
          detail: `read ${read.key}=${read.value} at index ${read.index}, committed at ${v.index}`,
        });
      }
    }
  }

  // The graph.
  const nodes = [...committedAt.keys(), ...reads];
  const at = new Map(nodes.map((op, i) => [op, i]));
  const edges: { to: number; type: EdgeType }[][] = nodes.map(() => []);
  const counts: Record<EdgeType, number> = { ww: 0, wr: 0, rw: 0, rt: 0 };
  const edge = (from: TxnOp, to: TxnOp, type: EdgeType) => {
    if (from === to) return;
    edges[at.get(from)!]!.push({ to: at.get(to)!, type });
    counts[type]++;
  };
  for (const list of versions.values()) for (let i = 1; i < list.length; i++) edge(list[i - 1]!.writer, list[i]!.writer, "ww");
  for (const r of reads) {
    for (const read of r.reads) {
      const list = versions.get(read.key) ?? [];
      let position = -1; // -1: the initial (absent) version
      if (read.value !== null) {
        const writer = writerOf.get(slot(read.key, read.value));
        position = list.findIndex((v) => v.writer === writer);
        if (position < 0) continue; // already reported
        edge(list[position]!.writer, r, "wr");
      }
      const next = list[position + 1];
      if (next) edge(r, next.writer, "rw");
    }
  }
  // Realtime: A completed before B was invoked.
  const byRet = nodes.filter((op) => op.ret !== Infinity).sort((a, b) => a.ret - b.ret);
  for (const b of nodes) {
    for (const a of byRet) {
      if (a.ret >= b.call) break;
      edge(a, b, "rt");
    }
  }

  for (const component of stronglyConnected(edges)) {
    if (component.length < 2) continue;
    const cycle = classify(component, edges);
    anomalies.push({
      type: cycle.type,
      ops: cycle.path.map((i) => nodes[i]!.id),
      detail: describeCycle(cycle, nodes),
    });
  }

  return {
    anomalies,
    stats: {
      txns: txns.length,
      committed: txns.filter((t) => t.outcome === "ok").length,
      failed: txns.filter((t) => t.outcome === "fail").length,
      unknown: txns.filter((t) => t.outcome === "info").length,
      unknownSeen: txns.filter((t) => t.outcome === "info" && committedAt.has(t)).length,
      reads: reads.reduce((n, r) => n + r.reads.length, 0),
      versions: [...versions.values()].reduce((n, l) => n + l.length, 0),
      edges: counts,
    },
  };
}

/** Tarjan's strongly connected components, iterative. */
function stronglyConnected(edges: { to: number }[][]): number[][] {
  const n = edges.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: { v: number; next: number }[] = [{ v: root, next: 0 }];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length) {
      const frame = work[work.length - 1]!;
      const out = edges[frame.v]!;
      if (frame.next < out.length) {
        const w = out[frame.next++]!.to;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push({ v: w, next: 0 });
        } else if (onStack[w]) low[frame.v] = Math.min(low[frame.v]!, index[w]!);
        continue;
      }
      work.pop();
      if (work.length) low[work[work.length - 1]!.v] = Math.min(low[work[work.length - 1]!.v]!, low[frame.v]!);
      if (low[frame.v] === index[frame.v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          component.push(w);
        } while (w !== frame.v);
        components.push(component);
      }
    }
  }
  return components;
}

interface Cycle {
  type: string;
  /** Nodes along the cycle; path[i] → path[i+1] by types[i], the last back to the first. */
  path: number[];
  types: EdgeType[];
}

/** Shortest path from `from` to `to` inside the component using only the allowed edge types. */
function bfs(from: number, to: number, inside: Set<number>, edges: { to: number; type: EdgeType }[][], allowed: Set<EdgeType>) {
  const prev = new Map<number, { node: number; type: EdgeType }>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length) {
    const v = queue.shift()!;
    if (v === to && v !== from) break;
    for (const e of edges[v]!) {
      if (!allowed.has(e.type) || !inside.has(e.to)) continue;
      if (e.to === to) {
        prev.set(to, { node: v, type: e.type });
        queue.length = 0;
        break;
      }
      if (seen.has(e.to)) continue;
      seen.add(e.to);
      prev.set(e.to, { node: v, type: e.type });
      queue.push(e.to);
    }
  }
  if (!prev.has(to)) return null;
  const path: number[] = [];
  const types: EdgeType[] = [];
  for (let v = to; ; ) {
    const p = prev.get(v)!;
    path.unshift(p.node);
    types.unshift(p.type);
    v = p.node;
    if (v === from) break;
  }
  return { path, types };
}

/** The most specific anomaly a component holds, Elle's way: the fewest rw (and rt) edges. */
function classify(component: number[], edges: { to: number; type: EdgeType }[][]): Cycle {
  const inside = new Set(component);
  for (const realtime of [false, true]) {
    const suffix = realtime ? "-realtime" : "";
    const base: EdgeType[] = realtime ? ["rt"] : [];
    for (const [type, allowed] of [
      ["G0", ["ww"]],
      ["G1c", ["ww", "wr"]],
    ] as const) {
      const set = new Set<EdgeType>([...allowed, ...base]);
      for (const v of component) {
        const found = bfs(v, v, inside, edges, set);
        if (found) return { type: type + suffix, ...found };
      }
    }
    // Exactly one rw edge: rw u → v, then back from v to u without rw.
    const noRw = new Set<EdgeType>(["ww", "wr", ...base]);
    for (const u of component) {
      for (const e of edges[u]!) {
        if (e.type !== "rw" || !inside.has(e.to)) continue;
        const back = e.to === u ? { path: [u], types: [] } : bfs(e.to, u, inside, edges, noRw);
        if (back) return { type: `G-single${suffix}`, path: [u, ...back.path], types: ["rw", ...back.types] };
      }
    }
    const all = new Set<EdgeType>(["ww", "wr", "rw", ...base]);
    for (const v of component) {
      const found = bfs(v, v, inside, edges, all);
      if (found) return { type: `G2${suffix}`, ...found };
    }
  }
  throw new Error("internal: a strongly connected component without a cycle");
}

function describeCycle(cycle: Cycle, nodes: TxnOp[]): string {
  const show = (op: TxnOp) =>
    op.writes.length
      ? `txn#${op.id}(${op.writes.map((w) => `${w.key}:=${w.value}`).join(" ")} @${op.index ?? "?"})`
      : `read#${op.id}(${op.reads.map((r) => `${r.key}=${r.value}@${r.index}`).join(" ")})`;
  const parts = cycle.path.map((v, i) => `${show(nodes[v]!)} -${cycle.types[i]}->`);
  return `${cycle.type}: ${parts.join(" ")} ${show(nodes[cycle.path[0]!]!)}`;
}
