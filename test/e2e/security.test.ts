/// <reference types="node" />
/**
 * The attacker's view, over a real socket against `wrangler dev` with authentication on: paths
 * sent exactly as written (like curl --path-as-is — fetch would normalise them first), a Host
 * header of the attacker's choosing, and a chunked body with no Content-Length.
 */
import { createHash } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { printServerLogsOnFailure, startWranglerDev, type WranglerDev } from "./wrangler-dev";

const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
const TOKENS = [
  { sha256: sha256("admin-token"), database: "*", role: "admin" },
  { sha256: sha256("read-a-token"), database: "dbA", role: "read" },
  { sha256: sha256("read-star-token"), database: "*", role: "read" },
];
const PUBLIC_URL = "https://cmpxchg.example.com";

let server: WranglerDev | undefined;
beforeAll(async () => {
  server = await startWranglerDev({ vars: { AUTH: "on", AUTH_TOKENS: JSON.stringify(TOKENS), PUBLIC_URL } });
});
printServerLogsOnFailure(() => server);
afterAll(async () => {
  await server?.stop();
});

interface RawAnswer {
  /** 0 when no status line arrived (the connection was reset first). */
  status: number;
  head: string;
  body: string;
  /** Body bytes the client had written when the answer arrived or the connection ended. */
  sentBeforeAnswer: number;
  reset: boolean;
}

/**
 * One HTTP/1.1 request with the path as given. A `chunks` body streams chunked until the server
 * answers (or all chunks are sent); the socket closes after the answer.
 */
function raw(
  method: string,
  path: string,
  opts: { token?: string; host?: string; body?: string; chunks?: { size: number; count: number } } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(server!.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = "";
    let sent = 0;
    let answered = false;
    let sentBeforeAnswer = -1;
    let reset = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${method} ${path} within 60 s`));
    }, 60_000);
    const headers = [
      `${method} ${path} HTTP/1.1`,
      `Host: ${opts.host ?? `${hostname}:${port}`}`,
      "Connection: close",
      ...(opts.token ? [`Authorization: Bearer ${opts.token}`] : []),
      ...(opts.body !== undefined ? [`Content-Length: ${Buffer.byteLength(opts.body)}`, "Content-Type: application/json"] : []),
      ...(opts.chunks ? ["Transfer-Encoding: chunked"] : []),
    ];
    socket.on("connect", async () => {
      socket.write(`${headers.join("\r\n")}\r\n\r\n`);
      if (opts.body !== undefined) socket.write(opts.body);
      if (opts.chunks) {
        const chunk = Buffer.alloc(opts.chunks.size, 0x20);
        for (let i = 0; i < opts.chunks.count && !answered && !socket.destroyed; i++) {
          socket.write(`${chunk.length.toString(16)}\r\n`);
          const flushed = socket.write(Buffer.concat([chunk, Buffer.from("\r\n")]));
          sent += chunk.length;
          if (!flushed) await new Promise((r) => socket.once("drain", r));
        }
        if (!answered && !socket.destroyed) socket.write("0\r\n\r\n");
      }
    });
    socket.on("data", (data) => {
      if (!answered) {
        answered = true;
        sentBeforeAnswer = sent;
      }
      received += data.toString("utf8");
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // The server may close while we still write: it stopped reading.
      if (err.code === "ECONNRESET" || err.code === "EPIPE") reset = true;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const [head = "", ...rest] = received.split("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: rest.join("\r\n\r\n"), sentBeforeAnswer: sentBeforeAnswer < 0 ? sent : sentBeforeAnswer, reset });
    });
  });
}

describe("authorization over the wire, paths as written", () => {
  test("a read token of dbA cannot reach dbB through dot segments or encodings", async () => {
    const put = await raw("PUT", "/databases/dbB/cmpxchg?key=secretB&index=0", { token: "admin-token", body: '{"Object":"the secret"}' });
    expect(put.status).toBe(200);
    for (const path of [
      "/databases/dbA/../dbB/cmpxchg?key=secretB",
      "/databases/dbA/%2e%2e/dbB/cmpxchg?key=secretB",
      "/databases/dbA/%2E%2E/dbB/cmpxchg?key=secretB",
      "/databases/dbA/./../dbB/cmpxchg?key=secretB",
      "/databases/dbA/../../databases",
      "/databases/dbA/..%2fdbB/cmpxchg?key=secretB",
      "//databases/dbB/cmpxchg?key=secretB",
      "/databases/db%42/cmpxchg?key=secretB",
    ]) {
      const res = await raw("GET", path, { token: "read-a-token" });
      expect([400, 403, 404], `${path} → ${res.status}`).toContain(res.status);
      expect(res.body, path).not.toContain("the secret");
    }
    const own = await raw("GET", "/databases/dbA/cmpxchg?key=secretB", { token: "read-a-token" });
    expect(own.status).toBe(404);
  });

  test("a read-everything token cannot administer or write through encoded spellings", async () => {
    for (const [method, path, body] of [
      ["PUT", "/%61dmin/databases?name=evil", "{}"],
      ["DELETE", "/%61dmin/databases", '{"DatabaseNames":["dbB"]}'],
      ["PUT", "/d%61tabases/dbB/cmpxchg?key=pwned&index=0", '{"Object":1}'],
      [
        "POST",
        "/databases/dbB/bulk_docs",
        '{"Commands":[{"Type":"CompareExchangePUT","Id":"pwned","Index":0,"Document":{"Object":1}}],"TransactionMode":"ClusterWide"}',
      ],
      ["GET", "/databases/dbA/hil%6f/next?tag=users", undefined],
    ] as const) {
      const res = await raw(method, path, { token: "read-star-token", ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    const secret = await raw("GET", "/databases/dbB/cmpxchg?key=pwned", { token: "admin-token" });
    expect(secret.status).toBe(404);
  });

  test("no credential: 401 with a Bearer challenge, also on paths no route serves", async () => {
    for (const path of ["/databases/dbA/cmpxchg?key=x", "/nowhere", "/%61dmin/databases"]) {
      const res = await raw("GET", path);
      expect(res.status, path).toBe(401);
      expect(res.head.toLowerCase()).toContain('www-authenticate: bearer realm="edge-cmpxchg"');
    }
  });

  test("the topology names PUBLIC_URL whatever Host the request carries", async () => {
    const res = await raw("GET", "/topology?name=dbA", { token: "read-a-token", host: "attacker.example:443" });
    expect(res.status).toBe(200);
    expect(res.body).toContain(PUBLIC_URL);
    expect(res.body).not.toContain("attacker.example");
  });
});

describe("bodies are limited while they stream", () => {
  test("a 200 MB chunked PUT without Content-Length is refused long before its end", async () => {
    const res = await raw("PUT", "/databases/dbA/cmpxchg?key=huge&index=0", {
      token: "admin-token",
      chunks: { size: 1024 * 1024, count: 200 },
    });
    // The 413 itself is asserted in test/security/limits.test.ts. Over a socket, a server that
    // closes with the rest of the upload unread makes the kernel reset the connection, which can
    // discard the answer in flight: then the reset is the evidence that it stopped reading.
    expect(res.status === 413 || (res.status === 0 && res.reset), `status ${res.status}, reset ${res.reset}`).toBe(true);
    expect(res.sentBeforeAnswer).toBeLessThan(100 * 1024 * 1024);
    const after = await raw("GET", "/databases/dbA/cmpxchg?key=huge", { token: "admin-token" });
    expect(after.status).toBe(404);
  });
});
