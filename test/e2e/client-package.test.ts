/// <reference types="node" />
/**
 * The published client as a stranger gets it (issue 18.1, 18.2): `npm pack` in packages/client,
 * the tarball installed into an empty project outside the repository, then
 *   - a consumer script talks to a running service (`wrangler dev`) from the installed package,
 *     on this Node and on the machine's own `node` when that is another version (Node 20 here);
 *   - a strict TypeScript consumer type-checks against the installed .d.ts with moduleResolution
 *     NodeNext and Bundler, without skipLibCheck;
 *   - the `edge-cmpxchg` CLI of the tarball runs every command against the service.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { printServerLogsOnFailure, REPO_ROOT, startWranglerDev, type WranglerDev } from "./wrangler-dev";

let server: WranglerDev | undefined;
let project = "";
const tmp = mkdtempSync(join(tmpdir(), "edge-cmpxchg-client-pkg-"));
const TSC = join(REPO_ROOT, "node_modules/typescript/bin/tsc");

beforeAll(async () => {
  const started = startWranglerDev();
  const packDir = join(tmp, "pack");
  mkdirSync(packDir);
  // prepack builds dist/ from the sources first.
  execFileSync("npm", ["pack", "--pack-destination", packDir], { cwd: join(REPO_ROOT, "packages/client"), stdio: "pipe" });
  const tarball = readdirSync(packDir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${packDir}`);
  project = join(tmp, "consumer");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // No registry needed: the package has no runtime dependencies (hono is an optional peer).
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", join(packDir, tarball)], { cwd: project, stdio: "pipe" });
  server = await started;
}, 240_000);

printServerLogsOnFailure(() => server);

afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const CONSUMER = `
import { CmpxchgClient, ClusterTransactionConcurrencyException, CompareExchangeKeyTooBigException, JsonNumber, encodeJson } from "edge-cmpxchg-client";
const [url, database] = process.argv.slice(2);
const client = new CmpxchgClient({ url, database, exactNumbers: true });
const out = {};
const created = await client.create("users/ada", { name: "Ada", n: 12345678901234567890123n });
out.created = created.successful;
out.again = (await client.create("users/ada", { name: "Eve" })).successful;
const item = await client.get("users/ada");
out.exact = item.value.n instanceof JsonNumber ? item.value.n.text : String(item.value.n);
out.updated = (await client.put("users/ada", { ...item.value, name: "Ada L." }, item.index)).successful;
out.stale = (await client.put("users/ada", { name: "x" }, item.index)).successful;
const tx = await client.transaction().create("emails/ada", "users/ada").create("emails/eve", "users/eve").commit();
out.txIndex = tx.index > 0;
try {
  await client.transaction().create("emails/ada", "users/other").commit();
  out.conflict = "none";
} catch (err) {
  out.conflict = err instanceof ClusterTransactionConcurrencyException ? "ClusterTransactionConcurrencyException" : String(err);
}
out.listed = (await client.list("emails/")).items.map((i) => i.key);
try {
  await client.create("k".repeat(600), 1);
} catch (err) {
  out.tooBig = err instanceof CompareExchangeKeyTooBigException;
}
out.stored = encodeJson((await client.get("users/ada")).value);
console.log(JSON.stringify(out));
`;

/** Node binaries to run the consumer with: this one, and the machine's own node if it differs. */
function nodes(): { path: string; version: string }[] {
  const found = [{ path: process.execPath, version: process.version }];
  const system = spawnSync(
    "/usr/bin/env",
    ["-i", "PATH=/usr/local/bin:/usr/bin:/bin", "node", "-p", "process.execPath + ' ' + process.version"],
    { encoding: "utf8" },
  );
  if (system.status === 0) {
    const [path, version] = system.stdout.trim().split(" ");
    if (path && version && version !== process.version) found.push({ path, version });
  }
  return found;
}

describe("edge-cmpxchg-client from its npm pack tarball", () => {
  test("a Node consumer of the installed package talks to the running service", () => {
    const used = nodes();
    console.log(`client package: consumer run on ${used.map((n) => n.version).join(" and ")}`);
    writeFileSync(join(project, "consumer.mjs"), CONSUMER);
    for (const [i, node] of used.entries()) {
      expect(Number(node.version.slice(1).split(".")[0])).toBeGreaterThanOrEqual(20);
      const text = execFileSync(node.path, ["consumer.mjs", server!.url, `pkg_${Date.now()}_${i}`], { cwd: project, encoding: "utf8" });
      expect(JSON.parse(text)).toEqual({
        created: true,
        again: false,
        exact: "12345678901234567890123",
        updated: true,
        stale: false,
        txIndex: true,
        conflict: "ClusterTransactionConcurrencyException",
        listed: ["emails/ada", "emails/eve"],
        tooBig: true,
        stored: '{"name":"Ada L.","n":12345678901234567890123}',
      });
    }
  });

  test.each([
    ["NodeNext", { module: "nodenext", moduleResolution: "nodenext" }],
    ["Bundler", { module: "esnext", moduleResolution: "bundler" }],
  ])("a strict TypeScript consumer type-checks with moduleResolution %s, without skipLibCheck", (name, resolution) => {
    writeFileSync(
      join(project, "consumer.ts"),
      `import { CmpxchgClient, CmpxchgServiceClient, acquireLock, type CompareExchangeValue, type CmpxchgBinding } from "edge-cmpxchg-client";
export async function main(url: string, binding: CmpxchgBinding): Promise<string | null> {
  const client = new CmpxchgClient({ url, database: "shop", token: "t" });
  const item: CompareExchangeValue<{ id: string }> | null = await client.get<{ id: string }>("k");
  const lock = await acquireLock(new CmpxchgServiceClient(binding, "shop"), "locks/a", { ttlMs: 1000, waitMs: 0 });
  await lock.release();
  return item?.value.id ?? null;
}
`,
    );
    const config = {
      compilerOptions: {
        ...resolution,
        target: "es2022",
        lib: ["es2022", "dom"],
        types: [],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ["consumer.ts"],
    };
    writeFileSync(join(project, `tsconfig.${name}.json`), JSON.stringify(config));
    const check = spawnSync(process.execPath, [TSC, "-p", `tsconfig.${name}.json`], { cwd: project, encoding: "utf8" });
    expect(`${check.stdout}${check.stderr}`).toBe("");
    expect(check.status).toBe(0);
  });

  test("the edge-cmpxchg CLI of the tarball: every command, JSON output, exit codes", () => {
    const database = `cli_${Date.now()}`;
    const cli = (args: string[], input?: string) => {
      const r = spawnSync(join(project, "node_modules/.bin/edge-cmpxchg"), args, {
        cwd: project,
        encoding: "utf8",
        input,
        env: { ...process.env, EDGE_CMPXCHG_URL: server!.url, EDGE_CMPXCHG_DATABASE: database },
      });
      return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    expect(cli(["--help"]).out).toContain("edge-cmpxchg <command>");
    for (const command of ["get", "put", "delete", "list", "watch", "txn", "databases", "token"]) {
      const help = cli([command, "--help"]);
      expect([command, help.code]).toEqual([command, 0]);
      expect(help.out).toContain(`edge-cmpxchg ${command}`);
    }
    expect(cli(["frobnicate"]).code).toBe(2);

    const put = cli(["put", "jobs/1", '{"n": 12345678901234567890123}']);
    expect(put.code).toBe(0);
    const index = Number(put.out);
    expect(index).toBeGreaterThan(0);
    expect(cli(["put", "jobs/1", '"again"']).code).toBe(3); // create of an existing key: conflict
    expect(cli(["get", "jobs/1"]).out).toBe('{"n":12345678901234567890123}');
    expect(JSON.parse(cli(["get", "jobs/1", "--json"]).out)).toMatchObject({ key: "jobs/1", index });
    expect(cli(["get", "jobs/missing"]).code).toBe(4);
    const updated = cli(["put", "jobs/1", "--index", String(index), "--file", "-"], '{"n": 2}');
    expect(updated.code).toBe(0);
    expect(cli(["delete", "jobs/1", "--index", String(index)]).code).toBe(3);
    expect(cli(["list", "jobs/"]).out.split("\t")[0]).toBe("jobs/1");

    writeFileSync(
      join(project, "txn.json"),
      JSON.stringify([
        { type: "CompareExchangePUT", key: "emails/a", value: "users/a", index: 0 },
        { type: "PUT", id: "users/a", document: { email: "a" }, collection: "Users" },
      ]),
    );
    const committed = cli(["txn", "txn.json", "--json"]);
    expect(committed.code).toBe(0);
    expect(JSON.parse(committed.out)).toMatchObject({ committed: true });
    const refused = cli(["txn", "txn.json"]);
    expect(refused.code).toBe(3);
    // Our CompareExchangeCHECK in a transaction file: a condition that writes nothing.
    const { index: txnIndex } = JSON.parse(committed.out) as { index: number };
    const checkFile = (index: number, key: string) =>
      writeFileSync(
        join(project, "check.json"),
        JSON.stringify([
          { type: "CompareExchangeCHECK", key: "emails/a", index },
          { type: "CompareExchangePUT", key, value: "claimed", index: 0 },
        ]),
      );
    checkFile(txnIndex, "claims/1");
    const checked = cli(["txn", "check.json", "--json"]);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.out).results[0]).toEqual({ type: "CompareExchangeCHECK", key: "emails/a", index: txnIndex });
    checkFile(0, "claims/2");
    expect(cli(["txn", "check.json"]).code).toBe(3);
    expect(cli(["get", "claims/2"]).code).toBe(4);

    expect(cli(["delete", "jobs/1", "--index", updated.out]).code).toBe(0);
    expect(cli(["databases", "list", "--json"]).code).toBe(0);

    const token = cli(["token", "create", "--database", "shop", "--role", "write", "--json"]);
    expect(token.code).toBe(0);
    const { token: secret, entry } = JSON.parse(token.out) as { token: string; entry: { sha256: string; database: string; role: string } };
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect(entry).toMatchObject({ database: "shop", role: "write" });
    expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(cli(["token", "create", "--database", "shop", "--role", "root"]).code).toBe(2);
  });

  test.each([
    ["a browser bundle", { platform: "browser" as const }],
    ["a Worker bundle", { platform: "neutral" as const, conditions: ["workerd", "worker", "browser"] }],
  ])("the installed package goes into %s with no Node built-ins", async (_what, target) => {
    const { build } = await import("esbuild");
    writeFileSync(
      join(project, "bundle-entry.mjs"),
      `import { CmpxchgClient, CmpxchgServiceClient, acquireLock } from "edge-cmpxchg-client";\nexport { CmpxchgClient, CmpxchgServiceClient, acquireLock };\n`,
    );
    const result = await build({
      entryPoints: [join(project, "bundle-entry.mjs")],
      bundle: true,
      format: "esm",
      write: false,
      logLevel: "silent",
      absWorkingDir: project,
      ...target,
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).toMatch(/CmpxchgClient = class|class CmpxchgClient/);
    expect(code).not.toMatch(/from\s+"node:|require\("node:/);
  });

  test("edge-cmpxchg watch prints changes as they happen", async () => {
    const database = `watch_${Date.now()}`;
    const env = { ...process.env, EDGE_CMPXCHG_URL: server!.url, EDGE_CMPXCHG_DATABASE: database };
    const watcher = spawn(join(project, "node_modules/.bin/edge-cmpxchg"), ["watch", "--prefix", "orders/", "--json"], {
      cwd: project,
      env,
    });
    let out = "";
    watcher.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    try {
      // Writes until the watcher (connecting meanwhile) has printed one; each key is new.
      for (let i = 0; i < 100 && !out.includes("\n"); i++) {
        spawnSync(join(project, "node_modules/.bin/edge-cmpxchg"), ["put", `orders/${i}`, `{"i":${i}}`], { cwd: project, env });
        await new Promise((r) => setTimeout(r, 100));
      }
      const first = JSON.parse(out.split("\n")[0]!) as { type: string; key: string; value: { i: number } };
      expect(first.type).toBe("Put");
      expect(first.key).toMatch(/^orders\/\d+$/);
      expect(first.value.i).toBe(Number(first.key.split("/")[1]));
    } finally {
      watcher.kill("SIGTERM");
    }
  });
});
