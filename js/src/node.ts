/**
 * The Node entry: picks the binding synchronously at import, so the API is ready.
 *
 * First the Node-API addon of this platform (the optional dependency `keyroll-linux-x64-gnu`,
 * core on aws-lc-rs with AES-NI: ~2-100× the WebAssembly speed), then the WebAssembly module
 * (any other platform, or an addon that fails to load or is of another version). Set
 * `KEYROLL_BACKEND=wasm` to force the WebAssembly module, `KEYROLL_BACKEND=native` to fail at
 * import unless the addon loads; `backend` says which one runs.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as wasm from './wasm/keyroll_wasm.js';
import { type Binding, useBinding } from './backend.js';
import { setup } from './setup.js';
import { type OffloadReply, setRunner } from './offload.js';

/** The platform package of each `${process.platform}-${process.arch}` with an addon. */
const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': 'keyroll-linux-x64-gnu',
};

type Addon = Binding & { bindingVersion(): string };

/** The addon of this platform if it loads and is this package's version; else why not. */
function loadAddon(): Addon | Error {
  const name = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (name === undefined) return new Error(`no keyroll addon for ${process.platform}-${process.arch}`);
  const require = createRequire(import.meta.url);
  const version = (require('../package.json') as { version: string }).version;
  try {
    const addon = require(name) as Addon;
    const built = addon.bindingVersion();
    if (built !== version) return new Error(`${name} is version ${built}, keyroll is ${version}`);
    return addon;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

function choose(): void {
  const wanted = process.env['KEYROLL_BACKEND'] ?? '';
  if (wanted !== '' && wanted !== 'native' && wanted !== 'wasm') {
    throw new Error(`keyroll: KEYROLL_BACKEND must be "native" or "wasm", not ${JSON.stringify(wanted)}`);
  }
  if (wanted !== 'wasm') {
    const addon = loadAddon();
    if (!(addon instanceof Error)) return useBinding(addon, 'native');
    if (wanted === 'native') throw new Error(`keyroll: KEYROLL_BACKEND=native but the addon did not load: ${addon.message}`);
  }
  wasm.initSync({ module: readFileSync(new URL('./wasm/keyroll_wasm_bg.wasm', import.meta.url)) });
  useBinding(wasm, 'wasm');
}

choose();
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
