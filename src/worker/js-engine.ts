/**
 * The query sandbox's engine: QuickJS built from source with a charge for native work
 * (engine/README.md), instantiated from a compiled module: the one wrangler and the vitest plugin
 * hand over for a `.wasm` import in the Worker (which may not compile WebAssembly at run time),
 * or one Node compiled in the benchmark.
 *
 * Why our own build rather than a packaged one: QuickJS polls its interrupt handler once per
 * 10,000 calls and loop iterations, and a single native operation (comparing two 1 MB strings,
 * turning a long digit string into a number, a lookup through a deep prototype chain) runs between
 * two polls whatever it costs. Ours counts that work in bytes and polls as soon as 64 KiB of it
 * has piled up, and the handler is told both counts, so the step budget pays for what ran.
 *
 * The wasm side is engine/sandbox.c: one runtime and context at a time, strings as UTF-8 in the
 * module's memory, five host functions and the interrupt check imported from here. Calls are
 * synchronous; `open` … `close` must not straddle an `await`.
 */
/** What a host function answers the script: a value, or MISSING. */
export type HostAnswer = string | null | undefined | typeof MISSING;
/** Throw the row's "not fetched yet" marker (a plain Error the caller recognises). */
export const MISSING = Symbol("missing");

/** The host functions, by the number sandbox.c calls them with. */
export const HOST_FUNCTIONS = ["__host_cmpxchg", "__host_load", "__host_include_cmpxchg", "__host_include"] as const;
export type HostFunction = (typeof HOST_FUNCTIONS)[number];

export interface Host {
  /** A script called one of HOST_FUNCTIONS with `arg` (its argument as a string). */
  call(fn: HostFunction, arg: string): HostAnswer;
  /** The prelude's `__host_charge(units)`: true stops the script. */
  charge(units: number): boolean;
  /** An interrupt check: `ticks` calls and loop iterations and `nativeBytes` of native work since the last one. */
  interrupt(ticks: number, nativeBytes: number): boolean;
}

export type EngineResult = { kind: "value"; text: string } | { kind: "null" } | { kind: "error"; name: string; message: string };

/** Status codes and host answers shared with engine/sandbox.c. */
const SBX_OK = 0;
const SBX_NULL = 1;
const ANSWER = { undefined: 0, null: 1, string: 2, missing: 3, stop: 4 } as const;

interface Exports {
  _initialize(): void;
  sbx_open(memoryLimit: number, stackSize: number): number;
  sbx_close(): void;
  sbx_eval(source: number, len: number, where: number, keep: number): number;
  sbx_call(arg: number, len: number): number;
  sbx_alloc(len: number): number;
  sbx_free(ptr: number): void;
  sbx_set_reply(ptr: number, len: number): void;
  sbx_out_ptr(): number;
  sbx_out_len(): number;
  sbx_forget_cost(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class QueryEngine {
  private readonly exports: Exports;
  private readonly memory: WebAssembly.Memory;
  private host: Host | null = null;

  /** `module`: src/worker/query-engine.wasm compiled; `maxMemory`: the hard cap of its memory in bytes (a multiple of 64 KiB, at least 16 MiB). */
  constructor(module: WebAssembly.Module, maxMemory: number) {
    // 16 MiB to start with (what the build's data and stack expect), the cap at most.
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: maxMemory / 65536 });
    const env = {
      memory: this.memory,
      host_call: (fn: number, ptr: number, len: number) => {
        const name = HOST_FUNCTIONS[fn];
        if (!name) throw new Error(`the query engine called an unknown host function (${fn})`);
        return this.answer(this.active().call(name, this.read(ptr, len)));
      },
      host_charge: (units: number) => (this.active().charge(units) ? ANSWER.stop : ANSWER.undefined),
      host_interrupt: (ticks: number, nativeBytes: number) => (this.active().interrupt(ticks, nativeBytes) ? 1 : 0),
      emscripten_notify_memory_growth: () => {},
    };
    // The C library's system calls, as a reactor with no files, environment or exit needs them.
    const wasi = {
      clock_time_get: (_id: number, _precision: bigint, out: number) => {
        new DataView(this.memory.buffer).setBigUint64(out, BigInt(Date.now()) * 1_000_000n, true);
        return 0;
      },
      environ_sizes_get: (count: number, size: number) => {
        const view = new DataView(this.memory.buffer);
        view.setUint32(count, 0, true);
        view.setUint32(size, 0, true);
        return 0;
      },
      environ_get: () => 0,
      fd_close: () => 0,
      fd_seek: () => 70, // ESPIPE: nothing is seekable
      fd_write: (_fd: number, iovs: number, count: number, written: number) => {
        // Debug output of the C library is dropped, but reported as written.
        const view = new DataView(this.memory.buffer);
        let total = 0;
        for (let i = 0; i < count; i++) total += view.getUint32(iovs + i * 8 + 4, true);
        view.setUint32(written, total, true);
        return 0;
      },
      proc_exit: (code: number) => {
        throw new Error(`the query engine exited (${code})`);
      },
    };
    const instance = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: wasi });
    this.exports = instance.exports as unknown as Exports;
    this.exports._initialize();
  }

  /** A fresh runtime and context; `memoryLimit` is QuickJS's heap limit, `stackSize` its stack limit. */
  open(memoryLimit: number, stackSize: number, host: Host): void {
    this.host = host;
    if (this.exports.sbx_open(memoryLimit, stackSize) !== 0) throw new Error("the query engine could not start a runtime");
  }

  close(): void {
    this.host = null;
    this.exports.sbx_close();
  }

  /** Evaluates global code: its value if a string; `keep` makes it the function `call` calls instead. */
  eval(source: string, where: string, keep = false): EngineResult {
    const src = this.write(source);
    const name = this.write(where);
    try {
      return this.result(this.exports.sbx_eval(src.ptr, src.len, name.ptr, keep ? 1 : 0));
    } finally {
      this.exports.sbx_free(src.ptr);
      this.exports.sbx_free(name.ptr);
    }
  }

  /** Forgets the work counted since the last interrupt check: the host's own set-up is not the script's. */
  forgetCost(): void {
    this.exports.sbx_forget_cost();
  }

  /** Calls the kept function with one string; its value counts only when it is a string. */
  call(arg: string): EngineResult {
    const text = this.write(arg);
    try {
      return this.result(this.exports.sbx_call(text.ptr, text.len));
    } finally {
      this.exports.sbx_free(text.ptr);
    }
  }

  private active(): Host {
    if (!this.host) throw new Error("the query engine called its host with no runtime open");
    return this.host;
  }

  private answer(value: HostAnswer): number {
    if (value === MISSING) return ANSWER.missing;
    if (value === null) return ANSWER.null;
    if (value === undefined) return ANSWER.undefined;
    const { ptr, len } = this.write(value);
    this.exports.sbx_set_reply(ptr, len);
    return ANSWER.string;
  }

  private result(status: number): EngineResult {
    if (status === SBX_NULL) return { kind: "null" };
    const out = this.read(this.exports.sbx_out_ptr(), this.exports.sbx_out_len());
    if (status === SBX_OK) return { kind: "value", text: out };
    const cut = out.indexOf("\0");
    return { kind: "error", name: cut < 0 ? "" : out.slice(0, cut), message: cut < 0 ? out : out.slice(cut + 1) };
  }

  /** `text` as NUL-terminated UTF-8 in the module's memory (the caller frees it or hands it over). */
  private write(text: string): { ptr: number; len: number } {
    const bytes = encoder.encode(text);
    const ptr = this.exports.sbx_alloc(bytes.length);
    if (ptr === 0) throw new Error("the query engine is out of memory");
    const heap = new Uint8Array(this.memory.buffer, ptr, bytes.length + 1);
    heap.set(bytes);
    heap[bytes.length] = 0;
    return { ptr, len: bytes.length };
  }

  private read(ptr: number, len: number): string {
    return len === 0 ? "" : decoder.decode(new Uint8Array(this.memory.buffer, ptr, len));
  }
}
