/**
 * Bounds on the work one request can cause. Each exists so that no request can make the Worker or
 * a shard hold more than a fixed amount of memory (Cloudflare gives an isolate 128 MB) or keep an
 * object busy for long while everyone else waits. Answers past a limit are 4xx, never partial.
 */

/** Largest request body (a bulk_docs batch); enforced while the body streams in. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Items in one listing page; RavenDB's "all" (pageSize ≤ 0 or absent) means this many, with a continuation token. */
export const MAX_PAGE_SIZE = 1024;
/** Value bytes in one listing page: a page stops early (with a continuation token) past this. */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;
/** Highest `start` offset a listing accepts (an offset is paid for by reading every skipped key). */
export const MAX_LIST_OFFSET = 100_000;

/** Keys in one multi-key GET, ids in one document load. */
export const MAX_KEYS_PER_REQUEST = 1024;
/** Bytes of values/documents in one response that is not a page (multi-key GET, document load, query page). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** Inner requests of one multi_get, and the bytes of all their answers together. */
export const MAX_MULTI_GET_REQUESTS = 100;
export const MAX_MULTI_GET_BYTES = 4 * 1024 * 1024;

/** Nesting of arrays and objects in a stored value or document (checked on every write). */
export const MAX_JSON_DEPTH = 64;

/** RQL: characters of the query text, conditions in its where clause, parentheses nested. */
export const MAX_QUERY_LENGTH = 64 * 1024;
export const MAX_QUERY_CONDITIONS = 1024;
export const MAX_QUERY_NESTING = 32;
/** A query's start + page size: the matches a query keeps in hand while it scans. */
export const MAX_QUERY_WINDOW = 2048;
/** Documents one query may read before it is refused (narrow it with id() == …). */
export const MAX_SCANNED_DOCS = 100_000;

/**
 * A query's JavaScript (worker/js-sandbox.ts).
 * - A step is 10,000 ticks of QuickJS's interrupt counter (one per call or loop iteration): 100
 *   steps are about a million operations, 10–100 ms of CPU as measured here (BENCHMARKS.md).
 *   Wherever the clock advances during code (local workerd, Node), a script is also stopped after
 *   MAX_QUERY_JS_MS; deployed Workers freeze the clock while code runs, so there the steps are the
 *   bound. Native work inside one operation spends ticks too (our build of QuickJS counts bytes
 *   allocated, compared, hashed or converted to numbers, and prototype links walked:
 *   engine/README.md); built-ins whose work grows with their input spend steps by that size
 *   (worker/js-meter.ts), and so does syntax that is O(n) in one operation (for…in, long string
 *   +, object spread/rest), which core/js-rewrite.ts turns into charging calls before a script runs.
 * - Memory: the WebAssembly memory of the isolate's QuickJS instance cannot grow past
 *   MAX_QUERY_JS_MEMORY (a hard cap: malloc fails, the script gets "out of memory"); one runtime
 *   lives at a time, with a heap limit of MAX_QUERY_JS_HEAP as QuickJS counts it.
 * - The stack bounds recursion (~450 frames of a one-argument function; RavenDB allows 64) well
 *   below the host's own stack (~1,800 frames in Node).
 * - Rounds are batches of cmpxchg()/load() lookups that depend on one another.
 */
export const MAX_QUERY_JS_STEPS = 100;
export const MAX_QUERY_JS_MS = 100;
export const MAX_QUERY_JS_MEMORY = 48 * 1024 * 1024;
export const MAX_QUERY_JS_HEAP = 32 * 1024 * 1024;
export const MAX_QUERY_JS_STACK = 128 * 1024;
export const MAX_QUERY_JS_ROUNDS = 8;

/** User input echoed in an error message is cut to this many characters. */
export const MAX_ECHO_CHARS = 200;

/** Changes a shard keeps for resumable watches, at most (WATCH_HISTORY_RETENTION may ask for fewer). */
export const MAX_WATCH_HISTORY = 100_000;
/** Characters of keys and values a shard's watch history holds, at most (a Durable Object stores 10 GB). */
export const MAX_WATCH_HISTORY_BYTES = 1024 * 1024 * 1024;
/** History rows one change stream is sent per turn of the shard, so a long replay never holds it. */
export const WATCH_REPLAY_BATCH = 256;
