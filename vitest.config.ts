import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Two projects, one command: `workers` runs inside workerd through the Cloudflare plugin (unit
 * tests of src/core and the Worker + objects); `e2e` runs in Node and drives `wrangler dev` with
 * the official RavenDB client.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Failpoints exist only in tests: the crash-point matrix arms them.
            miniflare: { bindings: { FAILPOINTS: "on" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**", "test/explicit/**"],
        },
      },
      {
        // The same Worker as deployed with DATABASES = "explicit".
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { DATABASES: "explicit" } },
          }),
        ],
        test: { name: "workers-explicit", include: ["test/explicit/**/*.test.ts"] },
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
