/**
 * wrk (Debian package `wrk`, 4.1) with the Lua scripts in bench/wrk/: one thread by default
 * (BENCH_WRK_THREADS), `-c conns`, keep-alive, closed loop per connection. The scripts print one
 * "BENCHJSON {...}" summary line (bench/wrk/common.lua), parsed here.
 */
import path from "node:path";
import { BENCH_DIR, CONFIG, HOST } from "../config.mjs";
import { killGroup, spawnTracked, untrack } from "../processes.mjs";
import { r2 } from "./closed-loop.mjs";

/**
 * Runs wrk against 127.0.0.1:port. `script` = file in bench/wrk, `urlPath` = wrk's URL path,
 * `args` = the script's arguments, `okIsCounted` = the script counts successes itself (create).
 */
export function runWrk({ wrk, port, conns, seconds, workload, script, urlPath, args, okIsCounted }) {
  const secs = Math.max(1, Math.round(seconds));
  const argv = [
    "-t",
    String(Math.min(CONFIG.wrkThreads, conns)),
    "-c",
    String(conns),
    "-d",
    `${secs}s`,
    "--timeout",
    "10s",
    "-s",
    path.join(BENCH_DIR, "wrk", script),
    `http://${HOST}:${port}${urlPath}`,
    "--",
    ...args.map(String),
  ];
  return new Promise((resolve, reject) => {
    const entry = spawnTracked("wrk", wrk, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    entry.child.stdout.on("data", (c) => (out += c));
    entry.child.stderr.on("data", (c) => (out += c));
    const killer = setTimeout(() => killGroup(entry.child, "SIGKILL"), (secs + 30) * 1000);
    entry.child.once("exit", (code) => {
      clearTimeout(killer);
      untrack(entry);
      const line = out.split("\n").find((l) => l.startsWith("BENCHJSON "));
      if (!line) return reject(new Error(`wrk exited ${code} without a summary:\n${out}`));
      const s = JSON.parse(line.slice("BENCHJSON ".length));
      const elapsed = s.duration_us / 1e6;
      const ms = (x) => r2(x / 1000);
      // errors.status = answers with status > 399 (wrk); `other` = non-200 answers the script saw
      // (a superset of them), `miss` = 200 answers without the item (etcd range of a missing key).
      const bad = Math.max(s.errors.status, s.other);
      const ok = okIsCounted ? s.ok : s.requests - bad - s.miss;
      resolve({
        generator: "wrk",
        seconds: r2(elapsed),
        requests: s.requests,
        rps: Math.round(s.requests / elapsed),
        latencyMs: {
          p50: ms(s.latency_us.p50),
          p90: ms(s.latency_us.p90),
          p99: ms(s.latency_us.p99),
          max: ms(s.latency_us.max),
          mean: ms(s.latency_us.mean),
        },
        non2xx: bad + s.miss,
        networkErrors: s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
        network: { connect: s.errors.connect, read: s.errors.read, write: s.errors.write, timeout: s.errors.timeout },
        ok,
        okPerSec: Math.round(ok / elapsed),
        okWrites: workload === "create" ? s.ok : 0,
        notOk: s.notok,
        miss: s.miss,
        other: s.other,
        errorSamples: s.sample ? [{ status: Number(s.sample.split(" ")[0]), body: s.sample.slice(4) }] : [],
      });
    });
  });
}
