#!/usr/bin/env node
/**
 * `edge-cmpxchg`: the command line of edge-cmpxchg-client. Every command speaks the public HTTP
 * API through the same client as applications (so the same validation and exact numbers).
 *
 * Exit codes: 0 done, 1 error, 2 usage, 3 conflict (index mismatch, a refused transaction),
 * 4 not found.
 */
import { parseArgs } from "node:util";
import { run } from "./commands.js";

const code = await run(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  parseArgs,
});
process.exitCode = code;
