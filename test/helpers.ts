// Shared test helpers: unique database names, HTTP calls through the Worker, batch bodies.
import { exports } from "cloudflare:workers";
// The Worker's modules, loaded while the test file is collected (see load-worker.ts).
import "./load-worker";

export const BASE = "http://cmpxchg.test";
let counter = 0;

/** Storage is shared by the tests of a file: every test works in a database of its own. */
export const freshDb = (label = "db") => `${label}_${Date.now()}_${++counter}`;

export const call = (path: string, init?: RequestInit) => exports.default.fetch(new Request(BASE + path, init));

/** Headers the official client sends with a batch (5.2+ turns atomic guards on). */
export const CLIENT_HEADERS = { "Content-Type": "application/json", "Raven-Client-Version": "7.2.2" };

export async function bulk(db: string, commands: unknown[], options: { clusterWide?: boolean; requestId?: string; query?: string } = {}) {
  const clusterWide = options.clusterWide ?? true;
  const query = [options.requestId ? `raft-request-id=${options.requestId}` : "", options.query ?? ""].filter(Boolean).join("&");
  const res = await call(`/databases/${db}/bulk_docs${query ? `?${query}` : ""}`, {
    method: "POST",
    headers: CLIENT_HEADERS,
    body: JSON.stringify(clusterWide ? { Commands: commands, TransactionMode: "ClusterWide" } : { Commands: commands }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

export async function putItem(db: string, key: string, index: number, value: unknown) {
  const res = await call(`/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}&index=${index}`, {
    method: "PUT",
    body: JSON.stringify({ Object: value }),
  });
  return (await res.json()) as { Index: number; Value: any; Successful: boolean };
}

export async function getItem(db: string, key: string): Promise<{ value: unknown; index: number } | null> {
  const res = await call(`/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}`);
  if (res.status === 404) return null;
  const json = (await res.json()) as any;
  return { value: json.Results[0].Value.Object, index: json.Results[0].Index };
}

export const cmpPut = (key: string, index: number, value: unknown) => ({
  Id: key,
  Document: { Object: value },
  Index: index,
  Type: "CompareExchangePUT",
});
export const cmpDelete = (key: string, index: number) => ({ Id: key, Index: index, Type: "CompareExchangeDELETE" });
export const docPut = (id: string, body: Record<string, unknown>, collection = "Users", extra: Record<string, unknown> = {}) => ({
  Id: id,
  ChangeVector: null,
  Document: { ...body, "@metadata": { "@collection": collection } },
  Type: "PUT",
  ...extra,
});
