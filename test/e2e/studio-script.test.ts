/// <reference types="node" />
/**
 * The Studio's browser script is served as the source text of functions (src/studio/browser/
 * source.ts). These checks keep what that asks of the code true; the Studio's browser test
 * (studio.test.ts) runs the served result in Chromium.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, test } from "vitest";
import { STUDIO_SCRIPT } from "../../src/studio/script";
import { REPO_ROOT } from "./wrangler-dev";

const BROWSER = join(REPO_ROOT, "src/studio/browser");
/** Files that run in the Worker or are only type-checked, not served. */
const NOT_SERVED = new Set(["source.ts", "declared.ts"]);
const wrangler = createRequire(import.meta.url)("wrangler") as {
  unstable_readConfig(args: { config: string; env?: string }, options: { hideWarnings: boolean }): { keep_names?: boolean };
};

/** STUDIO_SCRIPT from src/studio/script.js bundled by esbuild as wrangler bundles the Worker. */
async function bundledScript(keepNames: boolean): Promise<string> {
  const out = await build({
    entryPoints: [join(REPO_ROOT, "src/studio/script.js")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    keepNames,
    logLevel: "silent",
  });
  const code = out.outputFiles[0]!.text;
  const loaded = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as { STUDIO_SCRIPT: string };
  return loaded.STUDIO_SCRIPT;
}

describe("the Studio's served script", () => {
  test("served modules import types only and hold nothing at module level but exported functions", () => {
    const files = readdirSync(BROWSER).filter((f) => f.endsWith(".ts") && !NOT_SERVED.has(f));
    expect(files).toContain("main.ts");
    const problems: string[] = [];
    for (const file of files) {
      const lines = readFileSync(join(BROWSER, file), "utf8").split("\n");
      lines.forEach((line, i) => {
        // Top-level code starts in column 0 (the files are formatted so); indented lines are inside
        // a function, an interface or a multi-line signature.
        if (/^(\s|$|\/\/|\/\*\*|\*|\}|\) \{|import type |export function |export type |export interface )/.test(line)) return;
        problems.push(`${file}:${i + 1}: ${line}`);
      });
    }
    // A value import or a module-level constant would be referenced by a function's text but not
    // served with it (and a bundler may rename or rewrite it).
    expect(problems).toEqual([]);
  });

  test("as the tests' Vite compiles it: one script, it parses, every module is in it", () => {
    expect(() => new Function(STUDIO_SCRIPT)).not.toThrow();
    for (const name of [
      "main",
      "createJson",
      "createDom",
      "createUi",
      "createAuth",
      "createState",
      "createApi",
      "createItems",
      "createEditor",
      "createTxns",
      "createDatabases",
    ]) {
      expect(STUDIO_SCRIPT).toMatch(new RegExp(`function ${name}\\d*\\(`));
    }
    expect(STUDIO_SCRIPT).not.toMatch(/<\/script|<!--/i);
  });

  test("as wrangler bundles it (esbuild, keep_names off as in wrangler.toml): it parses and names no bundle helper", async () => {
    const config = wrangler.unstable_readConfig({ config: join(REPO_ROOT, "wrangler.toml"), env: "dev" }, { hideWarnings: true });
    expect(config.keep_names).toBe(false);
    const script = await bundledScript(false);
    expect(() => new Function(script)).not.toThrow();
    expect(script).not.toMatch(/__name|__vite|__require|import\.meta/);
    // Why wrangler.toml's keep_names = false matters here: with it on, the functions' text calls
    // esbuild's __name(), which exists in the bundle but not on the page.
    expect(await bundledScript(true)).toMatch(/__name\(/);
  });
});
