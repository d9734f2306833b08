// The Studio's browser script, assembled from src/studio/browser/ (see browser/source.ts).
//
// A .js file with a .d.ts beside it on purpose: the Worker's tsconfig.json (Workers types, no DOM)
// reads script.d.ts and never type-checks the browser modules, which src/studio/browser/
// tsconfig.json checks with the DOM's types; the bundlers (wrangler's esbuild, Vite in the tests)
// load this file and, through it, the TypeScript modules.
export { STUDIO_SCRIPT } from "./browser/source";
