/**
 * The HTTP API, as any client uses it: JSON answers parsed (big numbers kept), a RavenDB error
 * envelope turned into a readable Error with its status, a 401/403 answered by asking for a token
 * and retrying. What the page uses:
 *
 * - GET  /databases?namesOnly=true                                    database picker
 * - GET  /databases/<db>/cmpxchg?startsWith&pageSize&continuationToken  listing, paging
 * - GET  /databases/<db>/cmpxchg?key=<k>                              open an item
 * - PUT / DELETE /databases/<db>/cmpxchg?key=<k>&index=<i>            create (index 0), save, delete
 * - GET  /databases/<db>/transactions?limit=50                        transactions panel
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Auth } from "./auth";
import type { Json } from "./json";
import type { ApiError, ApiResult, JsonObject, State } from "./types";

export function createApi(json: Json, auth: Auth, state: State) {
  const enc = encodeURIComponent;

  function describeError(status: number, body: JsonObject | null, text: string): string {
    if (body && typeof body.Message === "string") {
      const type = typeof body.Type === "string" ? body.Type.split(".").pop() : "Error";
      return `${type} (HTTP ${status}): ${body.Message}`;
    }
    return `HTTP ${status}: ${text ? json.clip(text, 300) : "no details"}`;
  }

  async function api(method: string, path: string, body?: string): Promise<ApiResult> {
    for (;;) {
      const token = auth.getToken();
      const headers: Record<string, string> = { Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const init: RequestInit = { method, headers, cache: "no-store" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json; charset=utf-8";
        init.body = body;
      }
      let res: Response;
      try {
        res = await fetch(path, init);
      } catch (e) {
        throw new Error(`Could not reach the server: ${e instanceof Error && e.message ? e.message : String(e)}`);
      }
      if (res.status === 401 || res.status === 403) {
        try {
          await res.arrayBuffer();
        } catch {
          /* ignore */
        }
        if (await auth.askToken(res.status, !!token)) continue;
        throw new Error(`Not authorized (HTTP ${res.status}): no access token was given.`);
      }
      const text = await res.text();
      let parsed: JsonObject | null = null;
      if (text) {
        try {
          const value = json.parseJson(text);
          parsed = json.isPlainObject(value) ? value : null;
        } catch {
          if (res.ok) throw new Error(`The server answered with something that is not JSON (HTTP ${res.status}).`);
        }
      }
      const missing = res.status === 404 && method === "GET" && !text;
      if (!res.ok && !missing) {
        const failure: ApiError = new Error(describeError(res.status, parsed, text));
        failure.status = res.status;
        failure.serverMessage = parsed && typeof parsed.Message === "string" ? parsed.Message : "";
        throw failure;
      }
      return { status: res.status, json: parsed, text };
    }
  }
  function dbPath(rest: string): string {
    return `/databases/${enc(state.db ?? "")}${rest}`;
  }
  function itemPath(key: string, index?: number): string {
    return `${dbPath("/cmpxchg")}?key=${enc(key)}${index === undefined ? "" : `&index=${index}`}`;
  }
  return { api, dbPath, itemPath };
}

export type Api = ReturnType<typeof createApi>;
