/**
 * What the official client asks before anything else: the database topology (one node, this
 * server), the cluster topology, node info and client configuration.
 *
 * The node URL is where the client sends everything afterwards, with its credentials, so it must
 * not come from the request's Host header (anyone can set that): it is the PUBLIC_URL var. Only
 * when authentication is off (local development) does it fall back to the request's origin.
 */
import { Hono } from "hono";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { ErrorTypes, RavenError } from "../core/errors";
import { NODE_TAG, SERVER_VERSION, TOPOLOGY_ID } from "../core/server-info";

export const topology = new Hono<AppEnv>();

function nodeUrl(env: Env, requestUrl: string): string {
  const vars = env;
  const configured = vars.PUBLIC_URL?.trim();
  if (configured) {
    try {
      const url = new URL(configured);
      if (url.protocol === "https:" || url.protocol === "http:") return url.origin;
    } catch {
      // reported below
    }
    console.error(`PUBLIC_URL is not an http(s) URL: ${JSON.stringify(configured)}`);
  } else if (vars.AUTH === "off") {
    return new URL(requestUrl).origin;
  } else {
    console.error("PUBLIC_URL is not set: the topology cannot name this server's address (set it in wrangler.toml [vars]).");
  }
  throw new RavenError(
    503,
    ErrorTypes.server,
    "The server is misconfigured and cannot describe its topology; its operator has been told in the logs.",
  );
}

topology.get("/topology", access.readNamed, async (c) => {
  const database = c.var.database;
  return c.json({
    Promotables: [],
    Nodes: [{ Url: nodeUrl(c.env, c.req.url), ClusterTag: NODE_TAG, ServerRole: "Member", Database: database }],
    Etag: 1,
  });
});

topology.get("/cluster/topology", access.authenticated, (c) => {
  const url = nodeUrl(c.env, c.req.url);
  return c.json({
    Topology: {
      TopologyId: TOPOLOGY_ID,
      AllNodes: { [NODE_TAG]: url },
      Members: { [NODE_TAG]: url },
      Promotables: {},
      Watchers: {},
      LastNodeId: NODE_TAG,
      Etag: 1,
    },
    Etag: 1,
    Leader: NODE_TAG,
    LeaderShipDuration: 0,
    CurrentState: "Leader",
    NodeTag: NODE_TAG,
    CurrentTerm: 1,
    NodeLicenseDetails: {},
    LastStateChangeReason: null,
    Status: {},
  });
});

topology.get("/cluster/node-info", access.authenticated, (c) =>
  c.json({
    NodeTag: NODE_TAG,
    TopologyId: TOPOLOGY_ID,
    Certificate: null,
    ClusterStatus: "Joined",
    NumberOfCores: 1,
    InstalledMemoryInGb: 0.125,
    UsableMemoryInGb: 0.125,
    BuildInfo: {
      ProductVersion: SERVER_VERSION.split(".").slice(0, 2).join("."),
      BuildVersion: 71000,
      CommitHash: "edge-cmpxchg",
      FullVersion: SERVER_VERSION,
    },
    ServerRole: "Member",
    HasFixedPort: true,
    ServerSchemaVersion: 70000,
  }),
);

topology.get("/databases/:db/configuration/client", access.read, (c) => {
  return c.json({ Etag: 0, Configuration: null });
});
