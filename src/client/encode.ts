/**
 * What the client sends, through the server's own validator and encoder (src/core): a value that
 * the server would refuse fails here with the exception the server's answer would have raised,
 * before any request; numbers are written exactly (bigints, and {@link JsonNumber}s, e.g. those
 * read with `exactNumbers`, keep every digit).
 */
import { checkValue, requireIndex, valueBody } from "../core/cmpxchg.js";
import { RavenError } from "../core/errors.js";
import { encodeJson, type JsonValue, parseJson } from "../core/json.js";
import { errorFromResponse } from "./errors.js";
import type { Metadata, TransactionCommand } from "./types.js";
import { wireCommand } from "./wire.js";

/** Runs a core check; a refusal becomes the client's typed exception, as if the server answered. */
function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof RavenError) throw errorFromResponse(err.status, JSON.stringify(err.envelope("")));
    throw err;
  }
}

/** The body of a put: `{"Object": value, "@metadata": …}`, checked and encoded. */
export function encodeValue(value: unknown, metadata?: Metadata): string {
  return checked(() => checkValue(valueBody(value, metadata)).json);
}

/** An index for the query string, read by the server's own reading (same refusals, same types). */
export function encodeIndex(index: number): string {
  return checked(() => String(requireIndex(String(index))));
}

/** A cluster-wide batch: every compare-exchange value checked as a single put's would be. */
export function encodeBatch(commands: TransactionCommand[]): string {
  const wire = commands.map((command) => {
    if (command.type === "CompareExchangeCHECK") encodeIndex(command.index);
    if (command.type === "CompareExchangePUT") {
      encodeIndex(command.index);
      checked(() => checkValue(valueBody(command.value, command.metadata), `The value of '${command.key}'`));
    }
    return wireCommand(command);
  });
  return encodeJson({ Commands: wire, TransactionMode: "ClusterWide" });
}

/** How answers are read: `JSON.parse`, or the exact reader when the client keeps numbers exact. */
export function answerParser(exactNumbers: boolean | undefined): (text: string) => unknown {
  return exactNumbers ? (text: string): JsonValue => parseJson(text) : (text: string): unknown => JSON.parse(text);
}
