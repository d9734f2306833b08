/**
 * The CPU budget of a query's JavaScript (worker/js-sandbox.ts), counted in steps: a step is
 * TICKS_PER_STEP ticks of QuickJS's interrupt counter (one per call or loop iteration), where our
 * build of QuickJS also reports native work in bytes (engine/README.md) and the metering prelude
 * charges built-ins by the size they handle (worker/js-meter.ts). Steps, not only milliseconds:
 * deployed Workers do not advance `Date.now()` while code runs, so a deadline alone would never
 * fire there.
 */
import { MAX_QUERY_JS_MS, MAX_QUERY_JS_STEPS } from "../core/limits";
import { UNITS_PER_STEP } from "./js-meter";

/** Interrupt-counter ticks a step stands for: QuickJS's own polling period (about 0.1–0.3 ms of a plain loop here). */
export const TICKS_PER_STEP = 10_000;
/**
 * Bytes of native work a tick stands for (engine/README.md): a tick of a plain loop is ~10–30 ns
 * here, comparing or hashing a byte ~0.5 ns, so 16 charges such work at 1.5–3× its time.
 */
export const NATIVE_BYTES_PER_TICK = 16;

/**
 * The budget of one query, spent across its rounds: interrupt checks, and milliseconds of
 * running scripts (not the lookups between rounds) where the clock advances while code runs.
 */
export class StepBudget {
  used = 0;
  /** Interrupt checks so far. */
  checks = 0;
  /** Of the steps used, those charged by size (native work, the prelude's charges), not by operations counted. */
  charged = 0;
  /** Set once the budget is spent: every later check stops the script too. */
  stopped = false;
  private ms = 0;
  private roundStart = 0;
  readonly limit: number;
  readonly msLimit: number;
  // Plain fields, not parameter properties: the benchmark runs this file in Node, which strips types only.
  constructor(limit = MAX_QUERY_JS_STEPS, msLimit = MAX_QUERY_JS_MS) {
    this.limit = limit;
    this.msLimit = msLimit;
  }
  startRound(): void {
    this.roundStart = Date.now();
  }
  endRound(): void {
    this.ms += Date.now() - this.roundStart;
  }
  /** An interrupt check, told the ticks and the native work since the last one: true stops the script. */
  check(ticks: number, nativeBytes: number): boolean {
    this.checks++;
    const native = nativeBytes / NATIVE_BYTES_PER_TICK / TICKS_PER_STEP;
    this.charged += native;
    return this.spend(ticks / TICKS_PER_STEP + native);
  }
  /** The prelude's charge of `units` (UNITS_PER_STEP a step): true stops the script. */
  charge(units: number): boolean {
    // NaN (`'x'.repeat(NaN)`) must not poison the count: `used` would never compare above the limit again.
    const steps = units > 0 ? units / UNITS_PER_STEP : 0;
    this.charged += steps;
    return this.spend(steps);
  }
  spend(steps: number): boolean {
    this.used += steps;
    return (this.stopped ||= this.used > this.limit || this.ms + (Date.now() - this.roundStart) > this.msLimit);
  }
}
