// DATABASES = "explicit" (the production setting): only created databases exist.
import { describe, expect, it } from "vitest";
import { call, freshDb, putItem } from "../helpers";

describe("explicit databases", () => {
  it("answer DatabaseDoesNotExistException with Database-Missing until created", async () => {
    const db = freshDb("exp");
    for (const path of [`/topology?name=${db}`, `/databases/${db}/cmpxchg?key=a`]) {
      const res = await call(path);
      expect(res.status).toBe(503);
      expect(res.headers.get("Database-Missing")).toBe(db);
      expect(((await res.json()) as any).Type).toBe("Raven.Client.Exceptions.Database.DatabaseDoesNotExistException");
    }
    const write = await call(`/databases/${db}/cmpxchg?key=a&index=0`, { method: "PUT", body: '{"Object":1}' });
    expect(write.status).toBe(503);
    const created = await call(`/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db }) });
    expect(created.status).toBe(201);
    expect((await putItem(db, "a", 0, 1)).Successful).toBe(true);
    expect((await call(`/topology?name=${db.toUpperCase()}`)).status).toBe(200);
  });

  it("stop existing when deleted", async () => {
    const db = freshDb("exp");
    await call(`/admin/databases?name=${db}`, { method: "PUT", body: JSON.stringify({ DatabaseName: db }) });
    expect((await putItem(db, "a", 0, 1)).Successful).toBe(true);
    await call("/admin/databases", { method: "DELETE", body: JSON.stringify({ DatabaseNames: [db] }) });
    expect((await call(`/databases/${db}/cmpxchg?key=a`)).status).toBe(503);
  });
});
