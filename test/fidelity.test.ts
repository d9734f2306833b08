// Big numbers and exact decimals keep their digits through every write path (issue 16.1): the
// single PUT, bulk_docs single-node and cluster-wide, the document PUT, and document reads.
import { describe, expect, it } from "vitest";
import { call, CLIENT_HEADERS, freshDb } from "./helpers";

const BIG = "12345678901234567890123";
const EXACT = `{"n":${BIG},"d":0.10000000000000000555,"e":1.50,"small":42,"neg":-0}`;

/** The stored `Object` of a compare-exchange item, as the text the server answers. */
async function storedText(db: string, key: string): Promise<string> {
  const res = await call(`/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}`);
  expect(res.status).toBe(200);
  return await res.text();
}

describe("number fidelity", () => {
  it("a single PUT keeps every digit", async () => {
    const db = freshDb("fid");
    const res = await call(`/databases/${db}/cmpxchg?key=big/0&index=0`, { method: "PUT", body: `{"Object":${EXACT}}` });
    expect(res.status).toBe(200);
    expect(await storedText(db, "big/0")).toContain(`"Object":${EXACT}`);
  });

  it("a cluster-wide CompareExchangePUT keeps every digit", async () => {
    const db = freshDb("fid");
    const body = `{"Commands":[{"Type":"CompareExchangePUT","Id":"big/1","Index":0,"Document":{"Object":${EXACT}}}],"TransactionMode":"ClusterWide"}`;
    const res = await call(`/databases/${db}/bulk_docs`, { method: "POST", headers: CLIENT_HEADERS, body });
    expect(res.status).toBe(201);
    expect(await storedText(db, "big/1")).toContain(`"Object":${EXACT}`);
  });

  it("stores the same text for the same value whichever path wrote it", async () => {
    const db = freshDb("fid");
    const value = `{ "Object" : ${EXACT} , "@metadata" : { "k" : 1 } }`;
    await call(`/databases/${db}/cmpxchg?key=same/a&index=0`, { method: "PUT", body: value });
    const body = `{"Commands":[{"Type":"CompareExchangePUT","Id":"same/b","Index":0,"Document":${value}}],"TransactionMode":"ClusterWide"}`;
    await call(`/databases/${db}/bulk_docs`, { method: "POST", headers: CLIENT_HEADERS, body });
    const a = JSON.stringify((JSON.parse(await storedText(db, "same/a")) as any).Results[0].Value);
    const b = JSON.stringify((JSON.parse(await storedText(db, "same/b")) as any).Results[0].Value);
    expect(a).toBe(b);
    const textA = (await storedText(db, "same/a")).replace('"same/a"', "K");
    const textB = (await storedText(db, "same/b")).replace('"same/b"', "K").replace(/"Index":\d+/, '"Index":1');
    expect(textA).toBe(textB);
  });

  it.each([
    ["single-node", {}],
    ["cluster-wide", { TransactionMode: "ClusterWide" }],
  ])("a %s document PUT keeps every digit, and a load returns them", async (_label, mode) => {
    const db = freshDb("fid");
    const body = `{"Commands":[{"Type":"PUT","Id":"users/1","ChangeVector":null,"Document":{"n":${BIG},"e":1.50,"@metadata":{"@collection":"Users"}}}]${
      "TransactionMode" in mode ? ',"TransactionMode":"ClusterWide"' : ""
    }}`;
    const res = await call(`/databases/${db}/bulk_docs`, { method: "POST", headers: CLIENT_HEADERS, body });
    expect(res.status).toBe(201);
    const loaded = await (await call(`/databases/${db}/docs?id=users/1`)).text();
    expect(loaded).toContain(`"n":${BIG},"e":1.50,`);
  });

  it("PUT /docs keeps every digit", async () => {
    const db = freshDb("fid");
    const res = await call(`/databases/${db}/docs?id=users/2`, { method: "PUT", body: `{"n":${BIG},"@metadata":{"@collection":"Users"}}` });
    expect(res.status).toBe(201);
    expect(await (await call(`/databases/${db}/docs?id=users/2`)).text()).toContain(`"n":${BIG}`);
  });

  it("refuses an index that is not an exact integer, in the body as in the query string", async () => {
    const db = freshDb("fid");
    for (const index of ["1.0", "1e3", "9007199254740993"]) {
      const body = `{"Commands":[{"Type":"CompareExchangePUT","Id":"i/1","Index":${index},"Document":{"Object":1}}],"TransactionMode":"ClusterWide"}`;
      const res = await call(`/databases/${db}/bulk_docs`, { method: "POST", headers: CLIENT_HEADERS, body });
      expect([index, res.status]).toEqual([index, 400]);
      const put = await call(`/databases/${db}/cmpxchg?key=i/2&index=${index}`, { method: "PUT", body: '{"Object":1}' });
      expect([index, put.status]).toEqual([index, 400]);
    }
  });
});

describe("the edge client uses the same validator and encoder", () => {
  it("writes bigints and kept numbers exactly, and reads them back with exactNumbers", async () => {
    const { clientFor } = await import("./client/support");
    const { JsonNumber, encodeJson } = await import("../src/client");
    const db = freshDb("fidc");
    const client = clientFor(db, { exactNumbers: true });
    const created = await client.create("c/1", { n: 12345678901234567890123n, d: new JsonNumber("1.50") });
    expect(created.successful).toBe(true);
    expect(await storedText(db, "c/1")).toContain(`"Object":{"n":${BIG},"d":1.50}`);
    const item = await client.get<{ n: unknown }>("c/1");
    expect(item!.value.n).toBeInstanceOf(JsonNumber);
    // Read, changed, written back: the digits survive.
    const updated = await client.put("c/1", { ...item!.value, more: 1 }, item!.index);
    expect(updated.successful).toBe(true);
    expect(encodeJson((await client.get("c/1"))!.value)).toBe(`{"n":${BIG},"d":1.50,"more":1}`);
    await client
      .transaction()
      .create("c/2", { n: 10n ** 22n })
      .commit();
    expect(await storedText(db, "c/2")).toContain(`"Object":{"n":10000000000000000000000}`);
  });

  it("refuses before sending what the server would refuse, with the server's exception", async () => {
    const { clientFor, thrown } = await import("./client/support");
    const { FormatException, ArgumentException } = await import("../src/client");
    let requests = 0;
    const client = clientFor(freshDb("fidc"), {
      fetch: async () => {
        requests++;
        return new Response("{}");
      },
    });
    const expired = await thrown(() => client.create("c/3", 1, { "@expires": "soon" }));
    expect(expired).toBeInstanceOf(FormatException);
    expect((expired as Error).message).toContain("@expires should contain date");
    expect(await thrown(() => client.put("c/3", 1, 1.5))).toBeInstanceOf(ArgumentException);
    expect(requests).toBe(0);
  });
});
