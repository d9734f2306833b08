#!/usr/bin/env node
/**
 * `npm run bench`: our compare-exchange service against etcd and Redis on this machine, side by
 * side in one invocation, everything on 127.0.0.1 with fresh temp storage. See BENCHMARKS.md.
 *
 *   node bench/run.mjs                      run (through npm, for the project's Node 24)
 *   node bench/run.mjs --report [run.json]  re-render the tables (.md) and the chart (.svg) of a stored run
 *
 * The parts: lib/config.mjs (knobs), lib/install.mjs (Debian packages), lib/servers/*.mjs (starting
 * each system), lib/workloads.mjs (the identical workloads), lib/generators/*.mjs (wrk, in-Node
 * HTTP, in-Node RESP), lib/session.mjs (interleaved cells), lib/procstats.mjs (/proc figures),
 * lib/summary.mjs, lib/report.mjs, lib/chart.mjs (outputs).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkToolchain, findWorkerd } from "../scripts/workerd-config.mjs";
import { chartSvg } from "./lib/chart.mjs";
import { CONFIG, ROOT, coordinatorMode, fail, shardMode } from "./lib/config.mjs";
import { ensurePackages, strayInstances } from "./lib/install.mjs";
import { machineFacts } from "./lib/machine.mjs";
import { installCleanupHandlers, registerTmp, stopAll, which } from "./lib/processes.mjs";
import { diskDeviceOf } from "./lib/procstats.mjs";
import { report } from "./lib/report.mjs";
import { startEtcd } from "./lib/servers/etcd.mjs";
import { startDev, startDirect } from "./lib/servers/ours.mjs";
import { startRedis } from "./lib/servers/redis.mjs";
import { runPhase } from "./lib/session.mjs";
import { hashTree, makeAppDir } from "./lib/source.mjs";
import { summarize } from "./lib/summary.mjs";
import { supports } from "./lib/workloads.mjs";

const outPaths = (json) => ({ json, md: json.replace(/\.json$/, ".md"), svg: json.replace(/\.json$/, ".svg") });

function writeOutputs(results, file) {
  results.summary = summarize(results.runs, results.config.quietMaxPct);
  const md = report(results.summary, results);
  results.reportMarkdown = md;
  const out = outPaths(file);
  fs.writeFileSync(out.json, `${JSON.stringify(results, null, 1)}\n`);
  fs.writeFileSync(out.md, `${md}\n`);
  fs.writeFileSync(out.svg, chartSvg(results.summary, results));
  return { md, out };
}

/** Which modes run which workloads in the main phase (trivial-node only for direct: the generator check). */
function mainWorkloads(mode) {
  const sub = CONFIG.noproxyWorkloads.filter((w) => CONFIG.workloads.includes(w));
  if (mode === "dev-noproxy" || mode === "dev-noobs") return sub;
  const kind = mode === "etcd" || mode === "redis" ? mode : "ours";
  return CONFIG.workloads.filter((w) => supports(kind, w) && (w !== "trivial-node" || mode === "direct"));
}

async function main() {
  const at = process.argv.indexOf("--report");
  if (at !== -1) {
    const file = path.resolve(process.argv[at + 1] ?? CONFIG.out);
    const results = JSON.parse(fs.readFileSync(file, "utf8"));
    results.notRun ??= [];
    const { md, out } = writeOutputs(results, file);
    console.log(md);
    console.log(`\nbench: re-rendered ${path.relative(ROOT, out.md)} and ${path.relative(ROOT, out.svg)}`);
    return;
  }

  // ------------------------------------------------------------ preflight
  let wranglerJs;
  try {
    wranglerJs = checkToolchain();
  } catch (err) {
    fail(err.message);
  }
  if (process.platform !== "linux") console.warn("bench: not Linux: CPU/disk/thread-state figures will be missing.");
  installCleanupHandlers({ keepTmp: CONFIG.keepTmp });
  const notRun = [];
  const need = [];
  if (CONFIG.modes.includes("etcd")) need.push("etcd");
  if (CONFIG.modes.includes("redis")) need.push("redis");
  if (CONFIG.wrk) need.push("wrk");
  const pk = ensurePackages(need, { allowInstall: CONFIG.install });
  for (const [name, msg] of Object.entries(pk.missing)) {
    if (name === "wrk") {
      console.warn(
        `bench: ${msg}\nbench: wrk missing: the in-Node generator drives every workload (slower; not comparable with wrk runs).`,
      );
      notRun.push({ phase: "main", system: "wrk", reason: `${msg} (the in-Node generator drove every cell instead)` });
    } else {
      console.warn(`bench: ${msg}`);
      notRun.push({ phase: "main", system: name, reason: msg });
    }
  }
  const tools = {
    wrk: CONFIG.wrk ? (pk.found.wrk ?? null) : null,
    etcd: pk.found.etcd ?? null,
    redis: pk.found.redis ?? null,
    workerd: null,
    strace: null,
  };
  try {
    tools.workerd = findWorkerd(CONFIG.workerd);
  } catch (err) {
    fail(err.message);
  }
  const wantsDirect = CONFIG.modes.includes("direct") || CONFIG.shards.length > 0 || CONFIG.coordinators.length > 0;
  if (!tools.workerd && wantsDirect) {
    const msg = "direct not run: no workerd binary under node_modules (it comes with wrangler): run npm install";
    console.warn(`bench: ${msg}`);
    notRun.push({ phase: "main", system: "direct", reason: msg });
  }
  if (CONFIG.strace) {
    tools.strace = which("strace", ["/usr/bin"]);
    if (!tools.strace) console.warn("bench: BENCH_STRACE=1 but strace is missing (apt-get install strace): no syscall counts.");
  }
  const strays = strayInstances([tools.etcd, tools.redis]);
  if (strays.length)
    console.warn(
      `bench: other etcd/redis instances are running (not ours, left alone; ours use their own free ports): ${strays.map((s) => `${s.bin} pid ${s.pid}`).join(", ")}`,
    );

  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cmpxchg-bench-"));
  registerTmp(tmpRoot);
  fs.mkdirSync(path.dirname(CONFIG.out), { recursive: true });
  const machine = machineFacts(tools, tmpRoot);
  const srcHashAtStart = hashTree(path.join(ROOT, "src"));
  const app = makeAppDir(tmpRoot);
  const device = diskDeviceOf(tmpRoot);

  // ------------------------------------------------------------ plans
  const has = (m) => CONFIG.modes.includes(m) && !notRun.some((n) => n.system === m);
  const servers = [];
  const modes = [];
  const mainMode = (mode, server, port = (s) => s.port) => modes.push({ mode, server, port, workloads: mainWorkloads(mode) });
  if (has("direct") && tools.workerd) {
    servers.push({
      name: "direct",
      label: "ours, direct (wrangler deploy --dry-run + workerd serve)",
      start: () => startDirect({ app, tmpRoot, workerd: tools.workerd }),
    });
    mainMode("direct", "direct");
  }
  if (has("dev") || has("dev-noproxy")) {
    servers.push({ name: "dev", label: "ours, wrangler dev", start: () => startDev({ wranglerJs, app, tmpRoot, kind: "dev" }) });
    if (has("dev")) mainMode("dev", "dev");
    if (has("dev-noproxy")) mainMode("dev-noproxy", "dev", (s) => s.runtimePort ?? null);
  }
  if (has("dev-noobs")) {
    servers.push({
      name: "dev-noobs",
      label: "ours, wrangler dev with X_LOCAL_OBSERVABILITY=false",
      start: () => startDev({ wranglerJs, app, tmpRoot, kind: "dev-noobs" }),
    });
    mainMode("dev-noobs", "dev-noobs");
  }
  if (has("etcd") && tools.etcd) {
    servers.push({ name: "etcd", label: `etcd (${tools.etcd})`, start: () => startEtcd({ bin: tools.etcd, tmpRoot }) });
    mainMode("etcd", "etcd");
  }
  if (has("redis") && tools.redis) {
    servers.push({ name: "redis", label: `redis-server (${tools.redis})`, start: () => startRedis({ bin: tools.redis, tmpRoot }) });
    mainMode("redis", "redis");
  }
  const mainPlan = { phase: "main", servers, modes, connections: CONFIG.connections };
  /** One phase of the built Worker on workerd with `variable` set to each of `counts`. */
  const directVariants = ({ phase, counts, variable, modeOf, connections, workloads }) => {
    const plan = { phase, servers: [], modes: [], connections };
    if (!tools.workerd) return plan;
    for (const n of counts) {
      const name = modeOf(n);
      plan.servers.push({
        name,
        label: `ours, direct with ${variable}=${n}`,
        start: () => {
          const dist = path.join(tmpRoot, "direct", "dist");
          return startDirect({
            app,
            tmpRoot,
            workerd: tools.workerd,
            name,
            vars: { [variable]: String(n) },
            reuseDist: fs.existsSync(path.join(dist, "index.js")) ? dist : null,
          });
        },
      });
      plan.modes.push({ mode: name, server: name, port: (server) => server.port, workloads });
    }
    return plan;
  };
  const shardPlan = directVariants({
    phase: "shards",
    counts: CONFIG.shards,
    variable: "SHARD_COUNT",
    modeOf: shardMode,
    connections: CONFIG.shardConnections,
    workloads: CONFIG.shardWorkloads,
  });
  const coordinatorPlan = directVariants({
    phase: "coordinators",
    counts: CONFIG.coordinators,
    variable: "COORDINATOR_COUNT",
    modeOf: coordinatorMode,
    connections: CONFIG.coordinatorConnections,
    workloads: CONFIG.coordinatorWorkloads,
  });

  // ------------------------------------------------------------ estimate
  const perCell = CONFIG.seconds + 0.8; // quiet check, generator start, snapshots
  const cellsOf = (plan) => plan.modes.reduce((n, m) => n + m.workloads.length, 0) * plan.connections.length * CONFIG.repeats;
  const mainCells = cellsOf(mainPlan);
  const shardCells = cellsOf(shardPlan) + cellsOf(coordinatorPlan);
  const prefillS = (name) =>
    name.startsWith("dev") ? 15 + CONFIG.keys / 150 : name.startsWith("direct") ? 3 + CONFIG.keys / 500 : 2 + CONFIG.keys / 2000;
  const startupS = [...mainPlan.servers, ...shardPlan.servers, ...coordinatorPlan.servers].reduce((s, x) => s + prefillS(x.name) + 4, 0);
  const estimateMin = ((mainCells + shardCells) * perCell + startupS) / 60;
  console.log(
    `bench: ${machine.cpuModel}, ${machine.nproc} cores, ${machine.memTotalMiB} MiB, ${machine.kernel}, temp storage on ${machine.tmpFs}`,
  );
  console.log(
    `bench: node ${machine.node}, wrangler ${machine.wrangler}, workerd ${machine.workerd}, etcd ${machine.etcd ?? "-"}, redis ${machine.redis ?? "-"}, wrk ${machine.wrk ?? "-"}`,
  );
  console.log(
    `bench: main phase ${mainPlan.modes.map((m) => `${m.mode}[${m.workloads.join(",")}]`).join(" ")} × conns ${CONFIG.connections.join("/")} × ${CONFIG.repeats} repeats = ${mainCells} cells of ${CONFIG.seconds} s`,
  );
  if (coordinatorPlan.modes.length)
    console.log(
      `bench: coordinator phase COORDINATOR_COUNT ${CONFIG.coordinators.join("/")} × [${CONFIG.coordinatorWorkloads.join(",")}] × conns ${CONFIG.coordinatorConnections.join("/")} × ${CONFIG.repeats}`,
    );
  if (shardCells)
    console.log(
      `bench: shard phase SHARD_COUNT ${CONFIG.shards.join("/")} × [${CONFIG.shardWorkloads.join(",")}] × conns ${CONFIG.shardConnections.join("/")} × ${CONFIG.repeats} = ${shardCells} cells`,
    );
  console.log(`bench: estimated duration about ${Math.ceil(estimateMin)} min (plus waits while other processes load the machine)`);

  const results = {
    startedAt: new Date().toISOString(),
    command: "npm run bench",
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("BENCH_"))),
    config: { ...CONFIG, out: path.relative(ROOT, CONFIG.out) },
    machine: {
      ...machine,
      tmpDir: tmpRoot,
      tmpDevice: device?.name ?? null,
      source: CONFIG.source,
      snapshot: CONFIG.snapshot,
      worktreeSrcHashAtStart: srcHashAtStart,
      benchmarkedSrcHash: hashTree(path.join(app, "src")),
    },
    install: { installed: pk.installed, log: pk.log.map((l) => l.trim()) },
    generators: {
      wrk: tools.wrk ? `${machine.wrk}, ${CONFIG.wrkThreads} thread(s): ours trivial/create/get, etcd create/get` : "not used",
      "node-http": `node:http keep-alive Agent in this Node process (${process.version}), closed loop: ours cas/hot/trivial-node, etcd cas/hot`,
      "node-resp": "raw RESP2 over node:net in this Node process, closed loop: every Redis cell",
    },
    estimateMin: +estimateMin.toFixed(1),
    sessions: [],
    notRun,
    runs: [],
  };

  try {
    await runPhase(mainPlan, { tools, results, device, tmpRoot });
    if (shardPlan.modes.length) await runPhase(shardPlan, { tools, results, device, tmpRoot });
    if (coordinatorPlan.modes.length) await runPhase(coordinatorPlan, { tools, results, device, tmpRoot });
  } catch (err) {
    results.error = String(err?.stack ?? err);
    console.error(`bench: FAILED: ${err?.stack ?? err}`);
  } finally {
    await stopAll();
  }
  results.finishedAt = new Date().toISOString();
  results.machine.srcChangedDuringRun = hashTree(path.join(ROOT, "src")) !== srcHashAtStart;
  const { md, out } = writeOutputs(results, CONFIG.out);
  console.log(`\n${md}\n`);
  console.log(`bench: wrote ${[out.json, out.md, out.svg].map((p) => path.relative(ROOT, p)).join(", ")}`);
  process.exit(results.error ? 1 : 0);
}

main().catch(async (err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  await stopAll();
  process.exit(1);
});
