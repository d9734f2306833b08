/**
 * In-Node HTTP/1.1 generator: node:http with a keep-alive Agent per cell (one socket per
 * connection), closed loop. The workloads' request sequences are in ../workloads.mjs.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { HOST, REQUEST_TIMEOUT_MS } from "../config.mjs";
import { closedLoop, result } from "./closed-loop.mjs";

/** One HTTP request; never rejects. `ms` = time to the last byte of the answer; status 0 = no answer. */
export function rawRequest(agent, port, method, urlPath, body, { timeoutMs = REQUEST_TIMEOUT_MS, headers: extra = {} } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const headers =
      body === null || body === undefined
        ? { ...extra }
        : { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra };
    const req = http.request({ host: HOST, port, method, path: urlPath, agent: agent ?? false, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }));
      res.on("error", (e) => resolve({ status: 0, error: e.code ?? e.message, body: "", ms: performance.now() - t0 }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (e) => resolve({ status: 0, error: e.code ?? e.message, body: "", ms: performance.now() - t0 }));
    req.end(body ?? undefined);
  });
}

/** An HTTP "connection" for the workloads: `request(method, path, body, headers?)` over the cell's agent. */
function httpConnection(agent, port) {
  return { request: (method, urlPath, body = null, headers = {}) => rawRequest(agent, port, method, urlPath, body, { headers }) };
}

/** Runs `op(conn, tally, i)` (conn.request(...)) closed-loop over `conns` keep-alive sockets. */
export async function runNodeHttp({ port, conns, seconds, workload, op }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns, maxFreeSockets: conns });
  const { t, elapsed } = await closedLoop({
    conns,
    seconds,
    op,
    open: async () => httpConnection(agent, port),
    close: async () => {},
  });
  agent.destroy();
  return result("node-http", workload, t, elapsed);
}

export { httpConnection };
