#!/usr/bin/env node
/**
 * `npm run bench:profile [-- <workload> [connections] [seconds]]`: where a request's time goes
 * inside the runtime. Builds and serves the Worker like `npm run serve` (fresh temp storage, a
 * free 127.0.0.1 port) with workerd's V8 inspector on another free port, drives one workload
 * with wrk (create, get, trivial, txcreate or session; default create at 64 connections for 5 s), records a V8 CPU
 * profile over the load through the inspector (Chrome DevTools Protocol, Node's own WebSocket),
 * and prints the functions by self time. "(program)" is native runtime work (HTTP, RPC, the
 * event loop, SQLite calls made outside any JS frame), "(idle)" the thread waiting. The raw
 * profile goes to bench/results/profile-<workload>.cpuprofile (open it in Chrome DevTools).
 * Stops everything it started, also on error and Ctrl-C.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, findWorkerd, prepareServer, workerdServeArgs } from "../scripts/workerd-config.mjs";
import { freePort, installCleanupHandlers, registerTmp, sleep, spawnTracked, stopAll, which } from "./lib/processes.mjs";

const HOST = "127.0.0.1";
const WRK_SCRIPTS = {
  create: { script: "create.lua", args: ["bench", "p"] },
  get: { script: "get.lua", args: ["bench", "p", "200"] },
  trivial: { script: "trivial.lua", args: [], path: "/cluster/node-info" },
  txcreate: { script: "tx-create.lua", args: ["bench", "p", "16"] },
  session: { script: "session.lua", args: ["bench", "p"] },
};

async function main() {
  const [workload = "create", connsArg = "64", secondsArg = "5"] = process.argv.slice(2);
  const spec = WRK_SCRIPTS[workload];
  if (!spec) throw new Error(`workload must be one of ${Object.keys(WRK_SCRIPTS).join(", ")}, got ${workload}`);
  const wrk = which("wrk");
  if (!wrk) throw new Error("wrk is missing: apt-get install -y wrk");
  const workerd = findWorkerd();
  if (!workerd) throw new Error("no workerd under node_modules: run `npm install` first");
  installCleanupHandlers();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cmpxchg-profile-"));
  registerTmp(dir);
  const [port, inspector] = [await freePort(), await freePort()];
  const { config } = prepareServer({ appDir: ROOT, dir, port, host: HOST });
  const server = spawnTracked("workerd", workerd, [...workerdServeArgs(config), `--inspector-addr=${HOST}:${inspector}`], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://${HOST}:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/cluster/node-info`)).ok) break;
    } catch {
      if (i > 200 || server.child.exitCode !== null) throw new Error("workerd did not start");
    }
    await sleep(100);
  }
  // The get workload reads p-0 … p-199.
  if (workload === "get") {
    for (let i = 0; i < 200; i++) {
      await fetch(`${base}/databases/bench/cmpxchg?key=p-${i}&index=0`, { method: "PUT", body: '{"Object":1}' });
    }
  }
  const target = `${base}${spec.path ?? "/"}`;
  const runWrk = (conns, seconds) =>
    new Promise((resolve) => {
      const args = ["-t1", `-c${conns}`, `-d${seconds}s`, "-s", path.join(ROOT, "bench/wrk", spec.script), target, "--", ...spec.args];
      const child = spawnTracked("wrk", wrk, args, { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.child.stdout.on("data", (d) => (out += d));
      child.child.once("exit", () => resolve(out));
    });
  await runWrk(16, 2); // warm-up: JIT, storage files

  const cdp = await connect(`ws://${HOST}:${inspector}/main`);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  const out = await runWrk(Number(connsArg), Number(secondsArg));
  const { profile } = await cdp.send("Profiler.stop");
  cdp.close();

  const rps = /Requests\/sec:\s*([\d.]+)/.exec(out)?.[1];
  const file = path.join(ROOT, "bench/results", `profile-${workload}.cpuprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));
  console.log(`${workload} at ${connsArg} connections for ${secondsArg} s: ${rps} rps (the profiler slows the runtime)`);
  console.log(`profile: ${path.relative(ROOT, file)}\n`);
  for (const [name, us, share] of selfTimes(profile).slice(0, 25)) {
    console.log(`${(share * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
  }
}

/** Self time per function (name and bundle line), largest first, with its share of the total. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const f = byId.get(id).callFrame;
    const where = f.url ? ` ${path.basename(f.url)}:${f.lineNumber + 1}` : "";
    const key = `${f.functionName || "(anonymous)"}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us, us / total]);
}

/** A minimal CDP client: request/response by id over the inspector's WebSocket. */
async function connect(url) {
  const ws = new WebSocket(url);
  const pending = new Map();
  let next = 0;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${msg.error.message} (${msg.error.code})`));
    else p.resolve(msg.result);
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

main()
  .catch((err) => {
    console.error(`profile: ${err?.message ?? err}`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
