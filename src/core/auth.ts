/**
 * Authorization rules: which access a request needs, and whether a principal's grants cover it.
 * Pure; middleware/principal.ts finds the principal (a bearer token's hash or a client
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
 * What a route needs, declared next to the route itself (middleware/access.ts), so that the
 * decision is made on exactly what the router matched:
 * - `public`: anyone (the Studio's static page; its API calls carry the user's token);
 * - `database`: a role on the database the route names (its `:db` parameter, or `?name=`);
 * - `server`: a role on the whole server, which only a "*" grant gives (database administration);
 * - `any`: any valid credential at all (cluster information every client reads first).
 */
export type Requirement = { scope: "public" } | { scope: "database" | "server" | "any"; role: Role };

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/**
 * Does any grant give at least the role where it is needed? `database` is the database a
 * database-scoped route names; "*" grants cover every database and the server.
 */
export function allows(grants: readonly Grant[], requirement: Requirement, database?: string): boolean {
  if (requirement.scope === "public") return true;
  if (requirement.scope === "any") return grants.length > 0;
  return grants.some(
    (grant) =>
      RANK[grant.role] >= RANK[requirement.role] &&
      (grant.database === "*" ||
        (requirement.scope === "database" && database !== undefined && grant.database.toLowerCase() === database.toLowerCase())),
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
