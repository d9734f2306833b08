/**
 * How a request schema both validates and documents: each query value is read as the string it
 * is, then checked by the one validator of src/core (which throws RavenError with RavenDB's type,
 * status and wording), and documented with the type that validator accepts. A request body is
 * checked by its parser first (its messages are the ones the official client expects), then by
 * the documented shape itself, so the document can never promise more than the route accepts.
 *
 * A failed check becomes a zod issue carrying the RavenError; {@link parseWith} turns the first
 * issue back into that error. An issue of zod's own (a documented shape that a parser let through)
 * answers 400 with zod's message.
 */
import { z } from "@hono/zod-openapi";
import { badInput, ErrorTypes, RavenError } from "../errors";

/** How a query value is documented: the JSON Schema of what the check accepts, and whether it must be there. */
export interface Doc {
  type: "string" | "integer" | "boolean" | "array";
  items?: { type: "string" };
  description: string;
  example?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  enum?: string[];
  required?: boolean;
}

/** Adds a thrown RavenError as an issue of the current value; anything else is a bug and is rethrown. */
export function asIssue<T>(ctx: z.RefinementCtx, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof RavenError)) throw err;
    ctx.addIssue({ code: "custom", message: err.message, params: { raven: err } });
    return z.NEVER;
  }
}

/** The OpenAPI metadata of a query value: its documented type, and `required` as a parameter flag. */
function meta({ required, ...doc }: Doc): Parameters<z.ZodString["openapi"]>[1] & object {
  return { ...doc, param: { required: required === true } };
}

/**
 * One query value (`?name=value`, the first when repeated; undefined when absent), checked by
 * `check` and documented by `doc` (e.g. `{ type: "integer", minimum: 0, required: true }`).
 */
export function checked<T>(check: (raw: string | undefined) => T, doc: Doc) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => asIssue(ctx, () => check(raw)))
    .openapi(meta(doc));
}

/** A plain optional query string, as sent. */
export function text(doc: Doc) {
  return z.string().optional().openapi(meta(doc));
}

/** Query names read with every value (`?key=a&key=b`); the others are read once. */
const repeatedSchemas = new WeakSet<z.ZodType>();

/** A repeatable query value: every occurrence, in order, checked together by `check`. */
export function repeated<T>(check: (raw: string[]) => T, doc: Doc) {
  const schema = z
    .array(z.string())
    .transform((raw, ctx) => asIssue(ctx, () => check(raw)))
    .openapi(meta(doc));
  repeatedSchemas.add(schema);
  return schema;
}

/** The query of a request as the object a query schema reads: repeated names as arrays. */
export function queryObject(schema: z.ZodObject, params: URLSearchParams): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    out[name] = repeatedSchemas.has(field as z.ZodType) ? params.getAll(name) : (params.get(name) ?? undefined);
  }
  return out;
}

/** A query schema, or one whose object is followed by a transform (checks that depend on each other). */
export type QuerySchema = z.ZodObject | z.ZodPipe<z.ZodObject, z.ZodType>;

/** The object of a query schema: its fields are the documented parameters. */
export function queryShape(schema: QuerySchema): z.ZodObject {
  return schema instanceof z.ZodPipe ? (schema.in as z.ZodObject) : schema;
}

/** A query object followed by checks that read several of its values together (`f` throws RavenError). */
export function thenCheck<S extends z.ZodObject, T>(schema: S, f: (query: z.output<S>) => T) {
  return schema.transform((query, ctx) => asIssue(ctx, () => f(query)));
}

/** Validates `value` with `schema`: its output, or the RavenError of the first failed check, thrown. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw issueError(result.error);
}

function issueError(error: z.ZodError): RavenError {
  const issue = error.issues[0];
  const raven = (issue as { params?: { raven?: unknown } } | undefined)?.params?.raven;
  if (raven instanceof RavenError) return raven;
  const where = issue && issue.path.length > 0 ? ` (at ${issue.path.join(".")})` : "";
  return badInput(ErrorTypes.invalidData, `${issue?.message ?? "Invalid request"}${where}`);
}

/**
 * A request body: `check` (the route's parser, throwing RavenError) runs first, then `shape`, the
 * documented form, must accept what the parser accepted. Returns the parser's result.
 */
export function checkBody<T>(shape: z.ZodType, value: unknown, check: (value: unknown) => T): T {
  const result = check(value);
  parseWith(shape, value);
  return result;
}
