/** How this server presents itself to RavenDB clients. */

/**
 * Sent as `Raven-Server-Version` on every response. Clients at 5.2 or above send
 * `OriginalChangeVector` (atomic cluster writes) only when the server says it is at least 5.2.
 */
export const SERVER_VERSION = "7.1.2";

/** The single node every topology names. */
export const NODE_TAG = "A";

/** Stable across requests so that clients see one cluster. */
export const TOPOLOGY_ID = "e1d9ec0a-5c4e-4d43-9a52-ed9ec0a5c4e1";
