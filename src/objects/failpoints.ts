/**
 * Failpoints for the crash-point tests (etcd's gofail, FoundationDB's buggify): named places in
 * the transaction protocol where a test can make an object crash (`ctx.abort()`, which also
 * discards writes not yet flushed), throw, or drop its reply after doing the work. Off unless the
 * `FAILPOINTS` var is "on", which only the test configuration sets.
 */

export type FailAction = "abort" | "throw" | "drop-reply";

export class FailpointError extends Error {
  constructor(readonly failpoint: string, readonly action: FailAction) {
    super(`failpoint ${failpoint}: ${action}`);
    this.name = "FailpointError";
  }
}

export class Failpoints {
  private readonly armed = new Map<string, FailAction>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly enabled: boolean,
  ) {}

  static enabledIn(env: unknown): boolean {
    return (env as { FAILPOINTS?: string }).FAILPOINTS === "on";
  }

  arm(name: string, action: FailAction): void {
    if (!this.enabled) throw new Error("failpoints are off in this deployment");
    this.armed.set(name, action);
  }

  /** Fires the failpoint once if it is armed. "drop-reply" throws like "throw": callers place it after the work. */
  hit(name: string): void {
    if (!this.enabled) return;
    const action = this.armed.get(name);
    if (action === undefined) return;
    this.armed.delete(name);
    if (action === "abort") this.ctx.abort(`failpoint ${name}`);
    throw new FailpointError(name, action);
  }
}
