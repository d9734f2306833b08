#!/usr/bin/env node
/**
 * `npm run dev`: `wrangler dev` with local Durable Objects on 127.0.0.1, offline, without request
 * log lines by default.
 *
 * Why quiet: wrangler's dev proxy sends every request's log line to wrangler over a loopback HTTP
 * call, and that proxy is what limits `wrangler dev`'s throughput (BENCHMARKS.md, "`wrangler dev`
 * is capped by its own proxy"): at warn level it skips the call, measured +26 % creates and +33 %
 * trivial requests at 64 connections. The level also hides the Worker's console.log (its
 * console.warn/error still show). `DEV_LOG_LEVEL=info npm run dev` brings the lines back.
 *
 * Env: PORT (8787), DEV_LOG_LEVEL (warn), DEV_ENV (dev: wrangler.toml's [env.dev]). Extra arguments go to `wrangler dev` (e.g.
 * `npm run dev -- --persist-to /tmp/state`). SIGINT/SIGTERM are forwarded; the exit code is
 * wrangler's.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HOST = "127.0.0.1";
const port = Number(process.env.PORT || 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`dev: PORT must be a TCP port, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const level = process.env.DEV_LOG_LEVEL || "warn";
const quiet = !["info", "log", "debug"].includes(level);

// [env.dev] of wrangler.toml: no authentication, databases on first use (the top level is what
// `wrangler deploy` publishes, with both on). DEV_ENV="" runs the top level instead.
const devEnv = process.env.DEV_ENV ?? "dev";
const args = [
  "dev",
  "--env",
  devEnv,
  "--ip",
  HOST,
  "--port",
  String(port),
  "--show-interactive-dev-session=false",
  "--log-level",
  level,
  ...process.argv.slice(2),
];
const env = {
  // Offline and without telemetry (no account needed), and without the local trace store.
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  X_LOCAL_OBSERVABILITY: "false",
  ...process.env,
};
// The project's wrangler, on the Node that runs this script (npm's PATH puts the project's first).
const wrangler = path.join(path.dirname(fileURLToPath(import.meta.url)), "../node_modules/wrangler/bin/wrangler.js");
if (!existsSync(wrangler)) {
  console.error("dev: node_modules/wrangler is missing; run `npm install` first.");
  process.exit(1);
}
const child = spawn(process.execPath, [wrangler, ...args], { stdio: "inherit", env });

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopping = true;
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  });
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on("error", (err) => {
  console.error(`dev: could not start wrangler (${err.message}).`);
  process.exit(1);
});

// At warn level wrangler does not say when it is ready; say it once the service answers.
if (quiet) {
  const url = `http://${HOST}:${port}`;
  const started = Date.now();
  const poll = async () => {
    if (stopping) return;
    try {
      const res = await fetch(`${url}/cluster/node-info`);
      await res.body?.cancel();
      console.log(`dev: ready on ${url} (wrangler dev, local Durable Objects; request log off, DEV_LOG_LEVEL=info for it)`);
      return;
    } catch {
      if (Date.now() - started > 120_000) return; // wrangler reports its own failure
      setTimeout(poll, 250).unref();
    }
  };
  setTimeout(poll, 250).unref();
}
