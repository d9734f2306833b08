/**
 * The QuickJS WebAssembly binary, imported through its package's `./wasm` export
 * (worker/js-sandbox.ts): wrangler and the vitest plugin hand a `.wasm` import over as a compiled
 * module, which is how a Worker gets WebAssembly (it may not compile bytes at run time).
 */
declare module "@jitl/quickjs-wasmfile-release-sync/wasm" {
  const module: WebAssembly.Module;
  export default module;
}
