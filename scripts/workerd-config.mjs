/**
 * The production-like local server, shared by `npm run serve` (scripts/serve.mjs) and the
 * benchmark's "direct" mode (bench/lib/servers/ours.mjs): one implementation of
 *   1. building the Worker as it would be deployed (`wrangler deploy --dry-run --outdir <dir>/dist`),
 *   2. generating a workerd config for it from bench/workerd.capnp.template and wrangler.toml,
 *      read by wrangler's own config reader for one environment ([env.dev] by default: the local
 *      one; compatibility date and flags, vars, every Durable Object binding, SQLite for the
 *      classes in `new_sqlite_classes`, on-disk Durable Object storage),
 *   3. finding the workerd binary bundled with wrangler (the same runtime as `wrangler dev`).
 * Plain Node ESM; its only dependency is wrangler, which needs Node >= 22.12 (the project's Node 24).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const TEMPLATE = path.join(ROOT, "bench/workerd.capnp.template");
/** The environment of wrangler.toml that local servers use: no authentication, implicit databases. */
export const LOCAL_ENV = "dev";

/** The workerd binary: `override` if given (must exist), else the one bundled with wrangler. */
export function findWorkerd(override = null) {
  if (override) {
    if (!fs.existsSync(override)) throw new Error(`workerd binary ${override} does not exist`);
    return override;
  }
  const candidates = [
    path.join(ROOT, "node_modules/wrangler/node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
    path.join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"),
    path.join(ROOT, "node_modules/wrangler/node_modules/@cloudflare/workerd-linux-arm64/bin/workerd"),
    path.join(ROOT, "node_modules/@cloudflare/workerd-linux-arm64/bin/workerd"),
    path.join(ROOT, "node_modules/.bin/workerd"),
  ];
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** Checks Node and wrangler; throws an Error whose message says what to do. */
export function checkToolchain() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    throw new Error(
      `Node ${process.versions.node} is too old for wrangler (needs >= 22.12). Run it through npm ` +
        "(`npm run serve` / `npm run bench`): npm puts node_modules/.bin, with the project's Node 24, first in PATH.",
    );
  }
  const wranglerJs = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  if (!fs.existsSync(wranglerJs)) throw new Error("node_modules/wrangler is missing: run `npm install` first.");
  return wranglerJs;
}

/** Environment for wrangler: no metrics, no network lookups, this Node first in PATH. */
export function wranglerEnv() {
  const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
  env.PATH = `${path.dirname(process.execPath)}:${path.join(ROOT, "node_modules/.bin")}:${env.PATH ?? ""}`;
  return env;
}

/**
 * `wrangler deploy --dry-run --outdir <outDir>` in `appDir` (a directory holding src/ and
 * wrangler.toml; node_modules reachable from it). Returns the build log; throws with its tail.
 */
export function buildWorker(appDir, outDir, env = null) {
  const wranglerJs = checkToolchain();
  fs.rmSync(outDir, { recursive: true, force: true });
  // --env "" = the top-level environment, said explicitly.
  const build = spawnSync(process.execPath, [wranglerJs, "deploy", "--dry-run", "--env", env ?? "", "--outdir", outDir], {
    cwd: appDir,
    env: wranglerEnv(),
    encoding: "utf8",
    timeout: 180_000,
  });
  const log = `${build.stdout ?? ""}${build.stderr ?? ""}`;
  if (build.status !== 0 || !fs.existsSync(path.join(outDir, "index.js"))) {
    throw new Error(
      `wrangler deploy --dry-run failed (status ${build.status}${build.error ? `, ${build.error.message}` : ""}):\n${log.split("\n").slice(-30).join("\n")}`,
    );
  }
  return log;
}

/**
 * What the workerd config needs from `appDir`/wrangler.toml, read by wrangler's own reader
 * (`unstable_readConfig`: TOML parsed for real, environment inheritance as `wrangler deploy --env`
 * applies it) for environment `env`. A wrangler.toml without that environment (an older commit
 * checked out by the benchmark) is read at its top level, with a warning. `name` is the top-level
 * name, so the Durable Objects' storage keys do not change with the environment.
 */
export function readWranglerToml(appDir, env = LOCAL_ENV) {
  checkToolchain();
  const wrangler = createRequire(import.meta.url)("wrangler");
  const configPath = path.join(appDir, "wrangler.toml");
  const raw = wrangler.experimental_readRawConfig({ config: configPath }).rawConfig;
  const warnings = [];
  const useEnv = env && raw.env && Object.hasOwn(raw.env, env) ? env : null;
  if (env && !useEnv) warnings.push(`wrangler.toml has no [env.${env}]: its top level is used`);
  const config = wrangler.unstable_readConfig({ config: configPath, env: useEnv ?? undefined }, { hideWarnings: true });
  const vars = {};
  for (const [key, value] of Object.entries(config.vars ?? {})) {
    if (typeof value === "string") vars[key] = value;
    else warnings.push(`wrangler.toml vars.${key} is not a string: left out of the workerd config`);
  }
  const sqlite = wrangler.unstable_getDurableObjectClassNameToUseSQLiteMap(config.migrations ?? []);
  const durableObjects = (config.durable_objects?.bindings ?? []).map((d) => ({ ...d }));
  if (!config.compatibility_date) throw new Error("compatibility_date not found in wrangler.toml");
  for (const d of durableObjects) {
    if (!d.name || !d.class_name) throw new Error("wrangler.toml: durable object binding without name/class_name");
    if (d.script_name) throw new Error(`wrangler.toml: binding ${d.name} uses script_name; not supported by the workerd config`);
  }
  if ((config.ratelimits ?? []).length > 0)
    warnings.push("wrangler.toml ratelimits are not emulated by the workerd config (no write limit)");
  return {
    name: raw.name ?? config.name ?? null,
    env: useEnv,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    vars,
    durableObjects,
    sqliteClasses: new Set([...sqlite].filter(([, on]) => on).map(([c]) => c)),
    rules: config.rules ?? [],
    warnings,
  };
}

/** wrangler's default module rules (after the config's own), as `wrangler deploy` applies them. */
const DEFAULT_RULES = [
  { type: "Text", globs: ["**/*.txt", "**/*.html", "**/*.sql"] },
  { type: "Data", globs: ["**/*.bin"] },
  { type: "CompiledWasm", globs: ["**/*.wasm", "**/*.wasm?module"] },
];
/** The workerd module field of each wrangler module type. */
const MODULE_FIELD = { Text: "text", Data: "data", CompiledWasm: "wasm", ESModule: "esModule", CommonJS: "commonJsModule" };

/**
 * The modules of a build besides index.js (e.g. the Text module of the API reference's script,
 * src/routes/scalar-script.js): wrangler writes each as `<sha1>-<file name>` next to index.js; its
 * type is that of the first rule (wrangler.toml's, then wrangler's defaults) whose glob's last
 * segment matches the file name.
 */
export function extraModules(dist, rules = []) {
  const segment = (glob) =>
    new RegExp(
      `^${glob
        .split("/")
        .pop()
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replaceAll("*", ".*")}$`,
    );
  return fs
    .readdirSync(dist)
    .filter((file) => file !== "index.js" && !file.endsWith(".map") && file !== "README.md")
    .map((file) => {
      const name = file.replace(/^[0-9a-f]{40}-/, "");
      const rule = [...rules, ...DEFAULT_RULES].find((r) => (r.globs ?? []).some((g) => segment(g).test(name)));
      const field = MODULE_FIELD[rule?.type ?? "ESModule"];
      if (!field) throw new Error(`dist/${file}: module type ${rule?.type} is not supported by the workerd config`);
      return { name: file, field };
    });
}

/**
 * Fills bench/workerd.capnp.template. `storage` = absolute dir for the SQLite Durable Objects;
 * `vars` overrides/extends wrangler.toml's [vars] (e.g. { SHARD_COUNT: "4" }). The config must be
 * written next to the `dist/` directory of the build (the template embeds "dist/index.js");
 * `modules` are the build's other modules ({@link extraModules}).
 */
export function renderWorkerdConfig(toml, { port, storage, host = "127.0.0.1", vars = {}, modules = [] }) {
  const q = (v) => JSON.stringify(String(v)); // capnp text literals accept JSON-style escapes
  const allVars = { ...toml.vars, ...vars };
  const bindings = [
    ...toml.durableObjects.map((d) => `    (name = ${q(d.name)}, durableObjectNamespace = ${q(d.class_name)}),`),
    ...Object.entries(allVars).map(([k, v]) => `    (name = ${q(k)}, text = ${q(v)}),`),
  ];
  const classes = [...new Set(toml.durableObjects.map((d) => d.class_name))];
  // uniqueKey must stay the same across restarts: it names the objects' storage.
  const namespaces = classes.map(
    (c) => `    (className = ${q(c)}, uniqueKey = ${q(`${toml.name ?? "worker"}-${c}`)}, enableSql = ${toml.sqliteClasses.has(c)}),`,
  );
  return fs
    .readFileSync(TEMPLATE, "utf8")
    .replaceAll("{{ADDRESS}}", `${host}:${port}`)
    .replaceAll("{{STORAGE}}", storage)
    .replaceAll("{{COMPAT_DATE}}", toml.compatibilityDate)
    .replaceAll("{{COMPAT_FLAGS}}", toml.compatibilityFlags.map(q).join(", "))
    .replaceAll("{{MODULES}}", modules.map((m) => `    (name = ${q(m.name)}, ${m.field} = embed ${q(`dist/${m.name}`)}),`).join("\n"))
    .replaceAll("{{BINDINGS}}", bindings.join("\n"))
    .replaceAll("{{DO_NAMESPACES}}", namespaces.join("\n"));
}

/**
 * Builds the Worker of `appDir` for environment `env` into `<dir>/dist` (unless `build` is false and it exists) and writes
 * `<dir>/<configName>` serving it on host:port with Durable Object storage in `storage`
 * (created if missing). Returns { config, dist, storage, toml, buildLog }.
 */
export function prepareServer({
  appDir = ROOT,
  dir,
  port,
  storage = path.join(dir, "storage"),
  host = "127.0.0.1",
  vars = {},
  build = true,
  configName = "config.capnp",
  env = LOCAL_ENV,
}) {
  fs.mkdirSync(dir, { recursive: true });
  const dist = path.join(dir, "dist");
  const toml = readWranglerToml(appDir, env);
  const buildLog = build || !fs.existsSync(path.join(dist, "index.js")) ? buildWorker(appDir, dist, toml.env) : null;
  fs.mkdirSync(storage, { recursive: true });
  const config = path.join(dir, configName);
  const modules = extraModules(dist, toml.rules);
  fs.writeFileSync(config, renderWorkerdConfig(toml, { port, storage: path.resolve(storage), host, vars, modules }));
  return { config, dist, storage, toml, buildLog };
}

/** argv for `workerd serve` of a config written by prepareServer (run with cwd = its dir). */
export function workerdServeArgs(config) {
  return ["serve", path.basename(config)];
}
