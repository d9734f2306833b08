/**
 * Response helpers. Stored values are JSON text and go out as they are (no parse and re-stringify,
 * so large integers keep their digits), which is why these build JSON by hand in places.
 */
export const JSON_TYPE = "application/json; charset=utf-8";

export function rawJson(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "Content-Type": JSON_TYPE, ...headers } });
}

/** `{Key, Value, Index}` in RavenDB's property order; `json` is the stored body or null. */
export function itemJson(key: string, json: string | null, index: number): string {
  return `{"Key":${JSON.stringify(key)},"Value":${json ?? "null"},"Index":${index}}`;
}

/** `{Index, Value, Successful}` in RavenDB's property order. */
export function writeResultJson(index: number, json: string | null, successful: boolean): string {
  return `{"Index":${index},"Value":${json ?? "null"},"Successful":${successful}}`;
}
