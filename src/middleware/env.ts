/**
 * The Hono environment of the app: the Worker's bindings, and the request-scoped values that
 * middleware sets once and handlers read (never re-derived in a handler).
 */
import type { Routing } from "../core/routing";
import type { Principal } from "./principal";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Who is asking; set by the first access check that needs it. */
    principal: Principal;
    /** The database a database-scoped route names: valid, authorized and (when explicit) existing. */
    database: string;
    /** How that database maps keys to shards (its key hash tags option, set at creation). */
    routing: Routing;
  };
}
