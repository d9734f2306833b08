/**
 * Every process the benchmark starts goes through spawnTracked(): it leads its own process group,
 * and stopAll()/the exit hooks kill those groups (SIGTERM, then SIGKILL) on normal exit, on error
 * and on Ctrl-C. Temp dirs registered here are removed at exit (unless BENCH_KEEP_TMP=1).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { HOST } from "./config.mjs";

const started = new Set();
const tmpDirs = new Set();
let keepTmp = false;
let stopping = false;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function killGroup(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // detached children lead their own process group
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Starts a command in its own process group and remembers it for the clean-up. */
export function spawnTracked(label, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { ...opts, detached: true });
  const entry = { child, label };
  started.add(entry);
  child.on("error", (err) => {
    entry.spawnError = err;
  });
  return entry;
}

export const isRunning = (entry) => entry.child.exitCode === null && entry.child.signalCode === null && !entry.spawnError;

/** SIGTERM to the group, SIGKILL after 5 s, then SIGKILL to whatever of the group is left. */
export async function stopChild(entry) {
  const { child } = entry;
  entry.expectExit = true;
  if (isRunning(entry)) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    killGroup(child, "SIGTERM");
    if ((await Promise.race([exited, sleep(5000).then(() => "timeout")])) === "timeout") {
      killGroup(child, "SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
  }
  // The group may outlive its leader (wrangler's workerd children): make sure it is gone.
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    /* no such group: fine */
  }
  started.delete(entry);
}

/** Forgets an entry that exited by itself (e.g. a finished wrk). */
export function untrack(entry) {
  started.delete(entry);
}

export function registerTmp(dir) {
  tmpDirs.add(dir);
}

function cleanupSync() {
  for (const { child } of started) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      /* gone */
    }
    try {
      child.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }
  started.clear();
  if (!keepTmp)
    for (const d of tmpDirs) {
      try {
        fs.rmSync(d, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  tmpDirs.clear();
}

export async function stopAll() {
  if (stopping) return;
  stopping = true;
  await Promise.all([...started].map(stopChild));
  cleanupSync();
}

/** Ctrl-C, SIGTERM, SIGHUP and process exit stop everything this run started. */
export function installCleanupHandlers(options = {}) {
  keepTmp = Boolean(options.keepTmp);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping everything it started...`);
      stopAll().finally(() => process.exit(130));
    });
  }
  process.on("exit", cleanupSync);
}

export function which(cmd, extra = []) {
  for (const dir of [...(process.env.PATH || "").split(":"), ...extra]) {
    const p = path.join(dir || ".", cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Polls `probe()` until it returns true; throws (with the log tail) if the process exits or time runs out. */
export async function waitUntil(entry, probe, logFile, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(entry)) {
      throw new Error(
        `${entry.label} exited early (${entry.spawnError?.message ?? `code ${entry.child.exitCode}`}); log:\n${tail(logFile)}`,
      );
    }
    if (await probe()) return;
    await sleep(200);
  }
  throw new Error(`${entry.label} not ready after ${timeoutMs / 1000} s; log:\n${tail(logFile)}`);
}
