/**
 * {@link CmpxchgApi} over a Service Binding to `CmpxchgService`: the same calls as the HTTP
 * client, without an HTTP hop, from any Worker of the same account.
 */
import { flattenPages, followPages, type CmpxchgApi } from "./api.js";
import { ClusterTransactionConcurrencyException, reviveError } from "./errors.js";
import { backoffDelay, sleep } from "./retry.js";
import type { CmpxchgBinding, RpcTransactionOutcome } from "./service-api.js";
import { ClusterTransaction } from "./transaction.js";
import type {
  ChangeResult,
  CompareExchangeResult,
  CompareExchangeValue,
  DatabaseRouting,
  ListOptions,
  ListPage,
  Metadata,
  ReadOptions,
  TransactionCommand,
  TransactionResult,
  WaitOptions,
  WriteOptions,
} from "./types.js";

export interface ServiceClientOptions {
  /** Retries of a call the runtime marked `retryable` (a lost connection), default 2. */
  retries?: number;
}

/**
 * @example
 * // wrangler.toml: services = [{ binding = "CMPXCHG", service = "edge-cmpxchg", entrypoint = "CmpxchgService" }]
 * const cmpxchg = new CmpxchgServiceClient(env.CMPXCHG, "shop");
 * await cmpxchg.create("jobs/42/claim", { worker: "w1" });
 */
export class CmpxchgServiceClient implements CmpxchgApi {
  private readonly retries: number;

  constructor(
    private readonly binding: CmpxchgBinding,
    readonly database: string,
    options: ServiceClientOptions = {},
  ) {
    this.retries = options.retries ?? 2;
  }

  get<T = unknown>(key: string, _options?: ReadOptions): Promise<CompareExchangeValue<T> | null> {
    return this.call(() => this.binding.get(this.database, key)) as Promise<CompareExchangeValue<T> | null>;
  }

  getMany<T = unknown>(keys: string[], _options?: ReadOptions): Promise<(CompareExchangeValue<T> | null)[]> {
    return this.call(() => this.binding.getMany(this.database, keys)) as Promise<(CompareExchangeValue<T> | null)[]>;
  }

  list<T = unknown>(prefix: string, options: ListOptions = {}): Promise<ListPage<T>> {
    const { pageSize, continuationToken } = options;
    return this.call(() => this.binding.list(this.database, prefix, { pageSize, continuationToken })) as Promise<ListPage<T>>;
  }

  pages<T = unknown>(prefix: string, options: ListOptions = {}): AsyncIterableIterator<ListPage<T>> {
    return followPages((p, o) => this.list<T>(p, o), prefix, options);
  }

  listAll<T = unknown>(prefix: string, options: ListOptions = {}): AsyncIterableIterator<CompareExchangeValue<T>> {
    return flattenPages(this.pages<T>(prefix, options));
  }

  put<T = unknown>(
    key: string,
    value: T,
    index: number,
    metadata?: Metadata,
    options: WriteOptions = {},
  ): Promise<CompareExchangeResult<T>> {
    // The id is fixed before the first attempt, so a retried RPC is the same write.
    const requestId = options.requestId ?? crypto.randomUUID();
    return this.call(() => this.binding.put(this.database, key, value, index, metadata, { requestId })) as Promise<
      CompareExchangeResult<T>
    >;
  }

  create<T = unknown>(key: string, value: T, metadata?: Metadata, options: WriteOptions = {}): Promise<CompareExchangeResult<T>> {
    return this.put(key, value, 0, metadata, options);
  }

  delete<T = unknown>(key: string, index: number, options: WriteOptions = {}): Promise<CompareExchangeResult<T>> {
    const requestId = options.requestId ?? crypto.randomUUID();
    return this.call(() => this.binding.delete(this.database, key, index, { requestId })) as Promise<CompareExchangeResult<T>>;
  }

  transaction(): ClusterTransaction {
    return new ClusterTransaction((commands, options) => this.commit(commands, options));
  }

  async commit(commands: TransactionCommand[], options: WriteOptions = {}): Promise<TransactionResult> {
    const requestId = options.requestId ?? crypto.randomUUID();
    const outcome = (await this.call(() => this.binding.transaction(this.database, commands, { requestId }))) as RpcTransactionOutcome;
    if (!outcome.committed) {
      throw new ClusterTransactionConcurrencyException(outcome.message, {
        status: 409,
        type: "Raven.Client.Exceptions.ClusterTransactionConcurrencyException",
        violations: outcome.violations,
      });
    }
    return { index: outcome.index, results: outcome.results };
  }

  waitForChange<T = unknown>(key: string, index: number, options: WaitOptions = {}): Promise<ChangeResult<T>> {
    return this.call(() =>
      this.binding.waitForChange(this.database, key, index, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ) as Promise<ChangeResult<T>>;
  }

  routing(): Promise<DatabaseRouting> {
    return this.call(() => this.binding.routing(this.database)) as Promise<DatabaseRouting>;
  }

  /**
   * Runs one RPC, retrying what the runtime itself calls retryable, and gives errors back their
   * classes (RPC keeps an error's name and fields, not its prototype).
   */
  private async call(rpc: () => Promise<unknown>): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await rpc();
      } catch (err) {
        const retryable = (err as { retryable?: unknown } | null)?.retryable === true;
        if (!retryable || attempt >= this.retries) throw reviveError(err);
        await sleep(backoffDelay(attempt));
      }
    }
  }
}
