/**
 * The page's elements (by id, each checked for its kind) and small element builders. Texts are
 * set with textContent only: nothing a server returns is parsed as HTML.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
export function createDom(doc: Document) {
  function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
    const found = doc.getElementById(id);
    if (!(found instanceof kind)) throw new Error(`Studio: the page has no ${kind.name} #${id}`);
    return found;
  }
  const el = {
    dbForm: byId("db-form", HTMLFormElement),
    dbInput: byId("db-input", HTMLInputElement),
    dbNames: byId("db-names", HTMLDataListElement),
    dbReload: byId("db-reload", HTMLButtonElement),
    authBox: byId("auth-box", HTMLDivElement),
    authForm: byId("auth-form", HTMLFormElement),
    authToken: byId("auth-token", HTMLInputElement),
    authMsg: byId("auth-msg", HTMLParagraphElement),
    authCancel: byId("auth-cancel", HTMLButtonElement),
    authForget: byId("auth-forget", HTMLButtonElement),
    status: byId("status", HTMLParagraphElement),
    error: byId("error", HTMLParagraphElement),
    main: byId("main", HTMLElement),
    dbCurrent: byId("db-current", HTMLSpanElement),
    items: byId("items", HTMLElement),
    filterForm: byId("filter-form", HTMLFormElement),
    prefix: byId("prefix", HTMLInputElement),
    pageSize: byId("page-size", HTMLSelectElement),
    newItem: byId("new-item", HTMLButtonElement),
    itemsBody: byId("items-body", HTMLTableSectionElement),
    itemsEmpty: byId("items-empty", HTMLParagraphElement),
    firstPage: byId("first-page", HTMLButtonElement),
    nextPage: byId("next-page", HTMLButtonElement),
    pageInfo: byId("page-info", HTMLSpanElement),
    editor: byId("editor", HTMLElement),
    editorTitle: byId("editor-title", HTMLHeadingElement),
    edForm: byId("editor-form", HTMLFormElement),
    edKey: byId("ed-key", HTMLInputElement),
    edKeyErr: byId("ed-key-err", HTMLParagraphElement),
    edIndex: byId("ed-index", HTMLOutputElement),
    edValue: byId("ed-value", HTMLTextAreaElement),
    edValueErr: byId("ed-value-err", HTMLParagraphElement),
    edMeta: byId("ed-meta", HTMLTextAreaElement),
    edMetaErr: byId("ed-meta-err", HTMLParagraphElement),
    edSave: byId("ed-save", HTMLButtonElement),
    edReload: byId("ed-reload", HTMLButtonElement),
    edDelete: byId("ed-delete", HTMLButtonElement),
    edClose: byId("ed-close", HTMLButtonElement),
    edAlert: byId("ed-alert", HTMLDivElement),
    edStatus: byId("ed-status", HTMLParagraphElement),
    txns: byId("txns", HTMLElement),
    txnsBody: byId("txns-body", HTMLTableSectionElement),
    txnsEmpty: byId("txns-empty", HTMLParagraphElement),
    txnsRefresh: byId("txns-refresh", HTMLButtonElement),
  };

  function node<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | null, cls?: string): HTMLElementTagNameMap[K] {
    const n = doc.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }
  /** A table cell; `label` is shown before the content in the narrow (card) layout. */
  function cell(label: string, content: Node | string, cls?: string): HTMLTableCellElement {
    const td = node("td", null, cls);
    td.setAttribute("data-label", label);
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    return td;
  }
  function none(): HTMLSpanElement {
    return node("span", "\u2014", "none");
  }
  return { el, node, cell, none };
}

export type Dom = ReturnType<typeof createDom>;
export type Elements = Dom["el"];
