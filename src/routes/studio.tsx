/**
 * `GET /studio`: a small management page for compare-exchange items (Hono JSX shell, inline
 * script and stylesheet from src/studio/). The page holds no data and has no endpoints of its
 * own: its script (TypeScript in src/studio/browser/, served as source text: see
 * browser/source.ts) uses the same HTTP API as every client, with the same auth — a 401/403
 * makes it ask for a token, kept in sessionStorage and sent as a bearer.
 *
 * The inline script and style are allowed by their SHA-256 in a strict Content-Security-Policy,
 * so nothing else can run on the page even if a stored value tried to look like HTML.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { access } from "../middleware/access";
import type { AppEnv } from "../middleware/env";
import { html } from "hono/html";
import { STUDIO_SCRIPT } from "../studio/script";
import { STUDIO_CSS } from "../studio/style";
import { html as htmlPage } from "../core/schemas/common";
import { operation } from "./define";

export const studio = new OpenAPIHono<AppEnv>();
const tags = ["Pages"];

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

let policy: Promise<string> | undefined;

/** The page's CSP, computed once per isolate (hashes of the exact inline texts). */
function contentSecurityPolicy(): Promise<string> {
  policy ??= Promise.all([sha256Base64(STUDIO_SCRIPT), sha256Base64(STUDIO_CSS)]).then(([script, style]) =>
    [
      "default-src 'none'",
      `script-src 'sha256-${script}'`,
      `style-src 'sha256-${style}'`,
      "connect-src 'self'",
      "img-src data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
  );
  return policy;
}

const PAGE_SIZES = [10, 25, 50, 100];

function Page() {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Studio — edge-cmpxchg</title>
        <link rel="icon" href="data:," />
        <style dangerouslySetInnerHTML={{ __html: STUDIO_CSS }} />
      </head>
      <body>
        <header>
          <div class="header-in">
            <h1>
              edge-cmpxchg Studio <small>compare-exchange</small>
            </h1>
            <form id="db-form" class="row" aria-label="Choose a database" data-names="">
              <div class="field grow">
                <label for="db-input">Database</label>
                <input id="db-input" name="db" list="db-names" autocomplete="off" spellcheck={false} aria-describedby="db-hint" />
                <datalist id="db-names"></datalist>
              </div>
              <button type="submit">Open</button>
              <button type="button" id="db-reload" class="secondary">
                Reload names
              </button>
              <button type="button" id="auth-forget" class="secondary" hidden>
                Forget token
              </button>
            </form>
            <p id="db-hint" class="hint">
              Pick a created database from the list, or type any name.
            </p>
            <div id="auth-box" hidden>
              <form id="auth-form" class="row">
                <div class="field grow">
                  <label for="auth-token">Access token</label>
                  <input id="auth-token" type="password" autocomplete="off" aria-describedby="auth-msg" />
                </div>
                <button type="submit">Use token</button>
                <button type="button" id="auth-cancel" class="secondary">
                  Cancel
                </button>
              </form>
              <p id="auth-msg" class="hint" role="alert"></p>
            </div>
          </div>
        </header>
        <div class="messages">
          <p id="status" class="msg info" role="status"></p>
          <p id="error" class="msg error" role="alert"></p>
        </div>
        <main id="main" class="no-editor" hidden>
          <section id="items" aria-labelledby="items-title" aria-busy="false">
            <div class="section-head">
              <h2 id="items-title">
                Compare-exchange items in <span id="db-current"></span>
              </h2>
            </div>
            <form id="filter-form" class="row" aria-label="Filter items">
              <div class="field grow">
                <label for="prefix">Key prefix</label>
                <input id="prefix" name="prefix" autocomplete="off" spellcheck={false} />
              </div>
              <div class="field">
                <label for="page-size">Page size</label>
                <select id="page-size" name="pageSize">
                  {PAGE_SIZES.map((n) => (
                    <option value={String(n)}>{n}</option>
                  ))}
                </select>
              </div>
              <button type="submit">Filter</button>
              <button type="button" id="new-item" class="secondary">
                New item
              </button>
            </form>
            <table class="cards">
              <caption class="sr-only">Compare-exchange items, ordered by key</caption>
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Value</th>
                  <th scope="col">Metadata</th>
                  <th scope="col">Index</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody id="items-body"></tbody>
            </table>
            <p id="items-empty" class="empty" hidden></p>
            <nav class="pager" aria-label="Pages of items">
              <button type="button" id="first-page" class="secondary" disabled>
                First page
              </button>
              <button type="button" id="next-page" class="secondary" disabled>
                Next page
              </button>
              <span id="page-info" class="info" aria-live="polite"></span>
            </nav>
          </section>
          <section id="editor" aria-labelledby="editor-title" hidden>
            <h2 id="editor-title">Item</h2>
            <form id="editor-form" aria-labelledby="editor-title" novalidate>
              <div class="field block">
                <label for="ed-key">Key</label>
                <input id="ed-key" name="key" autocomplete="off" spellcheck={false} aria-describedby="ed-key-err" />
                <p id="ed-key-err" class="field-error"></p>
              </div>
              <p class="index-line">
                Loaded at index <output id="ed-index"></output> — saving and deleting send this index, so a change made meanwhile is
                refused, not overwritten.
              </p>
              <div class="field block">
                <label for="ed-value">Value (JSON)</label>
                <textarea id="ed-value" name="value" rows={10} spellcheck={false} aria-describedby="ed-value-err"></textarea>
                <p id="ed-value-err" class="field-error" role="alert"></p>
              </div>
              <div class="field block">
                <label for="ed-meta">Metadata (JSON object)</label>
                <textarea id="ed-meta" name="metadata" rows={4} spellcheck={false} aria-describedby="ed-meta-help ed-meta-err"></textarea>
                <p id="ed-meta-help" class="hint">
                  For an expiry: {'{"@expires": "2030-01-01T00:00:00.0000000Z"}'}
                </p>
                <p id="ed-meta-err" class="field-error" role="alert"></p>
              </div>
              <div class="row">
                <button type="submit" id="ed-save">
                  Save
                </button>
                <button type="button" id="ed-reload" class="secondary">
                  Reload
                </button>
                <button type="button" id="ed-delete" class="danger">
                  Delete
                </button>
                <button type="button" id="ed-close" class="secondary">
                  Close
                </button>
              </div>
            </form>
            <div id="ed-alert" class="msg" role="alert"></div>
            <p id="ed-status" class="msg" role="status"></p>
          </section>
          <section id="txns" aria-labelledby="txns-title" aria-busy="false">
            <div class="section-head">
              <h2 id="txns-title">Cluster-wide transactions</h2>
              <button type="button" id="txns-refresh" class="secondary">
                Refresh transactions
              </button>
            </div>
            <p class="hint">Read-only: the 50 most recent, newest first.</p>
            <table class="cards">
              <caption class="sr-only">Recent cluster-wide transactions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Seq</th>
                  <th scope="col">Index</th>
                  <th scope="col">Keys</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Started</th>
                  <th scope="col">Decided</th>
                </tr>
              </thead>
              <tbody id="txns-body"></tbody>
            </table>
            <p id="txns-empty" class="empty" hidden>
              No cluster-wide transactions in this database yet.
            </p>
          </section>
        </main>
        <script dangerouslySetInnerHTML={{ __html: STUDIO_SCRIPT }} />
      </body>
    </html>
  );
}

operation(
  studio,
  {
    method: "get",
    path: "/studio",
    guard: access.public,
    operationId: "studio",
    tags,
    summary: "The Studio: a management page for compare-exchange items (HTML; asks for a token when authentication is on)",
    responses: { 200: htmlPage("HTML page") },
  },
  async (c) => {
    c.header("Content-Security-Policy", await contentSecurityPolicy());
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cache-Control", "no-cache");
    return c.html(html`<!DOCTYPE html>${<Page />}`);
  },
);

operation(
  studio,
  {
    method: "get",
    path: "/studio/",
    guard: access.public,
    operationId: "studioSlash",
    tags,
    summary: "Redirects to /studio (keeping the query)",
    responses: { 301: { description: "To /studio" } },
  },
  (c) => c.redirect(`/studio${new URL(c.req.url).search}`, 301),
);
