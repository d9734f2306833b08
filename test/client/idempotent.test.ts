// idempotent(fn): any async function (a queue consumer, a workflow step) runs once per key; a
// repeat gets the stored result; a concurrent or reused key is a typed conflict; a throw frees it.
import { describe, expect, it } from "vitest";
import { IdempotencyConflictError, idempotent } from "../../src/client";
import { clientFor, delay, freshDb, thrown } from "./support";

interface Message {
  id: string;
  amount: number;
}

function consumer(options: { scope?: string } = {}) {
  const client = clientFor(freshDb("idemfn"));
  let effects = 0;
  const handle = idempotent(
    async (message: Message) => {
      effects++;
      await delay(50);
      return { charged: message.amount, effect: effects };
    },
    { client, scope: options.scope ?? "payments-queue", key: (message) => message.id },
  );
  return { client, handle, effects: () => effects };
}

describe("idempotent(fn)", () => {
  it("runs once per key and returns the stored result to a repeat", async () => {
    const { handle, effects } = consumer();
    const first = await handle({ id: "m-1", amount: 42 });
    const again = await handle({ id: "m-1", amount: 42 });
    expect(again).toEqual(first);
    expect(effects()).toBe(1);
    await handle({ id: "M-1", amount: 42 }); // keys are case-sensitive
    expect(effects()).toBe(2);
  });

  it("refuses a concurrent call with the same key, and a key reused with other arguments", async () => {
    const { handle, effects } = consumer();
    const [a, b] = await Promise.allSettled([handle({ id: "m-2", amount: 1 }), handle({ id: "m-2", amount: 1 })]);
    const outcomes = [a, b].map((r) => (r.status === "fulfilled" ? "ran" : (r.reason as IdempotencyConflictError).reason));
    expect(outcomes.sort()).toEqual(["in-progress", "ran"]);
    expect(effects()).toBe(1);
    const reused = await thrown(() => handle({ id: "m-2", amount: 2 }));
    expect(reused).toBeInstanceOf(IdempotencyConflictError);
    expect((reused as IdempotencyConflictError).reason).toBe("reused");
  });

  it("frees the key when fn throws, so a retry runs it again", async () => {
    const client = clientFor(freshDb("idemfn"));
    let calls = 0;
    const flaky = idempotent(
      async (id: string) => {
        calls++;
        if (calls === 1) throw new Error("downstream unavailable");
        return `done ${id}`;
      },
      { client, scope: "workflow", key: (id) => id },
    );
    expect(((await thrown(() => flaky("step-1"))) as Error).message).toBe("downstream unavailable");
    expect(await flaky("step-1")).toBe("done step-1");
    expect(await flaky("step-1")).toBe("done step-1");
    expect(calls).toBe(2);
  });

  it("keeps scopes apart: the same key under another scope runs anew", async () => {
    const a = consumer({ scope: "tenant-a" });
    const handleB = idempotent(async (m: Message) => ({ charged: m.amount, effect: -1 }), {
      client: a.client,
      scope: "tenant-b",
      key: (m) => m.id,
    });
    await a.handle({ id: "m-3", amount: 5 });
    expect(await handleB({ id: "m-3", amount: 5 })).toEqual({ charged: 5, effect: -1 });
  });
});
