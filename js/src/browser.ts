/**
 * The browser entry (also the default for Deno, workers and bundlers): fetches and
 * instantiates the module with top-level await, so the API is ready once the import resolves.
 * Bundlers that understand `new URL(..., import.meta.url)` (Vite, webpack 5, esbuild) copy the
 * `.wasm` next to the bundle.
 */

import init, * as wasm from './wasm/keyroll_wasm.js';
import { useBinding } from './backend.js';
import { setup } from './setup.js';
import { type OffloadReply, setRunner } from './offload.js';

await init({ module_or_path: new URL('./wasm/keyroll_wasm_bg.wasm', import.meta.url) });
useBinding(wasm, 'wasm');
setup();
setRunner(
  (request, transfer) =>
    new Promise<OffloadReply>((resolve, reject) => {
      const worker = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module' });
      worker.onmessage = (event: MessageEvent<OffloadReply>) => {
        resolve(event.data);
        worker.terminate();
      };
      worker.onerror = (event) => {
        reject(new Error(`keyroll: worker failed: ${event.message}`));
        worker.terminate();
      };
      worker.postMessage(request, transfer);
    }),
);

export * from './index.js';
