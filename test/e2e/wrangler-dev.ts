/// <reference types="node" />
/**
 * Starts the Worker under `wrangler dev` (local workerd, offline) for end-to-end tests in Node.
 *
 * Every server gets its own loopback port, its own inspector port and, unless told otherwise, a
 * fresh persistence directory under the OS temp dir, so test files can run side by side. A port
 * is only free when asked for: another process (another test file, another agent's server) may
 * take it before wrangler binds it. So a server counts as ready only when the socket listening on
 * its port belongs to its own process group (read from /proc, nothing any other server could
 * answer), and a start that lost its port to someone else is retried on fresh ports. `stop()`
 * kills the whole process group (wrangler's node process and its workerd children) and waits until
 * none of it is left; a process-exit hook does the same for servers a crashed run did not stop.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach } from "vitest";

export interface WranglerDevOptions {
  /** Persistence directory (`--persist-to`). Default: a fresh temp dir, removed on stop(). */
  persistTo?: string;
  /** Extra `--var KEY:VALUE` pairs. */
  vars?: Record<string, string>;
}

export interface WranglerDev {
  /** Origin of the dev server, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** Kills the process group (SIGTERM, SIGKILL after 5 s) and waits until it is gone. */
  stop(): Promise<void>;
  /** Everything wrangler wrote to stdout and stderr so far. */
  logs(): string;
  /** Process group id (= pid of the wrangler process, which leads its own group and session). */
  pgid: number;
  /**
   * Simulated power cut: SIGKILL to the whole process group at once (no grace period), then waits
   * until no process of it is left. The persistence directory stays (restart on it); stop()
   * afterwards still does the bookkeeping (and removes a temp dir it created).
   */
  crash(): Promise<CrashReport>;
}

export interface GroupProcess {
  pid: number;
  ppid: number;
  pgid: number;
  /** ps state letters (`Z` = zombie: dead, not yet reaped). */
  stat: string;
  args: string;
}

export interface CrashReport {
  /** Every process of the group, or descended from its leader, just before the SIGKILL. */
  killed: GroupProcess[];
  /** Of those, the ones still running (not zombies) when crash() gave up waiting (5 s): must be empty. */
  survivors: GroupProcess[];
  /** Milliseconds from the SIGKILL until nothing was left running. */
  waitedMs: number;
}

/** All processes (from `ps`), or throws a clear error when `ps` is missing. */
export function listProcesses(): GroupProcess[] {
  let out: string;
  try {
    out = execFileSync("ps", ["-eo", "pid=,ppid=,pgid=,stat=,args="], { encoding: "utf8" });
  } catch (err) {
    throw new Error(`could not list processes with ps (procps): ${(err as Error).message}`);
  }
  const rows: GroupProcess[] = [];
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (m) rows.push({ pid: +m[1]!, ppid: +m[2]!, pgid: +m[3]!, stat: m[4]!, args: m[5]!.trim() });
  }
  return rows;
}

/** The processes of group `pgid` plus every descendant of `leader` (wherever its group). */
export function groupProcesses(pgid: number, leader: number = pgid): GroupProcess[] {
  const all = listProcesses();
  const picked = new Map<number, GroupProcess>();
  for (const p of all) if (p.pgid === pgid) picked.set(p.pid, p);
  const children = new Map<number, GroupProcess[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const stack = [leader];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    for (const c of children.get(pid) ?? []) {
      if (!picked.has(c.pid)) picked.set(c.pid, c);
      stack.push(c.pid);
    }
  }
  return [...picked.values()];
}

/**
 * The given processes that are still there and not zombies (a process being torn down shows as
 * `[name]` in state R for a moment). Same pid and same group = same process.
 */
function stillRunning(procs: GroupProcess[]): GroupProcess[] {
  const now = new Map(listProcesses().map((p) => [p.pid, p]));
  return procs.flatMap((p) => {
    const cur = now.get(p.pid);
    return cur !== undefined && cur.pgid === p.pgid && !cur.stat.startsWith("Z") ? [cur] : [];
  });
}

/** The repository root: this file lives in `<root>/test/e2e/`. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const POLL_INTERVAL_MS = 200;
const MAX_LOG_CHARS = 256 * 1024;
const HOST = "127.0.0.1";

/** Process groups that are still (or may still be) alive; killed on process exit as a last resort. */
const liveGroups = new Set<number>();
/** Temp persistence dirs we created and have not removed yet. */
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function killAllNow(): void {
  for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
  liveGroups.clear();
  for (const dir of ownedDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  ownedDirs.clear();
}

/**
 * Last resort for runs that never reach afterAll: the groups are detached, so nothing else would
 * stop them. On a signal, kill them and, if nobody else handles that signal, die of it as usual.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      killAllNow();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

/** A port the OS just handed out on 127.0.0.1 (bound, read, closed). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port of a probe server"));
        return;
      }
      server.close((err) => (err ? reject(err) : resolvePort(address.port)));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Whether the TCP socket listening on 127.0.0.1:`port` belongs to a process of group `pgid` (or a
 * descendant of its leader): the proof that a server answering there is the one we started, not
 * another that took the port. Reads /proc/net/tcp and the processes' file descriptors (Linux).
 */
export function listenerIsOurs(port: number, pgid: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; st 0A = LISTEN
      if (
        f.length > 9 &&
        f[3] === "0A" &&
        (f[1] === local || (f[1]!.endsWith(`:${local.slice(9)}`) && f[1]!.startsWith("0000000000000000FFFF0000")))
      )
        inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return false;
  for (const p of groupProcesses(pgid)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p.pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}

/** A start that lost its port (or inspector port) to another process: retried on fresh ports. */
class PortTaken extends Error {}

const START_ATTEMPTS = 5;

// eslint-disable-next-line no-control-regex
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI escape sequences from wrangler's output
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

/** True while any process of the group exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    // EPERM would mean "exists but not ours", which cannot happen for our own children.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Whether a child process has ended. */
export const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Fallback clean-up for a child started with `detached: true`: SIGKILL to its whole group. */
export function killGroupOf(child: ChildProcess | undefined): void {
  if (child?.pid !== undefined && !exited(child)) signalGroup(child.pid, "SIGKILL");
}

export async function startWranglerDev(opts: WranglerDevOptions = {}): Promise<WranglerDev> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= START_ATTEMPTS) throw err;
      console.warn(`[wrangler-dev] attempt ${attempt}: ${err.message.split("\n")[0]}; retrying on fresh ports`);
    }
  }
}

async function startOnce(opts: WranglerDevOptions): Promise<WranglerDev> {
  const binDir = join(REPO_ROOT, "node_modules", ".bin");
  const wrangler = join(binDir, "wrangler");
  if (!existsSync(wrangler)) {
    throw new Error(`wrangler not found at ${wrangler}: run npm install in ${REPO_ROOT} before the e2e tests.`);
  }

  installExitHook();
  const ownsPersistDir = opts.persistTo === undefined;
  const persistTo = opts.persistTo ?? (await mkdtemp(join(tmpdir(), "edge-cmpxchg-e2e-")));
  if (ownsPersistDir) ownedDirs.add(persistTo);
  const port = await freePort();
  const inspectorPort = await freePort();
  const url = `http://${HOST}:${port}`;

  const args = [
    "dev",
    // wrangler.toml's local environment: no authentication, databases on first use.
    "--env",
    "dev",
    "--ip",
    HOST,
    "--port",
    String(port),
    "--inspector-ip",
    HOST,
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--persist-to",
    persistTo,
  ];
  for (const [key, value] of Object.entries(opts.vars ?? {})) args.push("--var", `${key}:${value}`);

  let output = "";
  const append = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > MAX_LOG_CHARS) output = output.slice(output.length - MAX_LOG_CHARS);
  };

  const child: ChildProcess = spawn(wrangler, args, {
    cwd: REPO_ROOT,
    detached: true, // own process group, so stop() reaches workerd too
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      // The project's Node (npm package `node`) first, whoever started the tests.
      PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}`,
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
  });
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  const pgid = child.pid;
  if (pgid === undefined) {
    const spawnError = await new Promise<Error>((r) => child.once("error", r));
    if (ownsPersistDir) {
      await rm(persistTo, { recursive: true, force: true });
      ownedDirs.delete(persistTo);
    }
    throw new Error(`could not start ${wrangler}: ${spawnError.message}`);
  }
  liveGroups.add(pgid);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((r) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      r();
    });
  });
  child.once("error", (err) => append(Buffer.from(`\n[spawn error] ${err.message}\n`)));

  const logs = () => output.replace(ANSI, "");

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      signalGroup(pgid, "SIGTERM");
      const deadline = Date.now() + STOP_GRACE_MS;
      while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
      if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
      // The leader is reaped by Node once its exit event fires; wait for both.
      await Promise.race([exitPromise, sleep(STOP_GRACE_MS)]);
      for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(50);
      liveGroups.delete(pgid);
      if (ownsPersistDir) {
        await rm(persistTo, { recursive: true, force: true });
        ownedDirs.delete(persistTo);
      }
    })();
    return stopping;
  };

  const failure = (reason: string) =>
    new Error(`wrangler dev (${url}) ${reason}\n--- wrangler output ---\n${logs() || "(nothing)"}\n--- end ---`);

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let answeredByOther = 0;
  try {
    for (;;) {
      if (exited !== null) {
        const { code, signal } = exited as { code: number | null; signal: NodeJS.Signals | null };
        if (/EADDRINUSE|address already in use/i.test(logs()))
          throw new PortTaken(`wrangler dev (${url}): port ${port} or ${inspectorPort} was taken`);
        throw failure(`exited before it was ready (code ${code}, signal ${signal}).`);
      }
      if (Date.now() > deadline) {
        throw failure(`was not ready after ${STARTUP_TIMEOUT_MS / 1000} s.`);
      }
      if (logs().includes("Ready on")) {
        try {
          const res = await fetch(`${url}/cluster/node-info`, { signal: AbortSignal.timeout(2_000) });
          await res.arrayBuffer();
          // 401: up with authentication on (vars AUTH=on), as the security tests start it.
          if (res.status === 200 || (res.status === 401 && opts.vars?.AUTH === "on")) {
            // Something answers: it must be our own process that listens there.
            if (listenerIsOurs(port, pgid)) break;
            if (++answeredByOther >= 10) throw new PortTaken(`wrangler dev (${url}): another process answers on port ${port}`);
          }
        } catch {
          // not listening yet
        }
      }
      await sleep(POLL_INTERVAL_MS);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const crash = async (): Promise<CrashReport> => {
    const killed = groupProcesses(pgid);
    const started = Date.now();
    signalGroup(pgid, "SIGKILL");
    // A descendant that left the group (setsid of its own) would escape the group kill.
    for (const p of killed) if (p.pgid !== pgid) signalPid(p.pid, "SIGKILL");
    let survivors = stillRunning(killed);
    while (survivors.length > 0 && Date.now() - started < STOP_GRACE_MS) {
      await sleep(50);
      survivors = stillRunning(killed);
    }
    await Promise.race([exitPromise, sleep(STOP_GRACE_MS)]);
    return { killed, survivors, waitedMs: Date.now() - started };
  };

  return { url, stop, logs, pgid, crash };
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Registers a hook that prints what the server logged during a test when that test fails (the
 * Worker logs unhandled errors there). Call at the top level of a test file.
 */
export function printServerLogsOnFailure(server: () => WranglerDev | undefined): void {
  beforeEach(({ onTestFailed }) => {
    const mark = server()?.logs().length ?? 0;
    onTestFailed(async () => {
      await new Promise((r) => setTimeout(r, 500)); // wrangler prints a request's log lines a bit later
      console.error(`--- wrangler dev output during this test ---\n${server()?.logs().slice(mark) ?? "(no server)"}`);
    });
  });
}
