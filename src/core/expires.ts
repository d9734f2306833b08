/**
 * `@expires` parsing. RavenDB accepts the .NET formats `o`, `r` (RFC 1123) and a handful of
 * `yyyy-MM-ddTHH:mm:ss[.f…]` variants with or without a zone; a time with no zone is server-local,
 * which for a Worker is UTC. The string is stored unchanged; only the instant is derived here.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$/;
const RFC1123 =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Milliseconds since the epoch, or null when the text is not a date RavenDB would read. */
export function parseExpires(text: string): number | null {
  const iso = ISO.exec(text);
  if (iso) {
    const [, y, mo, d, h, mi, s, frac, zone] = iso;
    const ms = frac ? Math.floor(Number(frac.padEnd(7, "0")) / 10_000) : 0;
    const utc = fromParts(+y!, +mo!, +d!, +h!, +mi!, +s!, ms);
    if (utc === null) return null;
    if (!zone || zone === "Z") return utc;
    const sign = zone[0] === "-" ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 14 || zm > 59) return null;
    return utc - sign * (zh * 60 + zm) * 60_000;
  }
  const rfc = RFC1123.exec(text);
  if (rfc) {
    const [, d, mon, y, h, mi, s] = rfc;
    return fromParts(+y!, MONTHS.indexOf(mon!) + 1, +d!, +h!, +mi!, +s!, 0);
  }
  return null;
}

function fromParts(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number) {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  // Date.UTC rolls 31 February over into March; RavenDB refuses it.
  if (new Date(t).getUTCDate() !== d) return null;
  return t;
}
