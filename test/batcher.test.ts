/**
 * The coordinator's message batching (src/objects/batcher.ts), on its own: one call in flight,
 * messages sent meanwhile leave together, each message gets its own reply, and a failure fails
 * only what it should.
 */
import { describe, expect, it } from "vitest";
import { Batcher, type Reply } from "../src/objects/batcher";

/** A destination whose calls the test answers by hand. */
function manualDestination() {
  const calls: { batch: number[]; answer: (replies: Reply<string>[]) => void; fail: (err: Error) => void }[] = [];
  const send = (batch: number[]) =>
    new Promise<Reply<string>[]>((answer, fail) => {
      calls.push({ batch, answer, fail });
    });
  return { calls, send };
}

const echo = (batch: number[]): Reply<string>[] => batch.map((n) => ({ ok: `r${n}` }));

describe("Batcher", () => {
  it("sends a message at once when no call is in flight", async () => {
    const dest = manualDestination();
    const batcher = new Batcher(dest.send);
    const reply = batcher.submit(1);
    expect(dest.calls.map((c) => c.batch)).toEqual([[1]]);
    dest.calls[0]!.answer(echo([1]));
    expect(await reply).toBe("r1");
  });

  it("sends the messages that arrive during a call together in the next, each with its own reply", async () => {
    const dest = manualDestination();
    const batcher = new Batcher(dest.send);
    const first = batcher.submit(1);
    const rest = [2, 3, 4].map((n) => batcher.submit(n));
    expect(dest.calls.map((c) => c.batch)).toEqual([[1]]); // one call in flight at a time
    dest.calls[0]!.answer(echo([1]));
    expect(await first).toBe("r1");
    await Promise.resolve();
    expect(dest.calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4]]);
    dest.calls[1]!.answer(echo([2, 3, 4]));
    expect(await Promise.all(rest)).toEqual(["r2", "r3", "r4"]);
  });

  it("fails one message alone when its reply is an error", async () => {
    const dest = manualDestination();
    const batcher = new Batcher(dest.send);
    const blocker = batcher.submit(0);
    const [a, b] = [batcher.submit(1), batcher.submit(2)];
    dest.calls[0]!.answer(echo([0]));
    await blocker;
    await Promise.resolve();
    dest.calls[1]!.answer([{ error: "failpoint shard.prepare.after: throw" }, { ok: "r2" }]);
    const outcome = await Promise.allSettled([a, b]);
    expect(outcome[0]).toMatchObject({ status: "rejected", reason: { message: "failpoint shard.prepare.after: throw" } });
    expect(outcome[1]).toEqual({ status: "fulfilled", value: "r2" });
  });

  it("fails every message of a call that fails as a whole, and goes on with the next", async () => {
    const dest = manualDestination();
    const batcher = new Batcher(dest.send);
    const blocker = batcher.submit(0);
    const carried = [batcher.submit(1), batcher.submit(2)];
    dest.calls[0]!.fail(new Error("the object crashed"));
    await expect(blocker).rejects.toThrow("the object crashed");
    await Promise.resolve();
    dest.calls[1]!.fail(new Error("still down"));
    const outcome = await Promise.allSettled(carried);
    expect(outcome.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    const later = batcher.submit(3);
    expect(dest.calls.map((c) => c.batch)).toEqual([[0], [1, 2], [3]]);
    dest.calls[2]!.answer(echo([3]));
    expect(await later).toBe("r3");
  });

  it("a missing reply fails its message instead of leaving it waiting", async () => {
    const dest = manualDestination();
    const batcher = new Batcher(dest.send);
    const reply = batcher.submit(1);
    dest.calls[0]!.answer([]);
    await expect(reply).rejects.toThrow("no reply");
  });
});
