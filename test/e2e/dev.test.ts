/// <reference types="node" />
/**
 * `npm run dev` (scripts/dev.mjs): the README's command for running the service locally —
 * `wrangler dev` with local Durable Objects, offline, at warn level (no line per request). Started
 * here on a free loopback port with its own persisted state; it must say when it is ready, serve a
 * create and a read, print no request log lines, and stop on SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, freePort, killGroupOf, listenerIsOurs, REPO_ROOT as ROOT } from "./wrangler-dev";

describe("npm run dev (scripts/dev.mjs)", () => {
  let child: ChildProcess;
  let dir: string;
  let url: string;
  let log = "";

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "node_modules/wrangler/bin/wrangler.js"))) {
      throw new Error("node_modules/wrangler is missing: run `npm install`");
    }
    dir = await mkdtemp(join(tmpdir(), "edge-cmpxchg-dev-test-"));
    // A free port can be taken by someone else before the server binds it: then start again on
    // another. Ready means: it said so, and the socket on the port is its own (listenerIsOurs).
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      log = "";
      const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
      delete env.DEV_LOG_LEVEL;
      child = spawn(process.execPath, [join(ROOT, "scripts/dev.mjs"), "--persist-to", dir], {
        cwd: ROOT,
        detached: true, // own process group: the fallback clean-up can kill wrangler and workerd together
        stdio: ["ignore", "pipe", "pipe"],
        env,
      });
      child.stdout?.on("data", (d) => (log += d));
      child.stderr?.on("data", (d) => (log += d));
      const deadline = Date.now() + 90_000;
      let taken = false;
      while (!(log.includes(`dev: ready on ${url}`) && listenerIsOurs(port, child.pid!))) {
        taken = /EADDRINUSE|address already in use/i.test(log);
        if (taken || exited(child)) break;
        if (Date.now() > deadline)
          throw new Error(`npm run dev did not say it was ready on ${url} (from its own socket) within 90 s:\n${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!taken && !exited(child)) break;
      killGroupOf(child);
      if (!taken || attempt >= 3) throw new Error(`npm run dev exited before it was ready (code ${child.exitCode}):\n${log}`);
    }
  }, 120_000);

  afterAll(async () => {
    killGroupOf(child);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves a create and a read without a log line per request, and stops on SIGTERM", async () => {
    const put = await fetch(`${url}/databases/devtest/cmpxchg?key=users/ada&index=0`, {
      method: "PUT",
      body: JSON.stringify({ Object: { email: "ada@example.com" } }),
    });
    expect(put.status, log).toBe(200);
    const created = (await put.json()) as { Successful: boolean; Index: number };
    expect(created.Successful).toBe(true);
    const got = await fetch(`${url}/databases/devtest/cmpxchg?key=users/ada`);
    expect(got.status).toBe(200);
    expect(((await got.json()) as { Results: { Index: number }[] }).Results[0]!.Index).toBe(created.Index);
    // Give wrangler time to print a request line, if it were going to.
    await new Promise((r) => setTimeout(r, 500));
    expect(log).not.toMatch(/(PUT|GET) \/databases\/devtest/);

    const done = new Promise<void>((res) => child.once("exit", () => res()));
    child.kill("SIGTERM");
    await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
    expect(exited(child), `dev did not exit within 15 s of SIGTERM:\n${log}`).toBe(true);
  });
});
