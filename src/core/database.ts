/**
 * Database names, as RavenDB's `ResourceNameValidator` allows them: letters, digits, `_`, `-`, `.`,
 * at most 128 characters, not starting or ending with a dot. Names are case-insensitive.
 */
import { badInput, echo, ErrorTypes } from "./errors";

export const MAX_DATABASE_NAME_LENGTH = 128;
const VALID = /^[A-Za-z0-9_\-.]+$/;

export function checkDatabaseName(name: string | undefined | null): string {
  if (name == null || name.trim() === "") {
    throw badInput(ErrorTypes.argument, "Database name is mandatory, but wasn't specified.");
  }
  if (name.length > MAX_DATABASE_NAME_LENGTH) {
    throw badInput(ErrorTypes.argument, `The name '${echo(name)}' exceeds the maximum length of ${MAX_DATABASE_NAME_LENGTH} characters.`);
  }
  if (!VALID.test(name) || name.startsWith(".") || name.endsWith(".")) {
    throw badInput(
      ErrorTypes.argument,
      `The name '${echo(name)}' is not permitted. Only letters, digits and the characters '_', '-' and '.' are allowed, and it may not start or end with '.'.`,
    );
  }
  return name;
}
