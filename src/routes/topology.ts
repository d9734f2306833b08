/**
 * What the official client asks before anything else: the database topology (one node, this
 * server, at the address the request came to), the cluster topology, node info and client
 * configuration. Databases exist implicitly for now, so every valid name has a topology.
 */
import { Hono } from "hono";
import { checkDatabaseName } from "../core/database";
import { requireDatabase } from "./databases";
import { NODE_TAG, SERVER_VERSION, TOPOLOGY_ID } from "../core/server-info";

export const topology = new Hono<{ Bindings: Env }>();

/** The node URL is wherever the client reached us, so the client keeps using that address. */
const nodeUrl = (requestUrl: string) => new URL(requestUrl).origin;

topology.get("/topology", async (c) => {
  const database = checkDatabaseName(c.req.query("name"));
  await requireDatabase(c.env, database);
  return c.json({
    Promotables: [],
    Nodes: [{ Url: nodeUrl(c.req.url), ClusterTag: NODE_TAG, ServerRole: "Member", Database: database }],
    Etag: 1,
  });
});

topology.get("/cluster/topology", (c) => {
  const url = nodeUrl(c.req.url);
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

topology.get("/cluster/node-info", (c) =>
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

topology.get("/databases/:db/configuration/client", (c) => {
  checkDatabaseName(c.req.param("db"));
  return c.json({ Etag: 0, Configuration: null });
});
