// keyroll in Node against node:crypto aes-256-gcm (fresh random IV per message) and
// crypto.subtle AES-GCM, same run, same machine; prints a markdown table with ratios.
// Usage: node bench/node.mjs [ms-per-round]
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as keyroll from 'keyroll';
import { runAll, table } from './cases.mjs';

const ms = Number(process.argv[2] ?? 400);
const key = crypto.randomBytes(32);
const nodeCrypto = {
  name: 'node:crypto',
  encrypt(pt, context) {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(context));
    const body = c.update(pt);
    c.final();
    return Buffer.concat([iv, body, c.getAuthTag()]);
  },
  decrypt(blob, context) {
    const d = crypto.createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
    d.setAAD(Buffer.from(context));
    d.setAuthTag(blob.subarray(blob.length - 16));
    const out = d.update(blob.subarray(12, blob.length - 16));
    d.final();
    return out;
  },
};

const wasm = readFileSync(new URL('../dist/wasm/keyroll_wasm_bg.wasm', import.meta.url));
const compile = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await WebAssembly.compile(wasm);
  compile.push(performance.now() - t);
}
// Cold start as an app sees it: a fresh process importing the package (read, compile,
// instantiate, glue), best of 5.
const cold = [];
for (let i = 0; i < 5; i++) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    "const t = performance.now(); await import('keyroll'); console.log(performance.now() - t)"], { cwd: new URL('..', import.meta.url) });
  cold.push(Number(out));
}

console.log(`node ${process.version}, keyroll AEAD ${keyroll.aeadBackend()}`);
console.log(`wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped; compile ${Math.min(...compile).toFixed(1)} ms, cold import('keyroll') ${Math.min(...cold).toFixed(1)} ms (best of 5)`);
const rows = await runAll(keyroll, {
  subtle: crypto.webcrypto.subtle,
  getRandomValues: (a) => crypto.webcrypto.getRandomValues(a),
  syncPeers: [nodeCrypto],
  ms,
  log: console.log,
});
console.log();
console.log(table(rows));
