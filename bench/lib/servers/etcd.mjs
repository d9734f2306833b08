/**
 * etcd from Debian (`etcd-server`, 3.4.x): one member, default settings (fsync'd WAL, no
 * --unsafe-no-fsync), a fresh --data-dir, client and peer URLs on free 127.0.0.1 ports. Clients use
 * its HTTP JSON gateway (/v3/kv/...), which the same etcd process serves on the client port.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { HOST } from "../config.mjs";
import { rawRequest } from "../generators/node-http.mjs";
import { freePort, spawnTracked, waitUntil } from "../processes.mjs";
import { serverProcesses } from "../procstats.mjs";

export function etcdVersion(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return /etcd Version:\s*(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? null;
}

export async function startEtcd({ bin, tmpRoot }) {
  const port = await freePort();
  let peer = await freePort();
  while (peer === port) peer = await freePort();
  const dataDir = path.join(tmpRoot, "etcd-data");
  const logFile = path.join(tmpRoot, "etcd.log");
  const client = `http://${HOST}:${port}`;
  const peerUrl = `http://${HOST}:${peer}`;
  const args = [
    "--name",
    "bench",
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    client,
    "--advertise-client-urls",
    client,
    "--listen-peer-urls",
    peerUrl,
    "--initial-advertise-peer-urls",
    peerUrl,
    "--initial-cluster",
    `bench=${peerUrl}`,
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    `bench-${process.pid}`,
    "--logger",
    "zap",
    "--log-outputs",
    "stderr",
  ];
  const fd = fs.openSync(logFile, "a");
  // ETCD_UNSUPPORTED_ARCH is only needed on non-amd64; an inherited ETCD_* variable must not change settings.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")));
  const entry = spawnTracked("etcd", bin, args, { cwd: tmpRoot, env, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  const t0 = performance.now();
  await waitUntil(
    entry,
    async () => {
      const r = await rawRequest(undefined, port, "GET", "/health", null, { timeoutMs: 2000 });
      return r.status === 200 && r.body.includes('"true"');
    },
    logFile,
    60_000,
  );
  return {
    name: "etcd",
    kind: "etcd",
    entry,
    port,
    storage: dataDir,
    logFile,
    startupMs: Math.round(performance.now() - t0),
    procs: serverProcesses(entry.child.pid, port),
    mainRole: "etcd",
    sampledRoles: ["etcd"],
    command: `etcd ${args.join(" ").replace(dataDir, "<tmp>/etcd-data")}`,
    details: { version: etcdVersion(bin), peerPort: peer },
  };
}
