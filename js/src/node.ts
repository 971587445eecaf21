/** The Node entry: instantiates the module synchronously at import, so the API is ready. */

import { readFileSync } from 'node:fs';
import { initSync } from './wasm/keyroll_wasm.js';
import { Worker } from 'node:worker_threads';
import { setup } from './setup.js';
import { type OffloadReply, setRunner } from './offload.js';

initSync({ module: readFileSync(new URL('./wasm/keyroll_wasm_bg.wasm', import.meta.url)) });
setup();
setRunner(
  (request, transfer) =>
    new Promise<OffloadReply>((resolve, reject) => {
      const worker = new Worker(new URL('./worker-node.js', import.meta.url));
      worker.once('message', (reply: OffloadReply) => {
        resolve(reply);
        void worker.terminate();
      });
      worker.once('error', reject);
      worker.postMessage(request, transfer);
    }),
);

export * from './index.js';
