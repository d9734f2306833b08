/**
 * The Studio's stylesheet, served inline (its SHA-256 is in the page's Content-Security-Policy).
 * Wide windows: items and editor side by side, transactions below. Narrow ones (≤ 760 px): one
 * column, and tables become one card per row with each cell labelled.
 */
export const STUDIO_CSS = `
:root {
  color-scheme: light;
  --fg: #1d1d21; --muted: #55555f; --line: #d3d3da; --page: #f4f5f7; --card: #fff;
  --accent: #1a56b0; --accent-dark: #123f82; --danger: #b3261e;
  --err-bg: #fdecea; --warn-bg: #fff4e0; --warn-line: #b26a00; --ok-bg: #e7f4ea; --ok-line: #2e7d32;
  --focus: #0b57d0; --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--page); }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
h1 small { font-weight: 400; color: var(--muted); font-size: .85rem; }
code, pre, textarea { font-family: var(--mono); font-size: 13px; }
[hidden] { display: none !important; }

.skip { position: absolute; left: .5rem; top: -3rem; background: var(--card); padding: .4rem .7rem; border-radius: 4px; z-index: 10; }
.skip:focus { top: .5rem; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

header { background: var(--card); border-bottom: 1px solid var(--line); padding: .75rem 1rem; }
.header-in { max-width: 1400px; margin: 0 auto; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: end; }
.messages { max-width: 1400px; margin: 0 auto; padding: 0 1rem; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem;
  grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); align-items: start; }
#txns { grid-column: 1 / -1; }
main.no-editor #items { grid-column: 1 / -1; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; min-width: 0; }
.section-head { display: flex; flex-wrap: wrap; gap: .5rem; justify-content: space-between; align-items: baseline; }

form { margin: 0; }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: 0 0 .75rem; }
.field { display: flex; flex-direction: column; gap: .15rem; min-width: 0; }
.field.grow { flex: 1 1 12rem; }
.field.block { margin-bottom: .6rem; }
label { font-weight: 600; font-size: .9rem; }
.hint { color: var(--muted); font-size: .85rem; margin: .15rem 0 0; }
input, select, textarea, button { font: inherit; }
input, select, textarea { border: 1px solid #7d7d89; border-radius: 4px; padding: .4rem .55rem; background: #fff; color: inherit; min-height: 2.3rem; max-width: 100%; }
input[readonly] { background: #eeeff2; }
textarea { width: 100%; resize: vertical; line-height: 1.4; font-size: 13px; }
[aria-invalid="true"] { border-color: var(--danger); border-width: 2px; }
.field-error { color: var(--danger); font-size: .85rem; margin: .15rem 0 0; min-height: 0; }
.field-error:empty { display: none; }

button { border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; padding: .4rem .85rem; cursor: pointer; min-height: 2.3rem; }
button:hover { background: var(--accent-dark); }
button.secondary { background: #fff; color: var(--accent); }
button.secondary:hover { background: #eef3fb; }
button.danger { background: var(--danger); border-color: var(--danger); }
button:disabled { opacity: .45; cursor: not-allowed; }
button.key { background: none; border: none; color: var(--accent); text-decoration: underline; padding: .1rem 0; min-height: 0;
  text-align: left; font-family: var(--mono); font-size: 13px; overflow-wrap: anywhere; }
button.key:hover { color: var(--accent-dark); background: none; }

/* Visible focus on everything that can take it, also on the blue buttons. */
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
button.key:focus-visible { outline-offset: 1px; }

table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
tr.current { background: #eef3fb; }
/* The items table keeps to its column: fixed widths, long keys and values wrap or clip. */
#items table { table-layout: fixed; }
#items th:nth-child(1) { width: 30%; }
#items th:nth-child(2) { width: 28%; }
#items th:nth-child(3) { width: 18%; }
#items th:nth-child(4) { width: 8%; }
#items th:nth-child(5) { width: 16%; }
#items td { overflow-wrap: anywhere; }
#db-input { min-width: 20rem; }
td.num { font-variant-numeric: tabular-nums; }
code.preview { display: block; max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.none { color: var(--muted); }
.expired { color: var(--danger); font-weight: 600; }
.outcome { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .85rem; font-weight: 600; }
.outcome.committed { background: var(--ok-bg); color: var(--ok-line); }
.outcome.aborted { background: var(--err-bg); color: var(--danger); }
.outcome.preparing { background: var(--warn-bg); color: var(--warn-line); }
.keys { margin: 0; padding: 0; list-style: none; }
.keys li { font-family: var(--mono); font-size: 13px; word-break: break-all; }
.pager { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-top: .75rem; }
.pager .info { color: var(--muted); font-size: .9rem; }
.empty { color: var(--muted); margin: .75rem 0; }

.msg { margin: .6rem 0 0; padding: .55rem .75rem; border-radius: 4px; border-left: 4px solid; }
.msg:empty { display: none; }
.msg.error { background: var(--err-bg); border-color: var(--danger); }
.msg.conflict { background: var(--warn-bg); border-color: var(--warn-line); }
.msg.ok { background: var(--ok-bg); border-color: var(--ok-line); }
.msg.info { background: #eef3fb; border-color: var(--accent); }
.msg p { margin: 0 0 .4rem; }
.msg pre { margin: .3rem 0 .5rem; padding: .5rem; background: #fff; border: 1px solid var(--line); border-radius: 4px;
  max-height: 14rem; overflow: auto; white-space: pre-wrap; word-break: break-word; }
#auth-box { flex-basis: 100%; padding: .75rem; background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 6px; }
.index-line { margin: 0 0 .6rem; font-size: .9rem; color: var(--muted); }
.index-line output { font-family: var(--mono); color: var(--fg); }

@media (max-width: 760px) {
  main { grid-template-columns: minmax(0, 1fr); padding: .6rem; }
  header { padding: .6rem; }
  .messages { padding: 0 .6rem; }
  section { padding: .75rem; }
  .field.grow { flex-basis: 100%; }
  .field.grow input { width: 100%; }
  #db-input { min-width: 0; }
  table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: .5rem; padding: .3rem .2rem; }
  table.cards td { display: grid; grid-template-columns: 5.5rem minmax(0, 1fr); gap: .5rem; border: none; padding: .2rem .4rem; }
  table.cards td::before { content: attr(data-label); font-weight: 600; font-size: .8rem; color: var(--muted); }
  code.preview { white-space: pre-wrap; word-break: break-all; }
}
`;
