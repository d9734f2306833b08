/**
 * Nesting depth of JSON text, measured on the text itself (no parse, no recursion, stopping as soon as it is too deep): a value nested
 * 100,000 levels deep would pass `JSON.parse` and then break every recursive reader after it
 * (re-serialisation, queries, the Studio), so writes refuse it up front.
 */

/** True when the text nests deeper than `max` levels. Stops scanning as soon as it does. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
