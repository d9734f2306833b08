/**
 * The query engine's WebAssembly (src/worker/query-engine.wasm, built by engine/build.sh):
 * wrangler and the vitest plugin hand a `.wasm` import over as a compiled module, which is how a
 * Worker gets WebAssembly (it may not compile bytes at run time).
 */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
