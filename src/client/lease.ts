/**
 * Keep-alive for a leased item (one with `@expires`): renews it at a fraction of its TTL and
 * reports the loss of the lease through an `AbortSignal`, so the holder's work can stop.
 *
 * Loss is reported when a renew is refused (someone else holds the key, or it already expired)
 * and also, without any answer from the server, when the lease's end passes before a renew
 * succeeded: a holder cut off from the server must assume it has lost the lease at its expiry.
 *
 * "The lease's end" is taken a little early: the server's clock and the timer's delay are not
 * ours, so loss is reported a drift allowance before the end (1 % of the TTL plus 2 ms, the
 * allowance Redlock uses). A holder whose event loop stalled past its lease (a long GC, a frozen
 * isolate) has no timer run in time; reading the signal through the lock checks the clock too.
 */
import { LockLostException } from "./errors.js";

export interface KeepAliveOptions {
  /** Lease length (ms) each renew asks for. */
  ttlMs: number;
  /** Renew after this fraction of the TTL has passed (default 1/3, as etcd's session does). */
  renewFraction?: number;
  /** Report loss this many ms before the lease's end (default: 1 % of the TTL plus 2 ms). */
  driftMs?: number;
  /** When the current lease ends (ms since the epoch). */
  expiresAt: number;
}

/**
 * Renews until `stop()`. `renew` returns the new expiry, or null when the lease was lost.
 * Renews run one at a time; `stop()` waits for a renew in flight, so the caller's next write
 * (a release) compares against the index that renew produced.
 */
export class KeepAlive {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private expiresAt: number;

  constructor(
    private readonly renew: () => Promise<number | null>,
    private readonly options: KeepAliveOptions,
    private readonly what: string,
    renewing = true,
  ) {
    this.expiresAt = options.expiresAt;
    this.armExpiry();
    if (renewing) this.schedule();
  }

  /**
   * Fires when the lease is lost. Reading it checks the clock first, so a holder that stalled
   * past its lease learns so even before the expiry timer had a chance to run.
   */
  get signal(): AbortSignal {
    if (!this.stopped && Date.now() >= this.lossAt()) this.expire();
    return this.controller.signal;
  }

  /** Stops renewing (the lease then runs out unless released); waits for a renew in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    await this.inFlight;
  }

  /** Marks the lease lost now (e.g. a write found it gone). */
  lose(reason: string): void {
    if (this.controller.signal.aborted) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.controller.abort(new LockLostException(reason));
  }

  /** Records a lease end learned elsewhere (a manual renew). */
  extended(expiresAt: number): void {
    this.expiresAt = expiresAt;
    this.armExpiry();
  }

  private schedule(): void {
    if (this.stopped) return;
    const fraction = this.options.renewFraction ?? 1 / 3;
    const delay = Math.max(1, this.options.ttlMs * fraction);
    this.timer = setTimeout(() => {
      this.inFlight = this.renewOnce().finally(() => {
        this.inFlight = null;
      });
    }, delay);
  }

  private async renewOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const expiresAt = await this.renew();
      if (this.stopped) return;
      if (expiresAt === null) {
        this.lose(`The lease of ${this.what} was lost: the server refused the renew.`);
        return;
      }
      this.extended(expiresAt);
    } catch {
      // No answer: keep trying; the expiry timer reports the loss if no renew lands in time.
    }
    this.schedule();
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.controller.signal.aborted) return;
    const left = Math.max(0, this.lossAt() - Date.now());
    this.expiryTimer = setTimeout(() => this.expire(), left);
  }

  /** When loss is reported: the lease's end less the drift allowance. */
  private lossAt(): number {
    const drift = this.options.driftMs ?? Math.ceil(this.options.ttlMs / 100) + 2;
    return this.expiresAt - drift;
  }

  private expire(): void {
    this.lose(`The lease of ${this.what} expired before it was renewed.`);
  }
}
