/**
 * RavenDB's wire shapes and the client's typed values, both ways. Pure: no I/O.
 *
 * A stored item's body is `{"Object": value, "@metadata": {...}}`; the server returns it as
 * `Value` in listings and write results.
 */
import type {
  ChangeEvent,
  ChangeResult,
  CompareExchangeResult,
  CompareExchangeValue,
  Metadata,
  TransactionCommand,
  TransactionResultEntry,
} from "./types.js";
import { valueBody } from "../core/cmpxchg.js";

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === "object" && value !== null && !Array.isArray(value);

/** Splits a stored body into value and metadata. */
export function readBody<T>(body: unknown): { value: T | null; metadata: Metadata } {
  if (!isObject(body)) return { value: null, metadata: {} };
  const metadata = isObject(body["@metadata"]) ? (body["@metadata"] as Metadata) : {};
  return { value: ("Object" in body ? body.Object : null) as T | null, metadata };
}

/** One `{Key, Value, Index}` entry; null for a missing key (`Index` -1 or no value). */
export function readItem<T>(entry: unknown): CompareExchangeValue<T> | null {
  if (!isObject(entry) || entry.Value === null || entry.Value === undefined) return null;
  const index = Number(entry.Index);
  if (index < 0) return null;
  const { value, metadata } = readBody<T>(entry.Value);
  return { key: String(entry.Key), value: value as T, metadata, index };
}

/** `{Results: [...]}` of a get: entries in request order. */
export function readResults(json: unknown): unknown[] {
  return isObject(json) && Array.isArray(json.Results) ? json.Results : [];
}

/** `{Index, Value, Successful}` of a put or delete. */
export function readWriteResult<T>(json: unknown): CompareExchangeResult<T> {
  const obj = isObject(json) ? json : {};
  const { value, metadata } = readBody<T>(obj.Value);
  return { successful: obj.Successful === true, index: Number(obj.Index ?? 0), value, metadata };
}

/** `{Key, Value, Index, Changed}` of the long-poll. */
export function readChangeResult<T>(json: unknown): ChangeResult<T> {
  const obj = isObject(json) ? json : {};
  const item = readItem<T>(obj);
  return { changed: obj.Changed === true, index: item ? item.index : -1, item };
}

/**
 * A pushed change `{Type, Key, Index, Value}`. `Value` is taken as the stored body, as everywhere
 * else; a server that pushes the bare value is accepted too (anything without an `Object` field).
 */
export function readChangeEvent<T>(json: unknown): ChangeEvent<T> | null {
  if (!isObject(json) || typeof json.Key !== "string") return null;
  const type = json.Type === "Delete" || json.Type === "Expire" ? json.Type : "Put";
  const raw = json.Value;
  const { value, metadata } = isObject(raw) && "Object" in raw ? readBody<T>(raw) : { value: (raw ?? null) as T | null, metadata: {} };
  return { type, key: json.Key, index: Number(json.Index), value: type === "Put" ? value : null, metadata };
}

/**
 * A command of a cluster-wide batch in RavenDB's wire shape. New documents carry a null change
 * vector, which makes the server's atomic guard a create-only check.
 */
export function wireCommand(command: TransactionCommand): Obj {
  switch (command.type) {
    case "CompareExchangePUT":
      return { Id: command.key, Document: valueBody(command.value, command.metadata), Index: command.index, Type: command.type };
    case "CompareExchangeDELETE":
    case "CompareExchangeCHECK":
      return { Id: command.key, Index: command.index, Type: command.type };
    case "PUT": {
      const metadata: Obj = { ...command.metadata };
      if (command.collection) metadata["@collection"] = command.collection;
      return {
        Id: command.id,
        ChangeVector: command.changeVector ?? null,
        Document: { ...command.document, "@metadata": metadata },
        Type: "PUT",
      };
    }
    case "DELETE":
      return { Id: command.id, ChangeVector: command.changeVector ?? null, Type: "DELETE" };
  }
}

/** `{Results, TransactionIndex}` of a committed cluster-wide batch. */
export function readTransactionResult(json: unknown): { index: number; results: TransactionResultEntry[] } {
  const obj = isObject(json) ? json : {};
  const results = (Array.isArray(obj.Results) ? obj.Results : []).map((raw: unknown): TransactionResultEntry => {
    const entry = isObject(raw) ? raw : {};
    switch (entry.Type) {
      case "PUT":
        return {
          type: "PUT",
          id: String(entry["@id"]),
          changeVector: String(entry["@change-vector"] ?? ""),
          collection: String(entry["@collection"] ?? "@empty"),
          lastModified: String(entry["@last-modified"] ?? ""),
        };
      case "DELETE":
        return { type: "DELETE", id: String(entry.Id), deleted: entry.Deleted !== false };
      case "CompareExchangeDELETE":
      case "CompareExchangeCHECK":
        return { type: entry.Type, key: String(entry.Key), index: Number(entry.Index) };
      default:
        return { type: "CompareExchangePUT", key: String(entry.Key), index: Number(entry.Index) };
    }
  });
  return { index: Number(obj.TransactionIndex), results };
}
