/// <reference types="node" />
/**
 * The API description as a user meets it, against its own `wrangler dev`: `/openapi.json` is a
 * valid OpenAPI 3.1 document (checked by @readme/openapi-parser, in Node: its validator compiles
 * schemas with `new Function`, which workerd forbids), and `/docs` renders the Scalar reference in
 * Debian's Chromium, driven by playwright-core, with every request outside the server refused —
 * the page must work offline.
 *
 * Without /usr/bin/chromium the browser test FAILS (never skips) and says how to install it.
 */
import { existsSync } from "node:fs";
import { validate } from "@readme/openapi-parser";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startWranglerDev, type WranglerDev } from "./wrangler-dev";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_MISSING = "Chromium is missing: run `apt-get install -y chromium` (Debian) — the /docs test drives it";
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WAIT_MS = 30_000;

let server: WranglerDev | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  const [started, launched] = await Promise.allSettled([
    startWranglerDev(),
    existsSync(CHROMIUM) ? chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS }) : Promise.resolve(undefined),
  ]);
  if (started.status === "fulfilled") server = started.value;
  if (launched.status === "fulfilled") browser = launched.value;
  if (started.status === "rejected") throw started.reason;
  if (launched.status === "rejected") throw launched.reason;
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
});

function url(): string {
  if (!server) throw new Error("wrangler dev did not start (see beforeAll)");
  return server.url;
}

describe("the API description", () => {
  test("/openapi.json is a valid OpenAPI 3.1 document", async () => {
    const res = await fetch(`${url()}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    // validate() dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(Object.keys(doc.paths).length).toBeGreaterThanOrEqual(25);
  });

  test("/docs renders the reference in Chromium, offline: operations listed, nothing fetched elsewhere", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_MISSING);
    if (!browser) throw new Error("Chromium did not start (see beforeAll)");
    const origin = url();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const outside: string[] = [];
      // Offline: anything not served by this Worker is refused (and recorded).
      await context.route("**/*", (route) => {
        const target = route.request().url();
        if (target.startsWith(`${origin}/`) || target.startsWith("data:") || target.startsWith("blob:")) return route.continue();
        outside.push(target);
        return route.abort("internetdisconnected");
      });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const problems: string[] = [];
      page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
      page.on("console", (msg) => {
        if (msg.type() === "error") problems.push(msg.text());
      });
      const served: string[] = [];
      page.on("response", (response) => served.push(`${response.status()} ${new URL(response.url()).pathname}`));
      await page.goto(`${origin}/docs`);
      // An operation's summary, from the generated document, rendered by Scalar's script.
      await page.getByText("Create (index 0) or update at an index").first().waitFor({ state: "visible" });
      await page.getByText("Get items by key, or list by key prefix").first().waitFor({ state: "visible" });
      expect(await page.title()).toBe("edge-cmpxchg API");
      // Scalar's hosted AI agent is off: the page offers nothing that would send the document away.
      expect(await page.getByText("Ask AI").count()).toBe(0);
      expect(served).toContain("200 /docs/scalar.js");
      expect(served).toContain("200 /openapi.json");
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
