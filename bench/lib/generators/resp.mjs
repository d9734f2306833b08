/**
 * In-Node Redis generator: a minimal RESP2 client over node:net (one TCP socket per connection,
 * TCP_NODELAY, one command in flight, no pipelining), driven by the same closed loop as the HTTP
 * generator. Only what the workloads need: arrays of bulk strings out; simple strings, errors,
 * integers, bulk strings and arrays in.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import { HOST, REQUEST_TIMEOUT_MS } from "../config.mjs";
import { closedLoop, result } from "./closed-loop.mjs";

export class RespError extends Error {}

/** Parses one RESP value at `buf[pos]`; returns [value, nextPos] or null if incomplete. */
function parse(buf, pos) {
  if (pos >= buf.length) return null;
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return null;
  const type = buf[pos];
  const line = buf.toString("utf8", pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case 0x2b:
      return [line, next]; // +
    case 0x2d:
      return [new RespError(line), next]; // -
    case 0x3a:
      return [Number(line), next]; // :
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString("utf8", next, next + n), next + n + 2];
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const items = [];
      let p = next;
      for (let i = 0; i < n; i += 1) {
        const r = parse(buf, p);
        if (!r) return null;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`RESP: unexpected type byte ${type}`);
  }
}

function encode(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

export class RespConnection {
  static connect(port, host = HOST) {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host, port, noDelay: true }, () => {
        socket.off("error", reject);
        resolve(new RespConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.pending = null; // one command in flight
    socket.on("data", (chunk) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.drain();
    });
    const fail = (code) => {
      this.closed = code;
      const p = this.pending;
      this.pending = null;
      if (p) {
        clearTimeout(p.timer);
        p.resolve({ error: code, ms: performance.now() - p.t0 });
      }
    };
    socket.on("error", (e) => fail(e.code ?? e.message));
    socket.on("close", () => fail("CLOSED"));
  }

  drain() {
    if (!this.pending) return;
    const r = parse(this.buf, 0);
    if (!r) return;
    this.buf = this.buf.subarray(r[1]);
    const p = this.pending;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve({ value: r[0], ms: performance.now() - p.t0 });
  }

  /** Sends one command; resolves { value, ms } (value may be a RespError) or { error, ms }. Never rejects. */
  command(...args) {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ error: this.closed, ms: 0 });
      const t0 = performance.now();
      const timer = setTimeout(() => {
        this.socket.destroy();
      }, REQUEST_TIMEOUT_MS);
      this.pending = { resolve, t0, timer };
      this.socket.write(encode(args));
    });
  }

  close() {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.socket.once("close", resolve);
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}

/** Runs `op(conn, tally, i)` (conn.command(...)) closed-loop over `conns` RESP connections. */
export async function runResp({ port, conns, seconds, workload, op, setup }) {
  const { t, elapsed } = await closedLoop({
    conns,
    seconds,
    op,
    open: async () => {
      const c = await RespConnection.connect(port);
      if (setup) await setup(c);
      return c;
    },
    close: (c) => c.close(),
  });
  return result("node-resp", workload, t, elapsed);
}
