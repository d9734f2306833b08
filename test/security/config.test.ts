// Configuration errors fail closed with a generic 503 (the detail goes to the operator's log),
// and the topology never names an address taken from the request when authentication is on.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";

const fetchWith = (vars: Record<string, string>, path: string, headers: Record<string, string> = {}) =>
  app.fetch(new Request(`http://attacker.example:443${path}`, { headers }), { ...env, ...vars } as Env);

describe("configuration errors", () => {
  it("an AUTH_TOKENS the server cannot parse answers a generic 503 to everyone", async () => {
    for (const tokens of ["{not json", '[{"sha256":"zz","database":"*","role":"read"}]']) {
      const res = await fetchWith({ AUTH: "on", AUTH_TOKENS: tokens }, "/databases/a/cmpxchg?key=x");
      expect(res.status).toBe(503);
      const body = (await res.json()) as { Message: string };
      expect(body.Message).toMatch(/misconfigured/);
      expect(body.Message).not.toMatch(/AUTH_TOKENS|sha256|JSON/);
    }
  });

  it("with AUTH on, the topology names PUBLIC_URL, never the Host header; without it, a generic 503", async () => {
    const tokens = JSON.stringify([{ sha256: await sha256("t"), database: "*", role: "read" }]);
    const auth = { Authorization: "Bearer t" };
    const configured = await fetchWith(
      { AUTH: "on", AUTH_TOKENS: tokens, PUBLIC_URL: "https://cmpxchg.example.com/" },
      "/topology?name=a",
      auth,
    );
    expect(((await configured.json()) as { Nodes: { Url: string }[] }).Nodes[0]!.Url).toBe("https://cmpxchg.example.com");
    const cluster = await fetchWith(
      { AUTH: "on", AUTH_TOKENS: tokens, PUBLIC_URL: "https://cmpxchg.example.com" },
      "/cluster/topology",
      auth,
    );
    expect(JSON.stringify(await cluster.json())).not.toContain("attacker.example");
    const broken: Record<string, string>[] = [{}, { PUBLIC_URL: "not a url" }, { PUBLIC_URL: "ftp://x" }];
    for (const vars of broken) {
      const res = await fetchWith({ AUTH: "on", AUTH_TOKENS: tokens, ...vars }, "/topology?name=a", auth);
      expect(res.status).toBe(503);
      expect(JSON.stringify(await res.json())).not.toContain("attacker.example");
    }
    // Local development (AUTH off) follows the request, so a client can reach whatever port dev uses.
    const dev = await fetchWith({ AUTH: "off" }, "/topology?name=a");
    expect(((await dev.json()) as { Nodes: { Url: string }[] }).Nodes[0]!.Url).toBe("http://attacker.example:443");
  });
});

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
