// The Scalar API reference's standalone browser bundle (@scalar/api-reference, MIT), as text:
// wrangler.toml's [[rules]] makes this import a Text module for wrangler and the tests' workerd
// alike, so GET /docs/scalar.js serves it from the Worker and the page fetches nothing elsewhere.
//
// A .js file with a .d.ts beside it on purpose (as src/studio/script.js): TypeScript reads the
// declaration; the bundlers resolve the path below, which the package's exports map does not list.
export { default as SCALAR_SCRIPT } from "../../node_modules/@scalar/api-reference/dist/browser/standalone.js";
