/**
 * Failpoints for the crash-point tests (etcd's gofail, FoundationDB's buggify): named places in
 * the transaction protocol where a test can make an object crash (`ctx.abort()`, which also
 * discards writes not yet flushed), throw, drop its reply after doing the work, or pause for
 * `DELAY_MS` (to hold a window open, e.g. a lock between the decision and its commit). Off unless
 * the `FAILPOINTS` var is "on", which only the test configuration sets.
 */

export type FailAction = "abort" | "throw" | "drop-reply" | "delay";

export const DELAY_MS = 40;

export class FailpointError extends Error {
  constructor(readonly failpoint: string, readonly action: FailAction) {
    super(`failpoint ${failpoint}: ${action}`);
    this.name = "FailpointError";
  }
}

export class Failpoints {
  private readonly armed = new Map<string, { action: FailAction; times: number }>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly enabled: boolean,
  ) {}

  static enabledIn(env: unknown): boolean {
    return (env as { FAILPOINTS?: string }).FAILPOINTS === "on";
  }

  /** Arms a failpoint for the next `times` hits. */
  arm(name: string, action: FailAction, times = 1): void {
    if (!this.enabled) throw new Error("failpoints are off in this deployment");
    this.armed.set(name, { action, times });
  }

  /**
   * Fires the failpoint if it is armed. "drop-reply" throws like "throw": callers place it after
   * the work. A "delay" is only honoured by `pause`.
   */
  hit(name: string): void {
    const action = this.take(name, false);
    if (action === null) return;
    if (action === "abort") this.ctx.abort(`failpoint ${name}`);
    throw new FailpointError(name, action);
  }

  /** Like `hit`, and also honours "delay" by waiting before going on. */
  async pause(name: string): Promise<void> {
    if (this.take(name, true) === "delay") await scheduler.wait(DELAY_MS);
    else this.hit(name);
  }

  private take(name: string, delayOnly: boolean): FailAction | null {
    if (!this.enabled) return null;
    const armed = this.armed.get(name);
    if (armed === undefined || (delayOnly && armed.action !== "delay") || (!delayOnly && armed.action === "delay")) return null;
    if (--armed.times <= 0) this.armed.delete(name);
    return armed.action;
  }
}
