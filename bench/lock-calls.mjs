#!/usr/bin/env node
/**
 * Where a fair-lock acquisition's time goes: runs the fair-lock cell of bench:scenarios
 * (bench/lib/recipes.mjs) against a server that is already running, with `fetch` wrapped so that
 * every HTTP call is counted and timed by kind; prints calls per acquisition and their latency.
 *
 *   npm run serve &   # or any server of this Worker
 *   node bench/lock-calls.mjs http://127.0.0.1:8787 8 5 tags     # url, waiters, seconds, tags|plain
 */
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { fairLockHandoff, loadClient } from "./lib/recipes.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [url = "http://127.0.0.1:8787", waiters = "8", seconds = "5", mode = "tags"] = process.argv.slice(2);

const calls = new Map();
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  const sent = request.clone();
  const u = new URL(request.url);
  let kind = `${request.method} ${u.pathname.replace(/\/databases\/[^/]+/, "")}`;
  if (u.searchParams.get("startsWith")) kind += " (listing)";
  else if (u.searchParams.get("key")?.endsWith("/seq")) kind += " (seq)";
  const started = performance.now();
  const response = await realFetch(sent);
  const body = await response.arrayBuffer();
  const took = performance.now() - started;
  calls.set(kind, [...(calls.get(kind) ?? []), took]);
  return new Response(body, { status: response.status, headers: response.headers });
};

const client = await loadClient(ROOT);
const result = await fairLockHandoff(client, url, Number(waiters), Number(seconds), { tags: mode === "tags" });
const acquisitions = result.rps * Number(seconds);
console.log(
  `${mode}, ${waiters} waiters: ${result.rps.toFixed(0)} acquisitions/s, hand-off p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, errors ${result.errors}`,
);
for (const [kind, times] of calls) {
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
  console.log(`${kind.padEnd(36)} ${(times.length / acquisitions).toFixed(2)} per acquisition, p50 ${at(0.5)} ms, p90 ${at(0.9)} ms`);
}
