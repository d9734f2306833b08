/**
 * Redis from Debian (`redis-server`, 7.0.x) with durability comparable to ours and etcd's:
 * append-only file, fsync before every reply (`--appendonly yes --appendfsync always`), no RDB
 * snapshots (`--save ""`), a fresh --dir, on a free 127.0.0.1 port.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { HOST } from "../config.mjs";
import { RespConnection } from "../generators/resp.mjs";
import { freePort, spawnTracked, waitUntil } from "../processes.mjs";
import { serverProcesses } from "../procstats.mjs";

export function redisVersion(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return /v=(\S+)/.exec(r.stdout ?? "")?.[1] ?? null;
}

export async function startRedis({ bin, tmpRoot }) {
  const port = await freePort();
  const dir = path.join(tmpRoot, "redis-data");
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(tmpRoot, "redis.log");
  const args = [
    "--bind",
    HOST,
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--daemonize",
    "no",
    "--logfile",
    "",
    "--protected-mode",
    "yes",
  ];
  const fd = fs.openSync(logFile, "a");
  const entry = spawnTracked("redis-server", bin, args, { cwd: dir, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const t0 = performance.now();
  await waitUntil(
    entry,
    async () => {
      try {
        const c = await RespConnection.connect(port);
        const r = await c.command("PING");
        await c.close();
        return r.value === "PONG";
      } catch {
        return false;
      }
    },
    logFile,
    30_000,
  );
  return {
    name: "redis",
    kind: "redis",
    entry,
    port,
    storage: dir,
    logFile,
    startupMs: Math.round(performance.now() - t0),
    procs: serverProcesses(entry.child.pid, port),
    mainRole: "redis-server",
    sampledRoles: ["redis-server"],
    command: `redis-server --bind ${HOST} --port ${port} --dir <tmp>/redis-data --save "" --appendonly yes --appendfsync always`,
    details: { version: redisVersion(bin) },
  };
}
