/**
 * Opt-in (BENCH_STRACE=1; needs `apt-get install strace`): counts a server process's storage
 * syscalls per request under `strace -f -c -w`, in separate untimed runs after the timed cells
 * (strace slows the process, so only the counts and the fsync durations mean anything).
 */
import path from "node:path";
import { sleep, spawnTracked, stopChild } from "./processes.mjs";
import { readText } from "./procstats.mjs";

export async function straceCell({ tools, tmpRoot, pid, run }) {
  const out = path.join(tmpRoot, `strace-${pid}-${Date.now()}.txt`);
  const traced = "fsync,fdatasync,pwrite64,pread64,write,writev,futex,epoll_wait,epoll_pwait,recvfrom,sendto,sendmsg,recvmsg,read";
  const entry = spawnTracked("strace", tools.strace, ["-f", "-c", "-w", "-e", `trace=${traced}`, "-o", out, "-p", String(pid)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  entry.child.stderr.on("data", (c) => (err += c));
  await sleep(700); // attach
  const r = await run();
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
  if (!Object.keys(calls).length) return { error: `no strace summary: ${err.slice(0, 300)}` };
  const per = (name, n) => (calls[name] && n ? +(calls[name].calls / n).toFixed(2) : 0);
  return {
    generator: r.generator,
    requests: r.requests,
    rpsUnderStrace: r.rps,
    okWrites: r.okWrites,
    perRequest: Object.fromEntries(Object.keys(calls).map((k) => [k, per(k, r.requests)])),
    fsyncPerOkWrite: r.okWrites ? +(((calls.fsync?.calls ?? 0) + (calls.fdatasync?.calls ?? 0)) / r.okWrites).toFixed(2) : null,
    usecsPerCall: Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v.usecsPerCall])),
  };
}
