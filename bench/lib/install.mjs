/**
 * The comparison systems and tools come from Debian packages: etcd (`etcd-server`, 3.4.x),
 * Redis (`redis-server`, 7.0.x) and wrk. When one is missing and we run as root with apt-get, it is
 * installed (`apt-get install -y --no-install-recommends ...`) with service start-up blocked by a
 * temporary /usr/sbin/policy-rc.d (the packages' postinst scripts would otherwise start system
 * instances); any system instance found running afterwards is stopped through its init system.
 * Otherwise the run says "<system> not run: install it with apt-get install ..." and reports it as not run.
 * BENCH_INSTALL=0 never installs.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { readText } from "./procstats.mjs";
import { which } from "./processes.mjs";

/** What we need from Debian: binary name, package, system service name (if the package has one). */
export const PACKAGES = {
  etcd: { bin: "etcd", pkg: "etcd-server", service: "etcd" },
  redis: { bin: "redis-server", pkg: "redis-server", service: "redis-server", extraBins: ["redis-cli"] },
  wrk: { bin: "wrk", pkg: "wrk", service: null },
};

const SBIN = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
export const installHint = (names) => `apt-get install -y --no-install-recommends ${names.map((n) => PACKAGES[n].pkg).join(" ")}`;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, ...opts });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, status: r.status };
}

/** Processes whose executable is `bin` (absolute path), e.g. system instances of redis-server. */
function processesOf(bin) {
  const out = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/exe`) === bin)
        out.push({ pid: Number(name), cmd: (readText(`/proc/${name}/cmdline`) ?? "").split("\0").join(" ").trim() });
    } catch {
      /* gone or not ours to read */
    }
  }
  return out;
}

/** Stops a system service through systemd or its init script; reports what it did. */
function stopService(service) {
  if (fs.existsSync("/run/systemd/system") && which("systemctl", SBIN)) {
    const r = run("systemctl", ["stop", service]);
    run("systemctl", ["disable", service]);
    return `systemctl stop ${service}: ${r.ok ? "ok" : r.out.trim()}`;
  }
  if (fs.existsSync(`/etc/init.d/${service}`)) {
    const r = run(`/etc/init.d/${service}`, ["stop"]);
    return `/etc/init.d/${service} stop: ${r.ok ? "ok" : r.out.trim()}`;
  }
  return `no init system entry for ${service}`;
}

/**
 * Makes sure the binaries of `names` (keys of PACKAGES) exist, installing missing ones when allowed.
 * Returns { found: {name: absolute path}, missing: {name: message}, installed: [pkg], log: [lines] }.
 */
export function ensurePackages(names, { allowInstall = true } = {}) {
  const found = {};
  const log = [];
  const missingNames = [];
  for (const n of names) {
    const p = which(PACKAGES[n].bin, SBIN);
    if (p) found[n] = p;
    else missingNames.push(n);
  }
  const installed = [];
  if (missingNames.length) {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const aptGet = which("apt-get", SBIN);
    if (allowInstall && isRoot && aptGet) {
      const pkgs = missingNames.map((n) => PACKAGES[n].pkg);
      console.log(`bench: installing ${pkgs.join(", ")}: apt-get install -y --no-install-recommends ${pkgs.join(" ")}`);
      // Block service start-up during the install (Debian's policy-rc.d protocol: exit 101 = not allowed).
      const policy = "/usr/sbin/policy-rc.d";
      let ownPolicy = false;
      if (!fs.existsSync(policy)) {
        fs.writeFileSync(
          policy,
          "#!/bin/sh\n# written by edge-cmpxchg bench/lib/install.mjs for the duration of one apt-get install\nexit 101\n",
          { mode: 0o755 },
        );
        ownPolicy = true;
      }
      try {
        let r = run(aptGet, ["install", "-y", "--no-install-recommends", ...pkgs]);
        if (!r.ok) {
          log.push(`apt-get install failed (${r.status}); running apt-get update and retrying`);
          run(aptGet, ["update"]);
          r = run(aptGet, ["install", "-y", "--no-install-recommends", ...pkgs]);
        }
        log.push(...r.out.split("\n").filter((l) => /^(Setting up|E:|Unpacking)/.test(l)));
        if (r.ok) installed.push(...pkgs);
        else console.warn(`bench: apt-get install ${pkgs.join(" ")} failed:\n${r.out.split("\n").slice(-10).join("\n")}`);
      } finally {
        if (ownPolicy) fs.rmSync(policy, { force: true });
      }
      // Stray system instances (started by a postinst despite the policy, or by systemd): stop them.
      for (const n of missingNames) {
        const p = which(PACKAGES[n].bin, SBIN);
        if (!p) continue;
        found[n] = p;
        const strays = processesOf(fs.realpathSync(p));
        if (strays.length && PACKAGES[n].service) {
          const msg = `${n}: a system instance was started by the package (${strays.map((s) => s.pid).join(", ")}): ${stopService(PACKAGES[n].service)}`;
          console.warn(`bench: ${msg}`);
          log.push(msg);
        }
      }
    }
  }
  const missing = {};
  for (const n of names) {
    if (!found[n]) missing[n] = `${n} not run: install it with ${installHint([n])}`;
  }
  return { found, missing, installed, log };
}

/** The system instances of etcd/redis running now (not started by us): listed in the report. */
export function strayInstances(bins) {
  return bins.flatMap((b) => (b ? processesOf(fs.realpathSync(b)).map((p) => ({ bin: path.basename(b), ...p })) : []));
}
