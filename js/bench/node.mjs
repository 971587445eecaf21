// keyroll in Node on both bindings — the Node-API addon (native, aws-lc-rs) and the
// WebAssembly fallback — against node:crypto aes-256-gcm (fresh random IV per message) and
// crypto.subtle AES-GCM; prints a markdown table with ratios.
// One run: this script times each binding in a child process of its own (KEYROLL_BACKEND), each
// child timing node:crypto and WebCrypto again beside it, so every ratio is keyroll against the
// peer measured in the same process minutes apart at most.
// Usage: node bench/node.mjs [ms-per-round]
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { runAll } from './cases.mjs';

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

if (process.env.KEYROLL_BENCH_CHILD) {
  const keyroll = await import('keyroll');
  const rows = await runAll(keyroll, {
    subtle: crypto.webcrypto.subtle,
    getRandomValues: (a) => crypto.webcrypto.getRandomValues(a),
    syncPeers: [nodeCrypto],
    ms,
    log: (line) => console.error(`[${keyroll.backend}] ${line}`),
  });
  process.stdout.write(JSON.stringify({ backend: keyroll.backend, aead: keyroll.aeadBackend(), rows }));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const cwd = new URL('..', import.meta.url);
const child = (backend) =>
  JSON.parse(execFileSync(process.execPath, [self, String(ms)], {
    cwd,
    env: { ...process.env, KEYROLL_BACKEND: backend, KEYROLL_BENCH_CHILD: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }));

const wasm = readFileSync(new URL('../dist/wasm/keyroll_wasm_bg.wasm', import.meta.url));
const compile = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await WebAssembly.compile(wasm);
  compile.push(performance.now() - t);
}
// Cold start as an app sees it: a fresh process importing the package (addon: dlopen; wasm:
// read, compile, instantiate, glue), best of 5.
const cold = (backend) => {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e',
      "const t = performance.now(); await import('keyroll'); console.log(performance.now() - t)"], { cwd, env: { ...process.env, KEYROLL_BACKEND: backend } });
    times.push(Number(out));
  }
  return Math.min(...times).toFixed(1);
};

console.log(`node ${process.version}`);
console.log(`wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped; compile ${Math.min(...compile).toFixed(1)} ms; cold import('keyroll'): native ${cold('native')} ms, wasm ${cold('wasm')} ms (best of 5)`);
const native = child('native');
const fallback = child('wasm');
console.log(`bindings: native = ${native.aead}, wasm = ${fallback.aead}`);

const get = (rows, size, op, name) => rows.find((r) => r.size === size && r.op === op && r.name === name)?.opsPerSec ?? NaN;
const n = (x) => Math.round(x).toLocaleString('en-US');
const lines = [
  '| size | op | native (text) | native (binary) | wasm (text) | wasm (binary) | node:crypto | WebCrypto (64 in flight) | native text ÷ node:crypto | native binary ÷ node:crypto | wasm binary ÷ node:crypto |',
  `|${' --- |'.repeat(11)}`,
];
for (const size of [...new Set(native.rows.map((r) => r.size))]) {
  for (const op of ['encrypt', 'decrypt']) {
    const nc = get(native.rows, size, op, 'node:crypto');
    const wc = get(fallback.rows, size, op, 'node:crypto');
    const nt = get(native.rows, size, op, 'keyroll (text)');
    const nb = get(native.rows, size, op, 'keyroll (binary)');
    const wt = get(fallback.rows, size, op, 'keyroll (text)');
    const wb = get(fallback.rows, size, op, 'keyroll (binary)');
    const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
    lines.push(`| ${label} | ${op} | ${n(nt)} | ${n(nb)} | ${n(wt)} | ${n(wb)} | ${n(nc)} | ${n(get(native.rows, size, op, 'WebCrypto (64 in flight)'))} | ${(nt / nc).toFixed(2)}× | ${(nb / nc).toFixed(2)}× | ${(wb / wc).toFixed(2)}× |`);
  }
}
console.log();
console.log(lines.join('\n'));
