/** Wiring each entry runs once the module is instantiated (not part of the public API). */

import { setErrorFactory } from './backend.js';
import { type ErrorCode, KeyrollError } from './errors.js';

/** Every error the wasm layer throws becomes a `KeyrollError` (mapped from core in one place). */
export function setup(): void {
  setErrorFactory((code: ErrorCode, message: string) => new KeyrollError(code, message));
}
