/**
 * What the official client asks before anything else: the database topology (one node, this
 * server), the cluster topology, node info and client configuration.
 *
 * The node URL is where the client sends everything afterwards, with its credentials, so it must
 * not come from the request's Host header (anyone can set that): it is the PUBLIC_URL var. Only
 * when authentication is off (local development) does it fall back to the request's origin.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { ErrorTypes, RavenError } from "../core/errors";
import { NODE_TAG, SERVER_VERSION, TOPOLOGY_ID } from "../core/server-info";
import { ClientConfiguration, ClusterTopology, NodeInfo, Topology, TopologyQuery } from "../core/schemas/admin";
import { errors, json } from "../core/schemas/common";
import { operation } from "./define";

export const topology = new OpenAPIHono<AppEnv>();
const tags = ["Cluster"];

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

operation(
  topology,
  {
    method: "get",
    path: "/topology",
    guard: access.readNamed,
    operationId: "topology",
    tags,
    summary: "Database topology (one node: this service)",
    query: TopologyQuery,
    responses: { 200: json("Topology", Topology), ...errors(400, 401, 403, 503) },
  },
  async (c) => {
    const database = c.var.database;
    return c.json({
      Promotables: [],
      Nodes: [{ Url: nodeUrl(c.env, c.req.url), ClusterTag: NODE_TAG, ServerRole: "Member", Database: database }],
      Etag: 1,
    });
  },
);

operation(
  topology,
  {
    method: "get",
    path: "/cluster/topology",
    guard: access.authenticated,
    operationId: "clusterTopology",
    tags,
    summary: "Cluster topology",
    responses: { 200: json("Topology", ClusterTopology), ...errors(401, 403, 503) },
  },
  (c) => {
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
  },
);

operation(
  topology,
  {
    method: "get",
    path: "/cluster/node-info",
    guard: access.authenticated,
    operationId: "nodeInfo",
    tags,
    summary: "Node information",
    responses: { 200: json("Node", NodeInfo), ...errors(401, 403) },
  },
  (c) =>
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

operation(
  topology,
  {
    method: "get",
    path: "/databases/{db}/configuration/client",
    guard: access.read,
    operationId: "clientConfiguration",
    tags,
    summary: "Client configuration (the official client asks for it)",
    responses: { 200: json("Configuration", ClientConfiguration), ...errors(401, 403, 503) },
  },
  (c) => c.json({ Etag: 0, Configuration: null }),
);
