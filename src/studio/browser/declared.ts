/**
 * Keeps ../script.d.ts (what the Worker's type check sees) true to what ../script.js exports.
 * Type-checked only: nothing imports this file.
 */
import type { STUDIO_SCRIPT as Declared } from "../script";
import { STUDIO_SCRIPT } from "./source";

export const declaredMatches: typeof Declared = STUDIO_SCRIPT;
