/**
 * The commands of `edge-cmpxchg`, with their help. Kept apart from main.ts (which only wires the
 * process) so every command is a function of argv, environment and two output lines.
 */
import { readFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import type { parseArgs as ParseArgs } from "node:util";
import { CmpxchgClient } from "../client/client.js";
import { ClusterTransactionConcurrencyException, RavenException } from "../client/errors.js";
import { Transport } from "../client/transport.js";
import type { ListPage, Metadata, TransactionCommand } from "../client/types.js";
import { encodeJson, parseJson } from "../core/json.js";

export const EXIT = { ok: 0, error: 1, usage: 2, conflict: 3, notFound: 4 } as const;

export interface Io {
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
  parseArgs: typeof ParseArgs;
}

class UsageError extends Error {}

const COMMON = `Connection (every command but "token create"):
  --url <url>         the service, e.g. https://cmpxchg.example.com   (env EDGE_CMPXCHG_URL)
  --database <name>   the database                                     (env EDGE_CMPXCHG_DATABASE)
  --token <token>     bearer token, when the service requires one      (env EDGE_CMPXCHG_TOKEN)
  --json              machine-readable output (one JSON document)
  --help              this help

Exit codes: 0 done, 1 error, 2 usage, 3 conflict, 4 not found.`;

const HELP: Record<string, string> = {
  "": `edge-cmpxchg <command> [options]

Commands:
  get <key>                          print an item's value
  put <key> <json> [--index N]       create (index 0, the default) or update at an index
  delete <key> --index N             delete if the item is at that index
  list [prefix]                      items whose key starts with prefix, in key order
  watch <key> | --prefix <p>         print changes as they happen (Ctrl-C stops)
  txn <file.json>                    a cluster-wide transaction, all or nothing
  databases list|create|delete       manage databases (admin token)
  token create --database <db|*> --role read|write|admin
                                     a new access token and its AUTH_TOKENS entry

Run "edge-cmpxchg <command> --help" for a command's options.

${COMMON}`,
  get: `edge-cmpxchg get <key>

Prints the value (with --json: {key, value, metadata, index}). Exit 4 when the key does not exist.

${COMMON}`,
  put: `edge-cmpxchg put <key> <json> [--index N] [--metadata <json>] [--expires-in <ms>]
edge-cmpxchg put <key> --file <path|->  …

Writes if the item is at index N (0, the default: only if the key does not exist yet).
The value is JSON text, kept exactly as written (big numbers keep their digits).
Prints the new index; exit 3 (conflict) with the current index and value when it did not write.

${COMMON}`,
  delete: `edge-cmpxchg delete <key> --index N

Deletes if the item is at index N. Exit 3 (conflict) when it is not.

${COMMON}`,
  list: `edge-cmpxchg list [prefix] [--page-size N] [--all]

One page (default 100 items) of the keys starting with prefix, then the continuation token if
there are more; --all follows every page.

${COMMON}`,
  watch: `edge-cmpxchg watch <key>
edge-cmpxchg watch --prefix <prefix>

Prints one line per change (Put, Delete, Expire) until interrupted. Needs a WebSocket (Node 22+);
on Node 20 a single key is watched by long polling instead.

${COMMON}`,
  txn: `edge-cmpxchg txn <file.json | ->

Commits a cluster-wide transaction. The file is a JSON array of commands:
  {"type": "CompareExchangePUT", "key": "k", "value": …, "index": 0, "metadata": {…}}
  {"type": "CompareExchangeDELETE", "key": "k", "index": 7}
  {"type": "CompareExchangeCHECK", "key": "k", "index": 7}   (only if k is at 7, 0: absent; not written)
  {"type": "PUT", "id": "users/1", "document": {…}, "collection": "Users", "changeVector": null}
  {"type": "DELETE", "id": "users/1", "changeVector": "…"}
Prints the transaction index; exit 3 (conflict) with the violations when it was refused.

${COMMON}`,
  databases: `edge-cmpxchg databases list
edge-cmpxchg databases create <name>
edge-cmpxchg databases delete <name>

Needs an admin token when the service requires tokens.

${COMMON}`,
  token: `edge-cmpxchg token create --database <name|*> --role read|write|admin

Prints a new random token once, and the entry to add to the service's AUTH_TOKENS secret
(only the token's SHA-256 is stored there). Nothing is sent anywhere.

  --json              print {token, entry}`,
};

const OPTIONS = {
  url: { type: "string" },
  database: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  index: { type: "string" },
  metadata: { type: "string" },
  "expires-in": { type: "string" },
  file: { type: "string" },
  prefix: { type: "string" },
  "page-size": { type: "string" },
  all: { type: "boolean" },
  role: { type: "string" },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = io.parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    io.err(`${(err as Error).message}\nRun "edge-cmpxchg --help".`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command = "", ...args] = positionals;
  if (values.help || command === "" || command === "help") {
    const topic = command === "help" ? (args[0] ?? "") : command;
    io.out(HELP[topic] ?? HELP[""]!);
    return command === "" && !values.help ? EXIT.usage : EXIT.ok;
  }
  try {
    switch (command) {
      case "get":
        return await get(values, args, io);
      case "put":
        return await put(values, args, io);
      case "delete":
        return await remove(values, args, io);
      case "list":
        return await list(values, args, io);
      case "watch":
        return await watch(values, args, io);
      case "txn":
        return await txn(values, args, io);
      case "databases":
        return await databases(values, args, io);
      case "token":
        return tokenCreate(values, args, io);
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\nRun "edge-cmpxchg ${HELP[command] ? `${command} ` : ""}--help".`);
      return EXIT.usage;
    }
    if (err instanceof ClusterTransactionConcurrencyException) {
      io.err(`conflict: ${err.message}`);
      if (values.json) io.out(encodeJson({ committed: false, violations: err.violations }));
      return EXIT.conflict;
    }
    const name = err instanceof RavenException ? err.name : "Error";
    io.err(`${name}: ${(err as Error).message}`);
    return EXIT.error;
  }
}

// ── connection ───────────────────────────────────────────────────────────────────────────────

function connection(values: Values, io: Io, needDatabase = true) {
  const url = values.url ?? io.env.EDGE_CMPXCHG_URL;
  const database = values.database ?? io.env.EDGE_CMPXCHG_DATABASE;
  const token = values.token ?? io.env.EDGE_CMPXCHG_TOKEN;
  if (!url) throw new UsageError("Give the service's address with --url or EDGE_CMPXCHG_URL.");
  if (needDatabase && !database) throw new UsageError("Give the database with --database or EDGE_CMPXCHG_DATABASE.");
  return { url, database: database ?? "", ...(token ? { token } : {}) };
}

const clientOf = (values: Values, io: Io) => new CmpxchgClient({ ...connection(values, io), exactNumbers: true });

function one(args: string[], what: string): string {
  if (args.length !== 1 || args[0] === "") throw new UsageError(`Expected ${what}.`);
  return args[0]!;
}

function indexOf(values: Values, fallback?: number): number {
  if (values.index === undefined) {
    if (fallback === undefined) throw new UsageError("--index is required.");
    return fallback;
  }
  if (!/^\d+$/.test(values.index)) throw new UsageError(`--index must be a whole number, got "${values.index}".`);
  return Number(values.index);
}

function json(text: string, what: string): unknown {
  try {
    return parseJson(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readInput(path: string): Promise<string> {
  if (path !== "-") return readFile(path, "utf8");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// ── commands ─────────────────────────────────────────────────────────────────────────────────

async function get(values: Values, args: string[], io: Io): Promise<number> {
  const key = one(args, "one key");
  const item = await clientOf(values, io).get(key);
  if (!item) {
    io.err(`not found: ${key}`);
    return EXIT.notFound;
  }
  io.out(encodeJson(values.json ? item : item.value));
  return EXIT.ok;
}

async function put(values: Values, args: string[], io: Io): Promise<number> {
  if (args.length < 1) throw new UsageError("Expected a key and a JSON value.");
  const [key, text] = args;
  if (values.file === undefined && (text === undefined || args.length !== 2))
    throw new UsageError("Expected a key and a JSON value (or --file).");
  const value = json(values.file !== undefined ? await readInput(values.file) : text!, "The value");
  let metadata = values.metadata === undefined ? undefined : (json(values.metadata, "--metadata") as Metadata);
  if (values["expires-in"] !== undefined) {
    const ms = Number(values["expires-in"]);
    if (!Number.isFinite(ms) || ms <= 0) throw new UsageError("--expires-in must be a positive number of milliseconds.");
    metadata = { ...metadata, "@expires": new Date(Date.now() + ms).toISOString() };
  }
  const result = await clientOf(values, io).put(key!, value, indexOf(values, 0), metadata);
  if (values.json) io.out(encodeJson(result));
  if (!result.successful) {
    io.err(
      result.index === 0
        ? `conflict: ${key} does not exist (create it with index 0)`
        : `conflict: ${key} is at index ${result.index}, value ${encodeJson(result.value)}`,
    );
    return EXIT.conflict;
  }
  if (!values.json) io.out(String(result.index));
  return EXIT.ok;
}

async function remove(values: Values, args: string[], io: Io): Promise<number> {
  const key = one(args, "one key");
  const result = await clientOf(values, io).delete(key, indexOf(values));
  if (values.json) io.out(encodeJson(result));
  if (!result.successful) {
    io.err(`conflict: ${key} is at index ${result.index}`);
    return EXIT.conflict;
  }
  if (!values.json) io.out(`deleted ${key}`);
  return EXIT.ok;
}

async function list(values: Values, args: string[], io: Io): Promise<number> {
  if (args.length > 1) throw new UsageError("Expected at most one prefix.");
  const prefix = args[0] ?? "";
  const pageSize = values["page-size"] === undefined ? 100 : Number(values["page-size"]);
  if (!Number.isInteger(pageSize)) throw new UsageError("--page-size must be a whole number.");
  const client = clientOf(values, io);
  const items = [];
  let token: string | null = null;
  for (;;) {
    const page: ListPage = await client.list(prefix, { pageSize, continuationToken: token });
    items.push(...page.items);
    token = page.continuationToken;
    if (!values.all || !token) break;
  }
  if (values.json) io.out(encodeJson({ items, continuationToken: token }));
  else {
    for (const item of items) io.out(`${item.key}\t${item.index}\t${encodeJson(item.value)}`);
    if (token) io.err(`more: continue with --all (continuation token ${token})`);
  }
  return EXIT.ok;
}

async function watch(values: Values, args: string[], io: Io): Promise<number> {
  if ((values.prefix === undefined) === (args.length === 0) || args.length > 1) {
    throw new UsageError("Expected one key, or --prefix.");
  }
  const client = clientOf(values, io);
  const print = (event: { type: string; key: string; index: number; value: unknown }) =>
    io.out(values.json ? encodeJson(event) : `${event.type}\t${event.key}\t${event.index}\t${encodeJson(event.value)}`);
  if (typeof WebSocket === "undefined") {
    if (values.prefix !== undefined) throw new Error("Watching a prefix needs a WebSocket (Node 22 or later).");
    // Node 20: long polling, one key.
    const key = args[0]!;
    let index = (await client.get(key))?.index ?? -1;
    for (;;) {
      const change = await client.waitForChange(key, index);
      if (!change.changed) continue;
      index = change.index;
      print({ type: change.item ? "Put" : "Delete", key, index, value: change.item?.value ?? null });
    }
  }
  const stream = client.watch(values.prefix !== undefined ? { prefix: values.prefix } : { key: args[0]! });
  for await (const event of stream) print(event);
  return EXIT.ok;
}

async function txn(values: Values, args: string[], io: Io): Promise<number> {
  const file = one(args, "a JSON file of commands (or - for standard input)");
  const commands = json(await readInput(file), file);
  if (!Array.isArray(commands) || commands.length === 0) throw new UsageError(`${file} must hold a non-empty JSON array of commands.`);
  const result = await clientOf(values, io).commit(commands as TransactionCommand[]);
  io.out(values.json ? encodeJson({ committed: true, ...result }) : String(result.index));
  return EXIT.ok;
}

async function databases(values: Values, args: string[], io: Io): Promise<number> {
  const [action, name, ...rest] = args;
  const { url, token } = connection(values, io, false);
  const transport = new Transport({ url, ...(token ? { token } : {}) });
  const body = { "Content-Type": "application/json; charset=utf-8" };
  switch (action) {
    case "list": {
      if (name !== undefined) throw new UsageError("databases list takes no name.");
      const answer = await transport.send({ method: "GET", path: "/databases?namesOnly=true" });
      const names = ((JSON.parse(answer.text) as { Databases?: unknown[] }).Databases ?? []).map((d) =>
        typeof d === "string" ? d : String((d as { Name?: unknown }).Name),
      );
      io.out(values.json ? JSON.stringify(names) : names.join("\n"));
      return EXIT.ok;
    }
    case "create":
    case "delete": {
      if (!name || rest.length > 0) throw new UsageError(`databases ${action} takes one name.`);
      const answer =
        action === "create"
          ? await transport.send({
              method: "PUT",
              path: `/admin/databases?name=${encodeURIComponent(name)}`,
              headers: body,
              body: JSON.stringify({ DatabaseName: name }),
            })
          : await transport.send({
              method: "DELETE",
              path: "/admin/databases",
              headers: body,
              body: JSON.stringify({ DatabaseNames: [name], HardDelete: true }),
            });
      io.out(values.json ? answer.text : `${action === "create" ? "created" : "deleted"} ${name}`);
      return EXIT.ok;
    }
    default:
      throw new UsageError("Expected databases list, create <name> or delete <name>.");
  }
}

function tokenCreate(values: Values, args: string[], io: Io): number {
  if (args.length !== 1 || args[0] !== "create") throw new UsageError('Expected "token create".');
  const database = values.database;
  const role = values.role;
  if (!database) throw new UsageError("--database is required (a database name, or * for every database).");
  if (role !== "read" && role !== "write" && role !== "admin") throw new UsageError("--role must be read, write or admin.");
  const token = randomBytes(32).toString("base64url");
  const entry = { sha256: createHash("sha256").update(token).digest("hex"), database, role };
  if (values.json) io.out(JSON.stringify({ token, entry }));
  else {
    io.out(`token (shown once, give it to the client): ${token}`);
    io.out(`AUTH_TOKENS entry (add it to the JSON array of the secret): ${JSON.stringify(entry)}`);
  }
  return EXIT.ok;
}
