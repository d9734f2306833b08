// HiLo ranges as RavenDB hands them out: the rules (core/hilo.ts), and over HTTP, where the state
// is the document Raven/Hilo/<tag>.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hiloCapacity, hiloTimestamp, returnRange, takeRange } from "../src/core/hilo";
import { coordinatorName } from "../src/core/names";
import { bulk, call, CLIENT_HEADERS, docPut, freshDb } from "./helpers";

describe("HiLo rules", () => {
  const now = Date.parse("2026-12-05T12:00:00Z");
  const ago = (seconds: number) => hiloTimestamp(now - seconds * 1000);

  it("sizes a range by how soon the client came back: twice within 30 s, half after a minute, 32 to 1,048,576", () => {
    expect(hiloCapacity(0, undefined, now)).toBe(32);
    expect(hiloCapacity(100, undefined, now)).toBe(100);
    expect(hiloCapacity(32, ago(5), now)).toBe(64);
    expect(hiloCapacity(1024 * 1024, ago(5), now)).toBe(1024 * 1024);
    expect(hiloCapacity(64, ago(45), now)).toBe(64);
    expect(hiloCapacity(64, ago(90), now)).toBe(32);
    expect(hiloCapacity(32, ago(90), now)).toBe(32);
    expect(hiloCapacity(64, "not a date", now)).toBe(64);
  });

  it("writes LastRangeAt as .NET's round-trip format, which it reads back", () => {
    expect(hiloTimestamp(now + 123)).toBe("2026-12-05T12:00:00.1230000Z");
  });

  it("takes a range above both the document's Max and the client's lastMax, keeping every other field", () => {
    expect(takeRange(null, 32, 0)).toEqual({ oldMax: 0, body: '{"@metadata":{"@collection":"@hilo"},"Max":32}' });
    expect(takeRange(null, 32, 10).oldMax).toBe(10);
    const doc = '{"Max":64,"@metadata":{"@collection":"@hilo","Raven-Node-Type":"HiloDoc"}}';
    expect(takeRange(doc, 32, 0)).toEqual({
      oldMax: 64,
      body: '{"Max":96,"@metadata":{"@collection":"@hilo","Raven-Node-Type":"HiloDoc"}}',
    });
    expect(takeRange(doc, 32, 100).oldMax).toBe(100);
    expect(takeRange('{"Max":"x"}', 32, 0).oldMax).toBe(0);
    // A lastMax near the end of exact integers (any writer can send one) is refused, not rounded.
    expect(takeRange(null, 32, Number.MAX_SAFE_INTEGER - 10).body).toBeNull();
    expect(takeRange('{"Max":123456789012345678901234567890}', 32, 0).body).toBeNull();
  });

  it("takes back a range's unused end only when nothing was handed out after it", () => {
    expect(returnRange('{"Max":64}', 64, 40)).toBe('{"Max":40}');
    expect(returnRange('{"Max":96}', 64, 40)).toBeNull();
    expect(returnRange('{"Max":64}', 64, 65)).toBeNull();
  });
});

describe("HiLo over HTTP", () => {
  const next = async (db: string, query = "") => {
    const res = await call(`/databases/${db}/hilo/next?tag=users&lastMax=0&identityPartsSeparator=/${query}`);
    return { status: res.status, json: (await res.json()) as any };
  };
  const hiloDoc = async (db: string) => (await (await call(`/databases/${db}/docs?id=Raven%2FHilo%2Fusers`)).json()) as any;

  it("continues above a Raven/Hilo document the user wrote, keeps its Max there, and doubles a range asked for soon", async () => {
    const db = freshDb("hilo");
    // A database moved from RavenDB carries its HiLo documents; users/1-A … users/64-A exist.
    const seeded = await bulk(db, [docPut("Raven/Hilo/users", { Max: 64 }, "@hilo")], { clusterWide: false });
    expect(seeded.status).toBe(201);
    const first = await next(db);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ Prefix: "users/", Low: 65, High: 96, LastSize: 32, ServerTag: "A" });
    const doc = (await hiloDoc(db)).Results[0];
    expect(doc.Max).toBe(96);
    expect(doc["@metadata"]).toMatchObject({ "@collection": "@hilo", "@id": "Raven/Hilo/users" });
    // The client comes back at once with the range's size and time: twice as many ids.
    const second = await next(db, `&lastBatchSize=32&lastRangeAt=${encodeURIComponent(first.json.LastRangeAt)}`);
    expect(second.json).toMatchObject({ Low: 97, High: 160, LastSize: 64 });
    expect((await hiloDoc(db)).Results[0].Max).toBe(160);
    // Giving back the unused end lowers Max only while nothing came after the range.
    const back = await call(`/databases/${db}/hilo/return?tag=users&end=160&last=100`, { method: "PUT", headers: CLIENT_HEADERS });
    expect(back.status).toBe(204);
    expect((await hiloDoc(db)).Results[0].Max).toBe(100);
    await call(`/databases/${db}/hilo/return?tag=users&end=160&last=120`, { method: "PUT", headers: CLIENT_HEADERS });
    expect((await hiloDoc(db)).Results[0].Max).toBe(100);
    expect((await next(db)).json.Low).toBe(101);
  });

  it("starts a tag's first document above the ranges the coordinator handed out before HiLo moved to documents", async () => {
    const db = freshDb("hilo");
    await call(`/databases/${db}/hilo/next?tag=warmup`); // coordinator 0 exists now (asked for a first document)
    await runInDurableObject(env.COORDINATOR.getByName(coordinatorName(db, 0)), (_, state) => {
      state.storage.sql.exec("INSERT INTO hilo (tag, max, last_range_at) VALUES ('users', 4096, '2026-01-01T00:00:00.000Z')");
    });
    expect((await next(db)).json).toMatchObject({ Low: 4097, High: 4128 });
    expect((await hiloDoc(db)).Results[0].Max).toBe(4128);
  });

  it("refuses a range past the largest exact integer, writing nothing", async () => {
    const db = freshDb("hilo");
    const res = await call(`/databases/${db}/hilo/next?tag=users&lastMax=${Number.MAX_SAFE_INTEGER - 10}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).Message).toContain("largest id");
    expect((await call(`/databases/${db}/docs?id=Raven%2FHilo%2Fusers`)).status).toBe(404);
  });

  it("refuses a tag whose document id could not be stored", async () => {
    const db = freshDb("hilo");
    const res = await call(`/databases/${db}/hilo/next?tag=${"t".repeat(600)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).Type).toBe("System.ArgumentException");
  });
});
