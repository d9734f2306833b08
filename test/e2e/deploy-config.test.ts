/// <reference types="node" />
/**
 * The deployment configuration (issue 18.4): a plain `wrangler deploy` publishes a closed service,
 * local servers use [env.dev], examples/edge-app binds the Worker of the same environment, and
 * scripts/workerd-config.mjs reads wrangler.toml with wrangler's own reader, environments included.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
// @ts-expect-error plain ESM script without types
import { LOCAL_ENV, readWranglerToml } from "../../scripts/workerd-config.mjs";
import { REPO_ROOT } from "./wrangler-dev";

type Toml = {
  name: string;
  env: string | null;
  vars: Record<string, string>;
  durableObjects: { name: string }[];
  sqliteClasses: Set<string>;
  compatibilityDate: string;
  compatibilityFlags: string[];
};
const read = readWranglerToml as (dir: string, env?: string | null) => Toml;
const wrangler = createRequire(import.meta.url)("wrangler") as {
  unstable_readConfig(
    args: { config: string; env?: string },
    options: { hideWarnings: boolean },
  ): { name: string; services?: { binding: string; service: string; entrypoint?: string }[] };
};
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("deployment configuration", () => {
  test("the top level (plain `wrangler deploy`) is closed: authentication on, explicit databases, a write limit", () => {
    const top = read(REPO_ROOT, null);
    expect(top.env).toBeNull();
    expect(top.vars).toMatchObject({ AUTH: "on", DATABASES: "explicit" });
    const raw = wrangler.unstable_readConfig({ config: join(REPO_ROOT, "wrangler.toml") }, { hideWarnings: true }) as unknown as {
      ratelimits: { name: string }[];
    };
    expect(raw.ratelimits.map((r) => r.name)).toEqual(["WRITE_LIMIT"]);
  });

  test("local servers read [env.dev]: no authentication, databases on first use, every binding", () => {
    expect(LOCAL_ENV).toBe("dev");
    const dev = read(REPO_ROOT);
    expect(dev.env).toBe("dev");
    expect(dev.vars).toMatchObject({ AUTH: "off", DATABASES: "implicit", SHARD_COUNT: "16" });
    expect(dev.durableObjects.map((d) => d.name).sort()).toEqual(["CATALOG", "COORDINATOR", "SHARD"]);
    expect([...dev.sqliteClasses].sort()).toEqual(["CatalogObject", "CoordinatorObject", "ShardObject"]);
    // The storage keys follow the top-level name, whatever the environment.
    expect(dev.name).toBe("edge-cmpxchg");
  });

  test.each([[undefined], ["dev"]])("examples/edge-app binds the edge-cmpxchg Worker of its environment (%s)", (env) => {
    const service = wrangler.unstable_readConfig(
      { config: join(REPO_ROOT, "wrangler.toml"), ...(env ? { env } : {}) },
      { hideWarnings: true },
    );
    const app = wrangler.unstable_readConfig(
      { config: join(REPO_ROOT, "examples/edge-app/wrangler.toml"), ...(env ? { env } : {}) },
      { hideWarnings: true },
    );
    expect(app.services).toEqual([{ binding: "CMPXCHG", service: service.name, entrypoint: "CmpxchgService" }]);
  });

  test("the reader is a real TOML reader with environments (what the regex reader got wrong)", () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-cmpxchg-toml-"));
    dirs.push(dir);
    writeFileSync(
      join(dir, "wrangler.toml"),
      `name = "w" # a comment
main = "src/index.ts"
compatibility_date = "2026-11-01"
compatibility_flags = [
  "nodejs_compat",
]
[vars]
GREETING = "a # not a comment"
MODE = 'literal'
[[durable_objects.bindings]]
name = "A"
class_name = "AObject"
[[migrations]]
tag = "v1"
new_sqlite_classes = [ "AObject" ]
[env.staging]
vars = { MODE = "staging" }
durable_objects.bindings = [{ name = "A", class_name = "AObject" }]
`,
    );
    const top = read(dir, null);
    expect(top.vars).toEqual({ GREETING: "a # not a comment", MODE: "literal" });
    expect(top.compatibilityFlags).toEqual(["nodejs_compat"]);
    expect([...top.sqliteClasses]).toEqual(["AObject"]);
    const staging = read(dir, "staging");
    expect(staging.env).toBe("staging");
    expect(staging.vars).toEqual({ MODE: "staging" });
    // A file without the environment asked for is read at its top level.
    expect(read(dir, "dev").env).toBeNull();
  });
});
