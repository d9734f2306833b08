/**
 * Finding where a piece of JavaScript embedded in RQL ends: a `declare function` body or a
 * `select { … }` object literal runs to its matching `}`. Braces inside strings, template
 * literals (with their `${…}` parts) and comments do not count. The text itself is only ever
 * compiled by the sandbox (worker/js-sandbox.ts); this scan merely cuts it out of the query.
 *
 * A regular-expression literal holding an unbalanced brace would fool the scan; RavenDB's own
 * parser has the same limit, and the outcome is a clear parse error, never a wrong answer.
 */
import { badInput, ErrorTypes } from "./errors";

/** The index just past the `}` matching the `{` at `open`. */
export function matchingBrace(text: string, open: number): number {
  if (text[open] !== "{") throw new Error("matchingBrace: no '{' at the given position");
  // Each entry is what closes the current nesting: "}" for a block, "`" for a template literal.
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const c = text[i]!;
    const inTemplate = stack[stack.length - 1] === "`";
    if (inTemplate) {
      if (c === "\\") i += 2;
      else if (c === "`") {
        stack.pop();
        i++;
      } else if (c === "$" && text[i + 1] === "{") {
        stack.push("}");
        i += 2;
      } else i++;
      continue;
    }
    if (c === "{") {
      stack.push("}");
      i++;
    } else if (c === "}") {
      stack.pop();
      i++;
      if (stack.length === 0) return i;
    } else if (c === "`") {
      stack.push("`");
      i++;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < text.length && text[i] !== c && text[i] !== "\n") i += text[i] === "\\" ? 2 : 1;
      if (text[i] !== c) throw unterminated("string", i);
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw unterminated("comment", i);
      i = end + 2;
    } else i++;
  }
  throw badInput(ErrorTypes.invalidQuery, `The JavaScript block starting at position ${open} has no matching '}'.`);
}

const unterminated = (what: string, at: number) =>
  badInput(ErrorTypes.invalidQuery, `Unterminated ${what} in JavaScript at position ${at}.`);
