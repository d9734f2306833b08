/**
 * `CmpxchgService`: the compare-exchange operations as RPC methods, for Workers of the same
 * account that bind this Worker with a Service Binding (`entrypoint = "CmpxchgService"`). They
 * skip the network and the JSON-over-HTTP envelope on their side; the service itself runs each
 * call through the same Hono app as HTTP requests do (validation, routing, error envelope), in
 * process, so the two surfaces cannot drift apart.
 *
 * Trust: a Service Binding exists only between Workers of the same account, so RPC calls skip
 * token checks (their in-process requests are marked internal). `fetch` through the binding is
 * plain HTTP and is authenticated like any other request.
 *
 * Failed compare-and-writes are values (`successful: false`), and so are transaction conflicts
 * (`committed: false`). Other failures throw the client's typed exceptions (`ArgumentException`,
 * `CompareExchangeKeyTooBigException`, …); RPC keeps their name and fields, and
 * `CmpxchgServiceClient` restores their classes.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { CmpxchgClient } from "./client/client";
import { ClusterTransactionConcurrencyException } from "./client/errors";
import type {
  CmpxchgRpc,
  RpcChangeResult,
  RpcItem,
  RpcJson,
  RpcListOptions,
  RpcListPage,
  RpcTransactionOutcome,
  RpcWaitOptions,
  RpcWriteOptions,
  RpcWriteResult,
} from "./client/service-api";
import type { Metadata, TransactionCommand } from "./client/types";
import app from "./app";
import { markInternal } from "./middleware/principal";

/** Origin of the in-process requests; never resolved, only parsed. */
const INTERNAL_ORIGIN = "http://cmpxchg.internal";

export class CmpxchgService extends WorkerEntrypoint<Env> implements CmpxchgRpc {
  /** HTTP through the binding too (`env.CMPXCHG.fetch`), e.g. for the WebSocket change stream. */
  override async fetch(request: Request): Promise<Response> {
    return app.fetch(request, this.env, this.ctx);
  }

  get(database: string, key: string): Promise<RpcItem | null> {
    return this.client(database).get(key);
  }

  getMany(database: string, keys: string[]): Promise<(RpcItem | null)[]> {
    return this.client(database).getMany(keys);
  }

  list(database: string, prefix: string, options: RpcListOptions = {}): Promise<RpcListPage> {
    return this.client(database).list(prefix, options);
  }

  put(
    database: string,
    key: string,
    value: RpcJson,
    index: number,
    metadata?: Metadata,
    options: RpcWriteOptions = {},
  ): Promise<RpcWriteResult> {
    return this.client(database).put(key, value, index, metadata, options);
  }

  create(database: string, key: string, value: RpcJson, metadata?: Metadata, options: RpcWriteOptions = {}): Promise<RpcWriteResult> {
    return this.client(database).create(key, value, metadata, options);
  }

  delete(database: string, key: string, index: number, options: RpcWriteOptions = {}): Promise<RpcWriteResult> {
    return this.client(database).delete(key, index, options);
  }

  async transaction(database: string, commands: TransactionCommand[], options: RpcWriteOptions = {}): Promise<RpcTransactionOutcome> {
    try {
      return { committed: true, ...(await this.client(database).commit(commands, options)) };
    } catch (err) {
      if (!(err instanceof ClusterTransactionConcurrencyException)) throw err;
      return { committed: false, message: err.message, violations: err.violations };
    }
  }

  waitForChange(database: string, key: string, index: number, options: RpcWaitOptions = {}): Promise<RpcChangeResult> {
    return this.client(database).waitForChange(key, index, options);
  }

  routing(database: string): Promise<{ keyHashTags: boolean; shardCount: number }> {
    return this.client(database).routing();
  }

  /**
   * A client whose "network" is the app itself. Its retries still matter: a 503 from an
   * overloaded shard is retried with the same request id, exactly as over HTTP.
   */
  private client(database: string): CmpxchgClient {
    return new CmpxchgClient({
      url: INTERNAL_ORIGIN,
      database,
      fetch: async (request) => app.fetch(markInternal(request), this.env, this.ctx),
    });
  }
}
