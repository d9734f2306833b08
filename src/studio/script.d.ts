/** The Studio's inline script, exactly as served (its SHA-256 is in the page's CSP). See script.js. */
export declare const STUDIO_SCRIPT: string;
