/** Sizes as RavenDB writes them for people (the `HumaneSize` beside every `SizeInBytes`). */

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

/** .NET's `{0:#,#.##}`: thousands separated by commas, at most two decimals, no trailing zeros. */
function grouped(value: number, decimals: number): string {
  const [whole = "0", fraction = ""] = value.toFixed(decimals).split(".");
  const withCommas = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const trimmed = fraction.replace(/0+$/, "");
  return trimmed ? `${withCommas}.${trimmed}` : withCommas;
}

/**
 * RavenDB's Size.Humane: "0 Bytes", "1,000 Bytes", "1.5 KBytes", "2.25 MBytes", "1 GBytes". A
 * unit is used only above one of it (1,024 bytes is still "1,024 Bytes"), as RavenDB does.
 */
export function humaneSize(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs > GB) return `${grouped(bytes / GB, 2)} GBytes`;
  if (abs > MB) return `${grouped(bytes / MB, 2)} MBytes`;
  if (abs > KB) return `${grouped(bytes / KB, 2)} KBytes`;
  return `${grouped(bytes, 0)} Bytes`;
}
