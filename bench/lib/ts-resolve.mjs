// Lets Node run the Worker's TypeScript sources directly (`node --import ./bench/lib/ts-resolve.mjs`):
// their relative imports leave out the ".ts", as the bundler allows; Node needs it spelled out.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (err?.code !== "ERR_MODULE_NOT_FOUND" || !specifier.startsWith(".")) throw err;
      return next(`${specifier}.ts`, context);
    }
  },
});
