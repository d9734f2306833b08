/**
 * Knobs of `npm run bench` (environment variables), paths and constants. Parsing only: nothing here
 * starts anything. A bad value stops the run with a message (exit 2).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.dirname(BENCH_DIR);
export const HOST = "127.0.0.1";
export const DB = "bench";
export const REQUEST_TIMEOUT_MS = 30_000;

export function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

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
  const list = (raw === undefined || raw.trim() === "" ? dflt : raw)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (allowed) for (const item of list) if (!allowed.includes(item)) fail(`${name}: unknown '${item}' (allowed: ${allowed.join(", ")})`);
  return list;
}
const ints = (name, dflt, max) =>
  envList(name, dflt).map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1 || n > max) fail(`${name}: bad count '${c}'`);
    return n;
  });

/** Workloads. trivial/trivial-node exist for our service only (a route without storage). */
export const ALL_WORKLOADS = ["trivial", "trivial-node", "create", "createrid", "get", "cas", "hot", "txcreate", "session", "transfer"];
/**
 * Modes = the systems under test. dev-noproxy and dev-noobs are diagnostic (opt-in): the dev
 * session's runtime reached past wrangler's proxy, and wrangler dev without local observability.
 */
export const ALL_MODES = ["direct", "dev", "etcd", "redis", "dev-noproxy", "dev-noobs"];
export const DEFAULT_MODES = ["direct", "dev", "etcd", "redis"];
/** Modes of the shard-scaling phase are named `direct-shards<N>`. */
export const shardMode = (n) => `direct-shards${n}`;
/** Modes of the coordinator-scaling phase are named `direct-coordinators<N>`. */
export const coordinatorMode = (n) => `direct-coordinators${n}`;

export const CONFIG = {
  seconds: envNumber("BENCH_SECONDS", 5, { min: 1 }),
  repeats: envNumber("BENCH_REPEATS", 3, { min: 1, integer: true }),
  connections: ints("BENCH_CONNECTIONS", "1,16,64", 1024),
  modes: envList("BENCH_MODES", DEFAULT_MODES.join(","), ALL_MODES),
  workloads: envList("BENCH_WORKLOADS", ALL_WORKLOADS.join(","), ALL_WORKLOADS),
  noproxyWorkloads: envList("BENCH_NOPROXY_WORKLOADS", "trivial,create,cas", ALL_WORKLOADS),
  shards: (process.env.BENCH_SHARDS ?? "1,4,16").trim() === "0" ? [] : ints("BENCH_SHARDS", "1,4,16", 1024),
  shardWorkloads: envList("BENCH_SHARD_WORKLOADS", "create,cas", ALL_WORKLOADS),
  shardConnections: ints("BENCH_SHARD_CONNECTIONS", "64", 1024),
  coordinators: (process.env.BENCH_COORDINATORS ?? "1,4,16").trim() === "0" ? [] : ints("BENCH_COORDINATORS", "1,4,16", 256),
  coordinatorWorkloads: envList("BENCH_COORDINATOR_WORKLOADS", "txcreate,transfer", ALL_WORKLOADS),
  coordinatorConnections: ints("BENCH_COORDINATOR_CONNECTIONS", "64", 1024),
  keys: envNumber("BENCH_KEYS", 5000, { min: 1, integer: true }),
  wrk: (process.env.BENCH_WRK ?? "auto") !== "0",
  wrkThreads: envNumber("BENCH_WRK_THREADS", 1, { min: 1, integer: true }),
  install: (process.env.BENCH_INSTALL ?? "auto") !== "0",
  workerd: process.env.BENCH_WORKERD || null,
  snapshot: (process.env.BENCH_SNAPSHOT ?? "1") !== "0",
  source: envList("BENCH_SOURCE", "worktree", ["worktree", "head"])[0],
  keepTmp: process.env.BENCH_KEEP_TMP === "1",
  out: path.resolve(ROOT, process.env.BENCH_OUT || "bench/results/latest.json"),
  quietMaxPct: envNumber("BENCH_QUIET_MAX", 25, { min: 0 }),
  quietWaitS: envNumber("BENCH_QUIET_WAIT", 20, { min: 0 }),
  strace: process.env.BENCH_STRACE === "1",
  straceSeconds: envNumber("BENCH_STRACE_SECONDS", 3, { min: 1 }),
};
