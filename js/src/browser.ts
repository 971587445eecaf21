/**
 * The browser entry (also the default for Deno, workers and bundlers): fetches and
 * instantiates the module with top-level await, so the API is ready once the import resolves.
 * Bundlers that understand `new URL(..., import.meta.url)` (Vite, webpack 5, esbuild) copy the
 * `.wasm` next to the bundle.
 */

import init from './wasm/keyroll_wasm.js';
import { setup } from './setup.js';

await init({ module_or_path: new URL('./wasm/keyroll_wasm_bg.wasm', import.meta.url) });
setup();

export * from './index.js';
