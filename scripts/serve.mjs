#!/usr/bin/env node
/**
 * `npm run serve`: the production-like local server. Builds the Worker as `wrangler deploy` would
 * (`wrangler deploy --dry-run --outdir .wrangler/serve/dist`), writes a workerd config for it
 * (scripts/workerd-config.mjs: bindings, [vars], SQLite Durable Objects, storage on disk in
 * .wrangler/serve/storage, so data survives restarts) and runs the workerd binary bundled with
 * wrangler on 127.0.0.1:8787. No dev proxy, no inspector, no local observability, no file watcher.
 *
 * Env: PORT (8787), SERVE_DIR (.wrangler/serve: dist/, config.capnp and storage/ go there),
 * SERVE_STORAGE (<SERVE_DIR>/storage), SERVE_WORKERD (another workerd binary), SERVE_BUILD=0 (reuse
 * the existing build), SERVE_ENV (dev: wrangler.toml's [env.dev]; "" for the top level, as deployed).
 * SIGINT/SIGTERM are forwarded to workerd; the exit code is workerd's.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT, findWorkerd, prepareServer, workerdServeArgs } from "./workerd-config.mjs";

const HOST = "127.0.0.1";

function main() {
  const port = Number(process.env.PORT || 8787);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`PORT must be a TCP port, got ${JSON.stringify(process.env.PORT)}`);
  const dir = path.resolve(ROOT, process.env.SERVE_DIR || ".wrangler/serve");
  const storage = path.resolve(ROOT, process.env.SERVE_STORAGE || path.join(dir, "storage"));
  const workerd = findWorkerd(process.env.SERVE_WORKERD || null);
  if (!workerd) throw new Error("no workerd binary found under node_modules (it comes with wrangler): run `npm install` first.");

  console.log(`serve: building the Worker (wrangler deploy --dry-run --outdir ${path.relative(ROOT, path.join(dir, "dist")) || "."})`);
  const env = process.env.SERVE_ENV ?? "dev";
  const { config, toml } = prepareServer({
    appDir: ROOT,
    dir,
    port,
    storage,
    host: HOST,
    build: process.env.SERVE_BUILD !== "0",
    env: env || null,
  });
  console.log(
    `serve: wrangler.toml ${toml.env ? `[env.${toml.env}]` : "top level"}: AUTH=${toml.vars.AUTH ?? "(unset)"}, DATABASES=${toml.vars.DATABASES ?? "(unset)"}`,
  );
  for (const w of toml.warnings) console.warn(`serve: ${w}`);
  console.log(`serve: ${path.relative(ROOT, workerd)} ${workerdServeArgs(config).join(" ")}  (config ${config}, storage ${storage})`);

  const child = spawn(workerd, workerdServeArgs(config), { cwd: dir, stdio: ["ignore", "inherit", "inherit"] });
  let stopping = false;
  const forward = (signal) => {
    if (stopping) return;
    stopping = true;
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
    // workerd stops at once on SIGINT/SIGTERM; if it does not, do not leave it running.
    setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        /* gone */
      }
    }, 5000).unref();
  };
  process.on("SIGINT", () => forward("SIGINT"));
  process.on("SIGTERM", () => forward("SIGTERM"));
  process.on("SIGHUP", () => forward("SIGTERM"));
  process.on("exit", () => {
    if (child.exitCode === null && child.signalCode === null)
      try {
        child.kill("SIGKILL");
      } catch {
        /* gone */
      }
  });
  child.once("error", (err) => {
    console.error(`serve: could not start workerd: ${err.message}`);
    process.exit(1);
  });
  waitListening(port, child).then((ok) => {
    if (ok) console.log(`serve: ready on http://${HOST}:${port}`);
  });
  child.once("exit", (code, signal) => {
    if (!stopping) console.error(`serve: workerd exited (${signal ?? `code ${code}`})`);
    process.exit(code ?? (stopping ? 0 : 1));
  });
}

/** Polls the node-info route until the server answers (only to print "ready"). */
async function waitListening(port, child) {
  for (let i = 0; i < 300 && child.exitCode === null; i += 1) {
    try {
      const r = await fetch(`http://${HOST}:${port}/cluster/node-info`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.ok) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

try {
  main();
} catch (err) {
  console.error(`serve: ${err?.message ?? err}`);
  process.exit(1);
}
