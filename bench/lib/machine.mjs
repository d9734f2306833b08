/** Machine and software facts recorded with every run (and printed at the start). */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./config.mjs";
import { mountOf, readText } from "./procstats.mjs";
import { etcdVersion } from "./servers/etcd.mjs";
import { redisVersion } from "./servers/redis.mjs";

function firstLine(bin, args) {
  if (!bin) return null;
  const r = spawnSync(bin, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] || null;
}

const git = (args) => {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** `tools` = { workerd, wrk, etcd, redis } binary paths (null when missing). */
export function machineFacts(tools, tmpRoot) {
  const cpus = os.cpus();
  const mount = tmpRoot ? mountOf(tmpRoot) : null;
  const virt = spawnSync("systemd-detect-virt", [], { encoding: "utf8" });
  const dpkg = (pkg) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template
    const r = spawnSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  return {
    cpuModel: cpus[0]?.model ?? null,
    nproc: cpus.length,
    memTotalMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    os: /PRETTY_NAME="([^"]*)"/.exec(readText("/etc/os-release") ?? "")?.[1] ?? null,
    virtualization: virt.status === 0 ? virt.stdout.trim() : null,
    tmpFs: mount ? `${mount.type} (${mount.device} on ${mount.point})` : null,
    loadavgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    node: process.version,
    wrangler: JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
    workerd: tools.workerd ? firstLine(tools.workerd, ["--version"]) : null,
    workerdPath: tools.workerd ? path.relative(ROOT, tools.workerd) : null,
    etcd: tools.etcd ? `${etcdVersion(tools.etcd)} (Debian etcd-server ${dpkg("etcd-server") ?? "?"})` : null,
    redis: tools.redis ? `${redisVersion(tools.redis)} (Debian redis-server ${dpkg("redis-server") ?? "?"})` : null,
    wrk: tools.wrk ? `${firstLine(tools.wrk, ["-v"])} (Debian wrk ${dpkg("wrk") ?? "?"})` : null,
    gitCommit: git(["rev-parse", "HEAD"]),
    gitDirtyFiles: (git(["status", "--porcelain"]) ?? "").split("\n").filter(Boolean).length,
  };
}
