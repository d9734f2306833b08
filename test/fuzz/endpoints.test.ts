// Fuzzing every endpoint's inputs with fast-check: never a 500, never an error without
// RavenDB's envelope, never a crashed object, never a partial write.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, CLIENT_HEADERS, freshDb } from "../helpers";

/** Figures for README's reliability section. */
const FUZZ_RUNS = 150;

async function checkResponse(res: Response, context: string) {
  expect(res.status, context).toBeLessThan(500);
  const text = await res.text();
  // RavenDB's one bodiless error: a single missing key or document.
  if (res.status === 404 && text === "") return;
  if (res.status >= 400) {
    const envelope = JSON.parse(text) as Record<string, unknown>;
    for (const field of ["Url", "Type", "Message", "Error"]) expect(typeof envelope[field], `${context}: ${field}`).toBe("string");
  } else if (text !== "") {
    JSON.parse(text);
  }
}

/** Everything stored in the database, as a sorted list of key=index. */
async function contents(db: string) {
  const items = (await (await call(`/databases/${db}/cmpxchg`)).json()) as { Results: { Key: string; Index: number }[] };
  const docs = (await (
    await call(`/databases/${db}/queries`, { method: "POST", body: JSON.stringify({ Query: "from @all_docs" }) })
  ).json()) as { Results: unknown[] };
  return { items: items.Results.map((r) => `${r.Key}=${r.Index}`).sort(), docs: docs.Results.length };
}

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("", " ", "a".repeat(513), "é".repeat(300), "rvn-atomic/x", "k/", "%", "\u0000"),
);
const anyIndex = fc.oneof(
  fc.constantFrom("0", "-1", "1", "abc", "1.5", "", "99999999999999999999", "+3", " 2"),
  fc.integer().map(String),
  fc.string(),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const anyBody = fc.oneof(
  fc.string(),
  anyJson.map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        Object: anyJson,
        "@metadata": fc.oneof(
          anyJson,
          fc.record({
            "@expires": fc.oneof(
              fc.string(),
              fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
              anyJson,
            ),
          }),
        ),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);

describe("fuzzed compare-exchange requests", () => {
  it("PUT and DELETE with arbitrary keys, indexes and bodies", async () => {
    const db = freshDb("fuzz");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("PUT", "DELETE", "GET"), anyText, anyIndex, anyBody, async (method, key, index, body) => {
        const path = `/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}&index=${encodeURIComponent(index)}&raft-request-id=${crypto.randomUUID()}`;
        const res = await call(path, { method, body: method === "PUT" ? body : undefined });
        await checkResponse(res, `${method} ${path} ${body.slice(0, 80)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
    // The shards are still alive and answering.
    expect((await call(`/databases/${db}/cmpxchg?key=alive&index=0`, { method: "PUT", body: '{"Object":1}' })).status).toBe(200);
  }, 120_000);

  it("listing with arbitrary paging values and continuation tokens", async () => {
    const db = freshDb("fuzz");
    await fc.assert(
      fc.asyncProperty(
        anyText,
        anyIndex,
        anyIndex,
        fc.oneof(fc.constant(undefined), fc.string(), fc.base64String()),
        async (prefix, start, pageSize, token) => {
          const query = new URLSearchParams({ startsWith: prefix, start, pageSize });
          if (token !== undefined) query.set("continuationToken", token);
          await checkResponse(await call(`/databases/${db}/cmpxchg?${query}`), query.toString());
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  }, 120_000);

  it("database names in paths and topology", async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (name) => {
        await checkResponse(await call(`/databases/${encodeURIComponent(name)}/cmpxchg?key=a`), name);
        await checkResponse(await call(`/topology?name=${encodeURIComponent(name)}`), name);
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, 120_000);
});

describe("fuzzed queries", () => {
  it("arbitrary RQL-ish strings and parameters", async () => {
    const db = freshDb("fuzz");
    const words = fc.constantFrom(
      "from",
      "Users",
      "@all_docs",
      "where",
      "id()",
      "==",
      "=",
      "!=",
      "and",
      "or",
      "(",
      ")",
      "cmpxchg(",
      "'k'",
      "$p",
      "limit",
      "1",
      ",",
      "offset",
      "include",
      "name",
      "order by",
      "select",
      '"x"',
      "null",
      "true",
      ".",
      "[",
    );
    const rql = fc.oneof(
      fc.string(),
      fc.array(words, { maxLength: 12 }).map((w) => w.join(" ")),
    );
    await fc.assert(
      fc.asyncProperty(rql, fc.dictionary(fc.constantFrom("p", "k", "q"), anyJson), async (query, parameters) => {
        const res = await call(`/databases/${db}/queries`, {
          method: "POST",
          body: JSON.stringify({ Query: query, QueryParameters: parameters }),
        });
        await checkResponse(res, query);
      }),
      { numRuns: FUZZ_RUNS },
    );
  }, 120_000);
});

describe("fuzzed batches", () => {
  const command = fc.oneof(
    fc.record({
      Id: anyText,
      Document: fc.oneof(fc.record({ Object: anyJson }), anyJson),
      Index: fc.oneof(fc.nat(5), anyJson),
      Type: fc.constant("CompareExchangePUT"),
    }),
    fc.record({ Id: anyText, Index: fc.oneof(fc.nat(5), anyJson), Type: fc.constant("CompareExchangeDELETE") }),
    // Our extension: a condition that writes nothing.
    fc.record({ Id: anyText, Index: fc.oneof(fc.nat(5), anyJson), Type: fc.constant("CompareExchangeCHECK") }),
    fc.record({
      Id: anyText,
      ChangeVector: fc.oneof(fc.constant(null), fc.string()),
      Document: fc.oneof(fc.record({ n: fc.integer(), "@metadata": fc.record({ "@collection": fc.string() }) }), anyJson),
      Type: fc.constant("PUT"),
    }),
    fc.record({ Id: anyText, ChangeVector: fc.constant(null), Type: fc.constantFrom("DELETE", "PATCH", "Counters", "nonsense") }),
    anyJson,
  );

  it("bulk_docs is all or nothing whatever the commands", async () => {
    const db = freshDb("fuzz");
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 6 }), fc.boolean(), async (commands, clusterWide) => {
        const before = await contents(db);
        const body = JSON.stringify(clusterWide ? { Commands: commands, TransactionMode: "ClusterWide" } : { Commands: commands });
        const res = await call(`/databases/${db}/bulk_docs?raft-request-id=${crypto.randomUUID()}`, {
          method: "POST",
          headers: CLIENT_HEADERS,
          body,
        });
        const status = res.status;
        await checkResponse(res, body.slice(0, 200));
        // A refused batch changed nothing at all.
        if (status >= 400) expect(await contents(db)).toEqual(before);
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
