/// <reference types="node" />
/**
 * `npm run serve` (scripts/serve.mjs): the production-like local server — the Worker built by
 * `wrangler deploy --dry-run` on the workerd bundled with wrangler. Started here on a free loopback
 * port with its own build/storage dir, one create-if-absent PUT and one GET, then stopped with
 * SIGTERM (which serve.mjs forwards to workerd). Anything missing fails the test with the reason.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, freePort, killGroupOf, listenerIsOurs, REPO_ROOT as ROOT } from "./wrangler-dev";

describe("npm run serve (scripts/serve.mjs)", () => {
  let child: ChildProcess;
  let dir: string;
  let url: string;
  let log = "";

  beforeAll(async () => {
    if (!existsSync(join(ROOT, "node_modules/wrangler/bin/wrangler.js"))) {
      throw new Error("node_modules/wrangler is missing: run `npm install` (serve builds the Worker with wrangler)");
    }
    dir = await mkdtemp(join(tmpdir(), "edge-cmpxchg-serve-test-"));
    // A free port can be taken by someone else before workerd binds it: then start again on
    // another. Ready means: node-info answers, from a socket of serve's own process group.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      log = "";
      child = spawn(process.execPath, [join(ROOT, "scripts/serve.mjs")], {
        cwd: ROOT,
        detached: true, // own process group: the fallback clean-up can kill serve and workerd together
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, PORT: String(port), SERVE_DIR: dir, ...(attempt > 1 ? { SERVE_BUILD: "0" } : {}) },
      });
      child.stdout?.on("data", (d) => (log += d));
      child.stderr?.on("data", (d) => (log += d));
      const deadline = Date.now() + 60_000;
      let ready = false;
      while (!ready) {
        if (exited(child) || /EADDRINUSE|address already in use/i.test(log)) break;
        if (Date.now() > deadline) throw new Error(`npm run serve not ready on ${url} after 60 s:\n${log}`);
        try {
          const r = await fetch(`${url}/cluster/node-info`, { signal: AbortSignal.timeout(1000) });
          await r.arrayBuffer();
          ready = r.ok && listenerIsOurs(port, child.pid!);
        } catch {
          /* not listening yet */
        }
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      if (ready) break;
      const taken = /EADDRINUSE|address already in use/i.test(log);
      killGroupOf(child);
      if (!taken || attempt >= 3) throw new Error(`npm run serve exited before it was ready (code ${child.exitCode}):\n${log}`);
    }
  }, 90_000);

  afterAll(async () => {
    killGroupOf(child);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("creates an item once, reads it back, and stops on SIGTERM", async () => {
    const put = (index: number) =>
      fetch(`${url}/databases/servetest/cmpxchg?key=users/ada&index=${index}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ Object: { email: "ada@example.com" } }),
      });
    const first = await put(0);
    expect(first.status, log).toBe(200);
    const created = (await first.json()) as { Successful: boolean; Index: number };
    expect(created.Successful).toBe(true);
    expect(created.Index).toBeGreaterThan(0);

    const again = (await (await put(0)).json()) as { Successful: boolean; Index: number };
    expect(again.Successful).toBe(false);
    expect(again.Index).toBe(created.Index);

    const got = await fetch(`${url}/databases/servetest/cmpxchg?key=users/ada`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({
      Results: [{ Key: "users/ada", Value: { Object: { email: "ada@example.com" } }, Index: created.Index }],
    });
    expect(existsSync(join(dir, "storage")), "storage under SERVE_DIR").toBe(true);
    // The build's second module (the API reference's script, a Text module) is in the workerd config.
    const script = await fetch(`${url}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(1_000_000);

    // The built Worker carries the QuickJS WebAssembly module that queries' JavaScript runs in.
    const doc = await fetch(`${url}/databases/servetest/docs?id=people/ada`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada", "@metadata": { "@collection": "People" } }),
    });
    expect(doc.status, log).toBe(201);
    const js = await fetch(`${url}/databases/servetest/queries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ Query: "from People as p select { Name: p.name, Email: cmpxchg('users/ada').email }" }),
    });
    expect(js.status, log).toBe(200);
    expect(((await js.json()) as { Results: unknown[] }).Results).toEqual([
      expect.objectContaining({ Name: "Ada", Email: "ada@example.com" }),
    ]);

    const done = new Promise<void>((res) => child.once("exit", () => res()));
    child.kill("SIGTERM");
    await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
    expect(exited(child), `serve did not exit within 10 s of SIGTERM:\n${log}`).toBe(true);
    await expect(fetch(`${url}/cluster/node-info`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
