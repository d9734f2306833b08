/**
 * One phase of the benchmark: start its servers (each with fresh storage), pre-create the keys,
 * warm up, then run every cell interleaved — repeat → connections → rotated list of
 * (mode, workload) pairs — so that no system gets all the quiet or all the busy minutes; stop the
 * servers (also on error). A cell disturbed by a wrangler reload, or failing, is run once more.
 */
import fs from "node:fs";
import path from "node:path";
import { CONFIG, HOST, ROOT } from "./config.mjs";
import { isRunning, stopChild, tail } from "./processes.mjs";
import { readText, snapshot, startThreadSampler, usageBetween, waitQuiet } from "./procstats.mjs";
import { refreshDev, reloadCount } from "./servers/ours.mjs";
import { straceCell } from "./strace.mjs";
import { prefill, runCell, supports, warmUp, generatorFor } from "./workloads.mjs";

/**
 * plan = { phase, servers: [{ name, label, start: () => server }], modes: [{ mode, server: <name>,
 * workloads, port: (server) => port }], connections }. Appends to results.sessions / runs / notRun.
 */
export async function runPhase(plan, { tools, results, device, tmpRoot }) {
  const live = [];
  try {
    for (const s of plan.servers) {
      console.log(`\n== [${plan.phase}] starting ${s.label} ...`);
      let server;
      try {
        server = await s.start();
      } catch (err) {
        const msg = `${s.name} not run: it failed to start: ${String(err?.message ?? err)
          .split("\n")
          .slice(0, 12)
          .join("\n")}`;
        console.error(`bench: ${msg}`);
        results.notRun.push({ phase: plan.phase, system: s.name, reason: msg });
        continue;
      }
      const record = {
        phase: plan.phase,
        server: server.name,
        kind: server.kind,
        command: server.command,
        port: server.port,
        startupMs: server.startupMs,
        buildMs: server.buildMs ?? null,
        processes: server.procs.map((p) => p.role),
        mainRole: server.mainRole,
        runtimePort: server.runtimePort ?? null,
        ...server.details,
      };
      results.sessions.push(record);
      live.push({ server, record });
      console.log(`   ready on ${HOST}:${server.port} in ${server.startupMs} ms; processes: ${record.processes.join(", ")}`);
      const t0 = Date.now();
      record.prefill = await prefill(server, CONFIG.keys);
      console.log(`   pre-created ${CONFIG.keys} keys + 1 hot key in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const byName = new Map(live.map((x) => [x.server.name, x.server]));
    const cells = [];
    for (const m of plan.modes) {
      const server = byName.get(m.server);
      if (!server) continue;
      if (m.port(server) === null) {
        const msg = `${m.mode} not run: ${m.mode === "dev-noproxy" ? "the runtime workerd's entry port was not found" : "no port"}`;
        console.warn(`bench: ${msg}`);
        results.notRun.push({ phase: plan.phase, system: m.mode, reason: msg });
        continue;
      }
      const ws = m.workloads.filter((w) => supports(server.kind, w) && !(w === "trivial-node" && !tools.wrk));
      for (const w of ws) cells.push({ ...m, workload: w, server });
      await warmUp(server.kind, m.port(server), CONFIG.keys, tools);
    }
    const servers = live.map((x) => x.server);
    const total = CONFIG.repeats * plan.connections.length * cells.length;
    console.log(`\n== [${plan.phase}] ${total} cells of ${CONFIG.seconds} s, interleaved`);
    let done = 0;
    for (let rep = 0; rep < CONFIG.repeats; rep += 1) {
      for (const [ci, conns] of plan.connections.entries()) {
        const shift = cells.length ? (rep * 7 + ci * 3) % cells.length : 0;
        for (const cell of [...cells.slice(shift), ...cells.slice(0, shift)]) {
          const { server } = cell;
          for (let attempt = 1; attempt <= 2; attempt += 1) {
            const ctx = { port: cell.port(server), prefix: `c-${cell.mode}-${rep}-${conns}-${attempt}`, seq: 0, keys: CONFIG.keys };
            const quiet = await waitQuiet(servers);
            const reloadsBefore = reloadCount(server);
            const before = snapshot(server, device, servers);
            const stopSampler = startThreadSampler(server);
            let r;
            try {
              r = await runCell(server.kind, cell.workload, ctx, conns, CONFIG.seconds, tools);
            } catch (err) {
              r = {
                generator: generatorFor(server.kind, cell.workload, tools),
                requests: 0,
                rps: null,
                okWrites: 0,
                error: String(err?.message ?? err).slice(0, 500),
              };
            }
            const threads = stopSampler();
            const after = snapshot(server, device, servers);
            const reloaded = reloadCount(server) !== reloadsBefore || (await refreshDev(server));
            const run = {
              phase: plan.phase,
              mode: cell.mode,
              system: server.kind,
              mainRole: server.mainRole,
              workload: cell.workload,
              conns,
              rep,
              attempt,
              ...r,
              quiet,
              ...(reloaded ? { disturbed: "wrangler reloaded the local server during the cell" } : {}),
              usage: usageBetween(before, after, r.requests, r.okWrites),
              threads,
            };
            results.runs.push(run);
            logRun(run, ++done, total, attempt);
            for (const x of live) {
              if (!isRunning(x.server.entry)) throw new Error(`${x.server.entry.label} died during the run:\n${tail(x.server.logFile)}`);
            }
            if (!run.error && !run.disturbed) break;
            if (attempt === 2) console.warn("   (kept as failed/disturbed; excluded from the medians)");
            else done -= 1;
          }
        }
      }
    }
    if (CONFIG.strace && tools.strace) {
      console.log("");
      for (const { server, record } of live) {
        const main = server.procs.find((p) => p.role === server.mainRole);
        record.strace = [];
        for (const [workload, conns] of [
          ["trivial", 1],
          ["create", 1],
          ["create", 64],
          ["cas", 16],
          ["hot", 64],
        ]) {
          if (!main || !supports(server.kind, workload) || !cells.some((c) => c.server === server && c.workload === workload)) continue;
          await waitQuiet(servers);
          const ctx = { port: server.port, prefix: `s-${server.name}-${conns}`, seq: 0, keys: CONFIG.keys };
          const st = await straceCell({
            tools,
            tmpRoot,
            pid: main.pid,
            run: () => runCell(server.kind, workload, ctx, conns, CONFIG.straceSeconds, tools),
          });
          record.strace.push({ mode: server.name, workload, conns, ...st });
          console.log(
            `   strace ${server.name} ${workload} c=${conns}: ${st.error ?? `fsync/req ${st.perRequest.fsync ?? 0}, fdatasync/req ${st.perRequest.fdatasync ?? 0}, fsync+fdatasync per ok write ${st.fsyncPerOkWrite}`}`,
          );
        }
      }
    }
  } finally {
    for (const { server, record } of live) {
      await stopChild(server.entry);
      record.log = scanLog(server);
    }
  }
}

function logRun(run, n, total, attempt) {
  const lat = run.latencyMs ? `p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms` : "";
  const extra = run.cycles !== undefined ? ` ok/s ${run.okPerSec} conflicts ${run.conflictPct}% lost ${run.anomalies}` : "";
  const errs = run.non2xx || run.networkErrors ? ` ERRORS bad=${run.non2xx} net=${run.networkErrors}` : "";
  const noisy = run.usage.otherCorePct > CONFIG.quietMaxPct ? ` [other load ${run.usage.otherCorePct}% of a core]` : "";
  const bad = run.error ? ` FAILED: ${run.error.split("\n")[0]}` : run.disturbed ? ` DISTURBED: ${run.disturbed}` : "";
  console.log(
    `   [${String(n).padStart(3)}/${total}]${attempt > 1 ? "r" : " "} ${run.mode.padEnd(15)} ${run.workload.padEnd(12)} c=${String(run.conns).padEnd(3)} ` +
      `rep ${run.rep + 1}: ${String(run.rps).padStart(6)} rps ${lat}${extra}${errs} (${run.generator})${noisy}${bad}`,
  );
}

/** Copies the server log to bench/results/latest-<server>.log and lists lines that look like trouble. */
function scanLog(server) {
  const text = readText(server.logFile) ?? "";
  const outLog = path.join(path.dirname(CONFIG.out), `${path.basename(CONFIG.out, ".json")}-${server.name}.log`);
  try {
    fs.writeFileSync(outLog, text);
  } catch {
    /* results dir checked earlier */
  }
  const lines = text.split("\n");
  const requestLines = {};
  const notable = [];
  for (const l of lines) {
    // wrangler dev prints one "[wrangler:info] <METHOD> <path> <status> ..." line per request.
    const m = /\[wrangler:info\] [A-Z]+ \S+ (\d{3}) /.exec(l);
    if (m) {
      const cls = `${m[1][0]}xx`;
      requestLines[cls] = (requestLines[cls] ?? 0) + 1;
      if (m[1][0] === "5") notable.push(l);
    } else if (/error|✘|exception|uncaught|overload|"level":"(warn|error)"|# WARNING|reload|rebuil|updated/i.test(l)) {
      notable.push(l);
    }
  }
  const counts = {};
  for (const l of notable) {
    // eslint-disable-next-line no-control-regex
    const k = l
      // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes (ESC [ … m)
      .replace(/\x1b\[[0-9;]*m/g, "")
      .replace(/\d+/g, "N")
      .slice(0, 200);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return { file: path.relative(ROOT, outLog), lines: lines.length, requestLines, notableLines: notable.length, notable: counts };
}
