/**
 * What the machine and the servers' processes did during a cell, from /proc (Linux): CPU time per
 * process, system user/system/iowait/idle, block-device writes and flushes, bytes written by the
 * servers, thread states sampled every 20 ms (R = runnable, D = uninterruptible wait, i.e. fsync),
 * and the quiet-wait that holds a cell back while other processes keep the machine busy.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { CONFIG, HOST } from "./config.mjs";
import { sleep } from "./processes.mjs";

export const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  return Number(r.stdout) > 0 ? Number(r.stdout) : 100;
})();

export function readText(p) {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return null;
  }
}

/** Fields after the `(comm)` of /proc/<pid>/stat: [0] = state, [1] = ppid, [11] = utime, ... */
export function statFields(text) {
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

/**
 * The processes under a server's root pid, each with a role from its command line: for wrangler dev
 * "wrangler" (the bin shim), "wrangler-cli", "workerd-proxy" (the entry socket on `port`),
 * "workerd-runtime" (the one with the inspector); otherwise the executable's name ("workerd",
 * "etcd", "redis-server"). A second process of one role gets "#2".
 */
export function serverProcesses(rootPid, port) {
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
    const exe = path.basename((cmd[0] ?? "").split(" ")[0]); // redis-server rewrites argv[0] to "<path> <addr>"
    let role = exe || "?";
    if (exe === "workerd") {
      if (cmd.some((a) => a.startsWith("--inspector-addr"))) role = "workerd-runtime";
      else if (cmd.some((a) => a === `--socket-addr=entry=${HOST}:${port}`)) role = "workerd-proxy";
    } else if (/^node/.test(exe)) {
      role = cmd.some((a) => a.endsWith("wrangler-dist/cli.js")) ? "wrangler-cli" : "wrangler";
    }
    out.push({ pid, role });
    queue.push(...(children.get(pid) ?? []));
  }
  const seen = new Map();
  for (const p of out) {
    const n = seen.get(p.role) ?? 0;
    seen.set(p.role, n + 1);
    if (n > 0) p.role = `${p.role}#${n + 1}`;
  }
  return out;
}

/** Listening TCP ports of a pid, ordered by the fd number of their socket (= creation order). */
export function listeningPorts(pid) {
  const inodeFd = new Map();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodeFd.set(m[1], Number(fd));
      } catch {
        /* fd closed meanwhile */
      }
    }
  } catch {
    return [];
  }
  const found = [];
  for (const line of (readText("/proc/net/tcp") ?? "").split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
    if (inodeFd.has(cols[9])) found.push({ port: parseInt(cols[1].split(":")[1], 16), fd: inodeFd.get(cols[9]) });
  }
  return found.sort((a, b) => a.fd - b.fd).map((x) => x.port);
}

/** /proc/diskstats device holding `dir`, and the file system type of its mount. */
export function diskDeviceOf(dir) {
  try {
    const dev = fs.statSync(dir).dev;
    const major = (dev >> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    for (const line of (readText("/proc/diskstats") ?? "").split("\n")) {
      const c = line.trim().split(/\s+/);
      if (+c[0] === major && +c[1] === minor) return { name: c[2], major, minor };
    }
  } catch {
    /* not on a block device */
  }
  return null;
}

/** The mount (point, fs type, device) that holds `dir`: the longest mount point that is a prefix. */
export function mountOf(dir) {
  const real = fs.realpathSync(dir);
  let best = null;
  for (const line of (readText("/proc/mounts") ?? "").split("\n")) {
    const [device, point, type, options] = line.split(" ");
    if (!point) continue;
    const p = point.replace(/\\040/g, " ");
    if ((real === p || real.startsWith(p.endsWith("/") ? p : `${p}/`)) && (!best || p.length >= best.point.length)) {
      best = { device, point: p, type, options };
    }
  }
  return best;
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

/** The measured server's processes by role; those of the other (idle) servers as "idle:<server>:<role>". */
export function snapshot(server, device, all = [server]) {
  const procs = {};
  if (server) for (const p of server.procs) procs[p.role] = { ticks: procTicks(p.pid), io: procIo(p.pid) };
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

const pct = (x, total) => +((x / total) * 100).toFixed(1);

/** CPU (% of one core per process, % of all cores system-wide), disk and I/O deltas. */
export function usageBetween(a, b, requests, writes) {
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
    if (pa.io && pb.io && !role.startsWith("idle:")) {
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
      flushesPerOkWrite: writes && flushes !== null ? +(flushes / writes).toFixed(2) : null,
      kibWrittenPerSec: Math.round(((b.disk.sectorsWritten - a.disk.sectorsWritten) * 512) / 1024 / secs),
    };
  }
  return out;
}

/**
 * Samples the state of every thread of the server's main processes (`server.sampledRoles`) every
 * 20 ms: how often one is runnable (R) or in uninterruptible wait (D, normally fsync), and the
 * busiest one. Returns a function that stops sampling and returns the figures.
 */
export function startThreadSampler(server) {
  const targets = server.procs
    .filter((p) => server.sampledRoles.includes(p.role))
    .map((p) => {
      let tids = [];
      try {
        tids = fs.readdirSync(`/proc/${p.pid}/task`);
      } catch {
        /* gone */
      }
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
        if (st[0] === "R") {
          r = true;
          inc(t.r, tid);
        } else if (st[0] === "D") {
          d = true;
          inc(t.d, tid);
        }
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
      const comm = (tid) => (tid ? (readText(`/proc/${t.pid}/task/${tid}/comm`)?.trim() ?? tid) : null);
      out[t.role] = {
        samples: t.samples,
        threads: t.tids.length,
        anyThreadRunningPct: pct(t.anyR, t.samples),
        anyThreadDiskWaitPct: pct(t.anyD, t.samples),
        busiestThread: busiest ? { name: comm(busiest[0]), runningPct: pct(busiest[1], t.samples) } : null,
        diskWaitThread: waiting ? { name: comm(waiting[0]), diskWaitPct: pct(waiting[1], t.samples) } : null,
      };
    }
    return out;
  };
}

/**
 * Waits until processes other than ours are (nearly) idle; returns what was seen. After 3 waits in
 * a row that ran out, the load is taken as persistent and later waits are cut to 2 s (until a quiet
 * moment is seen again), so a busy neighbour cannot stretch the run by BENCH_QUIET_WAIT per cell.
 */
let timedOutWaits = 0;
export async function waitQuiet(servers) {
  const t0 = performance.now();
  const limitMs = (timedOutWaits >= 3 ? 2 : CONFIG.quietWaitS) * 1000;
  let other = null;
  let quiet = false;
  for (;;) {
    const a = snapshot(null, null, servers);
    await sleep(500);
    const u = usageBetween(a, snapshot(null, null, servers), 0, 0);
    other = u.otherCorePct ?? 0;
    quiet = other <= CONFIG.quietMaxPct;
    if (quiet || performance.now() - t0 > limitMs) break;
  }
  timedOutWaits = quiet ? 0 : timedOutWaits + 1;
  return { waitedMs: Math.round(performance.now() - t0), otherCorePct: other, quiet };
}
