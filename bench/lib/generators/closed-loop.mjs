/**
 * The in-Node closed-loop driver shared by the HTTP and the RESP generators: `conns` connections,
 * each with exactly one request in flight, for `seconds`; per-cell tallies (latencies, statuses,
 * successes, conflicts, lost updates) and the result record every generator returns.
 */
import { performance } from "node:perf_hooks";

export const r2 = (x) => +x.toFixed(2);

export function quantiles(values) {
  if (!values.length) return null;
  const a = Float64Array.from(values).sort();
  const q = (p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  return { p50: r2(q(0.5)), p90: r2(q(0.9)), p99: r2(q(0.99)), max: r2(a[a.length - 1]), mean: r2(mean) };
}

export class Tally {
  constructor() {
    this.requests = 0;
    this.lat = [];
    this.getLat = [];
    this.putLat = [];
    this.cycleLat = [];
    this.statuses = {};
    this.network = {};
    this.bad = 0;
    this.ok = 0;
    this.notOk = 0;
    this.miss = 0;
    this.cycles = 0;
    this.conflicts = 0;
    this.anomalies = 0;
    this.errorSamples = [];
    this.successes = new Set();
  }

  /** One request answered (any answer): its latency goes to `list` if given. */
  answered(status, ms, list) {
    this.requests += 1;
    list?.push(ms);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  /** An answer that is an error (5xx, unexpected status, error reply). */
  error(status, sample) {
    this.bad += 1;
    if (this.errorSamples.length < 5) this.errorSamples.push({ status, body: String(sample ?? "").slice(0, 300) });
  }

  /** No answer: connection refused/reset, timeout. */
  networkError(code) {
    this.requests += 1;
    this.network[code] = (this.network[code] ?? 0) + 1;
    if (this.errorSamples.length < 5) this.errorSamples.push({ status: 0, error: code });
  }

  /**
   * Outcome of a read-then-write cycle on `key` that read version `read`: `won` = the conditional
   * write succeeded and produced version `written`, else the current version was `current`
   * (if the system says). Two successes from the same read version of one key = a lost update.
   */
  cycle(key, read, won, written, current, cycleMs) {
    this.cycles += 1;
    this.cycleLat.push(cycleMs);
    if (won) {
      this.ok += 1;
      const id = `${key}@${read}`;
      if (this.successes.has(id) || !(written > read)) this.anomalies += 1;
      this.successes.add(id);
    } else {
      this.conflicts += 1;
      if (current !== undefined && current !== null && !(current >= read)) this.anomalies += 1; // went backwards?
    }
  }
}

/**
 * Runs `op(connection, tally, connIndex)` in a loop on each of `conns` connections until `seconds`
 * are over. `open(i)` makes connection i (awaited before the clock starts), `close(c)` ends it.
 */
export async function closedLoop({ conns, seconds, open, close, op }) {
  const t = new Tally();
  const connections = await Promise.all(Array.from({ length: conns }, (_, i) => open(i)));
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    connections.map(async (c, i) => {
      while (performance.now() < end) await op(c, t, i);
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  await Promise.all(connections.map((c) => close(c)));
  return { t, elapsed };
}

/** The result record of a cell (same shape for every generator). */
export function result(generator, workload, t, elapsed) {
  const rw = workload === "cas" || workload === "hot" || workload === "transfer";
  const okWrites = workload === "create" || rw ? t.ok : 0;
  return {
    generator,
    seconds: r2(elapsed),
    requests: t.requests,
    rps: Math.round(t.requests / elapsed),
    latencyMs: quantiles(rw ? t.cycleLat : t.lat),
    ...(rw ? { getLatencyMs: quantiles(t.getLat), putLatencyMs: quantiles(t.putLat) } : {}),
    statuses: t.statuses,
    network: t.network,
    non2xx: t.bad + (workload === "get" ? t.miss : 0),
    networkErrors: Object.values(t.network).reduce((x, y) => x + y, 0),
    ok: t.ok,
    okPerSec: Math.round(t.ok / elapsed),
    okWrites,
    notOk: t.notOk,
    miss: t.miss,
    ...(rw
      ? {
          cycles: t.cycles,
          cyclesPerSec: Math.round(t.cycles / elapsed),
          conflicts: t.conflicts,
          conflictPct: t.cycles ? +((t.conflicts / t.cycles) * 100).toFixed(1) : 0,
          anomalies: t.anomalies,
        }
      : {}),
    errorSamples: t.errorSamples,
  };
}
