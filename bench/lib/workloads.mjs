/**
 * The workloads, identical for every system: what one closed-loop iteration sends, how the
 * pre-created keys are written, and which generator drives which (system, workload).
 *
 *   (a) create  create-if-absent on random unique keys
 *               ours  PUT /databases/bench/cmpxchg?key=<k>&index=0  {"Object":<value>}
 *               etcd  POST /v3/kv/txn  compare create_revision(k) == 0 → put(k, <value>)
 *               redis SET k <value> NX
 *   createrid   ours only: (a) as the official client sends it, with &raft-request-id=<uuid> (which
 *               the server logs for retries): the like-for-like baseline of (f), whose request
 *               carries one too
 *   (d) get     get of a random pre-created key set-<i> (value and version)
 *               ours  GET /databases/bench/cmpxchg?key=set-<i>
 *               etcd  POST /v3/kv/range {"key": set-<i>}
 *               redis HMGET set-<i> v ver
 *   (b) cas     read-then-write on a random pre-created key: read its version, then write it only if
 *               the version is unchanged; counts successes, conflicts and lost updates
 *               ours  GET → Index; PUT …&index=<Index>
 *               etcd  range → mod_revision; txn compare mod_revision == r → put
 *               redis HMGET k v ver; EVALSHA <CAS script> 1 k <ver> <value>
 *   (c) hot     the same on the one key "hot", all connections contending
 *   (e) txcreate two-key atomic create, fresh keys on different shards
 *               ours  POST /databases/bench/bulk_docs?raft-request-id=<uuid>  ClusterWide, two
 *                     CompareExchangePUT at index 0 (two-phase commit through a coordinator)
 *               etcd  POST /v3/kv/txn  compare create_revision == 0 on both → put both
 *   (f) session  a cluster-wide session storing one new document (the official client's body):
 *               ours  bulk_docs ClusterWide, one document PUT; the server adds its atomic guard,
 *                     which lives on the document's shard (one-shard transaction)
 *               etcd  the same two keys (users/<k>, rvn-atomic/users/<k>) created in one txn
 *   (g) transfer read two pre-created keys on different shards, then write both only if neither changed
 *               ours  GET /databases/bench/cmpxchg?key=set-<i>&key=set-<j> → Index of each;
 *                     bulk_docs ClusterWide, two CompareExchangePUT at those indexes
 *               etcd  txn of two ranges → mod_revisions; txn compare mod_revision == r on both → put both
 *   trivial     ours only: GET /cluster/node-info (a route without storage), the baseline; wrk
 *   trivial-node ours only: the same with the in-Node generator (that generator's own ceiling)
 * <value> is the same 54-byte JSON string for every system: {"n":"00000042","by":"bench","pad":"0123456789abcdef"}.
 * Redis keeps pre-created keys as hashes {v, ver} (the version a CAS compares); created keys are strings.
 */
import crypto from "node:crypto";
import http from "node:http";
import { DB } from "./config.mjs";
import { rawRequest, runNodeHttp } from "./generators/node-http.mjs";
import { RespConnection, RespError, runResp } from "./generators/resp.mjs";
import { runWrk } from "./generators/wrk.mjs";
import { sleep } from "./processes.mjs";
import { shardOf } from "./routing.mjs";

export const WORKLOAD_LABEL = {
  trivial: "trivial GET /cluster/node-info (ours only)",
  "trivial-node": "trivial GET, in-Node generator (ours only)",
  create: "(a) create-if-absent, random unique keys",
  createrid: "(a′) the same with a raft-request-id, as the official client sends it (ours only)",
  get: "(d) get of a random existing key",
  cas: "(b) CAS read-then-write, random keys",
  hot: "(c) CAS read-then-write, one hot key",
  txcreate: "(e) two-key atomic create on two shards",
  session: "(f) cluster-wide session storing one document",
  transfer: "(g) two-key transfer (read both, conditional write of both)",
};

/** Workloads that are multi-key transactions (not run against Redis). */
export const TX_WORKLOADS = ["txcreate", "session", "transfer"];

export const benchValue = (n) => `{"n":"${String(n % 1e8).padStart(8, "0")}","by":"bench","pad":"0123456789abcdef"}`;
export const VALUE_BYTES = Buffer.byteLength(benchValue(0));
const b64 = (s) => Buffer.from(s).toString("base64");
const unb64 = (s) => Buffer.from(s, "base64").toString("utf8");
const randHex = () => crypto.randomBytes(8).toString("hex");
const createKey = (ctx, conn) => `${ctx.prefix}-${randHex()}-${conn}-${++ctx.seq}`;
const setKey = (ctx) => `set-${Math.floor(Math.random() * ctx.keys)}`;
/** Two distinct pre-created keys on different shards (of SHARD_COUNT 16, the default deployment). */
function setPair(ctx) {
  const a = setKey(ctx);
  for (;;) {
    const b = setKey(ctx);
    if (b !== a && (ctx.keys < 32 || shardOf(b, ctx.shards ?? 16) !== shardOf(a, ctx.shards ?? 16))) return [a, b];
  }
}

/** Redis CAS: set value+version only if the version is still ARGV[1]; returns {1, new} or {0, current}. */
export const REDIS_CAS_SCRIPT = `local cur = redis.call('HGET', KEYS[1], 'ver')
if cur == ARGV[1] then
  local nv = tonumber(cur) + 1
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'ver', nv)
  return {1, nv}
end
return {0, tonumber(cur) or 0}`;
const REDIS_CAS_SHA = crypto.createHash("sha1").update(REDIS_CAS_SCRIPT).digest("hex");

// ------------------------------------------------------------------ one iteration, per system

/** An HTTP answer that is not the expected one: counted as an error (404 = miss where allowed). */
function httpBad(t, r) {
  if (r.status === 0) t.networkError(r.error);
  else t.error(r.status, r.body);
}

const OURS = {
  trivial: async (_ctx, c, t) => {
    const r = await c.request("GET", "/cluster/node-info");
    if (r.status === 0) return httpBad(t, r);
    t.answered(r.status, r.ms, t.lat);
    if (r.status === 200) t.ok += 1;
    else httpBad(t, r);
  },
  create: async (ctx, c, t, conn, requestId = "") => {
    const n = ctx.seq + 1;
    const r = await c.request(
      "PUT",
      `/databases/${DB}/cmpxchg?key=${createKey(ctx, conn)}&index=0${requestId}`,
      `{"Object":${benchValue(n)}}`,
    );
    if (r.status === 0) return httpBad(t, r);
    t.answered(r.status, r.ms, t.lat);
    if (r.status !== 200) return httpBad(t, r);
    if (JSON.parse(r.body).Successful === true) t.ok += 1;
    else t.notOk += 1;
  },
  createrid: async (ctx, c, t, conn) => OURS.create(ctx, c, t, conn, `&raft-request-id=${crypto.randomUUID()}`),
  get: async (ctx, c, t) => {
    const r = await c.request("GET", `/databases/${DB}/cmpxchg?key=${setKey(ctx)}`);
    if (r.status === 0) return httpBad(t, r);
    t.answered(r.status, r.ms, t.lat);
    if (r.status === 200) t.ok += 1;
    else if (r.status === 404) t.miss += 1;
    else httpBad(t, r);
  },
  readThenWrite: async (ctx, c, t, key) => {
    const g = await c.request("GET", `/databases/${DB}/cmpxchg?key=${key}`);
    if (g.status === 0) return httpBad(t, g);
    t.answered(g.status, g.ms, t.getLat);
    if (g.status !== 200) return g.status === 404 ? void (t.miss += 1) : httpBad(t, g);
    const read = JSON.parse(g.body).Results[0].Index;
    const p = await c.request("PUT", `/databases/${DB}/cmpxchg?key=${key}&index=${read}`, `{"Object":${benchValue(++ctx.seq)}}`);
    if (p.status === 0) return httpBad(t, p);
    t.answered(p.status, p.ms, t.putLat);
    if (p.status !== 200) return httpBad(t, p);
    const res = JSON.parse(p.body);
    t.cycle(key, read, res.Successful === true, res.Index, res.Index, g.ms + p.ms);
  },
  // (e) and (f) with the in-Node generator when wrk is missing (bench/wrk/tx-create.lua, session.lua).
  txcreate: async (ctx, c, t, conn) => {
    const [a, b] = freshPair(ctx, conn);
    const put = (key) => `{"Type":"CompareExchangePUT","Id":"${key}","Index":0,"Document":{"Object":${benchValue(ctx.seq)}}}`;
    const r = await c.request(
      "POST",
      `/databases/${DB}/bulk_docs?raft-request-id=${crypto.randomUUID()}`,
      `{"Commands":[${put(a)},${put(b)}],"TransactionMode":"ClusterWide"}`,
    );
    txAnswer(t, r, 201, 409);
  },
  session: async (ctx, c, t, conn) => {
    const id = `users/${createKey(ctx, conn)}`;
    const doc = `${benchValue(ctx.seq).slice(0, -1)},"@metadata":{"@collection":"Users"}}`;
    const body = `{"Commands":[{"Id":"${id}","ChangeVector":null,"Type":"PUT","Document":${doc}}],"TransactionMode":"ClusterWide"}`;
    const r = await c.request("POST", `/databases/${DB}/bulk_docs?raft-request-id=${crypto.randomUUID()}`, body, {
      "Raven-Client-Version": "7.2.2",
    });
    txAnswer(t, r, 201, 409);
  },
  transfer: async (ctx, c, t) => {
    const [a, b] = setPair(ctx);
    const g = await c.request("GET", `/databases/${DB}/cmpxchg?key=${a}&key=${b}`);
    if (g.status === 0) return httpBad(t, g);
    t.answered(g.status, g.ms, t.getLat);
    if (g.status !== 200) return httpBad(t, g);
    const [ra, rb] = JSON.parse(g.body).Results.map((r) => r.Index);
    const put = (key, index) =>
      `{"Type":"CompareExchangePUT","Id":"${key}","Index":${index},"Document":{"Object":${benchValue(++ctx.seq)}}}`;
    const body = `{"Commands":[${put(a, ra)},${put(b, rb)}],"TransactionMode":"ClusterWide"}`;
    const p = await c.request("POST", `/databases/${DB}/bulk_docs?raft-request-id=${crypto.randomUUID()}`, body);
    if (p.status === 0) return httpBad(t, p);
    t.answered(p.status, p.ms, t.putLat);
    if (p.status !== 201 && p.status !== 409) return httpBad(t, p);
    // A lost update = two committed transfers that both read the same index of `a`.
    t.cycle(a, ra, p.status === 201, p.status === 201 ? JSON.parse(p.body).TransactionIndex : null, null, g.ms + p.ms);
  },
};

const ETCD = {
  create: async (ctx, c, t, conn) => {
    const key = b64(createKey(ctx, conn));
    const body = JSON.stringify({
      compare: [{ key, target: "CREATE", result: "EQUAL", create_revision: "0" }],
      success: [{ request_put: { key, value: b64(benchValue(ctx.seq)) } }],
    });
    const r = await c.request("POST", "/v3/kv/txn", body);
    if (r.status === 0) return httpBad(t, r);
    t.answered(r.status, r.ms, t.lat);
    if (r.status !== 200) return httpBad(t, r);
    if (JSON.parse(r.body).succeeded === true) t.ok += 1;
    else t.notOk += 1;
  },
  get: async (ctx, c, t) => {
    const r = await c.request("POST", "/v3/kv/range", JSON.stringify({ key: b64(setKey(ctx)) }));
    if (r.status === 0) return httpBad(t, r);
    t.answered(r.status, r.ms, t.lat);
    if (r.status !== 200) return httpBad(t, r);
    if (JSON.parse(r.body).kvs?.length) t.ok += 1;
    else t.miss += 1;
  },
  readThenWrite: async (ctx, c, t, key) => {
    const k = b64(key);
    const g = await c.request("POST", "/v3/kv/range", JSON.stringify({ key: k }));
    if (g.status === 0) return httpBad(t, g);
    t.answered(g.status, g.ms, t.getLat);
    if (g.status !== 200) return httpBad(t, g);
    const kv = JSON.parse(g.body).kvs?.[0];
    if (!kv) return void (t.miss += 1);
    const read = Number(kv.mod_revision);
    const body = JSON.stringify({
      compare: [{ key: k, target: "MOD", result: "EQUAL", mod_revision: String(read) }],
      success: [{ request_put: { key: k, value: b64(benchValue(++ctx.seq)) } }],
    });
    const p = await c.request("POST", "/v3/kv/txn", body);
    if (p.status === 0) return httpBad(t, p);
    t.answered(p.status, p.ms, t.putLat);
    if (p.status !== 200) return httpBad(t, p);
    const res = JSON.parse(p.body);
    // On success the key's new mod_revision is the txn's revision; a failed txn says nothing of the key.
    t.cycle(key, read, res.succeeded === true, Number(res.header?.revision), null, g.ms + p.ms);
  },
  txcreate: async (ctx, c, t, conn) => etcdCreateTwo(c, t, freshPair(ctx, conn), [benchValue(ctx.seq), benchValue(ctx.seq)]),
  session: async (ctx, c, t, conn) => {
    const id = `users/${createKey(ctx, conn)}`;
    await etcdCreateTwo(
      c,
      t,
      [id, `rvn-atomic/${id}`],
      [`${benchValue(ctx.seq).slice(0, -1)},"@metadata":{"@collection":"Users"}}`, '{"Object":null}'],
    );
  },
  transfer: async (ctx, c, t) => {
    const [a, b] = setPair(ctx).map(b64);
    const g = await c.request(
      "POST",
      "/v3/kv/txn",
      JSON.stringify({ success: [{ request_range: { key: a } }, { request_range: { key: b } }] }),
    );
    if (g.status === 0) return httpBad(t, g);
    t.answered(g.status, g.ms, t.getLat);
    if (g.status !== 200) return httpBad(t, g);
    const [ra, rb] = JSON.parse(g.body).responses.map((r) => Number(r.response_range.kvs?.[0]?.mod_revision ?? 0));
    const body = JSON.stringify({
      compare: [
        { key: a, target: "MOD", result: "EQUAL", mod_revision: String(ra) },
        { key: b, target: "MOD", result: "EQUAL", mod_revision: String(rb) },
      ],
      success: [
        { request_put: { key: a, value: b64(benchValue(++ctx.seq)) } },
        { request_put: { key: b, value: b64(benchValue(++ctx.seq)) } },
      ],
    });
    const p = await c.request("POST", "/v3/kv/txn", body);
    if (p.status === 0) return httpBad(t, p);
    t.answered(p.status, p.ms, t.putLat);
    if (p.status !== 200) return httpBad(t, p);
    const res = JSON.parse(p.body);
    t.cycle(a, ra, res.succeeded === true, Number(res.header?.revision), null, g.ms + p.ms);
  },
};

function respBad(t, r) {
  if (r.error) t.networkError(r.error);
  else t.error("ERR", r.value instanceof RespError ? r.value.message : JSON.stringify(r.value));
}

const REDIS = {
  create: async (ctx, c, t, conn) => {
    const r = await c.command("SET", createKey(ctx, conn), benchValue(ctx.seq), "NX");
    if (r.error) return respBad(t, r);
    t.answered(r.value instanceof RespError ? "ERR" : "OK", r.ms, t.lat);
    if (r.value === "OK") t.ok += 1;
    else if (r.value === null) t.notOk += 1;
    else respBad(t, r);
  },
  get: async (ctx, c, t) => {
    const r = await c.command("HMGET", setKey(ctx), "v", "ver");
    if (r.error) return respBad(t, r);
    t.answered(r.value instanceof RespError ? "ERR" : "OK", r.ms, t.lat);
    if (!Array.isArray(r.value)) return respBad(t, r);
    if (r.value[0] !== null) t.ok += 1;
    else t.miss += 1;
  },
  readThenWrite: async (ctx, c, t, key) => {
    const g = await c.command("HMGET", key, "v", "ver");
    if (g.error) return respBad(t, g);
    t.answered(g.value instanceof RespError ? "ERR" : "OK", g.ms, t.getLat);
    if (!Array.isArray(g.value)) return respBad(t, g);
    if (g.value[1] === null) return void (t.miss += 1);
    const read = Number(g.value[1]);
    const p = await c.command("EVALSHA", REDIS_CAS_SHA, "1", key, g.value[1], benchValue(++ctx.seq));
    if (p.error) return respBad(t, p);
    t.answered(p.value instanceof RespError ? "ERR" : "OK", p.ms, t.putLat);
    if (!Array.isArray(p.value)) return respBad(t, p);
    const [won, version] = p.value;
    t.cycle(key, read, won === 1, version, won === 1 ? null : version, g.ms + p.ms);
  },
};

const OPS = { ours: OURS, etcd: ETCD, redis: REDIS };

/** Two fresh keys on different shards (the same shape as bench/wrk/common.lua pair_on_two_shards). */
function freshPair(ctx, conn) {
  const base = createKey(ctx, conn);
  const a = `${base}-a`;
  let i = 0;
  while (shardOf(`${base}-b${i}`, ctx.shards ?? 16) === shardOf(a, ctx.shards ?? 16)) i += 1;
  return [a, `${base}-b${i}`];
}

/** A transaction's answer: `yes` counts as ok, `no` as notOk (a collision), anything else an error. */
function txAnswer(t, r, yes, no, succeeded = () => true) {
  if (r.status === 0) return httpBad(t, r);
  t.answered(r.status, r.ms, t.lat);
  if (r.status === yes && succeeded(r)) t.ok += 1;
  else if (r.status === no || r.status === yes) t.notOk += 1;
  else httpBad(t, r);
}

async function etcdCreateTwo(c, t, keys, values) {
  const [a, b] = keys.map(b64);
  const body = JSON.stringify({
    compare: [a, b].map((key) => ({ key, target: "CREATE", result: "EQUAL", create_revision: "0" })),
    success: [{ request_put: { key: a, value: b64(values[0]) } }, { request_put: { key: b, value: b64(values[1]) } }],
  });
  const r = await c.request("POST", "/v3/kv/txn", body);
  txAnswer(t, r, 200, -1, (x) => JSON.parse(x.body).succeeded === true);
}

/** Workloads each kind of system runs. */
export function supports(kind, workload) {
  if (workload === "trivial" || workload === "trivial-node" || workload === "createrid") return kind === "ours";
  if (TX_WORKLOADS.includes(workload)) return kind !== "redis";
  return true;
}

/** wrk scripts for (kind, workload); everything else uses an in-Node generator. */
const WRK = {
  ours: {
    trivial: { script: "trivial.lua", urlPath: "/cluster/node-info", args: () => [] },
    create: { script: "create.lua", urlPath: "/", args: (ctx) => [DB, ctx.prefix], okIsCounted: true },
    createrid: { script: "create.lua", urlPath: "/", args: (ctx) => [DB, ctx.prefix, "raft-request-id"], okIsCounted: true },
    get: { script: "get.lua", urlPath: "/", args: (ctx) => [DB, "set", ctx.keys] },
    txcreate: { script: "tx-create.lua", urlPath: "/", args: (ctx) => [DB, ctx.prefix, ctx.shards ?? 16], okIsCounted: true },
    session: { script: "session.lua", urlPath: "/", args: (ctx) => [DB, ctx.prefix], okIsCounted: true },
  },
  etcd: {
    create: { script: "etcd-create.lua", urlPath: "/", args: (ctx) => ["-", ctx.prefix], okIsCounted: true },
    get: { script: "etcd-get.lua", urlPath: "/", args: (ctx) => ["-", "set", ctx.keys] },
    txcreate: { script: "etcd-tx2.lua", urlPath: "/", args: (ctx) => ["-", ctx.prefix, "pair"], okIsCounted: true },
    session: { script: "etcd-tx2.lua", urlPath: "/", args: (ctx) => ["-", ctx.prefix, "session"], okIsCounted: true },
  },
  redis: {},
};

/** The generator that drives (kind, workload): "wrk", "node-http" or "node-resp". */
export function generatorFor(kind, workload, tools) {
  if (tools.wrk && WRK[kind][workload]) return "wrk";
  return kind === "redis" ? "node-resp" : "node-http";
}

/**
 * Runs one cell: `conns` connections for `seconds` against ctx.port. ctx = { port, prefix, seq,
 * keys } (prefix makes created keys unique per cell). Returns the generator's result record.
 */
export function runCell(kind, workload, ctx, conns, seconds, tools) {
  const gen = generatorFor(kind, workload, tools);
  if (gen === "wrk") {
    const w = WRK[kind][workload];
    return runWrk({
      wrk: tools.wrk,
      port: ctx.port,
      conns,
      seconds,
      workload,
      script: w.script,
      urlPath: w.urlPath,
      args: w.args(ctx),
      okIsCounted: w.okIsCounted,
    });
  }
  const ops = OPS[kind];
  const base = workload === "trivial-node" ? "trivial" : workload;
  const op =
    base === "transfer"
      ? (c, t) => ops.transfer(ctx, c, t)
      : base === "cas"
        ? (c, t) => ops.readThenWrite(ctx, c, t, setKey(ctx))
        : base === "hot"
          ? (c, t) => ops.readThenWrite(ctx, c, t, "hot")
          : (c, t, i) => ops[base](ctx, c, t, i);
  if (gen === "node-resp") return runResp({ port: ctx.port, conns, seconds, workload, op });
  return runNodeHttp({ port: ctx.port, conns, seconds, workload, op });
}

// ------------------------------------------------------------------ pre-created keys

/**
 * Writes set-0 … set-<keys-1> and "hot" (value benchValue(i), version 1 for Redis), 64 at a time,
 * and checks a few. Returns { keys, seconds, retries }.
 */
export async function prefill(server, keys) {
  const t0 = Date.now();
  let retries = 0;
  const names = [...Array.from({ length: keys }, (_, i) => `set-${i}`), "hot"];
  const parallel = Math.min(64, names.length);
  let next = 0;
  const retry = async (what, fn) => {
    for (let attempt = 0; ; attempt += 1) {
      const err = await fn();
      if (!err) return;
      retries += 1;
      if (attempt >= 5) throw new Error(`prefill of ${what} on ${server.name} failed: ${err}`);
      await sleep(200);
    }
  };
  if (server.kind === "redis") {
    const conns = await Promise.all(Array.from({ length: parallel }, () => RespConnection.connect(server.port)));
    const load = await conns[0].command("SCRIPT", "LOAD", REDIS_CAS_SCRIPT);
    if (load.value !== REDIS_CAS_SHA) throw new Error(`redis SCRIPT LOAD answered ${JSON.stringify(load)}`);
    await Promise.all(
      conns.map(async (c) => {
        while (next < names.length) {
          const i = next++;
          await retry(names[i], async () => {
            const r = await c.command("HSET", names[i], "v", benchValue(i), "ver", "1");
            return r.value === 2 ? null : JSON.stringify(r.value ?? r.error);
          });
        }
      }),
    );
    const check = await conns[0].command("HMGET", "hot", "v", "ver");
    await Promise.all(conns.map((c) => c.close()));
    if (!Array.isArray(check.value) || check.value[1] !== "1") throw new Error(`redis prefill check: ${JSON.stringify(check)}`);
    return { keys, seconds: (Date.now() - t0) / 1000, retries };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const put =
    server.kind === "etcd"
      ? (key, i) => rawRequest(agent, server.port, "POST", "/v3/kv/put", JSON.stringify({ key: b64(key), value: b64(benchValue(i)) }))
      : (key, i) => rawRequest(agent, server.port, "PUT", `/databases/${DB}/cmpxchg?key=${key}&index=0`, `{"Object":${benchValue(i)}}`);
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < names.length) {
        const i = next++;
        await retry(names[i], async () => {
          const r = await put(names[i], i);
          return r.status === 200 ? null : `${r.status} ${r.error ?? ""} ${r.body.slice(0, 200)}`;
        });
      }
    }),
  );
  agent.destroy();
  for (const key of ["set-0", `set-${keys - 1}`, "hot"]) {
    const r =
      server.kind === "etcd"
        ? await rawRequest(undefined, server.port, "POST", "/v3/kv/range", JSON.stringify({ key: b64(key) }))
        : await rawRequest(undefined, server.port, "GET", `/databases/${DB}/cmpxchg?key=${key}`, null);
    const ok = r.status === 200 && (server.kind !== "etcd" || unb64(JSON.parse(r.body).kvs?.[0]?.value ?? "") !== "");
    if (!ok) throw new Error(`prefill check on ${server.name}: ${key} answered ${r.status} ${r.body.slice(0, 200)}`);
  }
  return { keys, seconds: (Date.now() - t0) / 1000, retries };
}

/** Warm-up (not recorded): connections, JIT, every shard object opened. */
export async function warmUp(kind, port, keys, tools) {
  const ctx = { port, prefix: `warm-${port}`, seq: 0, keys };
  if (kind === "ours") await runCell(kind, "trivial-node", ctx, 16, 1, tools);
  await runCell(kind, "cas", ctx, 16, 2, { ...tools, wrk: null });
}
