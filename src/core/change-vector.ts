/**
 * Change vectors, in RavenDB's textual form `TAG:etag-dbid[, …]`. A document written by a
 * cluster-wide transaction carries `RAFT:n-<dbid>,TRXN:n-<clusterTxId>`; the TRXN etag equals the
 * index its atomic guard got in the same transaction, which is how a later cluster-wide write
 * knows which guard index to expect.
 */
import { fnv1a32 } from "./key-hash";

/** A stable 22-character id per database and purpose (RavenDB's ids are base64 GUIDs). */
export function databaseId(database: string, purpose: "db" | "trxn"): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let out = "";
  let seed = `${purpose}:${database.toLowerCase()}`;
  while (out.length < 22) {
    let h = fnv1a32(seed);
    for (let i = 0; i < 5 && out.length < 22; i++) {
      out += alphabet[h & 63];
      h >>>= 6;
    }
    seed += "#";
  }
  return out;
}

/** The etag of the TRXN entry of a change vector, or 0 when it has none. */
export function trxnEtag(changeVector: string | null | undefined): number {
  if (!changeVector) return 0;
  for (const part of changeVector.split(",")) {
    const match = /^\s*TRXN:(\d+)-/.exec(part);
    if (match) return Number(match[1]);
  }
  return 0;
}

/** The TRXN part of a change vector, kept when a single-node write changes a document. */
function trxnPart(changeVector: string | null | undefined): string | null {
  return (
    changeVector
      ?.split(",")
      .find((part) => part.trim().startsWith("TRXN:"))
      ?.trim() ?? null
  );
}

export function clusterChangeVector(database: string, index: number): string {
  return `RAFT:${index}-${databaseId(database, "db")},TRXN:${index}-${databaseId(database, "trxn")}`;
}

export function singleNodeChangeVector(database: string, index: number, previous: string | null): string {
  const own = `A:${index}-${databaseId(database, "db")}`;
  const trxn = trxnPart(previous);
  return trxn ? `${own},${trxn}` : own;
}

/** What a cluster-wide load sends as an atomic guard's change vector. */
export function guardChangeVector(database: string, guardIndex: number): string {
  return `TRXN:${guardIndex}-${databaseId(database, "trxn")}`;
}
