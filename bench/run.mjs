#!/usr/bin/env node
/**
 * Load benchmark for edge-cmpxchg: `npm run bench` (plain Node ESM, Node >= 22.12 for wrangler).
 *
 * Starts the service itself (never touches a server it did not start), on 127.0.0.1 only:
 *   - mode "dev":         `wrangler dev` as a user runs it (dev proxy worker in front of the runtime),
 *   - mode "dev-noproxy": the same wrangler dev session, but requests sent straight to the
 *                         runtime workerd's own entry socket (bypassing the proxy) - splits the cost,
 *   - mode "dev-noobs":   a second wrangler dev with X_LOCAL_OBSERVABILITY=false: wrangler 4.x records
 *                         a trace of every request into a local SQLite Durable Object (one fsync each),
 *   - mode "direct":      the built Worker (`wrangler deploy --dry-run`) served by `workerd serve`
 *                         with bench/workerd.capnp.template (SQLite Durable Objects on local disk).
 * Each server gets a fresh storage dir in a temp dir and runs a snapshot of src/ copied at start
 * (others may be editing src/ while this runs; wrangler dev would otherwise hot-reload mid-cell).
 *
 * Workloads (x connections 1/16/64, closed loop, one request in flight per connection):
 *   trivial      GET /cluster/node-info (constant route, no Durable Object)   wrk if installed
 *   trivial-node the same with the in-Node generator (the ceiling of that generator)
 *   create       (a) PUT index=0 on random unique keys                         wrk if installed
 *   get          (d) GET of random keys from a pre-created set                 wrk if installed
 *   cas          (b) read-then-write on random keys of the set: GET, then PUT index=<read index>
 *   hot          (c) the same on ONE key, all connections contending
 * Cells are repeated BENCH_REPEATS times, interleaved (rep -> connections -> rotated workloads);
 * the report gives the MEDIAN over repeats. Results: stdout table, bench/results/latest.json,
 * bench/results/latest.md, and the server logs as bench/results/latest-<server>.log.
 *
 * Env knobs: BENCH_SECONDS (5), BENCH_REPEATS (3), BENCH_CONNECTIONS (1,16,64),
 * BENCH_MODES (dev,dev-noproxy,dev-noobs,direct), BENCH_WORKLOADS (trivial,trivial-node,create,get,cas,hot),
 * BENCH_NOPROXY_WORKLOADS (trivial,create,cas): what dev-noproxy and dev-noobs run, BENCH_KEYS (5000, size of the pre-created set),
 * BENCH_WRK (auto; 0 = never use wrk), BENCH_WRK_THREADS (1), BENCH_WORKERD (binary for "direct";
 * default: the workerd bundled with wrangler, i.e. the same runtime as wrangler dev),
 * BENCH_SNAPSHOT (1; 0 = run wrangler dev in the repo itself), BENCH_SOURCE (worktree; head = benchmark
 * the last commit, taken with `git archive HEAD`, e.g. while src/ is mid-edit), BENCH_KEEP_TMP (0),
 * BENCH_OUT (bench/results/latest.json), BENCH_QUIET_MAX (25) / BENCH_QUIET_WAIT (20): before each
 * cell wait up to BENCH_QUIET_WAIT s until processes other than ours use < BENCH_QUIET_MAX % of a core
 * (this machine may be shared; after 3 fruitless waits in a row only 2 s), BENCH_STRACE (auto; 0 = off): after the timed cells, count the
 * runtime's storage syscalls per request under `strace -c` (separate, untimed runs).
 */
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);
const HOST = "127.0.0.1";
const DB = "bench";

// ---------------------------------------------------------------- configuration

function envNumber(name, dflt, { min = 0, integer = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    fail(`${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}
function envList(name, dflt, allowed) {
  const raw = process.env[name];
  const list = (raw === undefined || raw.trim() === "" ? dflt : raw).split(",").map((s) => s.trim()).filter(Boolean);
  if (allowed) for (const item of list) if (!allowed.includes(item)) fail(`${name}: unknown '${item}' (allowed: ${allowed.join(", ")})`);
  return list;
}
function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

const ALL_WORKLOADS = ["trivial", "trivial-node", "create", "get", "cas", "hot"];
const ALL_MODES = ["dev", "dev-noproxy", "dev-noobs", "direct"];
const CONFIG = {
  seconds: envNumber("BENCH_SECONDS", 5, { min: 1 }),
  repeats: envNumber("BENCH_REPEATS", 3, { min: 1, integer: true }),
  connections: envList("BENCH_CONNECTIONS", "1,16,64").map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1 || n > 1024) fail(`BENCH_CONNECTIONS: bad count '${c}'`);
    return n;
  }),
  modes: envList("BENCH_MODES", ALL_MODES.join(","), ALL_MODES),
  workloads: envList("BENCH_WORKLOADS", ALL_WORKLOADS.join(","), ALL_WORKLOADS),
  noproxyWorkloads: envList("BENCH_NOPROXY_WORKLOADS", "trivial,create,cas", ALL_WORKLOADS),
  keys: envNumber("BENCH_KEYS", 5000, { min: 1, integer: true }),
  wrk: (process.env.BENCH_WRK ?? "auto") !== "0",
  wrkThreads: envNumber("BENCH_WRK_THREADS", 1, { min: 1, integer: true }),
  workerd: process.env.BENCH_WORKERD || null,
  snapshot: (process.env.BENCH_SNAPSHOT ?? "1") !== "0",
  source: envList("BENCH_SOURCE", "worktree", ["worktree", "head"])[0],
  keepTmp: process.env.BENCH_KEEP_TMP === "1",
  out: path.resolve(ROOT, process.env.BENCH_OUT || "bench/results/latest.json"),
  quietMaxPct: envNumber("BENCH_QUIET_MAX", 25, { min: 0 }),
  quietWaitS: envNumber("BENCH_QUIET_WAIT", 20, { min: 0 }),
  strace: process.env.BENCH_STRACE ?? "auto",
  straceSeconds: envNumber("BENCH_STRACE_SECONDS", 3, { min: 1 }),
};
const REQUEST_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------- processes and cleanup

/** Everything this script started: { child, label }. Killed by process group id on any exit. */
const started = new Set();
let tmpRoot = null;
let cleaningUp = false;

function killGroup(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // detached children lead their own process group
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

async function stopChild(entry) {
  const { child } = entry;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    killGroup(child, "SIGTERM");
    const timer = new Promise((resolve) => setTimeout(resolve, 5000, "timeout"));
    if ((await Promise.race([exited, timer])) === "timeout") {
      killGroup(child, "SIGKILL");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    }
  }
  // The group may outlive its leader (wrangler's workerd children): make sure it is gone.
  try { process.kill(-child.pid, "SIGKILL"); } catch { /* no such group: fine */ }
  started.delete(entry);
}

function cleanupSync() {
  for (const { child } of started) {
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
    try { child.kill("SIGKILL"); } catch { /* gone */ }
  }
  started.clear();
  if (tmpRoot && !CONFIG.keepTmp) {
    try { fs.rmSync(tmpRoot, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  await Promise.all([...started].map(stopChild));
  cleanupSync();
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping servers...`);
    cleanup().finally(() => process.exit(130));
  });
}
process.on("exit", cleanupSync);

function spawnTracked(label, cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, detached: true });
  const entry = { child, label };
  started.add(entry);
  child.once("exit", () => {
    if (!cleaningUp && child.__expectExit !== true) child.__unexpectedExit = true;
  });
  return entry;
}

// ---------------------------------------------------------------- preflight

function which(cmd) {
  for (const dir of (process.env.PATH || "").split(":")) {
    const p = path.join(dir || ".", cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

function preflight() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    fail(
      `Node ${process.versions.node} is too old for wrangler (needs >= 22.12). Run through ` +
        "`npm run bench` from the repo root: npm puts node_modules/.bin (the project's Node 24) first in PATH.",
    );
  }
  const wranglerJs = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  if (!fs.existsSync(wranglerJs)) fail("node_modules/wrangler is missing: run `npm install` first.");
  if (process.platform !== "linux") console.warn("bench: not Linux: CPU/disk/thread-state figures will be missing.");

  let wrk = null;
  let wrkVersion = null;
  if (CONFIG.wrk) {
    wrk = which("wrk");
    if (!wrk) {
      console.warn(
        "bench: wrk not found. Install it with:  apt-get install wrk   (Debian/Ubuntu)\n" +
          "bench: falling back to the in-Node generator for trivial/create/get (slower generator: " +
          "numbers are lower than with wrk and not comparable with wrk runs).",
      );
    } else {
      const v = spawnSync(wrk, ["-v"], { encoding: "utf8" });
      wrkVersion = `${v.stdout}${v.stderr}`.split("\n")[0].trim();
    }
  } else {
    console.warn("bench: BENCH_WRK=0: using the in-Node generator for every workload.");
  }

  const candidates = [
    CONFIG.workerd,
    path.join(ROOT, "node_modules/wrangler/node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
    path.join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
    path.join(ROOT, "node_modules/.bin/workerd"),
  ].filter(Boolean);
  const workerd = candidates.find((p) => fs.existsSync(p)) ?? null;
  if (CONFIG.workerd && workerd !== CONFIG.workerd) fail(`BENCH_WORKERD=${CONFIG.workerd} does not exist.`);
  if (!workerd && CONFIG.modes.includes("direct")) {
    console.warn("bench: no workerd binary found: skipping mode 'direct'.");
    CONFIG.modes = CONFIG.modes.filter((m) => m !== "direct");
  }
  let strace = null;
  if (CONFIG.strace !== "0" && process.platform === "linux") {
    strace = which("strace");
    if (!strace) console.warn("bench: strace not found (apt-get install strace): skipping the syscall count per request.");
  }
  return { wranglerJs, wrk, wrkVersion, workerd, strace };
}

function versionOf(bin) {
  if (!bin) return null;
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] || null;
}

function machineFacts(tools) {
  const cpus = os.cpus();
  const devWorkerd = path.join(ROOT, "node_modules/wrangler/node_modules/@cloudflare/workerd-linux-64/bin/workerd");
  const git = (args) => {
    const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  return {
    nproc: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memTotalMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    loadavgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    node: process.version,
    wrangler: JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
    workerdOfWranglerDev: fs.existsSync(devWorkerd) ? versionOf(devWorkerd) : null,
    workerdDirect: tools.workerd,
    workerdDirectVersion: versionOf(tools.workerd),
    wrk: tools.wrkVersion,
    gitCommit: git(["rev-parse", "HEAD"]),
    gitDirtyFiles: (git(["status", "--porcelain"]) ?? "").split("\n").filter(Boolean).length,
  };
}

// ---------------------------------------------------------------- source snapshot

function hashTree(dir) {
  const h = crypto.createHash("sha256");
  const walk = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update("\0").update(fs.readFileSync(p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return h.digest("hex").slice(0, 16);
}

/** Copies what wrangler needs into tmp/app so that edits to src/ during the run change nothing. */
function makeAppDir() {
  const files = ["src", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"];
  if (CONFIG.source === "head") {
    // The committed service, whatever state the working tree is in. Read-only for git.
    const app = path.join(tmpRoot, "app");
    fs.mkdirSync(app, { recursive: true });
    const listed = spawnSync("git", ["ls-tree", "--name-only", "HEAD"], { cwd: ROOT, encoding: "utf8" });
    if (listed.status !== 0) fail("BENCH_SOURCE=head needs a git checkout");
    const present = files.filter((f) => listed.stdout.split("\n").includes(f));
    const archive = spawnSync("git", ["archive", "--format=tar", "HEAD", ...present], { cwd: ROOT, maxBuffer: 1 << 28 });
    if (archive.status !== 0) fail(`git archive failed: ${archive.stderr}`);
    const untar = spawnSync("tar", ["-x", "-C", app], { input: archive.stdout });
    if (untar.status !== 0) fail(`tar -x failed: ${untar.stderr}`);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(app, "node_modules"), "dir");
    return app;
  }
  if (!CONFIG.snapshot) return ROOT;
  const app = path.join(tmpRoot, "app");
  fs.mkdirSync(app, { recursive: true });
  for (const f of files) {
    const from = path.join(ROOT, f);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(app, f), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(app, "node_modules"), "dir");
  return app;
}

/**
 * The little of wrangler.toml that the direct workerd config needs. A minimal reader for this
 * project's flat file (top-level keys, [vars], [[durable_objects.bindings]], [[migrations]]).
 */
function wranglerToml(app) {
  const text = fs.readFileSync(path.join(app, "wrangler.toml"), "utf8");
  const str = (v) => /^"((?:[^"\\]|\\.)*)"/.exec(v)?.[1];
  const arr = (v) => [...(/^\[(.*)\]/.exec(v)?.[1] ?? "").matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  const out = { compatibilityDate: null, compatibilityFlags: [], vars: {}, durableObjects: [], sqliteClasses: new Set() };
  let section = "";
  let current = null;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#")) continue;
    const table = /^\[\[?([^\]]+)\]\]?$/.exec(line);
    if (table) {
      section = table[1].trim();
      current = {};
      if (section === "durable_objects.bindings") out.durableObjects.push(current);
      continue;
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv;
    if (section === "") {
      if (key === "compatibility_date") out.compatibilityDate = str(value);
      if (key === "compatibility_flags") out.compatibilityFlags = arr(value);
    } else if (section === "vars") {
      if (str(value) !== undefined) out.vars[key] = str(value);
      else console.warn(`bench: wrangler.toml [vars] ${key} is not a string: skipped in the direct config`);
    } else if (section === "durable_objects.bindings") {
      current[key] = str(value);
    } else if (section === "migrations" && key === "new_sqlite_classes") {
      for (const c of arr(value)) out.sqliteClasses.add(c);
    }
  }
  if (!out.compatibilityDate) throw new Error("compatibility_date not found in wrangler.toml");
  for (const d of out.durableObjects) {
    if (!d.name || !d.class_name) throw new Error(`wrangler.toml: durable object binding without name/class_name`);
    if (d.script_name) throw new Error(`wrangler.toml: binding ${d.name} uses script_name; not supported by the direct config`);
  }
  return out;
}

/** Fills bench/workerd.capnp.template. */
function workerdConfig(toml, port, storage) {
  const q = (v) => JSON.stringify(String(v)); // capnp text literals accept JSON-style escapes
  const bindings = [
    ...toml.durableObjects.map((d) => `    (name = ${q(d.name)}, durableObjectNamespace = ${q(d.class_name)}),`),
    ...Object.entries(toml.vars).map(([k, v]) => `    (name = ${q(k)}, text = ${q(v)}),`),
  ];
  const classes = [...new Set(toml.durableObjects.map((d) => d.class_name))];
  const namespaces = classes.map(
    (c) => `    (className = ${q(c)}, uniqueKey = ${q(`edge-cmpxchg-${c}`)}, enableSql = ${toml.sqliteClasses.has(c)}),`,
  );
  const template = fs.readFileSync(path.join(BENCH_DIR, "workerd.capnp.template"), "utf8");
  return template
    .replaceAll("{{ADDRESS}}", `${HOST}:${port}`)
    .replaceAll("{{STORAGE}}", storage)
    .replaceAll("{{COMPAT_DATE}}", toml.compatibilityDate)
    .replaceAll("{{COMPAT_FLAGS}}", toml.compatibilityFlags.map(q).join(", "))
    .replaceAll("{{BINDINGS}}", bindings.join("\n"))
    .replaceAll("{{DO_NAMESPACES}}", namespaces.join("\n"));
}

// ---------------------------------------------------------------- servers

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitReady(entry, port, logFile, { needLogLine = null, timeoutMs = 120_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) {
      throw new Error(`${entry.label} exited early (code ${entry.child.exitCode}); log:\n${tail(logFile)}`);
    }
    const logged = !needLogLine || (fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8").includes(needLogLine));
    if (logged) {
      const r = await rawRequest(undefined, port, "GET", "/cluster/node-info", null, 2000);
      if (r.status === 200) return;
    }
    await sleep(250);
  }
  throw new Error(`${entry.label} not ready after ${timeoutMs / 1000} s; log:\n${tail(logFile)}`);
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function startDev(tools, app, kind) {
  const port = await freePort();
  const persist = fs.mkdtempSync(path.join(tmpRoot, `persist-${kind}-`));
  const logFile = path.join(tmpRoot, `${kind}.log`);
  const fd = fs.openSync(logFile, "a");
  const args = [
    tools.wranglerJs, "dev", "--ip", HOST, "--port", String(port),
    "--show-interactive-dev-session=false", "--persist-to", persist,
  ];
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
  // wrangler's bin shim re-spawns `node` from PATH: make sure that is this (new enough) Node.
  env.PATH = `${path.dirname(process.execPath)}:${path.join(ROOT, "node_modules/.bin")}:${env.PATH ?? ""}`;
  if (kind === "dev-noobs") env.X_LOCAL_OBSERVABILITY = "false";
  const entry = spawnTracked(`wrangler dev (${kind})`, process.execPath, args, { cwd: app, env, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const t0 = performance.now();
  await waitReady(entry, port, logFile, { needLogLine: "Ready on" });
  const startupMs = Math.round(performance.now() - t0);
  await sleep(500); // let the runtime process settle before we look for it
  const procs = serverProcesses(entry.child.pid, port);
  const runtime = procs.find((p) => p.role === "workerd-runtime");
  let runtimePort = null;
  if (runtime) runtimePort = await findRuntimePort(runtime.pid);
  return {
    name: kind, entry, port, persist, logFile, startupMs, procs, runtimePort,
    command: `${kind === "dev-noobs" ? "X_LOCAL_OBSERVABILITY=false " : ""}CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false wrangler dev --ip ${HOST} --port ${port} --show-interactive-dev-session=false --persist-to <tmp>`,
    observability: env.X_LOCAL_OBSERVABILITY ?? "(default: on)",
  };
}

async function startDirect(tools, app) {
  const dir = path.join(tmpRoot, "direct");
  fs.mkdirSync(dir, { recursive: true });
  const buildLog = path.join(tmpRoot, "direct-build.log");
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
  env.PATH = `${path.dirname(process.execPath)}:${path.join(ROOT, "node_modules/.bin")}:${env.PATH ?? ""}`;
  const build = spawnSync(
    process.execPath,
    [tools.wranglerJs, "deploy", "--dry-run", "--outdir", path.join(dir, "dist")],
    { cwd: app, env, encoding: "utf8", timeout: 120_000 },
  );
  fs.writeFileSync(buildLog, `${build.stdout ?? ""}${build.stderr ?? ""}`);
  if (build.status !== 0 || !fs.existsSync(path.join(dir, "dist/index.js"))) {
    throw new Error(`wrangler deploy --dry-run failed (status ${build.status}):\n${tail(buildLog)}`);
  }
  const port = await freePort();
  const storage = path.join(dir, "storage");
  fs.mkdirSync(storage);
  const config = workerdConfig(wranglerToml(app), port, storage);
  fs.writeFileSync(path.join(dir, "config.capnp"), config);
  const logFile = path.join(tmpRoot, "direct.log");
  const fd = fs.openSync(logFile, "a");
  const entry = spawnTracked("workerd serve", tools.workerd, ["serve", "config.capnp"], {
    cwd: dir, stdio: ["ignore", fd, fd],
  });
  fs.closeSync(fd);
  const t0 = performance.now();
  await waitReady(entry, port, logFile, { timeoutMs: 60_000 });
  return {
    name: "direct", entry, port, persist: storage, logFile,
    startupMs: Math.round(performance.now() - t0), procs: serverProcesses(entry.child.pid, port),
    command: `wrangler deploy --dry-run --outdir <tmp>/dist && ${path.relative(ROOT, tools.workerd)} serve <tmp>/config.capnp`,
  };
}

// ---------------------------------------------------------------- /proc readers

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  return Number(r.stdout) > 0 ? Number(r.stdout) : 100;
})();

function readText(p) {
  try { return fs.readFileSync(p, "utf8"); } catch { return null; }
}

/** Fields after the `(comm)` of /proc/<pid>/stat: [0] = state, [1] = ppid, [11] = utime, ... */
function statFields(text) {
  if (!text) return null;
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

function procTicks(pid) {
  const f = statFields(readText(`/proc/${pid}/stat`));
  return f ? { utime: +f[11], stime: +f[12], cutime: +f[13], cstime: +f[14] } : null;
}

function procIo(pid) {
  const text = readText(`/proc/${pid}/io`);
  if (!text) return null;
  const out = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.split(":");
    if (v !== undefined) out[k.trim()] = Number(v);
  }
  return out;
}

function cpuTotals() {
  const line = readText("/proc/stat")?.split("\n")[0];
  if (!line) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { user, nice, system, idle, iowait, irq, softirq, steal };
}

/** Classifies the processes under a server's root pid by command line. */
function serverProcesses(rootPid, port) {
  const children = new Map();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(readText(`/proc/${name}/stat`));
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.shift();
    const cmd = (readText(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean);
    const exe = path.basename(cmd[0] ?? "");
    let role = exe;
    if (exe === "workerd") {
      if (cmd.some((a) => a.startsWith("--inspector-addr"))) role = "workerd-runtime";
      else if (cmd.some((a) => a === `--socket-addr=entry=${HOST}:${port}`)) role = "workerd-proxy";
    } else if (/^node/.test(exe)) {
      role = cmd.some((a) => a.endsWith("wrangler-dist/cli.js")) ? "wrangler-cli" : "wrangler";
    }
    out.push({ pid, role });
    queue.push(...(children.get(pid) ?? []));
  }
  // Unique role names (a second process of the same role gets a suffix).
  const seen = new Map();
  for (const p of out) {
    const n = seen.get(p.role) ?? 0;
    seen.set(p.role, n + 1);
    if (n > 0) p.role = `${p.role}#${n + 1}`;
  }
  return out;
}

/** Listening TCP ports of a pid, ordered by the fd number of their socket (= creation order). */
function listeningPorts(pid) {
  const inodeFd = new Map();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodeFd.set(m[1], Number(fd));
      } catch { /* fd closed meanwhile */ }
    }
  } catch { return []; }
  const found = [];
  for (const line of (readText("/proc/net/tcp") ?? "").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
    if (inodeFd.has(cols[9])) found.push({ port: parseInt(cols[1].split(":")[1], 16), fd: inodeFd.get(cols[9]) });
  }
  return found.sort((a, b) => a.fd - b.fd).map((x) => x.port);
}

/**
 * The runtime workerd's own entry socket: the listening port that answers our node-info route.
 * Sockets are tried in creation order and the search stops at the first hit: the entry socket is
 * opened first; the later --debug-port socket speaks Cap'n Proto and logs a warning when sent HTTP.
 */
async function findRuntimePort(pid) {
  for (const port of listeningPorts(pid)) {
    const r = await rawRequest(undefined, port, "GET", "/cluster/node-info", null, 2000);
    if (r.status === 200 && r.body.includes('"NodeTag"')) return port;
  }
  return null;
}

/** /proc/diskstats line of the block device holding `dir` (whole disk or partition). */
function diskDeviceOf(dir) {
  try {
    const dev = fs.statSync(dir).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    for (const line of (readText("/proc/diskstats") ?? "").split("\n")) {
      const c = line.trim().split(/\s+/);
      if (+c[0] === major && +c[1] === minor) return { name: c[2], major, minor };
    }
  } catch { /* not on a block device */ }
  return null;
}

function diskCounters(device) {
  if (!device) return null;
  for (const line of (readText("/proc/diskstats") ?? "").split("\n")) {
    const c = line.trim().split(/\s+/);
    if (c[2] === device.name) {
      return { writes: +c[7], sectorsWritten: +c[9], msWriting: +c[10], flushes: c.length > 17 ? +c[17] : null };
    }
  }
  return null;
}

function selfChildrenTicks() {
  const t = procTicks("self");
  return t ? t.cutime + t.cstime : 0;
}

/** `server`'s processes by role; those of the other (idle) servers in `all` under "idle:<server>:<role>". */
function snapshot(server, device, all = [server]) {
  const procs = {};
  for (const p of server.procs) procs[p.role] = { ticks: procTicks(p.pid), io: procIo(p.pid) };
  for (const other of all) {
    if (other === server) continue;
    for (const p of other.procs) procs[`idle:${other.name}:${p.role}`] = { ticks: procTicks(p.pid), io: null };
  }
  return {
    t: performance.now(),
    cpu: cpuTotals(),
    procs,
    self: process.cpuUsage(),
    children: selfChildrenTicks(),
    disk: diskCounters(device),
  };
}

/** CPU (% of one core per process, % of all cores system-wide), disk and I/O deltas. */
function usageBetween(a, b, requests, writes) {
  const secs = (b.t - a.t) / 1000;
  const out = { seconds: +secs.toFixed(2) };
  if (a.cpu && b.cpu) {
    const d = Object.fromEntries(Object.keys(a.cpu).map((k) => [k, b.cpu[k] - a.cpu[k]]));
    const total = Object.values(d).reduce((x, y) => x + y, 0) || 1;
    out.system = {
      userPct: pct(d.user + d.nice, total),
      sysPct: pct(d.system + d.irq + d.softirq, total),
      iowaitPct: pct(d.iowait, total),
      idlePct: pct(d.idle, total),
      stealPct: pct(d.steal, total),
      busyCores: +(((total - d.idle - d.iowait) / total) * os.cpus().length).toFixed(2),
    };
  }
  out.procCorePct = {};
  out.procIo = {};
  let ours = 0;
  for (const [role, pa] of Object.entries(a.procs)) {
    const pb = b.procs[role];
    if (!pa.ticks || !pb?.ticks) continue;
    const ticks = pb.ticks.utime + pb.ticks.stime - pa.ticks.utime - pa.ticks.stime;
    out.procCorePct[role] = +((ticks / CLK_TCK / secs) * 100).toFixed(1);
    ours += ticks / CLK_TCK;
    if (pa.io && pb.io && role.startsWith("workerd")) {
      const wb = pb.io.write_bytes - pa.io.write_bytes;
      const sw = pb.io.syscw - pa.io.syscw;
      out.procIo[role] = {
        writeBytesPerReq: requests ? Math.round(wb / requests) : null,
        writeSyscallsPerReq: requests ? +(sw / requests).toFixed(2) : null,
      };
    }
  }
  const selfSecs = (b.self.user + b.self.system - a.self.user - a.self.system) / 1e6;
  const wrkSecs = (b.children - a.children) / CLK_TCK;
  out.generatorCorePct = { node: +((selfSecs / secs) * 100).toFixed(1), wrk: +((wrkSecs / secs) * 100).toFixed(1) };
  ours += selfSecs + wrkSecs;
  if (out.system) out.otherCorePct = +Math.max(0, out.system.busyCores * 100 - (ours / secs) * 100).toFixed(0);
  if (a.disk && b.disk) {
    const ios = b.disk.writes - a.disk.writes;
    const flushes = b.disk.flushes === null ? null : b.disk.flushes - a.disk.flushes;
    out.disk = {
      writeIosPerSec: Math.round(ios / secs),
      flushesPerSec: flushes === null ? null : Math.round(flushes / secs),
      writeIosPerReq: requests ? +(ios / requests).toFixed(2) : null,
      flushesPerReq: requests && flushes !== null ? +(flushes / requests).toFixed(2) : null,
      // Device flushes per successful storage write (created / CAS-updated item): commit cost.
      flushesPerOkWrite: writes && flushes !== null ? +(flushes / writes).toFixed(2) : null,
      kibWrittenPerSec: Math.round(((b.disk.sectorsWritten - a.disk.sectorsWritten) * 512) / 1024 / secs),
    };
  }
  return out;
}
function pct(x, total) {
  return +((x / total) * 100).toFixed(1);
}

/**
 * Samples the state of every thread of the workerd processes every 20 ms: how often one is
 * runnable (R) or in uninterruptible wait (D, normally disk: fsync/fdatasync), and the busiest one.
 */
function startThreadSampler(server) {
  const targets = server.procs
    .filter((p) => p.role.startsWith("workerd"))
    .map((p) => {
      let tids = [];
      try { tids = fs.readdirSync(`/proc/${p.pid}/task`); } catch { /* gone */ }
      return { ...p, tids, samples: 0, anyR: 0, anyD: 0, r: new Map(), d: new Map() };
    });
  const inc = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
  const timer = setInterval(() => {
    for (const t of targets) {
      let r = false;
      let d = false;
      for (const tid of t.tids) {
        const st = statFields(readText(`/proc/${t.pid}/task/${tid}/stat`));
        if (!st) continue;
        if (st[0] === "R") { r = true; inc(t.r, tid); } else if (st[0] === "D") { d = true; inc(t.d, tid); }
      }
      t.samples += 1;
      if (r) t.anyR += 1;
      if (d) t.anyD += 1;
    }
  }, 20);
  return () => {
    clearInterval(timer);
    const out = {};
    for (const t of targets) {
      if (!t.samples) continue;
      const top = (m) => [...m.entries()].sort((x, y) => y[1] - x[1])[0];
      const busiest = top(t.r);
      const waiting = top(t.d);
      const comm = (tid) => (tid ? readText(`/proc/${t.pid}/task/${tid}/comm`)?.trim() ?? tid : null);
      out[t.role] = {
        samples: t.samples,
        anyThreadRunningPct: pct(t.anyR, t.samples),
        anyThreadDiskWaitPct: pct(t.anyD, t.samples),
        busiestThread: busiest ? { name: comm(busiest[0]), runningPct: pct(busiest[1], t.samples) } : null,
        diskWaitThread: waiting ? { name: comm(waiting[0]), diskWaitPct: pct(waiting[1], t.samples) } : null,
      };
    }
    return out;
  };
}

// ---------------------------------------------------------------- in-Node closed-loop generator

/** One HTTP request; never rejects. `ms` is the time to the last byte of the answer. */
function rawRequest(agent, port, method, urlPath, body, timeoutMs = REQUEST_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const headers = body === null ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const req = http.request({ host: HOST, port, method, path: urlPath, agent: agent ?? false, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }),
      );
      res.on("error", (e) => resolve({ status: 0, error: e.code ?? e.message, body: "", ms: performance.now() - t0 }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (e) => resolve({ status: 0, error: e.code ?? e.message, body: "", ms: performance.now() - t0 }));
    req.end(body ?? undefined);
  });
}

function quantiles(values) {
  if (!values.length) return null;
  const a = Float64Array.from(values).sort();
  const q = (p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  return { p50: r2(q(0.5)), p90: r2(q(0.9)), p99: r2(q(0.99)), max: r2(a[a.length - 1]), mean: r2(mean) };
}
const r2 = (x) => +x.toFixed(2);

const randHex = () => crypto.randomBytes(8).toString("hex");
const valueBody = (n, by) => JSON.stringify({ Object: { n, by, pad: "0123456789abcdef" } });

/** Per-cell tallies for the in-Node generator. */
function newTally() {
  return {
    requests: 0, lat: [], getLat: [], putLat: [], cycleLat: [], statuses: {}, network: {},
    ok: 0, notOk: 0, miss: 0, cycles: 0, conflicts: 0, anomalies: 0, errorSamples: [],
    successes: new Map(),
  };
}

function count(t, r, latList) {
  t.requests += 1;
  latList?.push(r.ms);
  if (r.status === 0) t.network[r.error] = (t.network[r.error] ?? 0) + 1;
  else t.statuses[r.status] = (t.statuses[r.status] ?? 0) + 1;
  if ((r.status === 0 || r.status >= 500) && t.errorSamples.length < 5) {
    t.errorSamples.push({ status: r.status, error: r.error, body: r.body.slice(0, 300) });
  }
}

/** Node-side implementations of each workload: one call = one closed-loop iteration. */
const NODE_OPS = {
  trivial: async (ctx, agent, t) => {
    const r = await rawRequest(agent, ctx.port, "GET", "/cluster/node-info", null);
    count(t, r, t.lat);
    if (r.status === 200) t.ok += 1;
  },
  create: async (ctx, agent, t, conn) => {
    const n = ++ctx.seq;
    const key = `${ctx.prefix}-${randHex()}-${conn}-${n}`;
    const r = await rawRequest(agent, ctx.port, "PUT", `/databases/${DB}/cmpxchg?key=${key}&index=0`, valueBody(n, "node"));
    count(t, r, t.lat);
    if (r.status === 200) {
      if (JSON.parse(r.body).Successful === true) t.ok += 1;
      else t.notOk += 1;
    }
  },
  get: async (ctx, agent, t) => {
    const key = `set-${Math.floor(Math.random() * ctx.keys)}`;
    const r = await rawRequest(agent, ctx.port, "GET", `/databases/${DB}/cmpxchg?key=${key}`, null);
    count(t, r, t.lat);
    if (r.status === 200) t.ok += 1;
    else if (r.status === 404) t.miss += 1;
  },
  cas: (ctx, agent, t) => readThenWrite(ctx, agent, t, `set-${Math.floor(Math.random() * ctx.keys)}`),
  hot: (ctx, agent, t) => readThenWrite(ctx, agent, t, "hot"),
};

/** GET the key's index, then PUT with index=<that>: success, or a conflict (someone was first). */
async function readThenWrite(ctx, agent, t, key) {
  const g = await rawRequest(agent, ctx.port, "GET", `/databases/${DB}/cmpxchg?key=${key}`, null);
  count(t, g, t.getLat);
  if (g.status !== 200) {
    if (g.status === 404) t.miss += 1;
    return;
  }
  const expected = JSON.parse(g.body).Results[0].Index;
  const n = ++ctx.seq;
  const p = await rawRequest(agent, ctx.port, "PUT", `/databases/${DB}/cmpxchg?key=${key}&index=${expected}`, valueBody(n, "cas"));
  count(t, p, t.putLat);
  if (p.status !== 200) return;
  t.cycles += 1;
  t.cycleLat.push(g.ms + p.ms);
  const res = JSON.parse(p.body);
  if (res.Successful === true) {
    t.ok += 1;
    // Two successes from the same expected index on one key = a lost update.
    const id = `${key}@${expected}`;
    if (t.successes.has(id) || !(res.Index > expected)) t.anomalies += 1;
    t.successes.set(id, res.Index);
  } else {
    t.conflicts += 1;
    if (!(res.Index >= expected)) t.anomalies += 1; // the index went backwards?
  }
}

async function runNode(ctx, workload, conns, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns, maxFreeSockets: conns });
  const t = newTally();
  const op = NODE_OPS[workload === "trivial-node" ? "trivial" : workload];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: conns }, async (_, conn) => {
      while (performance.now() < end) await op(ctx, agent, t, conn);
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  const rw = workload === "cas" || workload === "hot";
  const non2xx = Object.entries(t.statuses).filter(([s]) => +s >= 300 && !(workload === "get" && s === "404")).reduce((x, [, n]) => x + n, 0);
  return {
    generator: "node",
    seconds: r2(elapsed),
    requests: t.requests,
    rps: Math.round(t.requests / elapsed),
    latencyMs: quantiles(rw ? t.cycleLat : t.lat),
    ...(rw ? { getLatencyMs: quantiles(t.getLat), putLatencyMs: quantiles(t.putLat) } : {}),
    statuses: t.statuses,
    network: t.network,
    non2xx: non2xx + t.miss * (workload === "get" ? 1 : 0),
    networkErrors: Object.values(t.network).reduce((x, y) => x + y, 0),
    ok: t.ok,
    okPerSec: Math.round(t.ok / elapsed),
    okWrites: workload === "create" || rw ? t.ok : 0,
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

// ---------------------------------------------------------------- wrk

const WRK_SCRIPTS = { trivial: "trivial.lua", create: "create.lua", get: "get.lua" };
const WRK_PATHS = { trivial: "/cluster/node-info", create: "/", get: "/" };

function runWrk(ctx, tools, workload, conns, seconds) {
  const secs = Math.max(1, Math.round(seconds));
  const args = [
    "-t", String(Math.min(CONFIG.wrkThreads, conns)), "-c", String(conns), "-d", `${secs}s`, "--timeout", "10s",
    "-s", path.join(BENCH_DIR, "wrk", WRK_SCRIPTS[workload]),
    `http://${HOST}:${ctx.port}${WRK_PATHS[workload]}`,
    "--", DB, workload === "create" ? ctx.prefix : "set", String(ctx.keys),
  ];
  return new Promise((resolve, reject) => {
    const entry = spawnTracked("wrk", tools.wrk, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    entry.child.stdout.on("data", (c) => (out += c));
    entry.child.stderr.on("data", (c) => (out += c));
    const killer = setTimeout(() => killGroup(entry.child, "SIGKILL"), (secs + 30) * 1000);
    entry.child.once("exit", (code) => {
      clearTimeout(killer);
      started.delete(entry);
      const line = out.split("\n").find((l) => l.startsWith("BENCHJSON "));
      if (!line) return reject(new Error(`wrk exited ${code} without a summary:\n${out}`));
      const s = JSON.parse(line.slice("BENCHJSON ".length));
      const elapsed = s.duration_us / 1e6;
      const us = (x) => r2(x / 1000);
      resolve({
        generator: "wrk",
        seconds: r2(elapsed),
        requests: s.requests,
        rps: Math.round(s.requests / elapsed),
        latencyMs: {
          p50: us(s.latency_us.p50), p90: us(s.latency_us.p90), p99: us(s.latency_us.p99),
          max: us(s.latency_us.max), mean: us(s.latency_us.mean),
        },
        non2xx: s.errors.status,
        networkErrors: s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
        network: { connect: s.errors.connect, read: s.errors.read, write: s.errors.write, timeout: s.errors.timeout },
        ok: workload === "create" ? s.ok : s.requests - s.errors.status,
        okPerSec: Math.round((workload === "create" ? s.ok : s.requests - s.errors.status) / elapsed),
        okWrites: workload === "create" ? s.ok : 0,
        notOk: s.notok,
        other: s.other,
        errorSamples: s.sample ? [{ status: Number(s.sample.split(" ")[0]), body: s.sample.slice(4) }] : [],
      });
    });
  });
}

// ---------------------------------------------------------------- noise control and syscall counts

/**
 * Waits until processes other than ours are (nearly) idle; returns what was seen. After 3 waits in
 * a row that ran out, the load is taken as persistent and later waits are cut to 2 s (until a quiet
 * moment is seen again), so a stuck neighbour cannot stretch the run by BENCH_QUIET_WAIT per cell.
 */
let timedOutWaits = 0;
async function waitQuiet(servers) {
  const t0 = performance.now();
  const limitMs = (timedOutWaits >= 3 ? 2 : CONFIG.quietWaitS) * 1000;
  let other = null;
  let quiet = false;
  for (;;) {
    const a = snapshot(servers[0], null, servers);
    await sleep(500);
    const u = usageBetween(a, snapshot(servers[0], null, servers), 0, 0);
    other = u.otherCorePct ?? 0;
    quiet = other <= CONFIG.quietMaxPct;
    if (quiet || performance.now() - t0 > limitMs) break;
  }
  timedOutWaits = quiet ? 0 : timedOutWaits + 1;
  return { waitedMs: Math.round(performance.now() - t0), otherCorePct: other, quiet };
}

/** Runs one load under `strace -f -c` attached to the runtime: syscalls per request. */
async function straceCell(tools, server, ctx, runtimePid, workload, conns) {
  const out = path.join(tmpRoot, `strace-${process.pid}-${Date.now()}.txt`);
  const traced = "fsync,fdatasync,pwrite64,pread64,write,writev,futex,epoll_wait,recvfrom,sendto,sendmsg,recvmsg";
  const entry = spawnTracked("strace", tools.strace, ["-f", "-c", "-w", "-e", `trace=${traced}`, "-o", out, "-p", String(runtimePid)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  entry.child.stderr.on("data", (c) => (err += c));
  await sleep(700); // attach
  const r = useWrk(tools, workload)
    ? await runWrk(ctx, tools, workload, conns, CONFIG.straceSeconds)
    : await runNode(ctx, workload, conns, CONFIG.straceSeconds);
  const exited = new Promise((resolve) => entry.child.once("exit", resolve));
  entry.child.kill("SIGINT");
  await Promise.race([exited, sleep(5000)]);
  await stopChild(entry);
  const calls = {};
  for (const line of (readText(out) ?? "").split("\n")) {
    const c = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall (-w: wall-clock time spent in the call)
    if (c.length >= 5 && /^\d+$/.test(c[3]) && /^[a-z_0-9]+$/.test(c[c.length - 1]) && c[c.length - 1] !== "total") {
      calls[c[c.length - 1]] = { calls: +c[3], usecsPerCall: +c[2] };
    }
  }
  if (!Object.keys(calls).length) return { workload, conns, error: `no strace summary: ${err.slice(0, 300)}` };
  const per = (name, n) => (calls[name] && n ? +(calls[name].calls / n).toFixed(2) : 0);
  return {
    workload, conns, generator: r.generator, requests: r.requests, rpsUnderStrace: r.rps, okWrites: r.okWrites,
    perRequest: Object.fromEntries(Object.keys(calls).map((k) => [k, per(k, r.requests)])),
    fsyncPerOkWrite: r.okWrites ? +(((calls.fsync?.calls ?? 0) + (calls.fdatasync?.calls ?? 0)) / r.okWrites).toFixed(2) : null,
    usecsPerCall: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v.usecsPerCall])),
  };
}

// ---------------------------------------------------------------- sessions and cells

async function prefill(port, keys) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;
  let retries = 0;
  const t0 = performance.now();
  const put = async (key, n) => {
    for (let attempt = 0; ; attempt += 1) {
      const r = await rawRequest(agent, port, "PUT", `/databases/${DB}/cmpxchg?key=${key}&index=0`, valueBody(n, "prefill"));
      if (r.status === 200) return;
      retries += 1;
      if (attempt >= 5) throw new Error(`prefill of ${key} failed: ${r.status} ${r.error ?? ""} ${r.body.slice(0, 200)}`);
      await sleep(200);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(64, keys) }, async () => {
      while (next < keys) {
        const i = next++;
        await put(`set-${i}`, i);
      }
    }),
  );
  await put("hot", 0);
  agent.destroy();
  for (const key of ["set-0", `set-${keys - 1}`, "hot"]) {
    const r = await rawRequest(undefined, port, "GET", `/databases/${DB}/cmpxchg?key=${key}`, null);
    if (r.status !== 200) throw new Error(`prefill check: GET ${key} answered ${r.status}`);
  }
  return { keys, seconds: r2((performance.now() - t0) / 1000), retries };
}

function useWrk(tools, workload) {
  return Boolean(tools.wrk) && workload in WRK_SCRIPTS;
}

/** How many times wrangler has logged a reload of its local server so far (0 for workerd serve). */
function reloadCount(server) {
  if (server.name === "direct") return 0;
  return ((readText(server.logFile) ?? "").match(/Reloading local server/g) ?? []).length;
}

/**
 * wrangler dev replaces its runtime workerd on a reload (file watcher, dev registry change): find
 * the processes and the runtime's entry port again. Returns true if the runtime had changed.
 */
async function refreshServer(server) {
  if (server.name === "direct") return false;
  const runtimeOf = (procs) => procs.find((p) => p.role === "workerd-runtime")?.pid;
  let procs = serverProcesses(server.entry.child.pid, server.port);
  if (runtimeOf(procs) === runtimeOf(server.procs) && server.runtimePort) return false;
  await waitReady(server.entry, server.port, server.logFile, { timeoutMs: 60_000 });
  await sleep(500);
  procs = serverProcesses(server.entry.child.pid, server.port);
  server.procs = procs;
  const runtime = procs.find((p) => p.role === "workerd-runtime");
  server.runtimePort = runtime ? await findRuntimePort(runtime.pid) : null;
  console.warn(`   (${server.name}: runtime workerd replaced; entry port now ${server.runtimePort})`);
  return true;
}

/**
 * Starts every server (each with its own fresh storage), prefills and warms each, then runs all
 * cells interleaved across servers and workloads: rep -> connections -> rotated (mode, workload).
 * Idle servers cost ~0 CPU (measured: "idle:" processes count as ours, not as "other").
 */
async function runAll(tools, app, sessions, results, device) {
  const live = [];
  try {
    for (const { kind, targets } of sessions) {
      const isDev = kind !== "direct";
      console.log(`\n== starting ${isDev ? `wrangler dev (${kind})` : "workerd serve (built Worker)"} ...`);
      const server = isDev ? await startDev(tools, app, kind) : await startDirect(tools, app);
      const record = {
        server: kind, command: server.command, startupMs: server.startupMs,
        processes: server.procs.map((p) => p.role), port: server.port, runtimePort: server.runtimePort ?? null,
        ...(isDev ? { X_LOCAL_OBSERVABILITY: server.observability } : {}),
      };
      results.sessions.push(record);
      const item = { kind, server, record, targets, cells: [] };
      live.push(item);
      console.log(`   ready on ${HOST}:${server.port} in ${server.startupMs} ms; processes: ${record.processes.join(", ")}`);
      for (const { mode, workloads } of targets) {
        if (mode === "dev-noproxy" && !server.runtimePort) {
          console.warn("bench: could not find the runtime workerd's entry port: skipping mode dev-noproxy");
          results.skipped.push("dev-noproxy: runtime entry port not found");
          continue;
        }
        for (const w of workloads) {
          if (w === "trivial-node" && !tools.wrk) continue; // identical to "trivial" without wrk
          item.cells.push({ mode, workload: w, item, port: mode === "dev-noproxy" ? server.runtimePort : server.port });
          // (cell.port is only used for the warm-up; cells re-read the port as it may change on a reload)
        }
      }
      record.prefill = await prefill(server.port, CONFIG.keys);
      console.log(`   prefilled ${CONFIG.keys} keys + 1 hot key in ${record.prefill.seconds} s`);
      // Warm-up (not recorded): JIT, connections, every shard object opened.
      for (const port of new Set(item.cells.map((c) => c.port))) {
        const ctx = { port, prefix: `warm-${port}`, seq: 0, keys: CONFIG.keys };
        await runNode(ctx, "trivial", 16, 1);
        await runNode(ctx, "cas", 16, 2);
      }
    }
    const servers = live.map((x) => x.server);
    const cells = live.flatMap((x) => x.cells);
    const total = CONFIG.repeats * CONFIG.connections.length * cells.length;
    console.log(`\n== ${total} cells of ${CONFIG.seconds} s, interleaved`);
    let done = 0;
    for (let rep = 0; rep < CONFIG.repeats; rep += 1) {
      for (const conns of CONFIG.connections) {
        const shift = (rep * 7 + CONFIG.connections.indexOf(conns) * 3) % cells.length;
        for (const cell of [...cells.slice(shift), ...cells.slice(0, shift)]) {
          const { server } = cell.item;
          // A cell disturbed by a wrangler reload, or failing, is run once more after a refresh.
          for (let attempt = 1; attempt <= 2; attempt += 1) {
            const port = cell.mode === "dev-noproxy" ? server.runtimePort : server.port;
            const ctx = { port, prefix: `c-${cell.mode}-${rep}-${conns}-${attempt}`, seq: 0, keys: CONFIG.keys };
            const quiet = await waitQuiet(servers);
            const reloadsBefore = reloadCount(server);
            const before = snapshot(server, device, servers);
            const stopSampler = startThreadSampler(server);
            let r;
            try {
              r = useWrk(tools, cell.workload)
                ? await runWrk(ctx, tools, cell.workload, conns, CONFIG.seconds)
                : await runNode(ctx, cell.workload, conns, CONFIG.seconds);
            } catch (err) {
              r = { generator: useWrk(tools, cell.workload) ? "wrk" : "node", requests: 0, rps: null, okWrites: 0, error: String(err?.message ?? err).slice(0, 500) };
            }
            const threads = stopSampler();
            const after = snapshot(server, device, servers);
            const logged = reloadCount(server) !== reloadsBefore;
            const replaced = await refreshServer(server);
            const reloaded = logged || replaced;
            const run = {
              mode: cell.mode, workload: cell.workload, conns, rep, attempt, ...r, quiet,
              ...(reloaded ? { disturbed: "wrangler reloaded the local server during the cell" } : {}),
              usage: usageBetween(before, after, r.requests, r.okWrites), threads,
            };
            results.runs.push(run);
            const lat = run.latencyMs ? `p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms` : "";
            const extra = run.cycles !== undefined ? ` ok/s ${run.okPerSec} conflicts ${run.conflictPct}%` : "";
            const errs = run.non2xx || run.networkErrors ? ` ERRORS non2xx=${run.non2xx} net=${run.networkErrors}` : "";
            const noisy = run.usage.otherCorePct > CONFIG.quietMaxPct ? ` [other load ${run.usage.otherCorePct}% of a core]` : "";
            const bad = run.error ? ` FAILED: ${run.error.split("\n")[0]}` : run.disturbed ? ` DISTURBED: ${run.disturbed}` : "";
            console.log(
              `   [${String(done + 1).padStart(3)}/${total}] ${cell.mode.padEnd(11)} ${cell.workload.padEnd(12)} c=${String(conns).padEnd(3)} ` +
                `rep ${rep + 1}: ${String(run.rps).padStart(6)} rps ${lat}${extra}${errs} (${run.generator})${noisy}${bad}`,
            );
            for (const x of live) {
              const c = x.server.entry.child;
              if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${x.server.entry.label} died during the run:\n${tail(x.server.logFile)}`);
            }
            if (!run.error && !run.disturbed) break;
            if (attempt === 2) console.warn("   (kept as failed/disturbed; excluded from the medians)");
          }
          done += 1;
        }
      }
    }
    if (tools.strace) {
      console.log("");
      for (const { kind, server, record, targets } of live) {
        const runtime = server.procs.find((p) => p.role === (kind === "direct" ? "workerd" : "workerd-runtime"));
        record.strace = [];
        for (const [workload, conns] of [["trivial", 1], ["create", 1], ["create", 64], ["cas", 16], ["hot", 64]]) {
          if (!runtime || !targets.some((t) => t.mode === kind && t.workloads.includes(workload))) continue;
          await waitQuiet(servers);
          const ctx = { port: server.port, prefix: `s-${kind}-${conns}`, seq: 0, keys: CONFIG.keys };
          const st = await straceCell(tools, server, ctx, runtime.pid, workload, conns);
          record.strace.push({ mode: kind, ...st });
          console.log(`   strace ${kind} ${workload} c=${conns}: ${st.error ?? `fsync/req ${st.perRequest.fsync ?? 0}, pwrite64/req ${st.perRequest.pwrite64 ?? 0}, fsync per ok write ${st.fsyncPerOkWrite}`}`);
        }
      }
    }
  } finally {
    for (const { kind, server, record } of live) {
      server.entry.child.__expectExit = true;
      await stopChild(server.entry);
      record.log = scanLog(server.logFile, kind);
    }
  }
}

/** Copies the server log to bench/results and lists lines that look like trouble. */
function scanLog(logFile, kind) {
  const text = readText(logFile) ?? "";
  const outLog = path.join(path.dirname(CONFIG.out), `${path.basename(CONFIG.out, ".json")}-${kind}.log`);
  try { fs.writeFileSync(outLog, text); } catch { /* results dir checked earlier */ }
  const lines = text.split("\n");
  // wrangler dev prints one "[wrangler:info] <METHOD> <path> <status> ..." line per request.
  const requestLines = {};
  const notable = [];
  for (const l of lines) {
    const m = /\[wrangler:info\] [A-Z]+ \S+ (\d{3}) /.exec(l);
    if (m) {
      const cls = `${m[1][0]}xx`;
      requestLines[cls] = (requestLines[cls] ?? 0) + 1;
      if (m[1][0] === "5") notable.push(l);
    } else if (/error|✘|exception|uncaught|overload|warn|reload|rebuil|updated/i.test(l)) {
      notable.push(l);
    }
  }
  const counts = {};
  for (const l of notable) {
    // eslint-disable-next-line no-control-regex
    const k = l.replace(/\x1b\[[0-9;]*m/g, "").replace(/\d+/g, "N").slice(0, 200);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return { file: path.relative(ROOT, outLog), lines: lines.length, requestLines, notableLines: notable.length, notable: counts };
}

// ---------------------------------------------------------------- summary and report

function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : r2((v[m - 1] + v[m]) / 2);
}

function summarize(allRuns, quietMax = CONFIG.quietMaxPct) {
  const runs = allRuns.filter((r) => !r.error && !r.disturbed);
  const groups = new Map();
  for (const r of runs) {
    const k = `${r.mode}|${r.workload}|${r.conns}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const out = [];
  for (const [k, rs] of groups) {
    const [mode, workload, conns] = k.split("|");
    const m = (f) => median(rs.map(f));
    const runtimeRole = mode === "direct" ? "workerd" : "workerd-runtime";
    out.push({
      mode, workload, conns: +conns, repeats: rs.length, generator: rs[0].generator,
      rps: m((r) => r.rps),
      rpsAll: rs.map((r) => r.rps),
      // Little's law check of the latency figures: mean latency x throughput / connections, ~1.0
      // when every request's latency was measured right (a read-then-write cycle is 2 requests).
      littleRatio: m((r) => (r.latencyMs && r.seconds ? r2((r.latencyMs.mean / 1000) * (r.requests / r.seconds) / r.conns / (r.cycles !== undefined ? 2 : 1)) : null)),
      p50: m((r) => r.latencyMs?.p50),
      p99: m((r) => r.latencyMs?.p99),
      okPerSec: m((r) => r.okPerSec),
      cyclesPerSec: m((r) => r.cyclesPerSec),
      conflictPct: m((r) => r.conflictPct),
      getP50: m((r) => r.getLatencyMs?.p50), getP99: m((r) => r.getLatencyMs?.p99),
      putP50: m((r) => r.putLatencyMs?.p50), putP99: m((r) => r.putLatencyMs?.p99),
      non2xx: rs.reduce((x, r) => x + (r.non2xx ?? 0), 0),
      networkErrors: rs.reduce((x, r) => x + (r.networkErrors ?? 0), 0),
      notOk: rs.reduce((x, r) => x + (r.notOk ?? 0), 0),
      anomalies: rs.reduce((x, r) => x + (r.anomalies ?? 0), 0),
      runtimeCpu: m((r) => r.usage.procCorePct?.[runtimeRole]),
      // CPU milliseconds per HTTP request, per process (median over repeats)
      runtimeCpuMsPerReq: m((r) => (r.rps ? (r.usage.procCorePct?.[runtimeRole] ?? NaN) * 10 / r.rps : null)),
      proxyCpuMsPerReq: m((r) => (r.rps && r.usage.procCorePct?.["workerd-proxy"] !== undefined ? r.usage.procCorePct["workerd-proxy"] * 10 / r.rps : null)),
      wranglerCpuMsPerReq: m((r) => (r.rps && r.usage.procCorePct?.["wrangler-cli"] !== undefined ? r.usage.procCorePct["wrangler-cli"] * 10 / r.rps : null)),
      proxyCpu: m((r) => r.usage.procCorePct?.["workerd-proxy"]),
      wranglerCpu: m((r) => r.usage.procCorePct?.["wrangler-cli"]),
      generatorCpu: m((r) => (r.usage.generatorCorePct?.node ?? 0) + (r.usage.generatorCorePct?.wrk ?? 0)),
      busyCores: m((r) => r.usage.system?.busyCores),
      iowaitPct: m((r) => r.usage.system?.iowaitPct),
      idlePct: m((r) => r.usage.system?.idlePct),
      otherCpu: m((r) => r.usage.otherCorePct),
      noisyRuns: rs.filter((r) => r.usage.otherCorePct > quietMax).length,
      flushesPerSec: m((r) => r.usage.disk?.flushesPerSec),
      flushesPerOkWrite: m((r) => r.usage.disk?.flushesPerOkWrite),
      writeIosPerReq: m((r) => r.usage.disk?.writeIosPerReq),
      runtimeWriteBytesPerReq: m((r) => r.usage.procIo?.[runtimeRole]?.writeBytesPerReq),
      runtimeDiskWaitPct: m((r) => r.threads?.[runtimeRole]?.anyThreadDiskWaitPct),
      runtimeDiskWaitMsPerReq: m((r) => (r.rps && r.threads?.[runtimeRole] ? r.threads[runtimeRole].anyThreadDiskWaitPct * 10 / r.rps : null)),
      runtimeBusiestThreadPct: m((r) => r.threads?.[runtimeRole]?.busiestThread?.runningPct),
      runtimeBusiestThread: rs.find((r) => r.threads?.[runtimeRole]?.busiestThread)?.threads[runtimeRole].busiestThread.name ?? null,
    });
  }
  return out;
}

const WORKLOAD_LABEL = {
  trivial: "trivial GET /cluster/node-info",
  "trivial-node": "trivial GET (Node generator)",
  create: "(a) create-if-absent, random keys",
  get: "(d) GET existing key",
  cas: "(b) CAS read-then-write, random keys",
  hot: "(c) CAS read-then-write, 1 hot key",
};
const fmt = (x, d = 0) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const fms = (x) => (x === null || x === undefined ? "–" : x < 10 ? fmt(x, 2) : x < 100 ? fmt(x, 1) : fmt(x, 0));

function report(summary, results) {
  const CFG = results.config; // the configuration of the run being reported (also for --report)
  const modes = ALL_MODES.filter((m) => summary.some((s) => s.mode === m));
  const get = (mode, w, c) => summary.find((s) => s.mode === mode && s.workload === w && s.conns === c);
  const workloads = ALL_WORKLOADS.filter((w) => summary.some((s) => s.workload === w));
  const L = [];
  L.push(`Median of ${CFG.repeats} runs x ${CFG.seconds} s per cell. rps = HTTP requests/s (a read-then-write cycle is 2 requests);`);
  L.push("p50/p99 in ms: per request, or per GET+PUT cycle for (b)/(c). Generator: wrk for trivial/(a)/(d) if installed, else Node.");
  L.push(`A * per repeat whose cell saw other processes on the machine use > ${CFG.quietMaxPct} % of a core (shared machine).`);
  L.push("† = the latency figures fail Little's law (mean latency x rps / connections is off 1.0 by > 20 %): not trustworthy. wrk 4.1 does this");
  L.push("for sub-millisecond answers at few connections (e.g. mean x rps = 2-4 for direct trivial at 1 connection); its rps are still counted right.");
  L.push("");
  const head = ["workload", "conns", ...modes.flatMap((m) => [`${m} rps`, `${m} p50 / p99`])];
  if (modes.includes("dev") && modes.includes("direct")) head.push("direct ÷ dev");
  L.push(`| ${head.join(" | ")} |`);
  L.push(`|${head.map(() => "---").join("|")}|`);
  for (const w of workloads) {
    for (const c of CFG.connections) {
      const row = [WORKLOAD_LABEL[w], String(c)];
      for (const m of modes) {
        const s = get(m, w, c);
        const dagger = s && s.littleRatio !== null && Math.abs(s.littleRatio - 1) > 0.2 ? "†" : "";
        row.push(s ? `${fmt(s.rps)}${s.noisyRuns ? "*".repeat(s.noisyRuns) : ""}` : "–", s ? `${fms(s.p50)} / ${fms(s.p99)}${dagger}` : "–");
      }
      if (modes.includes("dev") && modes.includes("direct")) {
        const a = get("dev", w, c);
        const b = get("direct", w, c);
        row.push(a && b && a.rps ? `${fmt(b.rps / a.rps, 2)}×` : "–");
      }
      L.push(`| ${row.join(" | ")} |`);
    }
  }
  const rw = summary.filter((s) => s.workload === "cas" || s.workload === "hot");
  if (rw.length) {
    L.push("");
    L.push("Read-then-write detail (medians): cycles/s = GET+PUT pairs completed, ok/s = successful CAS updates.");
    L.push("");
    L.push("| mode | workload | conns | cycles/s | ok updates/s | conflicts % | GET p50 / p99 | PUT p50 / p99 | lost updates |");
    L.push("|---|---|---|---|---|---|---|---|---|");
    for (const m of modes) for (const w of ["cas", "hot"]) for (const c of CFG.connections) {
      const s = get(m, w, c);
      if (!s) continue;
      L.push(`| ${m} | ${w === "cas" ? "(b) random keys" : "(c) hot key"} | ${c} | ${fmt(s.cyclesPerSec)} | ${fmt(s.okPerSec)} | ${fmt(s.conflictPct, 1)} | ${fms(s.getP50)} / ${fms(s.getP99)} | ${fms(s.putP50)} / ${fms(s.putP99)} | ${s.anomalies} |`);
    }
  }
  L.push("");
  L.push("Ratios from this invocation (median rps):");
  L.push("");
  L.push("| ratio | conns | " + modes.join(" | ") + " |");
  L.push(`|---|---|${modes.map(() => "---").join("|")}|`);
  const ratio = (num, den) => (num && den && den.rps ? `${fmt(num.rps / den.rps, 2)}` : "–");
  for (const c of CFG.connections) {
    L.push(`| (a) create ÷ trivial | ${c} | ${modes.map((m) => ratio(get(m, "create", c), get(m, "trivial", c))).join(" | ")} |`);
    L.push(`| (d) GET ÷ trivial | ${c} | ${modes.map((m) => ratio(get(m, "get", c), get(m, "trivial", c))).join(" | ")} |`);
    L.push(`| (b) CAS ÷ trivial-node | ${c} | ${modes.map((m) => ratio(get(m, "cas", c), get(m, "trivial-node", c) ?? get(m, "trivial", c))).join(" | ")} |`);
  }
  if (modes.includes("dev-noproxy")) {
    for (const w of ["trivial", "create", "cas"]) for (const c of CFG.connections) {
      const a = get("dev", w, c);
      const b = get("dev-noproxy", w, c);
      if (a && b) L.push(`| ${w}: dev-noproxy ÷ dev (proxy cost) | ${c} | ${modes.map((m) => (m === "dev" ? ratio(b, a) : "")).join(" | ")} |`);
    }
  }
  if (modes.includes("dev-noobs")) {
    for (const w of ["trivial", "create", "cas"]) for (const c of CFG.connections) {
      const a = get("dev", w, c);
      const b = get("dev-noobs", w, c);
      if (a && b) L.push(`| ${w}: dev-noobs ÷ dev (local observability cost) | ${c} | ${modes.map((m) => (m === "dev" ? ratio(b, a) : "")).join(" | ")} |`);
    }
  }
  L.push("");
  L.push("Where time goes (medians per cell): CPU in % of one core; system busy in cores (of " + os.cpus().length + "); flushes = block-device cache flushes (/proc/diskstats);");
  L.push("D-wait = share of 20 ms samples with a runtime thread in uninterruptible (disk) wait (ms/req = that share of each second / rps);");
  L.push("busiest thread = share of samples the busiest runtime thread (workerd's one JavaScript thread) was runnable.");
  L.push("");
  L.push("CPU ms/req = CPU time of that process per HTTP request (runtime = the workerd running the Worker and its Durable Objects; proxy = wrangler's");
  L.push("proxy workerd; wrangler = its Node CLI, which prints one log line per request).");
  L.push("");
  L.push("| mode | workload | conns | rps | runtime CPU % | runtime CPU ms/req | proxy CPU ms/req | wrangler CPU ms/req | generator CPU % | other CPU % | busy cores | iowait % | idle % | disk flushes/s | runtime D-wait % | runtime D-wait ms/req | busiest runtime thread running % |");
  L.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const m of modes) for (const w of workloads) for (const c of CFG.connections) {
    const s = get(m, w, c);
    if (!s) continue;
    L.push(`| ${m} | ${w} | ${c} | ${fmt(s.rps)} | ${fmt(s.runtimeCpu)} | ${fmt(s.runtimeCpuMsPerReq, 2)} | ${fmt(s.proxyCpuMsPerReq, 2)} | ${fmt(s.wranglerCpuMsPerReq, 2)} | ${fmt(s.generatorCpu)} | ${fmt(s.otherCpu)} | ${fmt(s.busyCores, 2)} | ${fmt(s.iowaitPct, 1)} | ${fmt(s.idlePct, 1)} | ${fmt(s.flushesPerSec)} | ${fmt(s.runtimeDiskWaitPct)} | ${fmt(s.runtimeDiskWaitMsPerReq, 2)} | ${fmt(s.runtimeBusiestThreadPct)} |`);
  }
  const traces = results.sessions.flatMap((x) => x.strace ?? []).filter((x) => !x.error);
  if (traces.length) {
    L.push("");
    L.push(`Syscalls of the runtime workerd per HTTP request, counted with \`strace -f -c -w\` in separate untimed ${CFG.straceSeconds} s runs (strace slows it; only the counts matter):`);
    L.push("");
    L.push("| mode | workload | conns | requests | fsync | fdatasync | pwrite64 | pread64 | write+writev | futex | fsync per ok write | fsync µs/call (wall, under strace) |");
    L.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const t of traces) {
      const p = t.perRequest;
      L.push(`| ${t.mode} | ${t.workload} | ${t.conns} | ${t.requests} | ${p.fsync ?? 0} | ${p.fdatasync ?? 0} | ${p.pwrite64 ?? 0} | ${p.pread64 ?? 0} | ${r2((p.write ?? 0) + (p.writev ?? 0))} | ${p.futex ?? 0} | ${t.fsyncPerOkWrite ?? "–"} | ${t.usecsPerCall.fsync ?? "–"} |`);
    }
  }
  const dropped = results.runs.filter((r) => r.error || r.disturbed);
  if (dropped.length) {
    L.push("");
    L.push("Cells left out of the medians (each was run again once):");
    L.push("");
    for (const r of dropped) {
      const errs = r.non2xx || r.networkErrors ? ` (non-2xx ${r.non2xx ?? 0}, network errors ${r.networkErrors ?? 0}${r.errorSamples?.length ? `, e.g. ${JSON.stringify(r.errorSamples[0])}` : ""})` : "";
      L.push(`- ${r.mode} ${r.workload} c=${r.conns} rep ${r.rep + 1} attempt ${r.attempt}: ${r.error ? `failed: ${r.error.split("\n")[0]}` : r.disturbed}${errs}`);
    }
  }
  const bad = summary.filter((s) => s.non2xx || s.networkErrors || s.anomalies || s.notOk && s.workload === "create");
  L.push("");
  if (bad.length) {
    L.push("Errors / anomalies (summed over repeats):");
    L.push("");
    for (const s of bad) L.push(`- ${s.mode} ${s.workload} c=${s.conns}: non-2xx ${s.non2xx}, network errors ${s.networkErrors}, create collisions ${s.workload === "create" ? s.notOk : 0}, lost updates ${s.anomalies}`);
  } else {
    L.push(`Errors: none in the cells counted above (no non-2xx answers, no network errors, no lost updates, no create collisions)${dropped.length ? "; see the left-out cells for errors during reloads" : ""}.`);
  }
  for (const sess of results.sessions) {
    if (sess.log) {
      const req = Object.entries(sess.log.requestLines).map(([k, v]) => `${k} ${v}`).join(", ");
      L.push(`- ${sess.server} log (${sess.log.file}): ${sess.log.lines} lines${req ? `, per-request lines ${req}` : ""}, ${sess.log.notableLines} lines look like errors/warnings/reloads`);
    }
  }
  return L.join("\n");
}

// ---------------------------------------------------------------- main

async function main() {
  // `node bench/run.mjs --report [file.json]`: recompute the medians and re-render the tables of an
  // earlier run (written back to that file and its .md), no load.
  const at = process.argv.indexOf("--report");
  if (at !== -1) {
    const file = path.resolve(process.argv[at + 1] ?? CONFIG.out);
    const results = JSON.parse(fs.readFileSync(file, "utf8"));
    results.summary = summarize(results.runs, results.config.quietMaxPct);
    const md = report(results.summary, results);
    results.reportMarkdown = md;
    fs.writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
    fs.writeFileSync(file.replace(/\.json$/, ".md"), `${md}\n`);
    console.log(md);
    return;
  }
  const tools = preflight();
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cmpxchg-bench-"));
  fs.mkdirSync(path.dirname(CONFIG.out), { recursive: true });
  const machine = machineFacts(tools);
  const srcHashAtStart = hashTree(path.join(ROOT, "src"));
  const app = makeAppDir();
  const benchedSrcHash = hashTree(path.join(app, "src"));
  const device = diskDeviceOf(tmpRoot);
  const results = {
    startedAt: new Date().toISOString(),
    command: "npm run bench",
    config: { ...CONFIG, out: path.relative(ROOT, CONFIG.out) },
    machine: { ...machine, tmpDir: tmpRoot, tmpDevice: device?.name ?? null, source: CONFIG.source, snapshot: CONFIG.snapshot,
      worktreeSrcHashAtStart: srcHashAtStart, benchmarkedSrcHash: benchedSrcHash },
    generators: {
      wrk: tools.wrk ? `${machine.wrk}, ${CONFIG.wrkThreads} thread(s), for trivial/create/get` : "not installed (apt-get install wrk); Node generator used",
      node: `node:http keep-alive Agent, closed loop, one request in flight per connection (${process.version})`,
    },
    sessions: [], skipped: [], runs: [],
  };
  const sub = CONFIG.noproxyWorkloads.filter((w) => CONFIG.workloads.includes(w));
  const sessions = [];
  if (CONFIG.modes.includes("dev") || CONFIG.modes.includes("dev-noproxy")) {
    const targets = [];
    if (CONFIG.modes.includes("dev")) targets.push({ mode: "dev", workloads: CONFIG.workloads });
    if (CONFIG.modes.includes("dev-noproxy")) targets.push({ mode: "dev-noproxy", workloads: sub });
    sessions.push({ kind: "dev", targets });
  }
  if (CONFIG.modes.includes("dev-noobs")) sessions.push({ kind: "dev-noobs", targets: [{ mode: "dev-noobs", workloads: sub }] });
  if (CONFIG.modes.includes("direct")) sessions.push({ kind: "direct", targets: [{ mode: "direct", workloads: CONFIG.workloads }] });
  const cellCount = sessions.flatMap((x) => x.targets).reduce((n, t) => n + t.workloads.length, 0);
  const total = cellCount * CONFIG.connections.length * CONFIG.repeats * CONFIG.seconds;
  console.log(
    `bench: ${machine.nproc} cpus, ${machine.memTotalMiB} MiB, node ${process.version}, wrangler ${machine.wrangler}, ` +
      `workerd (dev) ${machine.workerdOfWranglerDev}, workerd (direct) ${machine.workerdDirectVersion}, wrk ${machine.wrk ?? "missing"}`,
  );
  console.log(`bench: modes ${CONFIG.modes.join(",")}; about ${Math.round(total / 60)} min of load plus startup and quiet waits`);

  try {
    await runAll(tools, app, sessions, results, device);
  } catch (err) {
    results.error = String(err?.stack ?? err);
    console.error(`bench: FAILED: ${err?.stack ?? err}`);
  } finally {
    await cleanup();
  }
  results.finishedAt = new Date().toISOString();
  results.machine.srcChangedDuringRun = hashTree(path.join(ROOT, "src")) !== srcHashAtStart;
  results.summary = summarize(results.runs);
  const md = report(results.summary, results);
  results.reportMarkdown = md;
  fs.writeFileSync(CONFIG.out, `${JSON.stringify(results, null, 1)}\n`);
  fs.writeFileSync(CONFIG.out.replace(/\.json$/, ".md"), `${md}\n`);
  console.log(`\n${md}\n`);
  console.log(`bench: wrote ${path.relative(ROOT, CONFIG.out)} and ${path.relative(ROOT, CONFIG.out.replace(/\.json$/, ".md"))}`);
  // Exit explicitly: nothing of ours should be left running, and a stray timer must not keep us alive.
  process.exit(results.error ? 1 : 0);
}

main().catch(async (err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  await cleanup();
  process.exit(1);
});
