/// <reference types="node" />
/**
 * Crash durability (issue "Safety", point 4): `wrangler dev` with persisted state, writes under
 * load, SIGKILL of the whole process group (wrangler + workerd) mid-load, restart on the same
 * state, and a check that every acknowledged write is there with its index.
 *
 * 8 writers, each owning a few keys (so each key's history is one writer's sequence of writes):
 * read-modify-CAS loops writing unique values `w<id>-<seq>` (seq grows per writer), and cluster-wide
 * 2-key transactions on a pair of keys that live on different shards. Every acknowledged write
 * (200 Successful:true, 201 TransactionIndex) is recorded with key, value and index; every write
 * whose outcome we could not see (in flight at the kill, or an error reply) is "unknown" and may
 * or may not have been applied.
 *
 * After a restart on the same persist dir, for every key:
 * - reads answer 200/404 within a timeout (no lock left blocking them);
 * - index ≥ the last acknowledged index; equal → the acknowledged value; greater → the value of
 *   one of that key's unknown writes, newer than the acknowledged one (a write applied but not
 *   acknowledged); a key never acknowledged is missing or holds an unknown write's value;
 * - every acknowledged transaction is visible on both keys (index ≥ its TransactionIndex), and
 *   no transaction (acknowledged or not) is half applied: a key holding its token means the other
 *   key holds the token too (with the same index) or a later write of the same writer;
 * - a new write at the index just read succeeds on every key.
 * Two rounds, always both: load, kill, restart, verify, load, kill, restart, verify. Each kill
 * waits until its round has at least MIN_ACKNOWLEDGED acknowledged writes (MIN_ACKNOWLEDGED_TXNS
 * of them transactions) and a write in flight, and the test requires those minimums.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { shardOf } from "../../src/core/routing";
import { groupProcesses, startWranglerDev, type CrashReport, type WranglerDev } from "./wrangler-dev";

const WRITERS = 8;
const CAS_KEYS_PER_WRITER = 3;
/** Share of loop iterations that run a cluster-wide 2-key transaction instead of a single CAS. */
const TXN_SHARE = 0.25;
/** The kill comes at a random moment in this window after the load started. */
const LOAD_MIN_MS = 2_000;
const LOAD_MAX_MS = 3_000;
const REQUEST_TIMEOUT_MS = 10_000;
const VERIFY_READ_TIMEOUT_MS = 15_000;
const SHARD_COUNT = 16; // wrangler.toml [vars] SHARD_COUNT
/**
 * A kill proves something only under load: it waits (after the random moment above) until a
 * round has at least this many acknowledged writes and transactions and a write is in flight,
 * for at most KILL_WAIT_MAX_MS; the test then requires all three.
 */
const MIN_ACKNOWLEDGED = 20;
const MIN_ACKNOWLEDGED_TXNS = 2;
const KILL_WAIT_MAX_MS = 20_000;
const ROUNDS = 2;
/** Both rounds always run (two starts, two kills, two restarts): room for a loaded 2-core machine. */
const TEST_TIMEOUT_MS = 240_000;

const servers: WranglerDev[] = [];
let persistDir: string | undefined;

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
  const running = servers.flatMap((s) => groupProcesses(s.pgid)).filter((p) => !p.stat.startsWith("Z"));
  if (running.length > 0) throw new Error(`processes of the test's wrangler dev still running: ${JSON.stringify(running)}`);
  if (persistDir && existsSync(persistDir)) throw new Error(`could not remove ${persistDir}`);
}, 30_000);

// ---------------------------------------------------------------------------------------------
// Model: what was acknowledged, what is unknown.

interface Written {
  value: string;
  index: number;
}
interface Txn {
  token: string;
  keys: [string, string];
  /** TransactionIndex when acknowledged. */
  index?: number;
}

const db = `e2e_durability_${Date.now()}_${process.pid}`;
const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Last acknowledged write per key (keys are per writer, so acknowledgments arrive in order). */
const lastAck = new Map<string, Written>();
/** Values of writes with an unknown outcome since the last verification, per key. */
const unknownValues = new Map<string, Set<string>>();
const txns: Txn[] = [];
const seqOf = new Map<number, number>(); // writer id → last seq used

interface Writer {
  id: number;
  casKeys: string[];
  pair: [string, string];
}

const parseValue = (v: unknown): { writer: number; seq: number } | undefined => {
  const m = typeof v === "string" ? /^w(\d+)-(\d+)$/.exec(v) : null;
  return m ? { writer: Number(m[1]), seq: Number(m[2]) } : undefined;
};

function nextValue(w: Writer): string {
  const seq = (seqOf.get(w.id) ?? 0) + 1;
  seqOf.set(w.id, seq);
  return `w${w.id}-${seq}`;
}

/** Two keys of writer `id` that live on different shards (different prefixes, checked). */
function pairFor(id: number): [string, string] {
  const a = `txa/w${id}`;
  for (let n = 0; n < 100; n++) {
    const b = `txb/w${id}/${n}`;
    if (shardOf(a, SHARD_COUNT) !== shardOf(b, SHARD_COUNT)) return [a, b];
  }
  throw new Error(`no key of another shard found for ${a}`);
}

const writers: Writer[] = Array.from({ length: WRITERS }, (_, id) => ({
  id,
  casKeys: Array.from({ length: CAS_KEYS_PER_WRITER }, (_, j) => `kv/w${id}/${j}`),
  pair: pairFor(id),
}));
const allKeys = writers.flatMap((w) => [...w.casKeys, ...w.pair]);
const _ownerOf = new Map(writers.flatMap((w) => [...w.casKeys, ...w.pair].map((k) => [k, w.id] as const)));

function acknowledge(key: string, value: string, index: number, problems: string[]): void {
  const prev = lastAck.get(key);
  if (prev && index <= prev.index) {
    problems.push(`ack of ${key}=${value} at index ${index} is not above the previous ack ${prev.value}@${prev.index}`);
  }
  lastAck.set(key, { value, index });
}

function markUnknown(key: string, value: string): void {
  let set = unknownValues.get(key);
  if (!set) unknownValues.set(key, (set = new Set()));
  set.add(value);
}

// ---------------------------------------------------------------------------------------------
// HTTP

async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = REQUEST_TIMEOUT_MS,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { "Content-Type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const cmpxchg = (query: string) => `/databases/${db}/cmpxchg${query}`;

/** Current state of one key, or throws with the answer when it is neither 200 nor 404. */
async function readKey(base: string, key: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Written | null> {
  const res = await http(base, "GET", cmpxchg(`?key=${enc(key)}`), undefined, timeoutMs);
  if (res.status === 404) return null;
  const item = res.json?.Results?.[0];
  if (res.status !== 200 || !item) throw new Error(`GET ${key}: ${res.status} ${res.text.slice(0, 300)}`);
  return { value: item.Value?.Object, index: item.Index };
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadFigures {
  acknowledged: number;
  acknowledgedTxns: number;
  casRefused: number; // Successful:false / 409 on keys only this writer writes: should not happen
  errorsBeforeKill: string[];
  inFlightWritesAtKill: number;
  inFlightReadsAtKill: number;
  /** Writes whose request failed after the kill (outcome unknown). */
  writesLostToKill: number;
  loadMs: number;
  crash: CrashReport;
}

async function loadThenCrash(server: WranglerDev, problems: string[]): Promise<LoadFigures> {
  const base = server.url;
  let killed = false;
  const inFlight = new Map<number, "read" | "write" | null>();
  const figures = { acknowledged: 0, acknowledgedTxns: 0, casRefused: 0, errorsBeforeKill: [] as string[] };

  let writesLostToKill = 0;
  const failed = (what: string, detail: string) => {
    if (!killed) figures.errorsBeforeKill.push(`${what}: ${detail}`);
    else if (!what.startsWith("read")) writesLostToKill++;
  };

  async function casOnce(w: Writer, key: string): Promise<void> {
    inFlight.set(w.id, "read");
    let current: Written | null;
    try {
      current = await readKey(base, key);
    } catch (err) {
      failed(`read ${key}`, (err as Error).message);
      return;
    }
    if (killed) return; // the read's answer came in just before the kill: send nothing more
    const value = nextValue(w);
    const expected = current?.index ?? 0;
    inFlight.set(w.id, "write");
    markUnknown(key, value); // until the answer says otherwise
    try {
      const res = await http(base, "PUT", cmpxchg(`?key=${enc(key)}&index=${expected}&raft-request-id=${randomUUID()}`), { Object: value });
      if (res.status === 200 && res.json?.Successful === true) {
        unknownValues.get(key)!.delete(value);
        if (!(res.json.Index > expected)) problems.push(`PUT ${key}@${expected} acknowledged with index ${res.json.Index}`);
        acknowledge(key, value, res.json.Index, problems);
        figures.acknowledged++;
      } else if (res.status === 200 && res.json?.Successful === false) {
        unknownValues.get(key)!.delete(value);
        figures.casRefused++;
        // Only this writer writes the key, and it just read it: a refusal means the read was stale,
        // unless an earlier write of this key with an unknown outcome landed after that read.
        const msg = `CAS ${key}@${expected} refused (current ${res.json.Index}) though only writer ${w.id} writes it`;
        if (unknownValues.get(key)!.size === 0) problems.push(msg);
        else console.warn(`[durability] ${msg} (an earlier write of it had an unknown outcome)`);
      } else {
        failed(`PUT ${key}`, `${res.status} ${res.text.slice(0, 200)}`);
      }
    } catch (err) {
      failed(`PUT ${key}`, (err as Error).message);
    }
  }

  async function txnOnce(w: Writer): Promise<void> {
    const [a, b] = w.pair;
    inFlight.set(w.id, "read");
    let ia: number, ib: number;
    try {
      const res = await http(base, "GET", cmpxchg(`?key=${enc(a)}&key=${enc(b)}`));
      if (res.status !== 200 || res.json?.Results?.length !== 2) throw new Error(`${res.status} ${res.text.slice(0, 200)}`);
      ia = Math.max(0, res.json.Results[0].Index);
      ib = Math.max(0, res.json.Results[1].Index);
    } catch (err) {
      failed(`read ${a},${b}`, (err as Error).message);
      return;
    }
    if (killed) return;
    const token = nextValue(w);
    const txn: Txn = { token, keys: [a, b] };
    txns.push(txn);
    markUnknown(a, token);
    markUnknown(b, token);
    inFlight.set(w.id, "write");
    try {
      const res = await http(
        base,
        "POST",
        `/databases/${db}/bulk_docs?raft-request-id=${randomUUID()}`,
        {
          Commands: [
            { Id: a, Document: { Object: token }, Index: ia, Type: "CompareExchangePUT" },
            { Id: b, Document: { Object: token }, Index: ib, Type: "CompareExchangePUT" },
          ],
          TransactionMode: "ClusterWide",
        },
        REQUEST_TIMEOUT_MS,
        { "Raven-Client-Version": "7.2.2" },
      );
      if (res.status === 201 && typeof res.json?.TransactionIndex === "number") {
        const index = res.json.TransactionIndex as number;
        txn.index = index;
        unknownValues.get(a)!.delete(token);
        unknownValues.get(b)!.delete(token);
        if (!(index > ia && index > ib)) problems.push(`txn ${token} at ${index} is not above the indexes it read (${ia}, ${ib})`);
        acknowledge(a, token, index, problems);
        acknowledge(b, token, index, problems);
        figures.acknowledged++;
        figures.acknowledgedTxns++;
      } else if (res.status === 409) {
        unknownValues.get(a)!.delete(token);
        unknownValues.get(b)!.delete(token);
        figures.casRefused++;
        const msg = `txn ${token} on ${a}@${ia}, ${b}@${ib} refused (409) though only writer ${w.id} writes them: ${res.text.slice(0, 300)}`;
        if (unknownValues.get(a)!.size === 0 && unknownValues.get(b)!.size === 0) problems.push(msg);
        else console.warn(`[durability] ${msg} (an earlier write of them had an unknown outcome)`);
      } else {
        failed(`txn ${token}`, `${res.status} ${res.text.slice(0, 200)}`);
      }
    } catch (err) {
      failed(`txn ${token}`, (err as Error).message);
    }
  }

  async function runWriter(w: Writer): Promise<void> {
    const keys = [...w.casKeys, ...w.pair];
    while (!killed) {
      if (Math.random() < TXN_SHARE) await txnOnce(w);
      else await casOnce(w, keys[Math.floor(Math.random() * keys.length)]!);
      inFlight.set(w.id, null);
      // An error reply before the kill: back off a little instead of spinning.
      if (!killed && figures.errorsBeforeKill.length > 0) await sleep(20);
    }
  }

  const started = Date.now();
  const running = Promise.all(writers.map(runWriter));
  await sleep(LOAD_MIN_MS + Math.random() * (LOAD_MAX_MS - LOAD_MIN_MS));
  const enough = () =>
    figures.acknowledged >= MIN_ACKNOWLEDGED &&
    figures.acknowledgedTxns >= MIN_ACKNOWLEDGED_TXNS &&
    [...inFlight.values()].includes("write");
  for (const until = Date.now() + KILL_WAIT_MAX_MS; !enough() && Date.now() < until; ) await sleep(1);
  const loadMs = Date.now() - started;
  const states = [...inFlight.values()];
  killed = true; // from here on a failed request is an in-flight casualty of the kill
  const crash = await server.crash();
  // Requests in flight fail now (connection reset) or at their timeout: bounded either way.
  await running;
  return {
    ...figures,
    inFlightWritesAtKill: states.filter((s) => s === "write").length,
    inFlightReadsAtKill: states.filter((s) => s === "read").length,
    writesLostToKill,
    loadMs,
    crash,
  };
}

// ---------------------------------------------------------------------------------------------
// Verification after a restart

interface VerifyFigures {
  keys: number;
  present: number;
  newerThanAcked: string[];
  txnsChecked: number;
  maxReadMs: number;
  rewritten: number;
  retries: number;
  unknownTxns: number;
  unknownTxnsApplied: number;
}

async function verify(server: WranglerDev, problems: string[]): Promise<VerifyFigures> {
  const base = server.url;
  const state = new Map<string, Written | null>();
  let maxReadMs = 0;

  // Reads: 200 or 404 within the timeout, 8 at a time.
  const queue = [...allKeys];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        const t0 = Date.now();
        try {
          state.set(key, await readKey(base, key, VERIFY_READ_TIMEOUT_MS));
        } catch (err) {
          problems.push(`read of ${key} after restart failed: ${(err as Error).message}`);
        }
        maxReadMs = Math.max(maxReadMs, Date.now() - t0);
      }
    }),
  );

  // Prefix listings (another read path, across all shards) agree with the point reads.
  for (const prefix of ["kv/", "txa/", "txb/"]) {
    try {
      const res = await http(base, "GET", cmpxchg(`?startsWith=${enc(prefix)}`), undefined, VERIFY_READ_TIMEOUT_MS);
      if (res.status !== 200 || !Array.isArray(res.json?.Results)) throw new Error(`${res.status} ${res.text.slice(0, 300)}`);
      const listed = new Map<string, Written>(
        res.json.Results.map((r: any) => [r.Key, { value: r.Value?.Object, index: r.Index }] as const),
      );
      for (const key of allKeys.filter((k) => k.startsWith(prefix) && state.has(k))) {
        const point = state.get(key)!;
        const item = listed.get(key);
        if (JSON.stringify(point) !== JSON.stringify(item ?? null)) {
          problems.push(`listing ${prefix}: ${key} is ${JSON.stringify(item ?? null)}, a point read gave ${JSON.stringify(point)}`);
        }
      }
      for (const key of listed.keys()) if (!allKeys.includes(key)) problems.push(`listing ${prefix}: unexpected key ${key}`);
    } catch (err) {
      problems.push(`listing ${prefix} after restart failed: ${(err as Error).message}`);
    }
  }

  const newerThanAcked: string[] = [];
  for (const key of allKeys) {
    if (!state.has(key)) continue;
    const cur = state.get(key)!;
    const ack = lastAck.get(key);
    const unknown = unknownValues.get(key) ?? new Set<string>();
    const show = cur ? `${JSON.stringify(cur.value)}@${cur.index}` : "missing";
    if (!ack) {
      if (cur && !unknown.has(cur.value)) problems.push(`${key}: never acknowledged, holds ${show}, which no write sent`);
      else if (cur)
        newerThanAcked.push(
          `${key}: never acked, found ${cur.value}@${cur.index}${txns.some((t) => t.token === cur.value) ? " (unacknowledged txn)" : ""}`,
        );
      continue;
    }
    if (!cur) {
      problems.push(`${key}: LOST, acknowledged ${ack.value}@${ack.index}, now missing`);
      continue;
    }
    if (cur.index < ack.index) {
      problems.push(`${key}: LOST, acknowledged ${ack.value}@${ack.index}, now ${show}`);
    } else if (cur.index === ack.index) {
      if (cur.value !== ack.value) problems.push(`${key}: acknowledged ${ack.value}@${ack.index}, now ${show} (same index, other value)`);
    } else {
      const seqNow = parseValue(cur.value)?.seq ?? -1;
      const seqAck = parseValue(ack.value)?.seq ?? -1;
      if (!unknown.has(cur.value) || seqNow <= seqAck) {
        problems.push(`${key}: acknowledged ${ack.value}@${ack.index}, now ${show}, which is no later un-acknowledged write`);
      } else {
        const viaTxn = txns.some((t) => t.token === cur.value) ? " (unacknowledged txn)" : "";
        newerThanAcked.push(`${key}: acked ${ack.value}@${ack.index}, found ${cur.value}@${cur.index}${viaTxn}`);
      }
    }
  }

  // Transactions: acknowledged ones visible on both keys, none half applied.
  let txnsChecked = 0;
  for (const txn of txns) {
    const [a, b] = txn.keys;
    if (!state.has(a) || !state.has(b)) continue;
    txnsChecked++;
    const sa = state.get(a)!;
    const sb = state.get(b)!;
    if (txn.index !== undefined) {
      for (const [k, s] of [
        [a, sa],
        [b, sb],
      ] as const) {
        if (!s || s.index < txn.index) problems.push(`acknowledged txn ${txn.token}@${txn.index}: ${k} is at ${s ? s.index : "missing"}`);
      }
    }
    const tokenSeq = parseValue(txn.token)!.seq;
    const laterOrSame = (s: Written | null) => s !== null && (s.value === txn.token || (parseValue(s.value)?.seq ?? -1) > tokenSeq);
    for (const [k, s, other, so] of [
      [a, sa, b, sb],
      [b, sb, a, sa],
    ] as const) {
      if (s?.value !== txn.token) continue;
      if (!laterOrSame(so)) {
        problems.push(
          `txn ${txn.token}${txn.index === undefined ? " (unacknowledged)" : `@${txn.index}`} HALF APPLIED: ${k} holds it at ${s.index}, ${other} holds ${so ? `${so.value}@${so.index}` : "nothing"}`,
        );
      } else if (so!.value === txn.token && so!.index !== s.index) {
        problems.push(`txn ${txn.token}: ${k}@${s.index} and ${other}@${so!.index} got different indexes`);
      }
    }
  }

  // Outcomes of the transactions whose answer never came: applied (token visible) or not.
  const unknownTxns = txns.filter((t) => t.index === undefined);
  const unknownTxnsApplied = unknownTxns.filter((t) => t.keys.some((k) => state.get(k)?.value === t.token)).length;

  // A new write at the index just read succeeds on every key (nothing left locked).
  let rewritten = 0;
  let retries = 0;
  await Promise.all(
    writers.map(async (w) => {
      for (const key of [...w.casKeys, ...w.pair]) {
        if (!state.has(key)) continue;
        const cur = state.get(key)!;
        const expected = cur?.index ?? 0;
        const value = nextValue(w);
        // wrangler dev reloads the Worker when a source file changes (others may be editing):
        // a 503 "restarted mid-request" is retried with the same raft-request-id (applied once).
        const path = cmpxchg(`?key=${enc(key)}&index=${expected}&raft-request-id=${randomUUID()}`);
        let outcome = "";
        for (let attempt = 1; attempt <= 3; attempt++) {
          try {
            const res = await http(base, "PUT", path, { Object: value }, VERIFY_READ_TIMEOUT_MS);
            if (res.status === 200 && res.json?.Successful === true && res.json.Index > expected) {
              acknowledge(key, value, res.json.Index, problems);
              rewritten++;
              outcome = "";
              break;
            }
            outcome = `${res.status} ${res.text.slice(0, 300)}`;
            if (res.status !== 503) break;
          } catch (err) {
            outcome = `failed: ${(err as Error).message}`;
          }
          retries++;
          await sleep(500);
        }
        if (outcome) problems.push(`write of ${key}@${expected} after restart: ${outcome}`);
      }
    }),
  );

  // What was unknown is settled now: the next round starts with a clean slate.
  unknownValues.clear();
  txns.length = 0;
  return {
    keys: allKeys.length,
    present: [...state.values()].filter((s) => s !== null).length,
    newerThanAcked,
    txnsChecked,
    maxReadMs,
    rewritten,
    retries,
    unknownTxns: unknownTxns.length,
    unknownTxnsApplied,
  };
}

// ---------------------------------------------------------------------------------------------

function sqliteFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".sqlite")) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** `workerd`, `esbuild`, `node wrangler.js`, `node cli.js`: the program and, for node, its script. */
function procName(args: string): string {
  const [exe = "", ...rest] = args.split(" ");
  const base = (p: string) => p.split("/").pop()!;
  if (base(exe) !== "node") return base(exe);
  const script = rest.find((a) => !a.startsWith("-"));
  return script ? `node ${base(script)}` : "node";
}

/** How often wrangler dev rebuilt and restarted the Worker because a source file changed. */
const reloads = (server: WranglerDev) => server.logs().split("Reloading local server").length - 1;

async function start(dir: string): Promise<WranglerDev> {
  const server = await startWranglerDev({ persistTo: dir });
  servers.push(server);
  // The kill must reach workerd, not only wrangler's node process.
  const group = groupProcesses(server.pgid);
  const workerd = group.filter((p) => /workerd/.test(p.args));
  if (workerd.length === 0) {
    throw new Error(`no workerd process in wrangler's process group ${server.pgid}; group: ${JSON.stringify(group)}`);
  }
  const outside = group.filter((p) => p.pgid !== server.pgid);
  if (outside.length > 0) console.warn(`[durability] processes outside the group (killed by pid): ${JSON.stringify(outside)}`);
  return server;
}

test(
  "SIGKILL of wrangler dev mid-load loses no acknowledged write (2 rounds)",
  async () => {
    const t0 = Date.now();
    persistDir = await mkdtemp(join(tmpdir(), "edge-cmpxchg-durability-"));
    const problems: string[] = [];
    const report: string[] = [`database ${db}, ${WRITERS} writers, ${allKeys.length} keys, persist dir ${persistDir}`];
    const pairs = writers.map(
      (w) => `${w.pair[0]}→shard ${shardOf(w.pair[0], SHARD_COUNT)}, ${w.pair[1]}→shard ${shardOf(w.pair[1], SHARD_COUNT)}`,
    );
    report.push(`transaction pairs: ${pairs.join("; ")}`);

    let server = await start(persistDir);
    report.push(`start: ${Date.now() - t0} ms`);
    const rounds: LoadFigures[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const problemsBefore = problems.length;
      const load = await loadThenCrash(server, problems);
      rounds.push(load);
      const files = sqliteFiles(persistDir);
      if (files.length === 0) throw new Error(`wrangler dev wrote no .sqlite file under ${persistDir}: is --persist-to honoured?`);
      if (load.crash.survivors.length > 0) {
        throw new Error(`processes survived the SIGKILL of group ${server.pgid}: ${JSON.stringify(load.crash.survivors)}`);
      }
      // After the kill only zombies (dead, waiting for init to reap them) may be left in the group.
      const left = groupProcesses(server.pgid);
      const running = left.filter((p) => !p.stat.startsWith("Z"));
      if (running.length > 0) throw new Error(`still running after the SIGKILL: ${JSON.stringify(running)}`);
      report.push(
        `round ${round} load: ${load.loadMs} ms, ${load.acknowledged} acknowledged writes (${load.acknowledgedTxns} transactions), ` +
          `in flight at the kill: ${load.inFlightWritesAtKill} writes + ${load.inFlightReadsAtKill} reads ` +
          `(${load.writesLostToKill} writes ended unknown), ` +
          `refused CAS: ${load.casRefused}, worker reloads (source edits): ${reloads(server)}, ` +
          `errors before the kill: ${load.errorsBeforeKill.length}` +
          `${load.errorsBeforeKill.length ? ` (${load.errorsBeforeKill.slice(0, 3).join(" | ")})` : ""}`,
      );
      report.push(
        `round ${round} kill: SIGKILL to group ${server.pgid} (${load.crash.killed.length} processes: ` +
          `${load.crash.killed.map((p) => `${p.pid} ${procName(p.args)}`).join(", ")}), ` +
          `none running ${load.crash.waitedMs} ms later` +
          `${left.length ? ` (${left.length} zombies not reaped yet)` : ""}; ${files.length} .sqlite files in the persist dir`,
      );
      // Error replies under load are not durability failures (their writes count as unknown), but show them.
      for (const e of load.errorsBeforeKill) console.warn(`[durability] round ${round}: error before the kill: ${e}`);
      // Bookkeeping only (the group is dead; it waits for init to reap the zombies): run it
      // alongside the restart.
      const stopping = server.stop();

      const restartAt = Date.now();
      server = await start(persistDir);
      await stopping;
      report.push(`round ${round} restart: ${Date.now() - restartAt} ms`);
      const v = await verify(server, problems);
      report.push(
        `round ${round} verify: ${v.keys} keys (${v.present} present), ${v.txnsChecked} transactions checked ` +
          `(${v.unknownTxns} unacknowledged, ${v.unknownTxnsApplied} of them applied), ` +
          `slowest read ${v.maxReadMs} ms, ${v.rewritten}/${v.keys} rewritten${v.retries ? ` (${v.retries} retries)` : ""}, ` +
          `worker reloads (source edits) since start: ${reloads(server)}; ` +
          `un-acknowledged writes found applied: ${v.newerThanAcked.length}${v.newerThanAcked.length ? ` (${v.newerThanAcked.join("; ")})` : ""}; ` +
          `round ${round} ${problems.length === problemsBefore ? "OK" : `${problems.length - problemsBefore} PROBLEMS`}`,
      );
    }
    await server.stop();
    report.push(`total: ${Date.now() - t0} ms`);
    console.log(`[durability]\n  ${report.join("\n  ")}`);
    if (problems.length > 0) {
      console.error(`--- last wrangler output ---\n${server.logs().slice(-4000)}`);
    }
    expect(problems, `durability problems:\n${problems.join("\n")}`).toEqual([]);
    // Every round ran under load and killed writes mid-flight, or it proved nothing.
    expect(rounds.length).toBe(ROUNDS);
    for (const load of rounds) {
      expect(load.acknowledged).toBeGreaterThanOrEqual(MIN_ACKNOWLEDGED);
      expect(load.acknowledgedTxns).toBeGreaterThanOrEqual(MIN_ACKNOWLEDGED_TXNS);
      expect(load.inFlightWritesAtKill).toBeGreaterThanOrEqual(1);
    }
  },
  TEST_TIMEOUT_MS,
);
