/**
 * Authorization, route by route. Every route is registered with one of these guards in front of
 * its handler, so the decision is taken on exactly what the router matched (its decoded `:db`
 * parameter), never on a second reading of the raw path. A path no route matches reaches no
 * guard and no handler: it is refused (index.ts `notFound`), never treated as a read.
 *
 * Each guard is remembered with its requirement, so the tests can walk the app's own route list
 * and prove that no route is registered without one (test/security/authorization.test.ts).
 *
 * For a database-scoped route the guard also validates the name once, checks that the database
 * exists (after authorization, so existence is not revealed to strangers), applies the write
 * rate limit to writes, and sets `c.var.database` for the handler.
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { allows, type Requirement } from "../core/auth";
import { checkDatabaseName } from "../core/database";
import { ErrorTypes, RavenError } from "../core/errors";
import { requireDatabase } from "../worker/databases";
import type { AppEnv } from "./env";
import { principalOf, type Principal } from "./principal";
import { enforceWriteLimit } from "./write-limit";

const requirements = new WeakMap<MiddlewareHandler<AppEnv>, Requirement>();

/** The requirement of a guard, or undefined when the handler is not one. */
export function requirementOf(handler: unknown): Requirement | undefined {
  return requirements.get(handler as MiddlewareHandler<AppEnv>);
}

/** 401 with a challenge when no valid credential came at all (so clients know to send one). */
export function unauthenticated(): RavenError {
  return new RavenError(
    401,
    ErrorTypes.authorization,
    "Unauthorized: this server requires a valid token (Authorization: Bearer <token>) or client certificate.",
    {},
    { "WWW-Authenticate": 'Bearer realm="edge-cmpxchg"' },
  );
}

export function isAnonymous(principal: Principal): boolean {
  return principal.kind === "grants" && principal.grants.length === 0;
}

function authorize(principal: Principal, requirement: Requirement, database: string | undefined): void {
  if (principal.kind !== "grants" || requirement.scope === "public") return;
  if (allows(principal.grants, requirement, database)) return;
  const role = requirement.scope === "any" ? "read" : requirement.role;
  const what =
    requirement.scope === "database"
      ? `${role} access to database '${database}'`
      : requirement.scope === "server"
        ? `${role} access to the server`
        : "a valid credential";
  throw new RavenError(403, ErrorTypes.authorization, `Forbidden: this request needs ${what}. The presented credentials do not grant it.`);
}

function guard(requirement: Requirement, databaseFrom: "param" | "query" = "param"): MiddlewareHandler<AppEnv> {
  const middleware = createMiddleware<AppEnv>(async (c, next) => {
    if (requirement.scope === "public") return next();
    const principal = await principalOf(c);
    if (isAnonymous(principal)) throw unauthenticated();
    if (requirement.scope !== "database") {
      authorize(principal, requirement, undefined);
      return next();
    }
    const database = checkDatabaseName(databaseFrom === "param" ? c.req.param("db") : c.req.query("name"));
    authorize(principal, requirement, database);
    const { routing } = await requireDatabase(c.env, database);
    if (requirement.role !== "read") await enforceWriteLimit(c.env, database);
    c.set("database", database);
    c.set("routing", routing);
    return next();
  });
  requirements.set(middleware, requirement);
  return middleware;
}

/** The guards routes are registered with. */
export const access = {
  /** Anyone: static pages. */
  public: guard({ scope: "public" }),
  /** Any valid credential: cluster information every client asks for first. */
  authenticated: guard({ scope: "any", role: "read" }),
  /** Reads of the database named by `:db`. */
  read: guard({ scope: "database", role: "read" }),
  /** Writes to the database named by `:db` (anything that changes state, HiLo included). */
  write: guard({ scope: "database", role: "write" }),
  /** Reads of the database named by `?name=` (the topology). */
  readNamed: guard({ scope: "database", role: "read" }, "query"),
  /** Server administration: creating, listing and deleting databases. */
  serverAdmin: guard({ scope: "server", role: "admin" }),
};
