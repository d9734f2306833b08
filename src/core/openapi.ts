/**
 * The parts of the OpenAPI 3.1 document that are not operations: title, description, servers,
 * security scheme, tags. The operations come from the routes themselves (src/routes/define.ts
 * registers each route with its request and response schemas from src/core/schemas/), and the
 * app generates the document from them (src/routes/openapi.ts).
 */
export function documentConfig(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-cmpxchg",
      version: "0.1.0",
      summary: "RavenDB-compatible compare-exchange on Cloudflare Workers and Durable Objects",
      description:
        "Versioned key/value items: create, update and delete succeed only if the caller's index matches. Wire-compatible with the official RavenDB clients; errors are RavenDB's envelope. Clients: the `ravendb` npm package, or `edge-cmpxchg-client` (also a CLI).",
    },
    servers: [{ url: serverUrl }],
    // A bearer token when authentication is on; nothing when it is off (local development).
    security: [{ bearer: [] as string[] }, {} as Record<string, string[]>],
    tags: [
      { name: "Compare exchange", description: "RavenDB's compare-exchange endpoints" },
      { name: "Watching (beyond RavenDB)", description: "Long polls and WebSocket streams of changes" },
      {
        name: "Documents",
        description: "Loads, batches (cluster-wide transactions) and queries, as the official client's sessions send them",
      },
      { name: "Ids", description: "HiLo ranges and identities" },
      { name: "Databases", description: "Administration and statistics" },
      { name: "Cluster", description: "What the official client asks before anything else" },
      { name: "Pages", description: "HTML pages, the health check and this description" },
    ],
  };
}

/** The security scheme, registered as a component of the document. */
export const BEARER = {
  type: "http" as const,
  scheme: "bearer",
  description: "A token whose SHA-256 is in AUTH_TOKENS (when AUTH is on)",
};
