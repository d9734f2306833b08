/**
 * Server-side ids in a batch: `people|` takes the next identity of its prefix, `people/` a
 * server-generated number (src/core/identities.ts says how they look). Resolved before the batch
 * is parsed and run, by the routes that take documents (bulk_docs, PUT /docs).
 */
import { MAX_BATCH_BYTES, MAX_BATCH_COMMANDS } from "../core/bulk-docs";
import { identityId, identityName, serverIdKind, uniqueId } from "../core/identities";
import { encodeJson, type JsonValue, parseJson } from "../core/json";
import { nestsDeeperThan } from "../core/json-depth";
import { lowerKey, utf8Length } from "../core/keys";
import { MAX_JSON_DEPTH } from "../core/limits";
import type { Routing } from "../core/routing";
import { stubForKey } from "./shards";

const SERVER_SIDE_ID = /"Id"\s*:\s*"(?:[^"\\]|\\.)*[|/]"/;

/**
 * A bulk_docs body with its server-side ids replaced: each PUT whose id ends in `|` gets the next
 * identity of its prefix (consecutive values for one prefix, in command order), each ending in `/`
 * a server-generated number. Values are reserved before the batch runs, so a batch that then
 * fails leaves a gap, as RavenDB's do. A body this cannot read is returned as it is, for the
 * batch parser to refuse with its own error.
 */
export async function resolveServerIds(env: Env, database: string, routing: Routing, text: string): Promise<string> {
  // Cheap first: only a body with an "Id" string ending in '|' or '/' is parsed again.
  if (!SERVER_SIDE_ID.test(text)) return text;
  if (utf8Length(text) > MAX_BATCH_BYTES || nestsDeeperThan(text, MAX_JSON_DEPTH + 3)) return text;
  let body: { Commands?: unknown };
  try {
    // The exact reader and writer (core/json): the batch's numbers keep every digit.
    body = parseJson(text) as typeof body;
  } catch {
    return text;
  }
  if (body === null || typeof body !== "object" || !Array.isArray(body.Commands) || body.Commands.length > MAX_BATCH_COMMANDS) return text;
  // RavenDB refuses `people/` in a cluster-wide transaction (its etag is not known before the
  // commit); the batch parser says so. `people|` is resolved there too.
  const clusterWide = (body as { TransactionMode?: unknown }).TransactionMode === "ClusterWide";
  const wanted = (body.Commands as unknown[]).flatMap((command) => {
    if (command === null || typeof command !== "object") return [];
    const c = command as { Type?: unknown; Id?: unknown };
    const kind = c.Type === "PUT" ? serverIdKind(c.Id) : null;
    return kind && !(kind === "unique" && clusterWide) ? [{ command: c as { Id: string }, kind }] : [];
  });
  if (wanted.length === 0) return text;

  // One reservation per identity name, and one per shard for server-generated numbers.
  const groups = new Map<string, { kind: "identity" | "unique"; name: string; commands: { Id: string }[] }>();
  for (const { command, kind } of wanted) {
    const name = kind === "identity" ? identityName(command.Id) : lowerKey(command.Id);
    const { stub } = stubForKey(env, database, routing, name);
    const group = kind === "identity" ? `i:${name}` : `u:${stub.id.toString()}`;
    const entry = groups.get(group) ?? { kind, name, commands: [] };
    entry.commands.push(command);
    groups.set(group, entry);
  }
  await Promise.all(
    [...groups.values()].map(async ({ kind, name, commands }) => {
      const { stub } = stubForKey(env, database, routing, name);
      const last = kind === "identity" ? await stub.nextIdentities(name, commands.length) : await stub.nextServerIds(commands.length);
      commands.forEach((command, i) => {
        const value = last - commands.length + 1 + i;
        command.Id = kind === "identity" ? identityId(command.Id, value) : uniqueId(command.Id, value);
      });
    }),
  );
  return encodeJson(body as JsonValue);
}
