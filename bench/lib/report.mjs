/**
 * Markdown tables of a run (printed, written to latest.md, re-rendered by `--report`): per workload
 * system × connections with the ratios ours(direct)/etcd and ours(direct)/redis; read-then-write
 * detail; shard scaling; where the time goes (CPU per request, fsync wait, generator CPU); opt-in
 * strace counts; machine facts; systems not run; errors.
 */
import { WORKLOAD_LABEL } from "./workloads.mjs";

export const MODE_ORDER = ["direct", "dev", "etcd", "redis", "dev-noproxy", "dev-noobs"];
export const MODE_LABEL = {
  direct: "ours (direct: built Worker on workerd)",
  dev: "ours (wrangler dev)",
  etcd: "etcd",
  redis: "Redis",
  "dev-noproxy": "ours (wrangler dev, past its proxy)",
  "dev-noobs": "ours (wrangler dev, no local observability)",
};
export const modeLabel = (m) =>
  MODE_LABEL[m] ??
  (/^direct-shards(\d+)$/.test(m)
    ? `ours (direct), SHARD_COUNT=${m.slice(13)}`
    : /^direct-coordinators(\d+)$/.test(m)
      ? `ours (direct), COORDINATOR_COUNT=${m.slice(19)}`
      : m);
const WORKLOAD_ORDER = ["create", "createrid", "get", "cas", "hot", "txcreate", "session", "transfer", "trivial", "trivial-node"];
const RW_LABEL = { cas: "(b) random keys", hot: "(c) hot key", transfer: "(g) transfer" };
const GEN_LABEL = { wrk: "wrk", "node-http": "Node HTTP", "node-resp": "Node RESP" };

export const fmt = (x, d = 0) =>
  x === null || x === undefined || Number.isNaN(x)
    ? "–"
    : Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
export const fms = (x) => (x === null || x === undefined ? "–" : x < 10 ? fmt(x, 2) : x < 100 ? fmt(x, 1) : fmt(x, 0));
const ratio = (a, b) => (a !== null && a !== undefined && b ? `${fmt(a / b, 2)}×` : "–");

export function report(summary, results) {
  const CFG = results.config;
  const L = [];
  const main = summary.filter((s) => s.phase === "main");
  const modes = MODE_ORDER.filter((m) => main.some((s) => s.mode === m));
  const get = (mode, w, c, phase = "main") =>
    summary.find((s) => s.phase === phase && s.mode === mode && s.workload === w && s.conns === c);
  const workloads = WORKLOAD_ORDER.filter((w) => main.some((s) => s.workload === w));
  const conns = [...new Set(main.map((s) => s.conns))].sort((a, b) => a - b);

  L.push(
    `Median of ${CFG.repeats} runs × ${CFG.seconds} s per cell; cells interleaved across systems. rps = requests/s (a read-then-write`,
  );
  L.push("cycle of (b)/(c) is 2 requests); p50/p99 in ms, per request, or per read+write cycle for (b)/(c).");
  L.push(
    `\`*\` = one repeat of that cell saw other processes use > ${CFG.quietMaxPct} % of a core. \`†\` = the latency figures fail Little's law`,
  );
  L.push(
    "(mean latency × rps ÷ connections off 1.0 by > 20 %): wrk 4.1 mis-measures sub-millisecond answers at few connections; its rps are right.",
  );
  L.push(
    "direct ÷ this = ours (direct) divided by the row's system, same workload and connections: rps ratio (> 1 = ours faster) and p99 ratio (< 1 = ours lower).",
  );
  const notRun = results.notRun ?? [];
  if (notRun.length) {
    L.push("");
    L.push("**Not run:**");
    for (const n of notRun) L.push(`- ${n.reason}`);
  }
  for (const w of workloads) {
    L.push("");
    L.push(`#### ${WORKLOAD_LABEL[w]}`);
    L.push("");
    L.push("| system | conns | rps | p50 | p99 | direct ÷ this, rps | direct ÷ this, p99 | generator |");
    L.push("|---|---|---|---|---|---|---|---|");
    for (const c of conns) {
      for (const m of modes) {
        const s = get(m, w, c);
        if (!s) continue;
        const d = get("direct", w, c);
        const dagger = s.littleRatio !== null && Math.abs(s.littleRatio - 1) > 0.2 ? "†" : "";
        const rat = m === "direct" || !d ? ["–", "–"] : [ratio(d.rps, s.rps), ratio(d.p99, s.p99)];
        L.push(
          `| ${modeLabel(m)} | ${c} | ${fmt(s.rps)}${"*".repeat(s.noisyRuns)} | ${fms(s.p50)}${dagger} | ${fms(s.p99)}${dagger} | ${rat[0]} | ${rat[1]} | ${GEN_LABEL[s.generator] ?? s.generator} |`,
        );
      }
    }
  }

  const rw = main.filter((s) => s.workload in RW_LABEL);
  if (rw.length) {
    L.push("");
    L.push("#### Read-then-write detail");
    L.push("");
    L.push(
      "cycles/s = completed read+write pairs; ok/s = conditional writes that succeeded; conflicts = writes refused because the version",
    );
    L.push("had changed since the read; lost updates = two successes on one key from the same read version (must be 0).");
    L.push("");
    L.push("| system | workload | conns | cycles/s | ok writes/s | conflicts % | read p50 / p99 | write p50 / p99 | lost updates |");
    L.push("|---|---|---|---|---|---|---|---|---|");
    for (const w of Object.keys(RW_LABEL))
      for (const m of modes)
        for (const c of conns) {
          const s = get(m, w, c);
          if (!s) continue;
          L.push(
            `| ${modeLabel(m)} | ${RW_LABEL[w]} | ${c} | ${fmt(s.cyclesPerSec)} | ${fmt(s.okPerSec)} | ${fmt(s.conflictPct, 1)} | ${fms(s.getP50)} / ${fms(s.getP99)} | ${fms(s.putP50)} / ${fms(s.putP99)} | ${s.anomalies} |`,
          );
        }
  }

  const shards = summary.filter((s) => s.phase === "shards");
  if (shards.length) {
    const counts = [...new Set(shards.map((s) => Number(s.mode.slice(13))))].sort((a, b) => a - b);
    const sc = [...new Set(shards.map((s) => s.conns))].sort((a, b) => a - b);
    L.push("");
    L.push(`#### Shard scaling: ours (direct) with SHARD_COUNT = ${counts.join(", ")}`);
    L.push("");
    L.push(
      "A separate phase (its own servers, fresh storage, cells interleaved across shard counts). ÷ 1 shard = rps relative to SHARD_COUNT=1.",
    );
    L.push("");
    L.push(
      "| workload | conns | SHARD_COUNT | rps | p50 | p99 | ÷ 1 shard | runtime CPU ms/req | busy cores | iowait % | runtime D-wait ms/req |",
    );
    L.push("|---|---|---|---|---|---|---|---|---|---|---|");
    for (const w of WORKLOAD_ORDER)
      for (const c of sc)
        for (const n of counts) {
          const s = get(`direct-shards${n}`, w, c, "shards");
          if (!s) continue;
          const one = get(`direct-shards${counts[0]}`, w, c, "shards");
          L.push(
            `| ${WORKLOAD_LABEL[w]} | ${c} | ${n} | ${fmt(s.rps)}${"*".repeat(s.noisyRuns)} | ${fms(s.p50)} | ${fms(s.p99)} | ${counts[0] === 1 ? ratio(s.rps, one?.rps) : "–"} | ${fmt(s.mainCpuMsPerReq, 2)} | ${fmt(s.busyCores, 2)} | ${fmt(s.iowaitPct, 1)} | ${fmt(s.mainDiskWaitMsPerReq, 2)} |`,
          );
        }
  }

  const coords = summary.filter((s) => s.phase === "coordinators");
  if (coords.length) {
    const counts = [...new Set(coords.map((s) => Number(s.mode.slice(19))))].sort((a, b) => a - b);
    const cc = [...new Set(coords.map((s) => s.conns))].sort((a, b) => a - b);
    L.push("");
    L.push(`#### Coordinator scaling: ours (direct) with COORDINATOR_COUNT = ${counts.join(", ")}`);
    L.push("");
    L.push(
      `A separate phase (its own servers, fresh storage, cells interleaved). tx/s = transactions per second (for (g), read+write cycles); ÷ ${counts[0]} = relative to COORDINATOR_COUNT=${counts[0]}.`,
    );
    L.push("");
    L.push("| workload | conns | COORDINATOR_COUNT | tx/s | p50 | p99 | ÷ first | runtime CPU ms/req | busy cores |");
    L.push("|---|---|---|---|---|---|---|---|---|");
    const txps = (s) => s.cyclesPerSec ?? s.rps;
    for (const w of WORKLOAD_ORDER)
      for (const c of cc)
        for (const n of counts) {
          const s = get(`direct-coordinators${n}`, w, c, "coordinators");
          if (!s) continue;
          const first = get(`direct-coordinators${counts[0]}`, w, c, "coordinators");
          L.push(
            `| ${WORKLOAD_LABEL[w]} | ${c} | ${n} | ${fmt(txps(s))}${"*".repeat(s.noisyRuns)} | ${fms(s.p50)} | ${fms(s.p99)} | ${first ? ratio(txps(s), txps(first)) : "–"} | ${fmt(s.mainCpuMsPerReq, 2)} | ${fmt(s.busyCores, 2)} |`,
          );
        }
  }

  L.push("");
  L.push("#### Where the time goes (medians per cell)");
  L.push("");
  L.push("main = the server process doing the work (ours: the workerd running the Worker and its Durable Objects; etcd; redis-server).");
  L.push("CPU ms/req = its CPU time ÷ requests; D-wait = share of 20 ms samples with one of its threads in uninterruptible (disk) wait,");
  L.push(
    "÷ rps; busiest thread = share of samples its busiest thread was runnable; proxy/CLI = wrangler dev's proxy workerd and Node CLI;",
  );
  L.push(
    "generator = CPU of the load generator (wrk, or this Node process) in % of one core; busy cores of " +
      (results.machine?.nproc ?? "?") +
      ".",
  );
  L.push("");
  L.push(
    "| system | workload | conns | rps | main CPU ms/req | main D-wait ms/req | main busiest thread % | main bytes written/req | proxy CPU ms/req | CLI CPU ms/req | generator CPU % | other CPU % | busy cores | iowait % |",
  );
  L.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const m of modes)
    for (const w of workloads)
      for (const c of conns) {
        const s = get(m, w, c);
        if (!s) continue;
        L.push(
          `| ${modeLabel(m)} | ${w} | ${c} | ${fmt(s.rps)} | ${fmt(s.mainCpuMsPerReq, 2)} | ${fmt(s.mainDiskWaitMsPerReq, 2)} | ${fmt(s.mainBusiestThreadPct)} | ${fmt(s.mainWriteBytesPerReq)} | ${fmt(s.proxyCpuMsPerReq, 2)} | ${fmt(s.wranglerCpuMsPerReq, 2)} | ${fmt(s.generatorCpu)} | ${fmt(s.otherCpu)} | ${fmt(s.busyCores, 2)} | ${fmt(s.iowaitPct, 1)} |`,
        );
      }

  if (modes.includes("dev-noproxy") || modes.includes("dev-noobs")) {
    L.push("");
    L.push("| diagnostic ratio (median rps) | conns | trivial | create | cas |");
    L.push("|---|---|---|---|---|");
    for (const [num, label] of [
      ["dev-noproxy", "dev-noproxy ÷ dev (cost of the dev proxy)"],
      ["dev-noobs", "dev-noobs ÷ dev (cost of local observability)"],
    ]) {
      if (!modes.includes(num)) continue;
      for (const c of conns)
        L.push(
          `| ${label} | ${c} | ${["trivial", "create", "cas"].map((w) => ratio(get(num, w, c)?.rps, get("dev", w, c)?.rps)).join(" | ")} |`,
        );
    }
  }

  const traces = (results.sessions ?? []).flatMap((x) => x.strace ?? []).filter((x) => !x.error);
  if (traces.length) {
    L.push("");
    L.push(
      `Syscalls of the main server process per request, \`strace -f -c -w\` in separate untimed ${CFG.straceSeconds} s runs (BENCH_STRACE=1; strace slows it, only counts matter):`,
    );
    L.push("");
    L.push(
      "| system | workload | conns | requests | fsync | fdatasync | pwrite64 | write+writev | futex | fsync+fdatasync per ok write | fsync µs/call | fdatasync µs/call |",
    );
    L.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const t of traces) {
      const p = t.perRequest;
      L.push(
        `| ${modeLabel(t.mode)} | ${t.workload} | ${t.conns} | ${t.requests} | ${p.fsync ?? 0} | ${p.fdatasync ?? 0} | ${p.pwrite64 ?? 0} | ${+((p.write ?? 0) + (p.writev ?? 0)).toFixed(2)} | ${p.futex ?? 0} | ${t.fsyncPerOkWrite ?? "–"} | ${t.usecsPerCall.fsync ?? "–"} | ${t.usecsPerCall.fdatasync ?? "–"} |`,
      );
    }
  }

  const mf = results.machine ?? {};
  L.push("");
  L.push("#### Machine and software");
  L.push("");
  L.push("| | |");
  L.push("|---|---|");
  L.push(`| CPU | ${mf.cpuModel ?? "?"}, ${mf.nproc ?? "?"} cores${mf.virtualization ? ` (${mf.virtualization})` : ""} |`);
  L.push(`| RAM | ${fmt(mf.memTotalMiB)} MiB |`);
  L.push(`| OS, kernel | ${mf.os ?? "?"}, ${mf.kernel ?? "?"} |`);
  L.push(`| storage of every server (temp dir) | ${mf.tmpFs ?? "?"} |`);
  L.push(
    `| versions | Node ${mf.node ?? "?"}, wrangler ${mf.wrangler ?? "?"}, workerd ${mf.workerd ?? "?"}, etcd ${mf.etcd ?? "not installed"}, Redis ${mf.redis ?? "not installed"}, wrk ${mf.wrk ?? "not installed"} |`,
  );
  L.push(
    `| code | commit ${mf.gitCommit?.slice(0, 7) ?? "?"}, BENCH_SOURCE=${CFG.source}${mf.srcChangedDuringRun ? " (src/ changed in the working tree during the run)" : ""} |`,
  );
  L.push(`| when | ${results.startedAt} – ${results.finishedAt ?? "?"} |`);

  const dropped = results.runs.filter((r) => r.error || r.disturbed);
  if (dropped.length) {
    L.push("");
    L.push("Cells left out of the medians (each was run again once):");
    L.push("");
    for (const r of dropped) {
      const errs =
        r.non2xx || r.networkErrors
          ? ` (bad answers ${r.non2xx ?? 0}, network errors ${r.networkErrors ?? 0}${r.errorSamples?.length ? `, e.g. ${JSON.stringify(r.errorSamples[0])}` : ""})`
          : "";
      L.push(
        `- ${r.mode} ${r.workload} c=${r.conns} rep ${r.rep + 1} attempt ${r.attempt}: ${r.error ? `failed: ${r.error.split("\n")[0]}` : r.disturbed}${errs}`,
      );
    }
  }
  const bad = summary.filter((s) => s.non2xx || s.networkErrors || s.anomalies || (s.notOk && s.workload === "create"));
  L.push("");
  if (bad.length) {
    L.push("Errors / anomalies (summed over repeats):");
    L.push("");
    for (const s of bad)
      L.push(
        `- ${s.mode} ${s.workload} c=${s.conns}: bad answers ${s.non2xx}, network errors ${s.networkErrors}, create collisions ${s.workload === "create" ? s.notOk : 0}, lost updates ${s.anomalies}`,
      );
  } else {
    L.push("Errors: none in the counted cells (no bad answers, no network errors, no lost updates, no create collisions).");
  }
  for (const sess of results.sessions ?? []) {
    if (sess.log) {
      const req = Object.entries(sess.log.requestLines)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      L.push(
        `- ${sess.server} log (${sess.log.file}): ${sess.log.lines} lines${req ? `, per-request lines ${req}` : ""}, ${sess.log.notableLines} look like errors/warnings/reloads`,
      );
    }
  }
  return L.join("\n");
}
