/// <reference types="vite/client" />
// The checker against known answers: every Jepsen etcd history Porcupine ships (a CAS register
// with timeouts, 102 histories, answers from porcupine_test.go) and its kv histories, checked by
// the same WGL engine that checks our service. The files are in ./vectors (MIT, see
// vectors/SOURCE.md and vectors/LICENSE), read at build time.
import { describe, expect, it } from "vitest";
import { casRegisterModel, check, kvModel } from "./checker";
import { parseJepsenLog, parseKvLog } from "./porcupine";
import expectedText from "./vectors/jepsen/expected.txt?raw";

const jepsen = import.meta.glob<string>("./vectors/jepsen/etcd_*.log", { query: "?raw", import: "default", eager: true });
const kv = import.meta.glob<string>("./vectors/kv/*.txt", { query: "?raw", import: "default", eager: true });

const expected = new Map(
  expectedText
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .map(([n, answer]) => [Number(n), answer === "true"] as const),
);

describe("Porcupine's Jepsen etcd vectors (CAS register)", () => {
  it("has every vector with a known answer", () => {
    expect(expected.size).toBe(102);
    for (const n of expected.keys()) expect(jepsen[`./vectors/jepsen/etcd_${String(n).padStart(3, "0")}.log`]).toBeTypeOf("string");
  });

  it("agrees with the expected answer on all of them", { timeout: 60_000 }, () => {
    const disagreements: string[] = [];
    let ops = 0;
    let illegal = 0;
    let slowest = { n: -1, ms: 0 };
    const started = performance.now();
    for (const [n, linearizable] of expected) {
      const history = parseJepsenLog(jepsen[`./vectors/jepsen/etcd_${String(n).padStart(3, "0")}.log`]!);
      const result = check(casRegisterModel, history, { timeoutMs: 20_000 });
      ops += history.length;
      if (result.verdict === "illegal") illegal++;
      if (result.elapsedMs > slowest.ms) slowest = { n, ms: result.elapsedMs };
      if (result.verdict !== (linearizable ? "ok" : "illegal"))
        disagreements.push(`etcd_${n}: expected ${linearizable}, got ${result.verdict}`);
    }
    console.log(
      `porcupine jepsen: ${expected.size} histories, ${ops} ops, ${illegal} illegal / ${expected.size - illegal} ok, ` +
        `${(performance.now() - started).toFixed(0)} ms (slowest etcd_${slowest.n}: ${slowest.ms.toFixed(0)} ms)`,
    );
    expect(disagreements).toEqual([]);
    expect(illegal).toBe([...expected.values()].filter((v) => !v).length);
  });
});

describe("Porcupine's kv vectors (get/put/append, checked per key)", () => {
  const files = Object.keys(kv).sort();
  it("has the six files", () =>
    expect(files.map((f) => f.split("/").pop())).toEqual([
      "c01-bad.txt",
      "c01-ok.txt",
      "c10-bad.txt",
      "c10-ok.txt",
      "c50-bad.txt",
      "c50-ok.txt",
    ]));

  for (const file of files) {
    const name = file.split("/").pop()!;
    it(`${name} is ${name.includes("-ok") ? "linearizable" : "not linearizable"}`, { timeout: 30_000 }, () => {
      const history = parseKvLog(kv[file]!);
      const result = check(kvModel, history, { timeoutMs: 20_000 });
      console.log(`porcupine kv ${name}: ${history.length} ops, ${result.verdict} in ${result.elapsedMs.toFixed(0)} ms`);
      expect(result.verdict).toBe(name.includes("-ok") ? "ok" : "illegal");
    });
  }
});
