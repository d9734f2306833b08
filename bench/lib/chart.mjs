/**
 * Hand-written SVG of a run: one row of panels per workload — median rps (left) and median p99 in
 * ms (right), log scale — bars grouped by connection count, one colour per system; a last row with
 * the shard-scaling phase if it ran. No dependencies.
 */
import { WORKLOAD_LABEL } from "./workloads.mjs";
import { MODE_ORDER, modeLabel } from "./report.mjs";

const COLORS = { direct: "#1f5fa8", dev: "#8db8e8", etcd: "#3a9a3a", redis: "#c8372d", "dev-noproxy": "#8a63b8", "dev-noobs": "#9c6b4e" };
const SHARD_COLORS = ["#c6dbef", "#6baed6", "#2171b5", "#08306b", "#041a3a"];
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const num = (x) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function logDomain(values) {
  const v = values.filter((x) => x > 0);
  if (!v.length) return [1, 10];
  return [10 ** Math.floor(Math.log10(Math.min(...v))), 10 ** Math.ceil(Math.log10(Math.max(...v)))];
}

/** One bar panel. groups = [{ label, bars: [{ key, color, value }] }]. */
function panel({ x, y, w, h, title, unit, groups, domain }) {
  const out = [];
  const m = { l: 52, r: 8, t: 24, b: 30 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const [lo, hi] = domain;
  const sy = (v) => y + m.t + ph - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  out.push(`<text x="${x + m.l}" y="${y + 15}" class="t">${esc(title)}</text>`);
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const yy = sy(d).toFixed(1);
    out.push(`<line x1="${x + m.l}" x2="${x + w - m.r}" y1="${yy}" y2="${yy}" class="g"/>`);
    out.push(`<text x="${x + m.l - 4}" y="${+yy + 3}" class="a" text-anchor="end">${d >= 1 ? d.toLocaleString("en-US") : d}</text>`);
  }
  out.push(
    `<text x="${x + 10}" y="${y + m.t + ph / 2}" class="a" transform="rotate(-90 ${x + 10} ${y + m.t + ph / 2})" text-anchor="middle">${esc(unit)} (log)</text>`,
  );
  const gw = pw / Math.max(1, groups.length);
  for (const [gi, g] of groups.entries()) {
    const gx = x + m.l + gi * gw;
    const bw = Math.min(34, (gw - 14) / Math.max(1, g.bars.length));
    const start = gx + (gw - bw * g.bars.length) / 2;
    for (const [bi, b] of g.bars.entries()) {
      const bx = start + bi * bw;
      if (b.value === null || b.value === undefined) {
        out.push(`<text x="${(bx + bw / 2).toFixed(1)}" y="${y + m.t + ph - 3}" class="v" text-anchor="middle">n/a</text>`);
        continue;
      }
      const top = sy(b.value);
      out.push(
        `<rect x="${(bx + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(y + m.t + ph - top).toFixed(1)}" fill="${b.color}"><title>${esc(`${b.key}: ${num(b.value)} ${unit}`)}</title></rect>`,
      );
      out.push(`<text x="${(bx + bw / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" class="v" text-anchor="middle">${num(b.value)}</text>`);
    }
    out.push(`<text x="${(gx + gw / 2).toFixed(1)}" y="${y + h - 12}" class="a" text-anchor="middle">${esc(g.label)}</text>`);
  }
  out.push(`<line x1="${x + m.l}" x2="${x + w - m.r}" y1="${y + m.t + ph}" y2="${y + m.t + ph}" class="ax"/>`);
  return out.join("\n");
}

export function chartSvg(summary, results) {
  const main = summary.filter((s) => s.phase === "main");
  const modes = MODE_ORDER.filter((m) => main.some((s) => s.mode === m));
  const workloads = ["create", "get", "cas", "hot"].filter((w) => main.some((s) => s.workload === w));
  const conns = [...new Set(main.map((s) => s.conns))].sort((a, b) => a - b);
  const get = (m, w, c, phase = "main") => summary.find((s) => s.phase === phase && s.mode === m && s.workload === w && s.conns === c);
  const shards = summary.filter((s) => s.phase === "shards");
  const W = 1100;
  const PW = W / 2;
  const PH = 230;
  const top = 92;
  const rows = workloads.length + (shards.length ? 1 : 0);
  const H = top + rows * PH + 30;
  const rpsDomain = logDomain(main.map((s) => s.rps).concat(shards.map((s) => s.rps)));
  const p99Domain = logDomain(main.map((s) => s.p99).concat(shards.map((s) => s.p99)));
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
  );
  out.push(
    "<style>.t{font-size:13px;font-weight:bold}.a{font-size:10px;fill:#333}.v{font-size:9px;fill:#222}.g{stroke:#ddd;stroke-width:1}.ax{stroke:#555;stroke-width:1}.h{font-size:16px;font-weight:bold}.s{font-size:11px;fill:#444}</style>",
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  const mf = results.machine ?? {};
  out.push(
    `<text x="12" y="24" class="h">edge-cmpxchg vs etcd vs Redis: median rps and p99 latency (closed loop, 1 request in flight per connection)</text>`,
  );
  out.push(
    `<text x="12" y="42" class="s">${esc(`${results.config.repeats} × ${results.config.seconds} s per cell, median; ${mf.nproc ?? "?"} cores (${mf.cpuModel ?? "?"}), ${mf.kernel ?? ""}; ${results.startedAt ?? ""}; commit ${mf.gitCommit?.slice(0, 7) ?? "?"}`)}</text>`,
  );
  let lx = 12;
  for (const m of modes) {
    out.push(
      `<rect x="${lx}" y="56" width="12" height="12" fill="${COLORS[m] ?? "#777"}"/><text x="${lx + 16}" y="66" class="a">${esc(modeLabel(m))}</text>`,
    );
    lx += 24 + modeLabel(m).length * 6;
  }
  out.push(
    `<text x="12" y="84" class="s">x axis: connections. Bars missing = not run. Read-then-write (b)/(c): rps counts both requests, p99 is per read+write cycle.</text>`,
  );
  for (const [i, w] of workloads.entries()) {
    const y = top + i * PH;
    const groups = (key) =>
      conns.map((c) => ({
        label: `${c} conn${c === 1 ? "" : "s"}`,
        bars: modes.map((m) => ({ key: modeLabel(m), color: COLORS[m] ?? "#777", value: get(m, w, c)?.[key] ?? null })),
      }));
    out.push(
      panel({ x: 0, y, w: PW, h: PH, title: `${WORKLOAD_LABEL[w]}: rps`, unit: "requests/s", groups: groups("rps"), domain: rpsDomain }),
    );
    out.push(panel({ x: PW, y, w: PW, h: PH, title: `${WORKLOAD_LABEL[w]}: p99`, unit: "ms", groups: groups("p99"), domain: p99Domain }));
  }
  if (shards.length) {
    const y = top + workloads.length * PH;
    const counts = [...new Set(shards.map((s) => Number(s.mode.slice(13))))].sort((a, b) => a - b);
    const cells = [...new Set(shards.map((s) => `${s.workload}|${s.conns}`))];
    const groups = (key) =>
      cells.map((k) => {
        const [w, c] = k.split("|");
        return {
          label: `${w}, ${c} conns`,
          bars: counts.map((n, j) => ({
            key: `SHARD_COUNT=${n}`,
            color: SHARD_COLORS[j % SHARD_COLORS.length],
            value: get(`direct-shards${n}`, w, +c, "shards")?.[key] ?? null,
          })),
        };
      });
    out.push(
      panel({
        x: 0,
        y,
        w: PW,
        h: PH,
        title: `ours (direct), SHARD_COUNT ${counts.join(" / ")} (light → dark): rps`,
        unit: "requests/s",
        groups: groups("rps"),
        domain: rpsDomain,
      }),
    );
    out.push(
      panel({
        x: PW,
        y,
        w: PW,
        h: PH,
        title: `ours (direct), SHARD_COUNT ${counts.join(" / ")}: p99`,
        unit: "ms",
        groups: groups("p99"),
        domain: p99Domain,
      }),
    );
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
