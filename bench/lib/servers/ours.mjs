/**
 * Our service, started the two ways a user can run it locally:
 *   - "dev" (and the diagnostic "dev-noobs"): `wrangler dev` with a fresh --persist-to dir;
 *   - "direct" (and the shard-scaling "direct-shards<N>"): the built Worker on the workerd binary
 *     bundled with wrangler, config from scripts/workerd-config.mjs (the same code as `npm run serve`).
 * Also: finding the runtime's own entry socket behind wrangler's proxy (dev-noproxy) and noticing
 * wrangler reloading its runtime (file watcher) so that a disturbed cell can be re-run.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { prepareServer, wranglerEnv, workerdServeArgs } from "../../../scripts/workerd-config.mjs";
import { HOST, ROOT } from "../config.mjs";
import { rawRequest } from "../generators/node-http.mjs";
import { freePort, sleep, spawnTracked, waitUntil } from "../processes.mjs";
import { listeningPorts, readText, serverProcesses } from "../procstats.mjs";

const nodeInfoOk = async (port) =>
  (await rawRequest(undefined, port, "GET", "/cluster/node-info", null, { timeoutMs: 2000 })).status === 200;

/** wrangler dev (`kind` = "dev" or "dev-noobs", the latter with X_LOCAL_OBSERVABILITY=false). */
export async function startDev({ wranglerJs, app, tmpRoot, kind }) {
  const port = await freePort();
  const persist = fs.mkdtempSync(path.join(tmpRoot, `persist-${kind}-`));
  const logFile = path.join(tmpRoot, `${kind}.log`);
  const fd = fs.openSync(logFile, "a");
  const args = [
    wranglerJs,
    "dev",
    "--env",
    "dev",
    "--ip",
    HOST,
    "--port",
    String(port),
    "--show-interactive-dev-session=false",
    "--persist-to",
    persist,
  ];
  const env = wranglerEnv();
  if (kind === "dev-noobs") env.X_LOCAL_OBSERVABILITY = "false";
  const entry = spawnTracked(`wrangler dev (${kind})`, process.execPath, args, { cwd: app, env, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const t0 = performance.now();
  await waitUntil(entry, async () => (readText(logFile) ?? "").includes("Ready on") && (await nodeInfoOk(port)), logFile);
  const startupMs = Math.round(performance.now() - t0);
  await sleep(500); // let the runtime process settle before we look for it
  const server = {
    name: kind,
    kind: "ours",
    entry,
    port,
    storage: persist,
    logFile,
    startupMs,
    procs: serverProcesses(entry.child.pid, port),
    mainRole: "workerd-runtime",
    runtimePort: null,
    command: `${kind === "dev-noobs" ? "X_LOCAL_OBSERVABILITY=false " : ""}CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false wrangler dev --ip ${HOST} --port ${port} --show-interactive-dev-session=false --persist-to <tmp>`,
    details: { X_LOCAL_OBSERVABILITY: env.X_LOCAL_OBSERVABILITY ?? "(default: on)" },
  };
  server.sampledRoles = server.procs.filter((p) => p.role.startsWith("workerd")).map((p) => p.role);
  const runtime = server.procs.find((p) => p.role === "workerd-runtime");
  if (runtime) server.runtimePort = await findRuntimePort(runtime.pid);
  return server;
}

/**
 * The built Worker on `workerd serve`. `build` = { dist } of an earlier build to reuse (the shard
 * variants share one build); `vars` override wrangler.toml's [vars] (SHARD_COUNT).
 */
export async function startDirect({ app, tmpRoot, workerd, name = "direct", vars = {}, reuseDist = null }) {
  const dir = path.join(tmpRoot, name);
  fs.mkdirSync(dir, { recursive: true });
  if (reuseDist) fs.symlinkSync(reuseDist, path.join(dir, "dist"), "dir");
  const port = await freePort();
  const storage = path.join(dir, "storage");
  const t0 = performance.now();
  const { config, dist, buildLog } = prepareServer({ appDir: app, dir, port, storage, host: HOST, vars, build: !reuseDist });
  const buildMs = Math.round(performance.now() - t0);
  if (buildLog) fs.writeFileSync(path.join(tmpRoot, `${name}-build.log`), buildLog);
  const logFile = path.join(tmpRoot, `${name}.log`);
  const fd = fs.openSync(logFile, "a");
  const entry = spawnTracked(`workerd serve (${name})`, workerd, workerdServeArgs(config), { cwd: dir, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const t1 = performance.now();
  await waitUntil(entry, () => nodeInfoOk(port), logFile, 60_000);
  const procs = serverProcesses(entry.child.pid, port);
  return {
    name,
    kind: "ours",
    entry,
    port,
    storage,
    logFile,
    dist,
    startupMs: Math.round(performance.now() - t1),
    buildMs: reuseDist ? null : buildMs,
    procs,
    mainRole: "workerd",
    sampledRoles: ["workerd"],
    command:
      `wrangler deploy --dry-run --outdir <tmp>/dist && ${path.relative(ROOT, workerd)} serve <tmp>/config.capnp` +
      (Object.keys(vars).length
        ? `  (vars: ${Object.entries(vars)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")})`
        : ""),
    details: { vars },
  };
}

/**
 * The runtime workerd's own entry socket: the listening port that answers our node-info route.
 * Sockets are tried in creation order and the search stops at the first hit: the entry socket is
 * opened first; the later --debug-port socket speaks Cap'n Proto and logs a warning when sent HTTP.
 */
async function findRuntimePort(pid) {
  for (const port of listeningPorts(pid)) {
    const r = await rawRequest(undefined, port, "GET", "/cluster/node-info", null, { timeoutMs: 2000 });
    if (r.status === 200 && r.body.includes('"NodeTag"')) return port;
  }
  return null;
}

/** How many times wrangler has logged a reload of its local server so far (0 for workerd serve). */
export function reloadCount(server) {
  if (!server.name.startsWith("dev")) return 0;
  return ((readText(server.logFile) ?? "").match(/Reloading local server/g) ?? []).length;
}

/**
 * wrangler dev replaces its runtime workerd on a reload: find the processes and the runtime's entry
 * port again. Returns true if the runtime had changed.
 */
export async function refreshDev(server) {
  if (!server.name.startsWith("dev")) return false;
  const runtimeOf = (procs) => procs.find((p) => p.role === "workerd-runtime")?.pid;
  let procs = serverProcesses(server.entry.child.pid, server.port);
  if (runtimeOf(procs) === runtimeOf(server.procs) && server.runtimePort) return false;
  await waitUntil(server.entry, () => nodeInfoOk(server.port), server.logFile, 60_000);
  await sleep(500);
  procs = serverProcesses(server.entry.child.pid, server.port);
  server.procs = procs;
  server.sampledRoles = procs.filter((p) => p.role.startsWith("workerd")).map((p) => p.role);
  const runtime = procs.find((p) => p.role === "workerd-runtime");
  server.runtimePort = runtime ? await findRuntimePort(runtime.pid) : null;
  console.warn(`   (${server.name}: runtime workerd replaced; entry port now ${server.runtimePort})`);
  return true;
}
