/**
 * The Studio's browser script as served: the source text of main() and of each module's factory
 * (Function.prototype.toString), assembled once per isolate into one inline script. This file runs
 * in the Worker; the functions whose text it takes run in the browser.
 *
 * Why source text rather than a bundle: the browser code stays real TypeScript (checked with the
 * DOM's types by this folder's tsconfig.json) and is served with no build step of its own that
 * CI, `npm run dev` or `npm run serve` could forget, and no new dependency — whatever compiles
 * the Worker (wrangler's esbuild, the test pool's Vite) strips the types, and the text of the
 * compiled functions is what is served. The routes hash exactly this text for the page's CSP.
 *
 * What that asks of the code (test/e2e/studio-script.test.ts checks the module layout; the
 * Studio's browser test runs the result):
 * - each factory and main() uses only its parameters and browser globals: no imported values and
 *   no module-level constants (a bundler renames or rewrites those, and they are not served);
 *   modules reach one another through main(), which calls the factories in order;
 * - the Worker is built without esbuild's keep_names (wrangler.toml: keep_names = false), which
 *   would put calls of a bundle-level __name() helper inside the functions' text.
 */
import { createApi } from "./api";
import { createAuth } from "./auth";
import { createDatabases } from "./databases";
import { createDom } from "./dom";
import { createEditor } from "./editor";
import { createItems } from "./items";
import { createJson } from "./json";
import { main } from "./main";
import type { Modules } from "./modules";
import { createState } from "./state";
import { createTxns } from "./txns";
import { createUi } from "./ui";

const MODULES: Modules = {
  createJson,
  createDom,
  createUi,
  createAuth,
  createState,
  createApi,
  createItems,
  createEditor,
  createTxns,
  createDatabases,
};

function assemble(): string {
  const factories = Object.entries(MODULES).map(([name, factory]) => `  ${name}: ${String(factory)}`);
  const script = `
(function () {
"use strict";
(${String(main)})(document, {
${factories.join(",\n")}
});
})();
`;
  // Inside a <script> element these would end it early or change how it is parsed.
  if (/<\/script|<!--/i.test(script)) throw new Error("The Studio's script contains </script or <!--: it cannot be served inline");
  return script;
}

export const STUDIO_SCRIPT: string = assemble();
