/**
 * The page's messages and busy marks, and `run`: an event handler that clears the last error,
 * runs an async action and shows its failure instead of losing it.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Elements } from "./dom";
import type { Handler } from "./types";

export function createUi(el: Elements) {
  function say(message: string): void {
    el.status.textContent = message;
  }
  /** An error's message (any thrown value's text otherwise). */
  function messageOf(err: unknown): string {
    const message = err !== null && typeof err === "object" ? (err as { message?: unknown }).message : undefined;
    return typeof message === "string" && message ? message : String(err);
  }
  function showError(err: unknown): void {
    el.error.textContent = messageOf(err);
  }
  /** aria-busy on a section while it loads (the tests wait for "false"). */
  function busy(section: HTMLElement, on: boolean): void {
    section.setAttribute("aria-busy", on ? "true" : "false");
  }
  function run(fn: (ev?: Event) => unknown): Handler {
    return (ev?: Event) => {
      if (ev && ev.type === "submit") ev.preventDefault();
      el.error.textContent = "";
      Promise.resolve()
        .then(() => fn(ev))
        .catch(showError);
    };
  }
  return { say, messageOf, showError, busy, run };
}

export type Ui = ReturnType<typeof createUi>;
