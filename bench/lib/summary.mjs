/** Medians over repeats per (phase, mode, workload, connections), from the raw runs. */
import { r2 } from "./generators/closed-loop.mjs";

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : r2((v[m - 1] + v[m]) / 2);
}

/** CPU ms of `role` per request in run r (procCorePct = % of one core over the cell). */
const cpuMsPerReq = (r, role) => (r.rps && r.usage?.procCorePct?.[role] !== undefined ? (r.usage.procCorePct[role] * 10) / r.rps : null);

export function summarize(allRuns, quietMax) {
  const runs = allRuns.filter((r) => !r.error && !r.disturbed);
  const groups = new Map();
  for (const r of runs) {
    const k = `${r.phase ?? "main"}|${r.mode}|${r.workload}|${r.conns}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const out = [];
  for (const [k, rs] of groups) {
    const [phase, mode, workload, conns] = k.split("|");
    const m = (f) => median(rs.map(f));
    const main = rs[0].mainRole ?? (mode === "direct" ? "workerd" : "workerd-runtime");
    out.push({
      phase,
      mode,
      system: rs[0].system ?? "ours",
      mainRole: main,
      workload,
      conns: +conns,
      repeats: rs.length,
      generator: rs[0].generator,
      rps: m((r) => r.rps),
      rpsAll: rs.map((r) => r.rps),
      // Little's law check of the latency figures: mean latency x throughput / connections, ~1.0
      // when every request's latency was measured right (a read-then-write cycle is 2 requests).
      littleRatio: m((r) =>
        r.latencyMs && r.seconds
          ? r2(((r.latencyMs.mean / 1000) * (r.requests / r.seconds)) / r.conns / (r.cycles !== undefined ? 2 : 1))
          : null,
      ),
      p50: m((r) => r.latencyMs?.p50),
      p99: m((r) => r.latencyMs?.p99),
      okPerSec: m((r) => r.okPerSec),
      cyclesPerSec: m((r) => r.cyclesPerSec),
      conflictPct: m((r) => r.conflictPct),
      getP50: m((r) => r.getLatencyMs?.p50),
      getP99: m((r) => r.getLatencyMs?.p99),
      putP50: m((r) => r.putLatencyMs?.p50),
      putP99: m((r) => r.putLatencyMs?.p99),
      non2xx: rs.reduce((x, r) => x + (r.non2xx ?? 0), 0),
      networkErrors: rs.reduce((x, r) => x + (r.networkErrors ?? 0), 0),
      notOk: rs.reduce((x, r) => x + (r.notOk ?? 0), 0),
      anomalies: rs.reduce((x, r) => x + (r.anomalies ?? 0), 0),
      mainCpu: m((r) => r.usage.procCorePct?.[main]),
      mainCpuMsPerReq: m((r) => cpuMsPerReq(r, main)),
      proxyCpuMsPerReq: m((r) => cpuMsPerReq(r, "workerd-proxy")),
      wranglerCpuMsPerReq: m((r) => cpuMsPerReq(r, "wrangler-cli")),
      generatorCpu: m((r) => (r.usage.generatorCorePct?.node ?? 0) + (r.usage.generatorCorePct?.wrk ?? 0)),
      busyCores: m((r) => r.usage.system?.busyCores),
      iowaitPct: m((r) => r.usage.system?.iowaitPct),
      idlePct: m((r) => r.usage.system?.idlePct),
      otherCpu: m((r) => r.usage.otherCorePct),
      noisyRuns: rs.filter((r) => r.usage.otherCorePct > quietMax).length,
      flushesPerSec: m((r) => r.usage.disk?.flushesPerSec),
      flushesPerOkWrite: m((r) => r.usage.disk?.flushesPerOkWrite),
      mainWriteBytesPerReq: m((r) => r.usage.procIo?.[main]?.writeBytesPerReq),
      mainDiskWaitPct: m((r) => r.threads?.[main]?.anyThreadDiskWaitPct),
      mainDiskWaitMsPerReq: m((r) => (r.rps && r.threads?.[main] ? (r.threads[main].anyThreadDiskWaitPct * 10) / r.rps : null)),
      mainBusiestThreadPct: m((r) => r.threads?.[main]?.busiestThread?.runningPct),
      mainBusiestThread: rs.find((r) => r.threads?.[main]?.busiestThread)?.threads[main].busiestThread.name ?? null,
      mainThreads: m((r) => r.threads?.[main]?.threads),
    });
  }
  return out;
}
