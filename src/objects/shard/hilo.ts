/**
 * The HiLo document's read-modify-write (the rules are core/hilo.ts). It runs as a single-node
 * document PUT does — one storage transaction, a fresh index, a change vector — so the document
 * reads, loads and caches like any other; and like one it waits while a prepared transaction
 * holds the document.
 */
import { HILO_COLLECTION, returnRange, takeRange } from "../../core/hilo";
import { docLockKey } from "../../core/lock-keys";
import type { DocPutOp } from "../../core/transaction";
import { applyOps } from "./apply";
import type { Ledger, Step } from "./steps";
import { type DocRow, readDoc } from "./store/documents";
import { blockingTxns } from "./store/locks";

/** The document `Raven/Hilo/<tag>`: its id as named, its storage key, the shard it lives on. */
export interface HiloDoc {
  id: string;
  key: string;
  shard: number;
}

/**
 * `oldMax`: the range is `oldMax + 1 … oldMax + capacity`. `needsLegacy`: there is no document
 * yet, and the caller must first say where ranges handed out before this document existed ended
 * (`legacyMax`, see the coordinator's `hiloLegacyMax`). `exhausted`: no range fits below the
 * largest exact integer above that `oldMax`; nothing was written.
 */
export type HiloAnswer = { oldMax: number } | { needsLegacy: true } | { exhausted: number };

export function hiloNextStep(ledger: Ledger, doc: HiloDoc, capacity: number, lastMax: number, legacyMax: number | null): Step<HiloAnswer> {
  const blocked = blockingTxns(ledger.sql, [docLockKey(doc.key)]);
  if (blocked.length) return { blocked };
  const row = readDoc(ledger.sql, doc.key);
  if (!row && legacyMax === null) return { done: { needsLegacy: true } };
  const range = takeRange(row?.body ?? null, capacity, Math.max(lastMax, legacyMax ?? 0));
  if (range.body === null) return { done: { exhausted: range.oldMax } };
  write(ledger, doc, row, range.body);
  return { done: { oldMax: range.oldMax } };
}

/** Gives back a range's unused end; true when the document changed. */
export function hiloReturnStep(ledger: Ledger, doc: HiloDoc, end: number, last: number): Step<boolean> {
  const blocked = blockingTxns(ledger.sql, [docLockKey(doc.key)]);
  if (blocked.length) return { blocked };
  const row = readDoc(ledger.sql, doc.key);
  const body = row && returnRange(row.body, end, last);
  if (!body) return { done: false };
  write(ledger, doc, row, body);
  return { done: true };
}

function write(ledger: Ledger, doc: HiloDoc, row: DocRow | null, body: string): void {
  const op: DocPutOp = {
    kind: "doc-put",
    shard: doc.shard,
    key: doc.key,
    id: row?.id ?? doc.id,
    json: body,
    collection: row ? row.collection : HILO_COLLECTION,
    expectedChangeVector: null,
  };
  applyOps(ledger.sql, [op], ledger.counter.next(), "SingleNode", ledger.database(), Date.now());
}
