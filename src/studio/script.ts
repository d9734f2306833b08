/**
 * The Studio's browser script: small vanilla JS, served inline (its SHA-256 is in the page's
 * Content-Security-Policy). It only speaks the public HTTP API, as any client does:
 *
 * - GET  /databases?namesOnly=true                      database picker
 * - GET  /databases/<db>/cmpxchg?startsWith&pageSize&continuationToken    listing, paging
 * - GET  /databases/<db>/cmpxchg?key=<k>                 open an item
 * - PUT / DELETE /databases/<db>/cmpxchg?key=<k>&index=<i>   create (index 0), save, delete
 * - GET  /databases/<db>/transactions?limit=50           cluster-wide transactions panel
 *
 * Writes send the index the item was loaded at, so a concurrent change answers Successful:false
 * and the page shows the current value instead of overwriting it. A 401/403 asks for a token,
 * kept in sessionStorage only and sent as `Authorization: Bearer <token>` on every request.
 * Values are shown with textContent only (never parsed as HTML).
 *
 * Kept as a plain string (not bundled TS) so what runs in the browser is exactly this text:
 * no backticks and no dollar-brace sequences inside, and never the closing script tag.
 */
export const STUDIO_SCRIPT = String.raw`
(function () {
  "use strict";
  var TOKEN_KEY = "edge-cmpxchg.studio.token";
  var TXN_LIMIT = 50;
  var PREVIEW_CHARS = 80;
  var byId = function (id) { return document.getElementById(id); };
  var el = {
    dbForm: byId("db-form"), dbInput: byId("db-input"), dbNames: byId("db-names"), dbReload: byId("db-reload"),
    authBox: byId("auth-box"), authForm: byId("auth-form"), authToken: byId("auth-token"), authMsg: byId("auth-msg"),
    authCancel: byId("auth-cancel"), authForget: byId("auth-forget"),
    status: byId("status"), error: byId("error"),
    main: byId("main"), dbCurrent: byId("db-current"),
    items: byId("items"), filterForm: byId("filter-form"), prefix: byId("prefix"), pageSize: byId("page-size"),
    newItem: byId("new-item"), itemsBody: byId("items-body"), itemsEmpty: byId("items-empty"),
    firstPage: byId("first-page"), nextPage: byId("next-page"), pageInfo: byId("page-info"),
    editor: byId("editor"), editorTitle: byId("editor-title"), edForm: byId("editor-form"),
    edKey: byId("ed-key"), edKeyErr: byId("ed-key-err"), edIndex: byId("ed-index"),
    edValue: byId("ed-value"), edValueErr: byId("ed-value-err"), edMeta: byId("ed-meta"), edMetaErr: byId("ed-meta-err"),
    edSave: byId("ed-save"), edReload: byId("ed-reload"), edDelete: byId("ed-delete"), edClose: byId("ed-close"),
    edAlert: byId("ed-alert"), edStatus: byId("ed-status"),
    txns: byId("txns"), txnsBody: byId("txns-body"), txnsEmpty: byId("txns-empty"), txnsRefresh: byId("txns-refresh")
  };
  var state = {
    db: null, prefix: "", pageSize: 10,
    page: 1, pageToken: null, nextToken: null, before: 0, shown: 0,
    item: null, itemsSeq: 0, txnsSeq: 0
  };
  var enc = encodeURIComponent;

  // ── JSON: big numbers keep their digits where the browser has JSON.rawJSON ──────────────────
  var HAS_RAW = typeof JSON.rawJSON === "function";
  function parseJson(text) {
    if (!HAS_RAW) return JSON.parse(text);
    return JSON.parse(text, function (key, value, context) {
      if (typeof value === "number" && context && typeof context.source === "string" && String(value) !== context.source) {
        return JSON.rawJSON(context.source);
      }
      return value;
    });
  }
  function pretty(value) { return value === undefined ? "null" : JSON.stringify(value, null, 2); }
  function compact(value) {
    var s;
    try { s = JSON.stringify(value); } catch (e) { s = String(value); }
    return s === undefined ? "null" : s;
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function isPlainObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  // ── token: sessionStorage only ─────────────────────────────────────────────────────────────
  var memoryToken = null;
  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return memoryToken; }
  }
  function setToken(token) {
    memoryToken = token || null;
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage off: memory only */ }
    el.authForget.hidden = !token;
  }

  var authWaiters = null;
  var focusBeforeAuth = null;
  function askToken(status, hadToken) {
    if (!authWaiters) {
      authWaiters = [];
      focusBeforeAuth = document.activeElement;
      el.authMsg.textContent = hadToken
        ? "The server refused this token (HTTP " + status + "). Enter another access token."
        : "The server asks for an access token (HTTP " + status + "). It is kept for this browser tab only.";
      el.authBox.hidden = false;
      el.authToken.value = "";
      el.authToken.focus();
    }
    return new Promise(function (resolve) { authWaiters.push(resolve); });
  }
  function finishAuth(given) {
    var waiters = authWaiters || [];
    authWaiters = null;
    el.authBox.hidden = true;
    if (focusBeforeAuth && focusBeforeAuth !== document.body && document.contains(focusBeforeAuth)) focusBeforeAuth.focus();
    waiters.forEach(function (resolve) { resolve(given); });
  }

  // ── the HTTP API ───────────────────────────────────────────────────────────────────────────
  function describeError(status, json, text) {
    if (json && typeof json.Message === "string") {
      var type = typeof json.Type === "string" ? json.Type.split(".").pop() : "Error";
      return type + " (HTTP " + status + "): " + json.Message;
    }
    return "HTTP " + status + ": " + (text ? clip(text, 300) : "no details");
  }

  async function api(method, path, body) {
    for (;;) {
      var token = getToken();
      var headers = { Accept: "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      var init = { method: method, headers: headers, cache: "no-store" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json; charset=utf-8";
        init.body = body;
      }
      var res;
      try {
        res = await fetch(path, init);
      } catch (e) {
        throw new Error("Could not reach the server: " + (e && e.message ? e.message : e));
      }
      if (res.status === 401 || res.status === 403) {
        try { await res.arrayBuffer(); } catch (e) { /* ignore */ }
        if (await askToken(res.status, !!token)) continue;
        throw new Error("Not authorized (HTTP " + res.status + "): no access token was given.");
      }
      var text = await res.text();
      var json = null;
      if (text) {
        try { json = parseJson(text); } catch (e) {
          if (res.ok) throw new Error("The server answered with something that is not JSON (HTTP " + res.status + ").");
        }
      }
      var missing = res.status === 404 && method === "GET" && !text;
      if (!res.ok && !missing) {
        var failure = new Error(describeError(res.status, json, text));
        failure.status = res.status;
        failure.serverMessage = json && typeof json.Message === "string" ? json.Message : "";
        throw failure;
      }
      return { status: res.status, json: json, text: text };
    }
  }
  function dbPath(rest) { return "/databases/" + enc(state.db) + rest; }
  function itemPath(key, index) {
    return dbPath("/cmpxchg") + "?key=" + enc(key) + (index === undefined ? "" : "&index=" + index);
  }

  // ── small DOM helpers ──────────────────────────────────────────────────────────────────────
  function node(tag, text, cls) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }
  function cell(label, content, cls) {
    var td = node("td", null, cls);
    td.setAttribute("data-label", label);
    if (content instanceof Node) td.appendChild(content); else td.textContent = content;
    return td;
  }
  function none() { return node("span", "\u2014", "none"); }
  function say(message) { el.status.textContent = message; }
  function showError(err) { el.error.textContent = err && err.message ? err.message : String(err); }
  function busy(section, on) { section.setAttribute("aria-busy", on ? "true" : "false"); }
  function run(fn) {
    return function (ev) {
      if (ev && ev.type === "submit") ev.preventDefault();
      el.error.textContent = "";
      Promise.resolve().then(function () { return fn(ev); }).catch(showError);
    };
  }
  function expiresOf(value) {
    var meta = value && isPlainObject(value["@metadata"]) ? value["@metadata"] : null;
    return meta && typeof meta["@expires"] === "string" ? meta["@expires"] : null;
  }
  function formatTime(iso) {
    if (!iso) return null;
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }

  // ── databases ──────────────────────────────────────────────────────────────────────────────
  async function loadDbNames() {
    var r = await api("GET", "/databases?namesOnly=true");
    var names = (r.json && Array.isArray(r.json.Databases)) ? r.json.Databases : [];
    el.dbNames.replaceChildren.apply(el.dbNames, names.map(function (name) {
      var option = document.createElement("option");
      option.value = name;
      return option;
    }));
    el.dbForm.setAttribute("data-names", String(names.length));
    return names;
  }

  async function openDb(name) {
    state.db = name;
    state.prefix = "";
    el.prefix.value = "";
    resetPaging();
    closeEditor(false);
    el.dbCurrent.textContent = name;
    el.main.hidden = false;
    document.title = name + " \u2014 Studio \u2014 edge-cmpxchg";
    history.replaceState(null, "", location.pathname + "?db=" + enc(name));
    say("Opened database " + name + ".");
    await Promise.all([loadItems(), loadTxns()]);
  }

  // ── the item list ──────────────────────────────────────────────────────────────────────────
  function resetPaging() {
    state.page = 1;
    state.pageToken = null;
    state.nextToken = null;
    state.before = 0;
    state.shown = 0;
  }

  async function loadItems() {
    var seq = ++state.itemsSeq;
    busy(el.items, true);
    try {
      var query = "?startsWith=" + enc(state.prefix) + "&pageSize=" + state.pageSize;
      if (state.pageToken) query += "&continuationToken=" + enc(state.pageToken);
      var r = await api("GET", dbPath("/cmpxchg") + query);
      if (seq !== state.itemsSeq) return;
      var results = (r.json && Array.isArray(r.json.Results)) ? r.json.Results : [];
      renderItems(results);
      state.shown = results.length;
      state.nextToken = (r.json && r.json.ContinuationToken) || null;
      var hadFocus = document.activeElement;
      el.nextPage.disabled = !state.nextToken;
      el.firstPage.disabled = state.page === 1;
      el.pageInfo.textContent = results.length
        ? "Page " + state.page + " \u00b7 items " + (state.before + 1) + "\u2013" + (state.before + results.length)
        : "Page " + state.page + " \u00b7 no items";
      el.itemsEmpty.hidden = results.length > 0;
      el.itemsEmpty.textContent = state.page > 1
        ? "No more items. Go back to the first page."
        : state.prefix ? "No items whose key starts with \u201c" + state.prefix + "\u201d." : "No compare-exchange items in this database yet.";
      // A paging button that just got disabled would drop the keyboard focus: keep it nearby.
      if (hadFocus && hadFocus.disabled) {
        var target = !el.firstPage.disabled ? el.firstPage : !el.nextPage.disabled ? el.nextPage : el.newItem;
        target.focus();
      }
    } finally {
      if (seq === state.itemsSeq) busy(el.items, false);
    }
  }

  function renderItems(results) {
    var rows = results.map(function (item) {
      var value = item.Value;
      var object = isPlainObject(value) ? value.Object : value;
      var meta = isPlainObject(value) && isPlainObject(value["@metadata"]) ? value["@metadata"] : null;
      var tr = document.createElement("tr");
      tr.setAttribute("data-key", item.Key);
      if (state.item && state.item.key.toLowerCase() === String(item.Key).toLowerCase()) tr.className = "current";
      var open = node("button", item.Key, "key");
      open.type = "button";
      open.setAttribute("aria-label", "Open " + item.Key);
      open.addEventListener("click", run(function () { return openItem(item.Key); }));
      tr.appendChild(cell("Key", open));
      var full = compact(object);
      var preview = node("code", clip(full, PREVIEW_CHARS), "preview");
      preview.title = clip(full, 2000);
      tr.appendChild(cell("Value", preview));
      if (meta && Object.keys(meta).length > 0) {
        var metaText = compact(meta);
        var metaCode = node("code", clip(metaText, PREVIEW_CHARS), "preview meta");
        metaCode.title = clip(metaText, 2000);
        tr.appendChild(cell("Metadata", metaCode));
      } else {
        tr.appendChild(cell("Metadata", none()));
      }
      tr.appendChild(cell("Index", String(item.Index), "num"));
      var expires = expiresOf(value);
      if (expires) {
        var at = Date.parse(expires);
        var past = !isNaN(at) && at <= Date.now();
        var span = node("span", expires + (past ? " (expired)" : ""), past ? "expired" : "");
        if (!isNaN(at)) span.title = new Date(at).toLocaleString();
        tr.appendChild(cell("Expires", span));
      } else {
        tr.appendChild(cell("Expires", none()));
      }
      return tr;
    });
    el.itemsBody.replaceChildren.apply(el.itemsBody, rows);
  }

  function markCurrentRow() {
    Array.prototype.forEach.call(el.itemsBody.rows, function (tr) {
      var key = tr.getAttribute("data-key") || "";
      tr.className = state.item && state.item.key.toLowerCase() === key.toLowerCase() ? "current" : "";
    });
  }

  // ── the editor ─────────────────────────────────────────────────────────────────────────────
  function clearEditorMessages() {
    el.edAlert.replaceChildren();
    el.edAlert.className = "msg";
    el.edStatus.textContent = "";
    el.edStatus.className = "msg";
    [[el.edKey, el.edKeyErr], [el.edValue, el.edValueErr], [el.edMeta, el.edMetaErr]].forEach(function (pair) {
      pair[0].removeAttribute("aria-invalid");
      pair[1].textContent = "";
    });
  }
  function fieldError(input, holder, message) {
    input.setAttribute("aria-invalid", "true");
    holder.textContent = message;
    input.focus();
  }
  function editorStatus(message) {
    el.edStatus.className = "msg ok";
    el.edStatus.textContent = message;
  }
  function editorError(message) {
    el.edAlert.className = "msg error";
    el.edAlert.replaceChildren(node("p", message));
  }

  /** item: {key, index, value} of a stored item, or null for a new one. */
  function showEditor(item, focus) {
    state.item = item;
    clearEditorMessages();
    el.editor.hidden = false;
    el.main.classList.remove("no-editor");
    if (item) {
      el.editorTitle.textContent = "Edit item";
      el.edKey.value = item.key;
      el.edKey.readOnly = true;
      el.edIndex.textContent = String(item.index);
      var value = isPlainObject(item.value) ? item.value : { Object: item.value };
      el.edValue.value = pretty(value.Object);
      el.edMeta.value = isPlainObject(value["@metadata"]) ? pretty(value["@metadata"]) : "{}";
      el.edDelete.hidden = false;
      el.edReload.hidden = false;
      el.edSave.textContent = "Save";
    } else {
      el.editorTitle.textContent = "New item";
      el.edKey.value = "";
      el.edKey.readOnly = false;
      el.edIndex.textContent = "0 (create only)";
      el.edValue.value = "{\n  \n}";
      el.edMeta.value = "{}";
      el.edDelete.hidden = true;
      el.edReload.hidden = true;
      el.edSave.textContent = "Create";
    }
    markCurrentRow();
    if (focus) (item ? el.edValue : el.edKey).focus();
  }

  function closeEditor(restoreFocus) {
    var key = state.item ? state.item.key : null;
    state.item = null;
    el.editor.hidden = true;
    el.main.classList.add("no-editor");
    markCurrentRow();
    if (restoreFocus) {
      var back = null;
      if (key) {
        Array.prototype.forEach.call(el.itemsBody.rows, function (tr) {
          if (!back && (tr.getAttribute("data-key") || "").toLowerCase() === key.toLowerCase()) back = tr.querySelector("button");
        });
      }
      (back || el.newItem).focus();
    }
  }

  async function openItem(key) {
    var r = await api("GET", itemPath(key));
    if (r.status === 404 || !r.json || !Array.isArray(r.json.Results) || !r.json.Results[0]) {
      say("The item " + key + " does not exist (any more).");
      await loadItems();
      return;
    }
    var found = r.json.Results[0];
    if (found.Index < 0 || found.Value === null) {
      say("The item " + key + " does not exist (any more).");
      await loadItems();
      return;
    }
    showEditor({ key: found.Key, index: found.Index, value: found.Value }, true);
    // Without JSON.rawJSON, integers past 2^53 would be shown (and saved back) rounded.
    if (!HAS_RAW && /\d{16,}/.test(r.text)) {
      el.edStatus.className = "msg info";
      el.edStatus.textContent = "This browser cannot show numbers with 16 or more digits exactly: check them before saving, as they would be saved rounded.";
    }
  }

  /** The body to send, or null after showing what is wrong (nothing is sent then). */
  function editorBody() {
    var key = el.edKey.value;
    if (!state.item && key.trim() === "") {
      fieldError(el.edKey, el.edKeyErr, "Enter a key.");
      return null;
    }
    var valueText = el.edValue.value.trim();
    try {
      JSON.parse(valueText);
    } catch (e) {
      fieldError(el.edValue, el.edValueErr,
        "The value is not valid JSON (" + (e && e.message ? e.message : e) + "). Nothing was sent.");
      return null;
    }
    var metaText = el.edMeta.value.trim();
    if (metaText === "") metaText = "{}";
    var meta;
    try {
      meta = JSON.parse(metaText);
    } catch (e) {
      fieldError(el.edMeta, el.edMetaErr,
        "The metadata is not valid JSON (" + (e && e.message ? e.message : e) + "). Nothing was sent.");
      return null;
    }
    // The user's own text goes out as typed, so numbers keep their digits. The rules of a value
    // (metadata an object, @expires a date, the size) are the server's one validator's: the page
    // only checks that each field is JSON, and shows the server's refusal under the field.
    var body = "{\"Object\":" + valueText;
    if (!(isPlainObject(meta) && Object.keys(meta).length === 0)) body += ",\"@metadata\":" + metaText;
    return { key: key, body: body + "}" };
  }

  function showConflict(kind, key, loadedIndex, result) {
    el.edAlert.className = "msg conflict";
    var parts = [];
    var gone = result.Value === null || result.Value === undefined;
    if (kind === "create") {
      parts.push(node("p", "An item with the key " + key + " already exists (index " + result.Index + "). Nothing was created; open it to edit it."));
    } else if (gone) {
      parts.push(node("p", "Changed by someone else \u2014 reload. " + key + " was deleted meanwhile, so nothing was " + (kind === "delete" ? "deleted" : "saved") + "."));
    } else {
      parts.push(node("p", "Changed by someone else \u2014 reload. Nothing was " + (kind === "delete" ? "deleted" : "saved") +
        ": you loaded index " + loadedIndex + ", the item is now at index " + result.Index + "."));
    }
    if (!gone) {
      parts.push(node("p", "Current value:"));
      var pre = node("pre", pretty(result.Value));
      pre.id = "ed-current";
      parts.push(pre);
    }
    var reload = node("button", kind === "create" ? "Open the existing item" : "Reload the current value (discards your edits)", "secondary");
    reload.type = "button";
    reload.addEventListener("click", run(function () {
      if (gone && kind !== "create") {
        closeEditor(true);
        say(key + " was deleted by someone else.");
        return loadItems();
      }
      return openItem(key);
    }));
    parts.push(reload);
    el.edAlert.replaceChildren.apply(el.edAlert, parts);
    el.edAlert.scrollIntoView({ block: "nearest" });
    // The list shows the item as it is now, too.
    loadItems().catch(showError);
  }

  async function saveItem() {
    clearEditorMessages();
    var checked = editorBody();
    if (!checked) return;
    var creating = !state.item;
    var loadedIndex = creating ? 0 : state.item.index;
    var key = creating ? checked.key : state.item.key;
    el.edSave.disabled = true;
    try {
      var r = await api("PUT", itemPath(key, loadedIndex), checked.body);
      var result = r.json || {};
      if (result.Successful === true) {
        showEditor({ key: key, index: result.Index, value: result.Value }, false);
        editorStatus((creating ? "Created " : "Saved ") + key + " at index " + result.Index + ".");
        await loadItems();
      } else {
        showConflict(creating ? "create" : "save", key, loadedIndex, result);
      }
    } catch (err) {
      var message = err && err.message ? err.message : String(err);
      if (err && err.status === 400 && /@metadata|@expires/.test(err.serverMessage)) {
        fieldError(el.edMeta, el.edMetaErr, err.serverMessage + " Nothing was saved.");
      } else if (err && err.status === 400 && /key/i.test(err.serverMessage)) {
        fieldError(el.edKey, el.edKeyErr, err.serverMessage + " Nothing was saved.");
      } else if (err && (err.status === 400 || err.status === 413) && /body|value|Object/i.test(err.serverMessage)) {
        fieldError(el.edValue, el.edValueErr, err.serverMessage + " Nothing was saved.");
      } else {
        editorError(message);
      }
    } finally {
      el.edSave.disabled = false;
    }
  }

  async function deleteItem() {
    if (!state.item) return;
    clearEditorMessages();
    var key = state.item.key;
    var loadedIndex = state.item.index;
    if (!window.confirm("Delete " + key + " (index " + loadedIndex + ")? This cannot be undone.")) return;
    el.edDelete.disabled = true;
    try {
      var r = await api("DELETE", itemPath(key, loadedIndex));
      var result = r.json || {};
      if (result.Successful === true) {
        closeEditor(false);
        say("Deleted " + key + ".");
        await loadItems();
        el.newItem.focus();
      } else {
        showConflict("delete", key, loadedIndex, result);
      }
    } catch (err) {
      editorError(err && err.message ? err.message : String(err));
    } finally {
      el.edDelete.disabled = false;
    }
  }

  // ── cluster-wide transactions (read-only) ──────────────────────────────────────────────────
  var OUTCOMES = { committed: "Committed", aborted: "Aborted", preparing: "In progress" };
  async function loadTxns() {
    var seq = ++state.txnsSeq;
    busy(el.txns, true);
    try {
      var r = await api("GET", dbPath("/transactions") + "?limit=" + TXN_LIMIT);
      if (seq !== state.txnsSeq) return;
      var results = (r.json && Array.isArray(r.json.Results)) ? r.json.Results : [];
      el.txnsBody.replaceChildren.apply(el.txnsBody, results.map(function (t) {
        var tr = document.createElement("tr");
        tr.appendChild(cell("Seq", String(t.Seq), "num"));
        tr.appendChild(cell("Index", t.Index === null || t.Index === undefined ? none() : String(t.Index), "num"));
        var keys = node("ul", null, "keys");
        (Array.isArray(t.Keys) ? t.Keys : []).forEach(function (k) { keys.appendChild(node("li", String(k))); });
        tr.appendChild(cell("Keys", keys));
        var state_ = String(t.State);
        var outcome = node("span", (OUTCOMES[state_] || state_) + (t.Done || state_ === "preparing" ? "" : " (applying)"), "outcome " + state_);
        tr.appendChild(cell("Outcome", outcome));
        tr.appendChild(cell("Mode", String(t.Mode)));
        tr.appendChild(cell("Started", formatTime(t.CreatedAt) || none()));
        tr.appendChild(cell("Decided", formatTime(t.DecidedAt) || none()));
        return tr;
      }));
      el.txnsEmpty.hidden = results.length > 0;
    } finally {
      if (seq === state.txnsSeq) busy(el.txns, false);
    }
  }

  // ── wiring ─────────────────────────────────────────────────────────────────────────────────
  el.authForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = el.authToken.value.trim();
    if (!token) {
      el.authMsg.textContent = "Enter a token, or Cancel.";
      el.authToken.focus();
      return;
    }
    setToken(token);
    el.authToken.value = "";
    finishAuth(true);
  });
  el.authCancel.addEventListener("click", function () { finishAuth(false); });
  el.authForget.addEventListener("click", function () { setToken(null); say("The access token was forgotten."); });

  el.dbForm.addEventListener("submit", run(function () {
    var name = el.dbInput.value.trim();
    if (!name) {
      el.error.textContent = "Enter a database name.";
      el.dbInput.focus();
      return;
    }
    return openDb(name);
  }));
  el.dbReload.addEventListener("click", run(function () {
    return loadDbNames().then(function (names) { say(names.length + " database(s) found."); });
  }));
  el.filterForm.addEventListener("submit", run(function () {
    state.prefix = el.prefix.value;
    state.pageSize = Number(el.pageSize.value) || 10;
    resetPaging();
    return loadItems();
  }));
  el.pageSize.addEventListener("change", run(function () {
    state.pageSize = Number(el.pageSize.value) || 10;
    resetPaging();
    return loadItems();
  }));
  el.nextPage.addEventListener("click", run(function () {
    if (!state.nextToken) return;
    state.before += state.shown;
    state.pageToken = state.nextToken;
    state.page += 1;
    return loadItems();
  }));
  el.firstPage.addEventListener("click", run(function () {
    resetPaging();
    return loadItems();
  }));
  el.newItem.addEventListener("click", function () { showEditor(null, true); });
  el.edForm.addEventListener("submit", function (ev) { ev.preventDefault(); saveItem(); });
  el.edDelete.addEventListener("click", function () { deleteItem(); });
  el.edReload.addEventListener("click", run(function () {
    if (!state.item) return;
    var key = state.item.key;
    return openItem(key).then(function () { if (state.item) editorStatus("Reloaded " + key + " (index " + state.item.index + ")."); });
  }));
  el.edClose.addEventListener("click", function () { closeEditor(true); });
  el.txnsRefresh.addEventListener("click", run(loadTxns));

  el.authForget.hidden = !getToken();
  var initial = new URLSearchParams(location.search).get("db");
  loadDbNames().catch(showError);
  if (initial) {
    el.dbInput.value = initial;
    openDb(initial).catch(showError);
  }
  document.documentElement.setAttribute("data-ready", "true");
})();
`;
