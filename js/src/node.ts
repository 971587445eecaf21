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

/** What the addon's keyring adds to the wasm surface, for `smallPlaintexts`. */
interface AddonKeyring {
  decrypt(token: Uint8Array, context: Uint8Array, ttl: number | undefined, now: number): Uint8Array;
  decryptText(token: string, context: Uint8Array, ttl: number | undefined, now: number): Uint8Array;
  decryptInto(token: Uint8Array, context: Uint8Array, ttl: number | undefined, now: number, out: Uint8Array): number;
  decryptTextInto(token: string, context: Uint8Array, ttl: number | undefined, now: number, out: Uint8Array): number;
}

/**
 * Small plaintexts (≤ 64 bytes: card numbers, emails, ids) come back ~2× faster through a
 * scratch buffer: the addon opens the envelope into it and this copies them out into a V8
 * on-heap array, which costs far less than the fresh `ArrayBuffer` native code must otherwise
 * create, and wipes the scratch bytes at once (also wiped by core if decryption fails). The
 * result is the same fresh `Uint8Array`. Tokens too long for a 64-byte plaintext skip it.
 */
function smallPlaintexts(addon: Addon): void {
  const proto = addon.WasmKeyring.prototype as unknown as AddonKeyring;
  const scratch = new Uint8Array(new ArrayBuffer(64));
  const take = (n: number): Uint8Array => {
    const out = scratch.slice(0, n);
    scratch.fill(0, 0, n);
    return out;
  };
  const { decrypt, decryptText } = proto;
  // Binary: a 64-byte plaintext seals to at most 118 bytes; text: at most ~176 characters.
  proto.decrypt = function (this: AddonKeyring, token, context, ttl, now) {
    const n = token.length <= 128 ? this.decryptInto(token, context, ttl, now, scratch) : -1;
    return n < 0 ? decrypt.call(this, token, context, ttl, now) : take(n);
  };
  proto.decryptText = function (this: AddonKeyring, token, context, ttl, now) {
    const n = token.length <= 192 ? this.decryptTextInto(token, context, ttl, now, scratch) : -1;
    return n < 0 ? decryptText.call(this, token, context, ttl, now) : take(n);
  };
}

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
    if (!(addon instanceof Error)) {
      smallPlaintexts(addon);
      return useBinding(addon, 'native');
    }
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
