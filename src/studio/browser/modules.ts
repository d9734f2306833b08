/** The factories main() is given (types only: source.ts passes their source text). */
import type { createApi } from "./api";
import type { createAuth } from "./auth";
import type { createDatabases } from "./databases";
import type { createDom } from "./dom";
import type { createEditor } from "./editor";
import type { createItems } from "./items";
import type { createJson } from "./json";
import type { createState } from "./state";
import type { createTxns } from "./txns";
import type { createUi } from "./ui";

export interface Modules {
  createJson: typeof createJson;
  createDom: typeof createDom;
  createUi: typeof createUi;
  createAuth: typeof createAuth;
  createState: typeof createState;
  createApi: typeof createApi;
  createItems: typeof createItems;
  createEditor: typeof createEditor;
  createTxns: typeof createTxns;
  createDatabases: typeof createDatabases;
}
