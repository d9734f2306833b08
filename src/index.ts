/**
 * The Worker's entry: the app (app.ts) as the fetch handler, and the classes the runtime needs
 * by name — the Durable Objects and the Service Binding's entrypoint.
 */
import app from "./app";

export { CatalogObject } from "./objects/catalog";
export { CoordinatorObject } from "./objects/coordinator";
export { ShardObject } from "./objects/shard";
export { CmpxchgService } from "./service";

export default app satisfies ExportedHandler<Env>;
