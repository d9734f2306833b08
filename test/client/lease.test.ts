// KeepAlive's report of a lost lease: a drift allowance before the lease's end, and a clock check
// whenever the signal is read, so a holder whose timers did not run in time still learns of it.
import { describe, expect, it } from "vitest";
import { KeepAlive, LockLostException } from "../../src/client";

const never = async () => null;

describe("KeepAlive", () => {
  it("reports loss a drift allowance (1 % of the TTL plus 2 ms) before the lease's end", async () => {
    // A 20 s lease that ends in 400 ms (its last renew was long ago): loss is due 202 ms early,
    // which also leaves a loaded machine's late timer 202 ms before the end.
    const expiresAt = Date.now() + 400;
    const keepAlive = new KeepAlive(never, { ttlMs: 20_000, expiresAt }, "a test lease", false);
    const signal = keepAlive.signal;
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    expect(signal.reason).toBeInstanceOf(LockLostException);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 202);
    expect(Date.now()).toBeLessThan(expiresAt);
  });

  it("a signal read after the lease's end is aborted already, before any timer ran", () => {
    // The holder stalled (a long GC, a frozen isolate) past its lease: no timer ran meanwhile.
    const keepAlive = new KeepAlive(never, { ttlMs: 500, expiresAt: Date.now() - 1 }, "a stalled lease", false);
    expect(keepAlive.signal.aborted).toBe(true);
    expect((keepAlive.signal.reason as Error).message).toContain("a stalled lease");
  });

  it("inside the drift allowance counts as lost; before it does not", () => {
    const now = Date.now();
    const inside = new KeepAlive(never, { ttlMs: 1_000, expiresAt: now + 5 }, "inside", false);
    expect(inside.signal.aborted).toBe(true);
    const before = new KeepAlive(never, { ttlMs: 1_000, expiresAt: now + 5, driftMs: 0 }, "before", false);
    expect(before.signal.aborted).toBe(false);
  });

  it("once stopped (released), the lapse of the lease is no loss", async () => {
    const keepAlive = new KeepAlive(never, { ttlMs: 500, expiresAt: Date.now() - 1 }, "a released lease", false);
    await keepAlive.stop();
    expect(keepAlive.signal.aborted).toBe(false);
  });
});
