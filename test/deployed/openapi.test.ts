// The API description is public under authentication (it holds no data); data routes are not.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /openapi.json, /docs and its script with AUTH on", () => {
  it("answers without a token; a data route still needs one", async () => {
    const doc = await exports.default.fetch(new Request("http://cmpxchg.test/openapi.json"));
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe("3.1.0");
    const page = await exports.default.fetch(new Request("http://cmpxchg.test/docs"));
    await page.arrayBuffer();
    expect(page.status).toBe(200);
    const script = await exports.default.fetch(new Request("http://cmpxchg.test/docs/scalar.js"));
    await script.arrayBuffer();
    expect(script.status).toBe(200);
    const data = await exports.default.fetch(new Request("http://cmpxchg.test/databases/orders/cmpxchg?key=a"));
    await data.arrayBuffer();
    expect([401, 403]).toContain(data.status);
  });
});
