// The landing page and the health check: public, no data, and the page links what it promises.
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("GET / and GET /health", () => {
  it("serve a static landing page that links the Studio, the reference and the health check", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.headers.get("Content-Security-Policy")).toBe("default-src 'none'");
    const page = await res.text();
    for (const link of ["/studio", "/docs", "/openapi.json", "/health"]) expect(page).toContain(`href="${link}"`);
    expect(page).not.toContain("<script");
  });

  it("answer a liveness check", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ Status: "ok", ServerVersion: "7.1.2" });
  });
});
