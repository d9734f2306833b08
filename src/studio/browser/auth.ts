/**
 * The access token: asked for on a 401/403, kept in sessionStorage only (memory when storage is
 * off) and sent as a bearer. Requests refused meanwhile wait for the one prompt's answer.
 *
 * Served as source text (see source.ts): this function may use only its parameters and browser
 * globals — no imported values, no module-level constants.
 */
import type { Elements } from "./dom";

export function createAuth(el: Elements) {
  const TOKEN_KEY = "edge-cmpxchg.studio.token";
  let memoryToken: string | null = null;
  /** Resolvers of the requests waiting for the prompt; null when no prompt is open. */
  let authWaiters: ((given: boolean) => void)[] | null = null;
  let focusBeforeAuth: Element | null = null;

  function getToken(): string | null {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return memoryToken;
    }
  }
  function setToken(token: string | null): void {
    memoryToken = token || null;
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage off: memory only */
    }
    el.authForget.hidden = !token;
  }

  /** Shows the prompt (once for any number of refused requests); true when a token was given. */
  function askToken(status: number, hadToken: boolean): Promise<boolean> {
    if (!authWaiters) {
      authWaiters = [];
      focusBeforeAuth = document.activeElement;
      el.authMsg.textContent = hadToken
        ? `The server refused this token (HTTP ${status}). Enter another access token.`
        : `The server asks for an access token (HTTP ${status}). It is kept for this browser tab only.`;
      el.authBox.hidden = false;
      el.authToken.value = "";
      el.authToken.focus();
    }
    const waiters = authWaiters;
    return new Promise((resolve) => {
      waiters.push(resolve);
    });
  }
  function finishAuth(given: boolean): void {
    const waiters = authWaiters || [];
    authWaiters = null;
    el.authBox.hidden = true;
    if (focusBeforeAuth instanceof HTMLElement && focusBeforeAuth !== document.body && document.contains(focusBeforeAuth)) {
      focusBeforeAuth.focus();
    }
    waiters.forEach((resolve) => {
      resolve(given);
    });
  }
  return { getToken, setToken, askToken, finishAuth };
}

export type Auth = ReturnType<typeof createAuth>;
