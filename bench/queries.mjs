#!/usr/bin/env node
/**
 * Query latency over a scanned collection: seeds BENCH_DOCS (20,000) documents in a fresh database
 * of a running server, then times each query BENCH_RUNS (5) times and prints the median. Every
 * query here scans the whole collection (TotalResults counts every match), so the figures show the
 * cost of the scan and of keeping the best `offset + limit` matches for `order by`.
 *
 *   npm run dev &                      # or any running server
 *   node bench/queries.mjs             # BENCH_URL (http://127.0.0.1:8787), BENCH_DOCS, BENCH_RUNS
 */
const url = process.env.BENCH_URL || "http://127.0.0.1:8787";
const docs = Number(process.env.BENCH_DOCS || 20000);
const runs = Number(process.env.BENCH_RUNS || 5);
const base = `${url}/databases/bench_queries_${Date.now()}`;

const post = (path, body) =>
  fetch(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

for (let i = 0; i < docs; i += 500) {
  const Commands = Array.from({ length: Math.min(500, docs - i) }, (_, j) => {
    const n = i + j;
    return {
      Type: "PUT",
      Id: `items/${n}`,
      Document: { v: (n * 7919) % docs, name: `n${n % 977}`, "@metadata": { "@collection": "Items" } },
    };
  });
  const res = await post("/bulk_docs", { Commands });
  if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
}

const queries = [
  ["no order, limit 10", "from Items limit 10"],
  ["order by v as long desc, limit 10", "from Items order by v as long desc limit 10"],
  ["order by name, limit 1000 offset 1000 (window 2000)", "from Items order by name limit 1000 offset 1000"],
  ["where v < $p0 (100 matches), order by v as long, limit 10", "from Items where v < $p0 order by v as long limit 10", { p0: 100 }],
];
// One unmeasured scan first: the shards' first reads after seeding (cold pages, JIT) are slower.
await post("/queries", { Query: "from Items limit 1" });
console.log(`${docs} documents, ${runs} runs each, median`);
console.log("| query | ms | TotalResults |\n|---|---|---|");
for (const [label, Query, QueryParameters = {}] of queries) {
  const times = [];
  let total;
  for (let k = 0; k < runs; k++) {
    const started = performance.now();
    const res = await post("/queries", { Query, QueryParameters });
    const json = await res.json();
    if (res.status !== 200) throw new Error(`${label}: ${res.status} ${JSON.stringify(json)}`);
    times.push(performance.now() - started);
    total = json.TotalResults;
  }
  times.sort((a, b) => a - b);
  console.log(`| ${label} | ${Math.round(times[Math.floor(runs / 2)])} | ${total} |`);
}
