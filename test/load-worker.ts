// Loads the Worker's modules (the app and its dependencies) when a test file is collected, so a
// file's first test, whose timeout is 5 s, measures the test and not the module runner's first
// load of the app: zod alone is ~100 modules through Vite here, where a deployed Worker is one
// bundled script. Imported by test/helpers.ts and test/client/support.ts; the deployed-config
// project, whose files call the Worker directly, lists it in `setupFiles`.
import "../src/index";
