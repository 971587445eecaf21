/** The Node entry: instantiates the module synchronously at import, so the API is ready. */

import { readFileSync } from 'node:fs';
import { initSync } from './wasm/keyroll_wasm.js';
import { setup } from './setup.js';

initSync({ module: readFileSync(new URL('./wasm/keyroll_wasm_bg.wasm', import.meta.url)) });
setup();

export * from './index.js';
