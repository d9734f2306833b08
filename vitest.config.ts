import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects, one command: `workers` runs inside workerd through the Cloudflare plugin (unit
 * tests of src/core and the Worker + objects); `e2e` runs in Node and drives `wrangler dev` with
 * the official RavenDB client.
 */
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

/** Grants of the deployed-configuration tests (test/deployed): each token is the string hashed here. */
const TEST_TOKENS = JSON.stringify([
  { sha256: sha256("token-read-orders"), database: "orders", role: "read" },
  { sha256: sha256("token-write-orders"), database: "Orders", role: "write" },
  { sha256: sha256("token-write-other"), database: "other", role: "write" },
  { sha256: sha256("token-admin"), database: "*", role: "admin" },
  { sha256: sha256("token-read-star"), database: "*", role: "read" },
  { sha256: sha256("token-write-star"), database: "*", role: "write" },
  { sha256: sha256("token-write-limited"), database: "limited", role: "write" },
]);
const TEST_CERTIFICATES = JSON.stringify([{ sha1: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", database: "orders", role: "write" }]);

const here = dirname(fileURLToPath(import.meta.url));
/** The client package's names resolve to its sources in the Worker tests (as in tsconfig.json). */
const alias = {
  "edge-cmpxchg-client/hono": resolve(here, "src/client/hono.ts"),
  "edge-cmpxchg-client": resolve(here, "src/client/index.ts"),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml", environment: "dev" },
            // Failpoints exist only in tests: the crash-point matrix arms them.
            miniflare: { bindings: { FAILPOINTS: "on" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**", "test/explicit/**", "test/deployed/**", "test/retention/**"],
        },
      },
      {
        // The same Worker as deployed with DATABASES = "explicit".
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml", environment: "dev" },
            miniflare: { bindings: { DATABASES: "explicit" } },
          }),
        ],
        test: { name: "workers-explicit", include: ["test/explicit/**/*.test.ts"] },
      },
      {
        // A small watch history (WATCH_HISTORY_RETENTION), so that the alarm's pruning shows.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml", environment: "dev" },
            miniflare: { bindings: { WATCH_HISTORY_RETENTION: "5,1h" } },
          }),
        ],
        test: { name: "workers-retention", include: ["test/retention/**/*.test.ts"] },
      },
      {
        // As deployed: authentication on, a write rate limit per database.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml", environment: "dev" },
            miniflare: {
              bindings: {
                AUTH: "on",
                AUTH_TOKENS: TEST_TOKENS,
                AUTH_CERTIFICATES: TEST_CERTIFICATES,
                PUBLIC_URL: "https://cmpxchg.example.com",
              },
              ratelimits: { WRITE_LIMIT: { namespace_id: "1001", simple: { limit: 10, period: 60 } } },
            },
          }),
        ],
        // Their files call the Worker without importing test/helpers.ts, which loads it first.
        test: { name: "workers-deployed", include: ["test/deployed/**/*.test.ts"], setupFiles: ["./test/load-worker.ts"] },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
