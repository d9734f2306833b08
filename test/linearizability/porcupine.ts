/**
 * Parsers for Porcupine's test vectors (github.com/anishathalye/porcupine, MIT; a copy with its
 * LICENSE and SOURCE.md are in ./vectors): Jepsen etcd CAS-register logs and kv histories.
 * Times are line numbers, as Porcupine orders its events by position in the file.
 */
import type { KvInput, KvOutput, Operation, RegisterInput, RegisterOutput } from "./checker";

/**
 * `INFO  jepsen.util - P :invoke|:ok|:fail|:info :read|:write|:cas VALUE`, as Porcupine's
 * parseJepsenLog reads it: an `:info` leaves its operation pending forever (unknown outcome; the
 * process is retired), `:fail :read :timed-out` ends the read with an unknown output there.
 */
export function parseJepsenLog(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const ops: Operation<RegisterInput, RegisterOutput>[] = [];
  const pending = new Map<number, Operation<RegisterInput, RegisterOutput>>();
  const lines = text.split("\n");
  const re = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;
  lines.forEach((line, t) => {
    if (line.trim() === "") return;
    const m = re.exec(line);
    if (!m) throw new Error(`unparsed line ${t + 1}: ${line}`);
    const process = Number(m[1]);
    const type = m[2]!;
    const f = m[3] as "read" | "write" | "cas";
    const arg = m[4]!;
    if (type === "invoke") {
      let input: RegisterInput;
      if (f === "read") input = { f };
      else if (f === "write") input = { f, value: Number(arg) };
      else {
        const cas = /^\[(\d+)\s+(\d+)\]$/.exec(arg);
        if (!cas) throw new Error(`bad cas at line ${t + 1}: ${line}`);
        input = { f, from: Number(cas[1]), to: Number(cas[2]) };
      }
      const op: Operation<RegisterInput, RegisterOutput> = {
        id: ops.length,
        process,
        key: "register",
        input,
        output: undefined,
        outcome: "info",
        call: t,
        ret: Infinity,
      };
      ops.push(op);
      pending.set(process, op);
      return;
    }
    const op = pending.get(process);
    if (!op) throw new Error(`completion without invocation at line ${t + 1}: ${line}`);
    if (type === "info") {
      pending.delete(process);
      return; // stays pending: unknown outcome
    }
    pending.delete(process);
    op.ret = t;
    if (type === "ok") {
      op.outcome = "ok";
      op.output = f === "read" ? { value: arg === "nil" ? null : Number(arg) } : f === "cas" ? { ok: true } : { ok: true };
    } else if (f === "cas") {
      op.outcome = "fail";
      op.output = { ok: false };
    } else {
      // `:fail :read :timed-out`: a read that ended without an answer.
      op.outcome = "info";
      op.output = undefined;
    }
  });
  return ops;
}

/** `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}` lines. */
export function parseKvLog(text: string): Operation<KvInput, KvOutput>[] {
  const ops: Operation<KvInput, KvOutput>[] = [];
  const pending = new Map<number, Operation<KvInput, KvOutput>>();
  const re = /^\{:process (\d+), :type :(invoke|ok|fail|info), :f :(get|put|append), :key "([^"]*)", :value (nil|"[^"]*")\}\s*$/;
  text.split("\n").forEach((line, t) => {
    if (line.trim() === "") return;
    const m = re.exec(line);
    if (!m) throw new Error(`unparsed line ${t + 1}: ${line}`);
    const process = Number(m[1]);
    const type = m[2]!;
    const f = m[3] as KvInput["f"];
    const value = m[5] === "nil" ? null : m[5]!.slice(1, -1);
    if (type === "invoke") {
      const op: Operation<KvInput, KvOutput> = {
        id: ops.length,
        process,
        key: m[4]!,
        input: f === "get" ? { f } : { f, value: value ?? "" },
        output: undefined,
        outcome: "info",
        call: t,
        ret: Infinity,
      };
      ops.push(op);
      pending.set(process, op);
      return;
    }
    const op = pending.get(process);
    if (!op) throw new Error(`completion without invocation at line ${t + 1}: ${line}`);
    pending.delete(process);
    if (type === "info") return;
    op.ret = t;
    op.outcome = type === "ok" ? "ok" : "fail";
    op.output = { value: value ?? "" };
  });
  return ops;
}
