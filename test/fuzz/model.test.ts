// Model-based test (fast-check commands): random sequences of creates, updates, deletes, reads
// and listings against an in-memory model of RavenDB's compare-exchange, checked step by step.
// Writes send the current index, a stale one or a future one.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, freshDb } from "../helpers";

interface Item {
  value: number;
  index: number;
}
type Model = { items: Map<string, Item>; maxIndex: Map<string, number> };
type Real = { db: string };

const KEYS = ["a", "B", "c/1", "C/2", "ключ"];
const lower = (k: string) => k.toLowerCase();

async function put(db: string, key: string, index: number, value: number) {
  const res = await call(`/databases/${db}/cmpxchg?key=${encodeURIComponent(key)}&index=${index}`, {
    method: "PUT",
    body: JSON.stringify({ Object: value }),
  });
  return (await res.json()) as { Index: number; Value: { Object: number } | null; Successful: boolean };
}

/**
 * Which index a write sends: the current one (0 for a missing key), a stale one (below the
 * current index, or the index a deleted key last had), or a future one (above any index the key
 * ever had); `offset` spreads stale and future values.
 */
type IndexChoice = "current" | "stale" | "future";

function chooseIndex(m: Model, key: string, choice: IndexChoice, offset: number): number {
  const current = m.items.get(lower(key));
  const highest = m.maxIndex.get(lower(key)) ?? 0;
  switch (choice) {
    case "current":
      return current?.index ?? 0;
    case "stale":
      // For a missing key: the index it had before its delete, or any non-zero index if it never existed.
      return current ? Math.max(0, current.index - 1 - offset) : highest > 0 ? Math.max(1, highest - offset) : 1 + offset;
    case "future":
      return highest + 1 + offset;
  }
}

const indexChoice = fc.tuple(fc.constantFrom<IndexChoice>("current", "stale", "future"), fc.nat(5));

class Put implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly choice: IndexChoice,
    readonly offset: number,
    readonly value: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const current = m.items.get(lower(this.key));
    const index = chooseIndex(m, this.key, this.choice, this.offset);
    const res = await put(r.db, this.key, index, this.value);
    const succeeds = current ? index === current.index : index === 0;
    expect(res.Successful).toBe(succeeds);
    if (succeeds) {
      expect(res.Index).toBeGreaterThan(m.maxIndex.get(lower(this.key)) ?? 0);
      m.items.set(lower(this.key), { value: this.value, index: res.Index });
      m.maxIndex.set(lower(this.key), res.Index);
    } else if (current) {
      expect([res.Index, res.Value?.Object]).toEqual([current.index, current.value]);
    } else {
      expect([res.Index, res.Value]).toEqual([0, null]);
    }
  }
  toString = () => `put(${this.key}, ${this.choice}+${this.offset}, ${this.value})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly choice: IndexChoice,
    readonly offset: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const current = m.items.get(lower(this.key));
    const index = chooseIndex(m, this.key, this.choice, this.offset);
    const res = (await (
      await call(`/databases/${r.db}/cmpxchg?key=${encodeURIComponent(this.key)}&index=${index}`, { method: "DELETE" })
    ).json()) as { Index: number; Successful: boolean; Value: { Object: number } | null };
    if (!current || index === current.index) {
      expect(res.Successful).toBe(true);
      expect(res.Index).toBeGreaterThan(m.maxIndex.get(lower(this.key)) ?? 0);
      m.maxIndex.set(lower(this.key), res.Index);
      m.items.delete(lower(this.key));
    } else {
      expect([res.Successful, res.Index, res.Value?.Object]).toEqual([false, current.index, current.value]);
    }
  }
  toString = () => `delete(${this.key}, ${this.choice}+${this.offset})`;
}

class Get implements fc.AsyncCommand<Model, Real> {
  constructor(readonly key: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const res = await call(`/databases/${r.db}/cmpxchg?key=${encodeURIComponent(this.key)}`);
    const current = m.items.get(lower(this.key));
    if (!current) return void expect(res.status).toBe(404);
    const json = (await res.json()) as { Results: { Key: string; Value: { Object: number }; Index: number }[] };
    expect(json.Results).toEqual([{ Key: this.key, Value: { Object: current.value }, Index: current.index }]);
  }
  toString = () => `get(${this.key})`;
}

class List implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    const json = (await (await call(`/databases/${r.db}/cmpxchg?startsWith=`)).json()) as {
      Results: { Key: string; Index: number; Value: { Object: number } }[];
    };
    const expected = [...m.items].map(([key, item]) => ({ Key: key, Index: item.index, Value: { Object: item.value } }));
    expected.sort((x, y) => (x.Key < y.Key ? -1 : x.Key > y.Key ? 1 : 0));
    expect(json.Results).toEqual(expected);
  }
  toString = () => "list()";
}

describe("model-based", () => {
  it("the service behaves as the model over random command sequences", async () => {
    const key = fc.constantFrom(...KEYS, ...KEYS.map((k) => k.toUpperCase()));
    const commands = [
      fc.tuple(key, indexChoice, fc.integer()).map(([k, [c, o], v]) => new Put(k, c, o, v)),
      fc.tuple(key, indexChoice).map(([k, [c, o]]) => new Delete(k, c, o)),
      key.map((k) => new Get(k)),
      fc.constant(new List()),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const setup = () => ({ model: { items: new Map(), maxIndex: new Map() } as Model, real: { db: freshDb("model") } });
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
