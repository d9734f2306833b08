/**
 * `POST /databases/<db>/bulk_docs`: the batch a session's saveChanges sends. Parsed and checked
 * here, before anything is stored, into transaction ops (atomic guards included) plus the plan of
 * the response: RavenDB answers document results first, then compare-exchange results, each in
 * request order.
 */
import { ATOMIC_GUARD_PREFIX, type Routing, shardOfKey } from "./routing";
import { badInput, echo, ErrorTypes, RavenError } from "./errors";
import { checkValue, MAX_VALUE_BYTES, parseIndex, readExpires, requireWellFormed, tooDeep, valueBody } from "./cmpxchg";
import { encodeJson, isJsonObject, JsonNumber, type JsonValue, parseJson } from "./json";
import { isBlank, isKeyTooBig, lowerKey, utf8Length } from "./keys";
import { trxnEtag } from "./change-vector";
import { nestsDeeperThan } from "./json-depth";
import { MAX_JSON_DEPTH } from "./limits";
import type { TxMode, TxOp } from "./transaction";

export const MAX_BATCH_COMMANDS = 1000;
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** Metadata the server owns: dropped from stored documents, written back on reads. */
export const SERVER_METADATA = ["@id", "@change-vector", "@last-modified", "@flags"] as const;

export interface ParsedBatch {
  mode: TxMode;
  ops: TxOp[];
  /** The first `userOps` ops are the user's commands in response order; guards follow, unlisted. */
  userOps: number;
}

export interface BatchOptions {
  /** The database's routing: each op carries the shard its key lies on. */
  routing: Routing;
  /** RavenDB's atomic guards: on for ClusterWide unless disabled or the client is older than 5.2. */
  atomicGuards: boolean;
}

type Json = Record<string, unknown>;

/** The request body of `bulk_docs` as text, read with the one JSON reader (numbers kept exact). */
export function parseBulkDocs(text: string, options: BatchOptions): ParsedBatch {
  return parseBatch(readBatch(text), options);
}

/** A batch's text, bounded and read (not yet checked: see {@link parseBatch}). */
export function readBatch(text: string): JsonValue {
  if (utf8Length(text) > MAX_BATCH_BYTES) {
    throw new RavenError(413, ErrorTypes.argument, `The batch is larger than ${MAX_BATCH_BYTES} bytes.`);
  }
  // Commands → command → Document: three levels above the value itself; checked before the
  // reader (and every later writer) recurses into it.
  if (nestsDeeperThan(text, MAX_JSON_DEPTH + 3)) throw tooDeep("The batch");
  let body: JsonValue;
  try {
    body = parseJson(text);
  } catch (err) {
    throw badInput(ErrorTypes.invalidData, `The batch is not valid JSON: ${(err as Error).message}`);
  }
  return body;
}

/**
 * A batch already parsed by {@link parseJson} (or built by a route, e.g. `PUT /docs`): checked
 * into transaction ops. Values and documents are encoded here, by the one encoder.
 */
export function parseBatch(body: JsonValue, options: BatchOptions): ParsedBatch {
  if (!isObject(body) || !Array.isArray(body.Commands)) {
    throw badInput(ErrorTypes.invalidData, "The batch must be a JSON object with a 'Commands' array.");
  }
  if (body.Commands.length > MAX_BATCH_COMMANDS) {
    throw badInput(ErrorTypes.argument, `A batch holds at most ${MAX_BATCH_COMMANDS} commands, got ${body.Commands.length}.`);
  }
  const mode: TxMode = body.TransactionMode === "ClusterWide" ? "ClusterWide" : "SingleNode";
  const docs: TxOp[] = [];
  const cmpxchg: TxOp[] = [];
  const guards: TxOp[] = [];
  const seen = new Set<string>();
  const once = (space: string, key: string, id: string) => {
    if (seen.has(`${space}:${key}`)) {
      throw badInput(
        ErrorTypes.invalidOperation,
        `The batch has more than one command for '${id}'; send one command per ${space === "doc" ? "document" : "key"}.`,
      );
    }
    seen.add(`${space}:${key}`);
  };
  const shard = (key: string) => shardOfKey(key, options.routing);

  body.Commands.forEach((command: unknown, position: number) => {
    if (!isObject(command)) throw badInput(ErrorTypes.invalidData, `Command #${position} is not a JSON object.`);
    const type = command.Type;
    switch (type) {
      case "PUT":
      case "DELETE": {
        const id = checkId(command.Id, mode);
        const key = lowerKey(id);
        once("doc", key, id);
        const changeVector = optionalString(command.ChangeVector, "ChangeVector");
        const original = optionalString(command.OriginalChangeVector, "OriginalChangeVector");
        // SingleNode: ChangeVector is optimistic concurrency. ClusterWide: the guard does it.
        const expectedChangeVector = mode === "SingleNode" ? changeVector : null;
        if (type === "PUT") {
          const { json, collection, expiresAt } = checkDocument(id, command.Document, mode);
          docs.push({ kind: "doc-put", shard: shard(key), key, id, json, collection, expectedChangeVector });
          if (mode === "ClusterWide" && options.atomicGuards) {
            const name = ATOMIC_GUARD_PREFIX + id;
            const guard = checkValue(valueBody({ Id: id }, expiresAt === undefined ? undefined : { "@expires": expiresAt }));
            guards.push({
              kind: "cmpxchg-put",
              shard: shard(key),
              key: lowerKey(name),
              name,
              expectedIndex: trxnEtag(original ?? changeVector),
              json: guard.json,
              expiresAt: guard.expiresAt,
              guardOf: id,
            });
          }
        } else {
          docs.push({ kind: "doc-delete", shard: shard(key), key, id, expectedChangeVector });
          if (mode === "ClusterWide" && options.atomicGuards) {
            const name = ATOMIC_GUARD_PREFIX + id;
            const cv = original ?? changeVector;
            guards.push({
              kind: "cmpxchg-delete",
              shard: shard(key),
              key: lowerKey(name),
              name,
              expectedIndex: cv ? trxnEtag(cv) : null,
              guardOf: id,
            });
          }
        }
        break;
      }
      case "CompareExchangePUT":
      case "CompareExchangeDELETE":
      case "CompareExchangeCHECK": {
        if (mode !== "ClusterWide") {
          throw badInput(
            ErrorTypes.invalidOperation,
            `${type} needs "TransactionMode": "ClusterWide"; a single-node batch would silently ignore it.`,
          );
        }
        if (type === "CompareExchangeCHECK" && command.Id === undefined && command.Key !== undefined) {
          throw badInput(ErrorTypes.argument, "CompareExchangeCHECK names its key in 'Id', as CompareExchangePUT and DELETE do.");
        }
        const name = checkCmpxchgKey(command.Id, options.atomicGuards);
        const key = lowerKey(name);
        // One command per key, a check included: a check beside a put or delete of its key would
        // only repeat the write's own index condition (or contradict it).
        once("cmpxchg", key, name);
        const expectedIndex = checkIndex(command.Index, name);
        if (type === "CompareExchangePUT") {
          const { json, expiresAt } = checkValue(command.Document, `The Document of CompareExchangePUT '${echo(name)}'`);
          cmpxchg.push({ kind: "cmpxchg-put", shard: shard(key), key, name, expectedIndex, json, expiresAt });
        } else if (type === "CompareExchangeDELETE") {
          cmpxchg.push({ kind: "cmpxchg-delete", shard: shard(key), key, name, expectedIndex });
        } else {
          // Our extension: a condition on the item's index that writes nothing (etcd's compare
          // without a put, DynamoDB's ConditionCheck). The official client never sends it.
          cmpxchg.push({ kind: "cmpxchg-check", shard: shard(key), key, name, expectedIndex });
        }
        break;
      }
      default:
        throw badInput(
          ErrorTypes.argumentOutOfRange,
          mode === "ClusterWide"
            ? `The command type ${String(type)} is not supported in cluster transaction.`
            : `The command type ${String(type)} is not supported by this server; use PUT or DELETE.`,
        );
    }
  });
  if (docs.length + cmpxchg.length === 0) throw badInput(ErrorTypes.argument, "The batch has no commands.");
  return { mode, ops: [...docs, ...cmpxchg, ...guards], userOps: docs.length + cmpxchg.length };
}

function checkId(raw: unknown, mode: TxMode): string {
  if (typeof raw !== "string" || isBlank(raw)) {
    throw badInput(ErrorTypes.argument, "Document id cannot be null, empty or white spaces.");
  }
  if (raw.endsWith("|") || raw.endsWith("/")) {
    if (mode === "ClusterWide") throw endsLikeServerSideId(raw);
    throw badInput(
      ErrorTypes.notSupported,
      `Document id ${echo(raw)} ends with '|' or '/' but has no prefix before it (server-side ids are assigned to 'prefix|' and 'prefix/').`,
    );
  }
  if (isKeyTooBig(raw)) throw badInput(ErrorTypes.argument, `Document id '${raw.slice(0, 64)}…' is longer than 512 bytes.`);
  return requireWellFormed(raw, "document id");
}

function checkCmpxchgKey(raw: unknown, atomicGuards: boolean): string {
  if (typeof raw !== "string" || isBlank(raw)) {
    throw badInput(ErrorTypes.argument, "Compare exchange key cannot be null, empty or white spaces.");
  }
  if (isKeyTooBig(raw)) {
    throw badInput(
      ErrorTypes.keyTooBig,
      `Compare Exchange key cannot exceed 512 bytes, but the key was ${utf8Length(raw)} bytes. The invalid key is '${echo(raw)}'.`,
    );
  }
  if (raw.endsWith("|") || raw.endsWith("/")) throw endsLikeServerSideId(raw);
  if (atomicGuards && lowerKey(raw).startsWith(ATOMIC_GUARD_PREFIX)) {
    throw badInput(ErrorTypes.invalidKey, `You cannot manipulate the atomic guard '${echo(raw)}' via the cluster-wide session`);
  }
  return requireWellFormed(raw, "compare exchange key");
}

/**
 * A cluster-wide batch takes no server-side ids: RavenDB's cluster refuses every command id (a
 * compare-exchange key too) that ends with '|' or '/', with this type and wording, which the
 * official clients' tests match.
 */
function endsLikeServerSideId(id: string): RavenError {
  return badInput(ErrorTypes.rachisApply, `Document id ${echo(id)} cannot end with '|' or '/' as part of cluster transaction`);
}

function checkIndex(raw: unknown, key: string): number {
  const index = typeof raw === "number" || raw instanceof JsonNumber ? parseIndex(raw) : "malformed";
  if (index === "malformed") {
    throw badInput(ErrorTypes.invalidData, `Expected Integer for the Index of '${echo(key)}', but got ${echo(encodeJson(raw ?? null))}.`);
  }
  if (index === "negative") throw badInput(ErrorTypes.invalidData, "Index must be a non-negative number");
  return index;
}

function checkDocument(id: string, raw: unknown, mode: TxMode) {
  if (!isObject(raw)) throw badInput(ErrorTypes.invalidData, `PUT of '${id}' needs a Document that is a JSON object.`);
  const metadata = raw["@metadata"] ?? {};
  if (!isObject(metadata)) throw badInput(ErrorTypes.invalidData, `'@metadata' of '${id}' must be a JSON object.`);
  for (const [field, what] of [
    ["@attachments", "attachments"],
    ["@counters", "counters"],
    ["@timeseries", "time series"],
  ] as const) {
    if (field in metadata) {
      throw badInput(
        ErrorTypes.notSupported,
        mode === "ClusterWide"
          ? `The document ${id} has ${what}, this is not supported in cluster wide transaction.`
          : `The document ${id} has ${what}, which this server does not support.`,
      );
    }
  }
  const collection = metadata["@collection"];
  if (collection !== undefined && collection !== null && typeof collection !== "string") {
    throw badInput(ErrorTypes.invalidData, `'@collection' of '${id}' must be a string.`);
  }
  const expires = metadata["@expires"];
  if (expires !== undefined) readExpires({ "@expires": expires });
  const stored: Json = { ...raw, "@metadata": { ...metadata } };
  for (const field of SERVER_METADATA) delete (stored["@metadata"] as Json)[field];
  const json = encodeJson(stored);
  if (utf8Length(json) > MAX_VALUE_BYTES) {
    throw new RavenError(413, ErrorTypes.argument, `Document '${id}' is larger than ${MAX_VALUE_BYTES} bytes.`);
  }
  return { json, collection: (collection as string | undefined) ?? null, expiresAt: expires as string | undefined };
}

function optionalString(raw: unknown, name: string): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string") throw badInput(ErrorTypes.invalidData, `${name} must be a string or null.`);
  return raw;
}

const isObject = (value: unknown): value is Json => isJsonObject(value);
