/**
 * What gets benchmarked: a snapshot of the service copied into the run's temp dir, so that edits to
 * src/ during the run neither hot-reload wrangler dev nor change the build. BENCH_SOURCE=head takes
 * the last commit (`git archive HEAD`) instead of the working tree; BENCH_SNAPSHOT=0 uses the repo itself.
 */
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CONFIG, ROOT, fail } from "./config.mjs";

const FILES = ["src", "wrangler.toml", "package.json", "tsconfig.json", "worker-configuration.d.ts"];

export function hashTree(dir) {
  const h = crypto.createHash("sha256");
  const walk = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update("\0").update(fs.readFileSync(p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return h.digest("hex").slice(0, 16);
}

export function makeAppDir(tmpRoot) {
  if (CONFIG.source !== "head" && !CONFIG.snapshot) return ROOT;
  const app = path.join(tmpRoot, "app");
  fs.mkdirSync(app, { recursive: true });
  if (CONFIG.source === "head") {
    const listed = spawnSync("git", ["ls-tree", "--name-only", "HEAD"], { cwd: ROOT, encoding: "utf8" });
    if (listed.status !== 0) fail("BENCH_SOURCE=head needs a git checkout");
    const present = FILES.filter((f) => listed.stdout.split("\n").includes(f));
    const archive = spawnSync("git", ["archive", "--format=tar", "HEAD", ...present], { cwd: ROOT, maxBuffer: 1 << 28 });
    if (archive.status !== 0) fail(`git archive failed: ${archive.stderr}`);
    const untar = spawnSync("tar", ["-x", "-C", app], { input: archive.stdout });
    if (untar.status !== 0) fail(`tar -x failed: ${untar.stderr}`);
  } else {
    for (const f of FILES) {
      const from = path.join(ROOT, f);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(app, f), { recursive: true });
    }
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(app, "node_modules"), "dir");
  return app;
}
