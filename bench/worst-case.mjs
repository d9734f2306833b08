#!/usr/bin/env node
/**
 * A normal read while the worst requests run (README: Security, "bounded work"): seeds
 * BENCH_ITEMS (200) items of 100 KB in a fresh database of a running server, then measures the
 * latency of a single-key GET — alone, and again while BENCH_ATTACKERS (4) loops send the
 * expensive requests the security issue reported: a multi_get of 100 full listings, full
 * listings with pageSize=0, an RQL with 1,000 `or`s over the collection, a 200-level nested
 * value (refused). Prints medians and p99s, the ratio to the baseline of the same run, and what
 * the expensive requests were answered. Targets 127.0.0.1 only and stops by itself.
 *
 *   npm run serve &                    # the production-like server (or npm run dev)
 *   node bench/worst-case.mjs          # BENCH_URL (http://127.0.0.1:8787), BENCH_SAMPLES (300)
 */
const url = process.env.BENCH_URL || "http://127.0.0.1:8787";
if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(url)) throw new Error("BENCH_URL must be a loopback address");
const items = Number(process.env.BENCH_ITEMS || 200);
const samples = Number(process.env.BENCH_SAMPLES || 300);
const attackers = Number(process.env.BENCH_ATTACKERS || 4);
const db = `bench_worst_${Date.now()}`;
const base = `${url}/databases/${db}`;

const value = JSON.stringify({ Object: "x".repeat(100 * 1024) });
for (let i = 0; i < items; i += 20) {
  await Promise.all(
    Array.from({ length: Math.min(20, items - i) }, (_, j) =>
      fetch(`${base}/cmpxchg?key=big/${i + j}&index=0`, { method: "PUT", body: value }).then((r) => r.arrayBuffer()),
    ),
  );
}
await fetch(`${base}/cmpxchg?key=probe&index=0`, { method: "PUT", body: '{"Object":1}' }).then((r) => r.arrayBuffer());

async function probe(n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(`${base}/cmpxchg?key=probe`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`probe answered ${res.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n / 2)], p99: times[Math.floor(n * 0.99)] };
}

const worst = [
  [
    "multi_get: 100 full listings",
    () =>
      fetch(`${base}/multi_get`, {
        method: "POST",
        body: JSON.stringify({
          Requests: Array.from({ length: 100 }, () => ({ Url: `/databases/${db}/cmpxchg`, Query: "?startsWith=&pageSize=0" })),
        }),
      }),
  ],
  ["full listing, pageSize=0", () => fetch(`${base}/cmpxchg?startsWith=&pageSize=0`)],
  [
    "RQL with 1,000 ors",
    () =>
      fetch(`${base}/queries`, {
        method: "POST",
        body: JSON.stringify({ Query: `from Items where ${Array.from({ length: 1000 }, (_, i) => `n = ${i}`).join(" or ")}` }),
      }),
  ],
  [
    "value nested 200 levels",
    () => fetch(`${base}/cmpxchg?key=deep&index=0`, { method: "PUT", body: `{"Object":${"[".repeat(200)}${"]".repeat(200)}}` }),
  ],
];
const answers = new Map(worst.map(([label]) => [label, { statuses: new Map(), times: [], bytes: 0 }]));

await probe(20); // warm-up
const alone = await probe(samples);
let running = true;
const loops = Array.from({ length: attackers }, async (_, a) => {
  for (let k = a; running; k++) {
    const [label, send] = worst[k % worst.length];
    const started = performance.now();
    const res = await send();
    const body = await res.arrayBuffer();
    const record = answers.get(label);
    record.statuses.set(res.status, (record.statuses.get(res.status) ?? 0) + 1);
    record.times.push(performance.now() - started);
    record.bytes = Math.max(record.bytes, body.byteLength);
  }
});
const underLoad = await probe(samples);
running = false;
await Promise.all(loops);

const ms = (x) => x.toFixed(1);
console.log(`${items} items of 100 KB; ${samples} probe GETs alone and beside ${attackers} loops of worst-case requests\n`);
console.log("| probe GET | p50 ms | p99 ms |\n|---|---|---|");
console.log(`| alone | ${ms(alone.p50)} | ${ms(alone.p99)} |`);
console.log(`| beside the worst requests | ${ms(underLoad.p50)} | ${ms(underLoad.p99)} |`);
console.log(`| ratio | ${(underLoad.p50 / alone.p50).toFixed(2)}× | ${(underLoad.p99 / alone.p99).toFixed(2)}× |\n`);
console.log("| worst request | answers | median ms | largest answer |\n|---|---|---|---|");
for (const [label, r] of answers) {
  const times = [...r.times].sort((a, b) => a - b);
  const statuses = [...r.statuses].map(([s, n]) => `${n}× ${s}`).join(", ");
  console.log(
    `| ${label} | ${statuses} | ${times.length ? ms(times[Math.floor(times.length / 2)]) : "-"} | ${(r.bytes / 1024).toFixed(0)} KB |`,
  );
}
