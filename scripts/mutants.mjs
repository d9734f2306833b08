#!/usr/bin/env node
/**
 * `npm run mutants`: the mutation matrix of the safety invariants.
 *
 * Each row of scripts/mutants.json breaks one invariant with a minimal edit — `find` (must occur
 * exactly once in `file`) replaced by `replace` — in a scratch copy of the repository, runs the
 * test files listed in `tests`, and records which of them failed. The suite is only worth
 * something if every row is caught. A row whose `find` no longer matches (code moved or was
 * rewritten) is reported as such and fails the run: a refactor cannot silently disarm a row, it
 * has to re-point it.
 *
 * Before any mutation the listed test files run once on the unmutated copy: a file that fails
 * there would "catch" everything, so the run stops. A mutation whose test files fail to load
 * (a syntax error in the mutant) is reported as broken, not as caught.
 *
 *   npm run mutants                      every row
 *   npm run mutants -- --only id1,id2    some rows
 *   npm run mutants -- --keep            keep the scratch copy (its path is printed)
 *
 * Slow (one vitest run per row), so it is not part of `npm test`; run it whenever safety code
 * changes, and add a row for new safety code.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const startedAt = Date.now();
const args = process.argv.slice(2);
const only = args.includes("--only") ? new Set(args[args.indexOf("--only") + 1].split(",")) : null;
const keep = args.includes("--keep");
const dataFile = args.includes("--data") ? resolve(args[args.indexOf("--data") + 1]) : join(ROOT, "scripts/mutants.json");

const rows = JSON.parse(readFileSync(dataFile, "utf8")).filter((row) => !only || only.has(row.id));
if (rows.length === 0) fail(`no rows selected from ${relative(ROOT, dataFile)}`);

// ── check every row against the current sources before running anything ────────────────────
const problems = new Map();
for (const row of rows) {
  for (const field of ["id", "invariant", "file", "find"]) {
    if (typeof row[field] !== "string" || row[field] === "") problems.set(row.id ?? "?", `row has no ${field}`);
  }
  // An empty replacement deletes the found text.
  if (typeof row.replace !== "string") problems.set(row.id ?? "?", "row has no replace");
  if (!Array.isArray(row.tests) || row.tests.length === 0) problems.set(row.id, "row lists no tests");
  if (problems.has(row.id)) continue;
  const path = join(ROOT, row.file);
  if (!existsSync(path)) {
    problems.set(row.id, `file not found: ${row.file}`);
    continue;
  }
  const count = readFileSync(path, "utf8").split(row.find).length - 1;
  if (count === 0) problems.set(row.id, `find string not found in ${row.file}`);
  else if (count > 1) problems.set(row.id, `find string occurs ${count} times in ${row.file} (must be exactly once)`);
  const missing = row.tests.filter((test) => !existsSync(join(ROOT, test)));
  if (missing.length) problems.set(row.id, `test file not found: ${missing.join(", ")}`);
}
for (const [id, problem] of problems) console.error(`✗ ${id}: ${problem}`);

// ── scratch copy: sources copied, node_modules linked ───────────────────────────────────────
const scratch = mkdtempSync(join(tmpdir(), "edge-cmpxchg-mutants-"));
const skip = new Set(["node_modules", ".git", ".wrangler", "test-results", "bench/results"]);
cpSync(ROOT, scratch, { recursive: true, filter: (src) => !skip.has(relative(ROOT, src)) });
symlinkSync(join(ROOT, "node_modules"), join(scratch, "node_modules"), "dir");
console.log(`scratch copy: ${scratch}`);

const runnable = rows.filter((row) => !problems.has(row.id));
const baselineFiles = [...new Set(runnable.flatMap((row) => row.tests))];
if (baselineFiles.length) {
  console.log(`baseline: ${baselineFiles.length} test files on the unmutated copy …`);
  const baseline = runTests(baselineFiles, "baseline");
  if (baseline.failed.length || baseline.broken.length || baseline.exit !== 0) {
    cleanup();
    fail(
      `the unmutated copy does not pass (${[...baseline.failed, ...baseline.broken].join(", ") || `vitest exit ${baseline.exit}`}): ` +
        "mutations cannot be judged until it does",
    );
  }
}

// ── one mutation at a time ──────────────────────────────────────────────────────────────────
const results = [];
for (const row of rows) {
  if (problems.has(row.id)) {
    results.push({ row, verdict: "NOT APPLIED", detail: problems.get(row.id) });
    continue;
  }
  const path = join(scratch, row.file);
  const original = readFileSync(path, "utf8");
  writeFileSync(
    path,
    original.replace(row.find, () => row.replace),
  );
  const started = Date.now();
  process.stdout.write(`${row.id} … `);
  const run = runTests(row.tests, row.id);
  writeFileSync(path, original);
  const seconds = Math.round((Date.now() - started) / 1000);
  let verdict;
  let detail;
  if (run.broken.length) {
    verdict = "BROKEN MUTANT";
    detail = `did not load: ${run.broken.join(", ")}`;
  } else if (run.failed.length) {
    verdict = "caught";
    detail = run.failed.map((file) => `${file} (${run.failedTests[file]})`).join(", ");
  } else if (run.exit !== 0) {
    verdict = "caught";
    detail = `vitest exit ${run.exit} with no failed test (see the log)`;
  } else {
    verdict = "SURVIVED";
    detail = `all of ${row.tests.join(", ")} passed`;
  }
  console.log(`${verdict} (${seconds} s)`);
  results.push({ row, verdict, detail });
}
cleanup();

// ── the table ───────────────────────────────────────────────────────────────────────────────
console.log("\n| mutation | invariant | verdict | caught by (failed tests) |\n|---|---|---|---|");
for (const { row, verdict, detail } of results) {
  console.log(`| \`${row.id}\` | ${row.invariant} | ${verdict} | ${detail} |`);
}
const caught = results.filter((r) => r.verdict === "caught").length;
console.log(`\n${caught} of ${results.length} mutations caught (${Math.round((Date.now() - startedAt) / 60_000)} min).`);
for (const r of results.filter((r) => r.verdict !== "caught")) console.error(`✗ ${r.row.id}: ${r.verdict}: ${r.detail}`);
process.exit(caught === results.length ? 0 : 1);

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

/** The vitest project a test file belongs to (see vitest.config.ts). */
function projectOf(file) {
  if (file.startsWith("test/e2e/")) return "e2e";
  if (file.startsWith("test/explicit/")) return "workers-explicit";
  if (file.startsWith("test/deployed/")) return "workers-deployed";
  if (file.startsWith("test/retention/")) return "workers-retention";
  return "workers";
}

/** Runs test files in the scratch copy; which failed, which did not load, how many tests failed in each. */
function runTests(files, label) {
  const report = join(scratch, `.mutants-${label.replace(/\W/g, "_")}.json`);
  const projects = [...new Set(files.map(projectOf))].flatMap((p) => ["--project", p]);
  const run = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", ...projects, "--reporter=json", `--outputFile=${report}`, ...files],
    { cwd: scratch, encoding: "utf8", timeout: 15 * 60_000, env: { ...process.env, CI: "1", FORCE_COLOR: "0" } },
  );
  const out = { exit: run.status ?? -1, failed: [], broken: [], failedTests: {} };
  if (!existsSync(report)) {
    out.broken.push(`no report (vitest exit ${run.status}, ${run.signal ?? "no signal"}): ${(run.stderr || run.stdout).slice(-600)}`);
    return out;
  }
  const json = JSON.parse(readFileSync(report, "utf8"));
  rmSync(report);
  for (const file of json.testResults) {
    const name = relative(scratch, file.name);
    const failedTests = file.assertionResults.filter((t) => t.status === "failed");
    if (file.status !== "failed") continue;
    if (failedTests.length === 0) out.broken.push(`${name}: ${(file.message || "failed without a failed test").split("\n")[0]}`);
    else {
      out.failed.push(name);
      out.failedTests[name] = failedTests.length === 1 ? `“${failedTests[0].title}”` : `${failedTests.length} tests`;
    }
  }
  return out;
}

function cleanup() {
  if (keep) console.log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

function fail(message) {
  console.error(`mutants: ${message}`);
  process.exit(2);
}
