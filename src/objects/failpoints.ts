/**
 * Failpoints for the crash-point tests (etcd's gofail, FoundationDB's buggify): named places in
 * the transaction protocol where a test can make an object crash (`ctx.abort()`, which also
 * discards writes not yet flushed), throw, drop its reply after doing the work, or pause for
 * `DELAY_MS` or as long as armed (to hold a window open, e.g. a lock between the decision and its commit). Off unless
 * the `FAILPOINTS` var is "on", which only the test configuration sets.
 */

export type FailAction = "abort" | "throw" | "drop-reply" | "delay";

export const DELAY_MS = 40;

export class FailpointError extends Error {
  constructor(
    readonly failpoint: string,
    readonly action: FailAction,
  ) {
    super(`failpoint ${failpoint}: ${action}`);
    this.name = "FailpointError";
  }
}

/**
 * Failpoints that fired, by object id then name, kept per isolate rather than per instance: a
 * crash (`ctx.abort()`) replaces the instance, and the test asks the new one whether the fault it
 * armed really happened. Without this a renamed or moved failpoint would let its matrix row pass
 * with no fault injected at all.
 */
const firedByObject = new Map<string, Map<string, number>>();

export class Failpoints {
  private readonly armed = new Map<string, { action: FailAction; times: number; delayMs: number }>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly enabled: boolean,
  ) {}

  static enabledIn(env: Env): boolean {
    return env.FAILPOINTS === "on";
  }

  /** How many times each failpoint of this object fired (for tests: only enabled ones fire). */
  fired(): Record<string, number> {
    return Object.fromEntries(firedByObject.get(this.ctx.id.toString()) ?? []);
  }

  /** Arms a failpoint for the next `times` hits; a "delay" lasts `delayMs`. */
  arm(name: string, action: FailAction, times = 1, delayMs = DELAY_MS): void {
    if (!this.enabled) throw new Error("failpoints are off in this deployment");
    this.armed.set(name, { action, times, delayMs });
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
    const delayMs = this.armed.get(name)?.delayMs ?? DELAY_MS;
    if (this.take(name, true) === "delay") await scheduler.wait(delayMs);
    else this.hit(name);
  }

  private take(name: string, delayOnly: boolean): FailAction | null {
    if (!this.enabled) return null;
    const armed = this.armed.get(name);
    if (armed === undefined || (delayOnly && armed.action !== "delay") || (!delayOnly && armed.action === "delay")) return null;
    if (--armed.times <= 0) this.armed.delete(name);
    const id = this.ctx.id.toString();
    const counts = firedByObject.get(id) ?? new Map<string, number>();
    counts.set(name, (counts.get(name) ?? 0) + 1);
    firedByObject.set(id, counts);
    return armed.action;
  }
}
