/**
 * Authorization rules: which access a request needs, and whether a principal's grants cover it.
 * Pure; the middleware in routes/auth.ts finds the principal (a bearer token's hash or a client
 * certificate's fingerprint) and applies these.
 *
 * Grants are configured as JSON (wrangler secrets/vars), never as plain tokens:
 *   AUTH_TOKENS        [{"sha256": "<hex of SHA-256(token)>", "database": "<name>" | "*", "role": "read" | "write" | "admin"}]
 *   AUTH_CERTIFICATES  [{"sha1": "<hex certificate fingerprint>", "database": …, "role": …}]
 */

export type Role = "read" | "write" | "admin";

export interface Grant {
  database: string;
  role: Role;
}

export interface TokenGrant extends Grant {
  sha256: string;
}

export interface CertificateGrant extends Grant {
  sha1: string;
}

/**
 * What a request needs: a role on a database — "*" means server-wide (only a "*" grant covers
 * it), "any" means any one database (cluster information any authenticated client may read).
 */
export type Access = { public: true } | { public: false; database: string; role: Role };

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

export function requiredAccess(method: string, pathname: string, query: URLSearchParams): Access {
  const verb = method.toUpperCase();
  if (pathname === "/studio" || pathname.startsWith("/studio/")) return { public: true };
  if (pathname === "/topology") return { public: false, database: query.get("name") ?? "*", role: "read" };
  if (pathname.startsWith("/cluster/")) return { public: false, database: "any", role: "read" };
  if (pathname.startsWith("/admin/") || pathname === "/databases") return { public: false, database: "*", role: "admin" };
  const match = /^\/databases\/([^/]+)(\/.*)?$/.exec(pathname);
  if (match) {
    const database = decodeURIComponent(match[1]!);
    const rest = match[2] ?? "";
    const reads = verb === "GET" || verb === "HEAD" || (verb === "POST" && /^\/(queries|multi_get|docs)$/.test(rest));
    const mutatingGet = rest === "/hilo/next";
    return { public: false, database, role: reads && !mutatingGet ? "read" : "write" };
  }
  return { public: false, database: "*", role: "read" };
}

/** Does any grant give at least the role on the database? A "*" grant covers every database. */
export function allows(grants: readonly Grant[], access: { database: string; role: Role }): boolean {
  return grants.some(
    (grant) =>
      RANK[grant.role] >= RANK[access.role] &&
      (grant.database === "*" ||
        access.database === "any" ||
        (access.database !== "*" && grant.database.toLowerCase() === access.database.toLowerCase())),
  );
}

/** Parses a grants list; throws with a message fit for an operator on anything malformed. */
export function parseGrants<T extends Grant>(raw: string | undefined, field: "sha256" | "sha1", name: string): T[] {
  if (raw === undefined || raw.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
  if (!Array.isArray(parsed)) throw new Error(`${name} must be a JSON array`);
  return parsed.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    const digest = e[field];
    if (typeof digest !== "string" || !/^[0-9a-fA-F]+$/.test(digest)) throw new Error(`${name}[${i}].${field} must be a hex digest`);
    if (typeof e.database !== "string" || e.database === "") throw new Error(`${name}[${i}].database must be a name or "*"`);
    if (e.role !== "read" && e.role !== "write" && e.role !== "admin") throw new Error(`${name}[${i}].role must be read, write or admin`);
    return { [field]: digest.toLowerCase(), database: e.database, role: e.role } as unknown as T;
  });
}

export function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
