// The two bindings under the same API: the Node-API addon (keyroll-linux-x64-gnu) and the
// WebAssembly module export the same surface, and every shared vector gives the same
// transcript on both: every value returned (byte for byte) and every error thrown (code, name
// and message), fail_* cases included. Each binding runs in its own process (backends-probe.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as glue from '../dist/wasm/keyroll_wasm.js';

const probe = new URL('./backends-probe.mjs', import.meta.url);
const run = (backend) =>
  JSON.parse(execFileSync(process.execPath, [probe.pathname], {
    env: { ...process.env, KEYROLL_BACKEND: backend },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }));

/** Own and prototype member names of a binding export, without wasm-bindgen's internals. */
function members(value) {
  const names = (o) => Object.getOwnPropertyNames(o).filter((n) => !n.startsWith('__') && !['length', 'name', 'prototype', 'constructor', 'arguments', 'caller'].includes(n));
  if (typeof value !== 'function' || value.prototype === undefined) return 'function';
  return { static: names(value).sort(), proto: names(value.prototype).sort() };
}

test('the addon and the wasm module export the same classes, methods and functions', () => {
  const addon = createRequire(import.meta.url)('keyroll-linux-x64-gnu');
  const wasmNames = Object.keys(glue).filter((n) => n !== 'default' && n !== 'initSync').sort();
  const addonNames = Object.keys(addon).filter((n) => n !== 'bindingVersion').sort();
  assert.deepEqual(addonNames, wasmNames);
  for (const name of wasmNames) {
    if (typeof glue[name] !== 'function' || !/^Wasm/.test(name)) continue;
    const own = members(addon[name]);
    // The addon's scratch-buffer decryption for small plaintexts, used by src/node.ts only.
    if (name === 'WasmKeyring') own.proto = own.proto.filter((m) => m !== 'decryptInto' && m !== 'decryptTextInto');
    // Store URLs and the reload thread: the addon only (browsers offer documents).
    if (name === 'WasmKeyringHandle') {
      own.static = own.static.filter((m) => m !== 'open');
      own.proto = own.proto.filter((m) => m !== 'reload' && m !== 'close');
    }
    assert.deepEqual(own, members(glue[name]), name);
  }
});

test('every vector gives the same values and errors on the addon and on wasm', () => {
  const native = run('native');
  const wasm = run('wasm');
  assert.equal(native.backend, 'native');
  assert.equal(native.aead, 'aws-lc-rs');
  assert.equal(wasm.backend, 'wasm');
  assert.equal(wasm.aead, 'rustcrypto-aes-gcm');
  assert.deepEqual(Object.keys(native.files), Object.keys(wasm.files));
  let values = 0;
  let errors = 0;
  for (const [name, file] of Object.entries(native.files)) {
    assert.deepEqual(file.results.filter((r) => !r.ok), [], `${name} on the addon`);
    assert.deepEqual(file.transcript, wasm.files[name].transcript, name);
    const failCases = file.results.filter((r) => r.name.startsWith('fail_')).length;
    const thrown = file.transcript.filter((t) => t.threw !== undefined);
    assert.ok(thrown.length >= failCases, `${name}: ${thrown.length} errors for ${failCases} fail_* cases`);
    assert.ok(thrown.every((t) => t.threw.name === 'KeyrollError' && typeof t.threw.error === 'string'), name);
    values += file.transcript.length - thrown.length;
    errors += thrown.length;
  }
  console.log(`${values} values and ${errors} errors identical on both bindings`);
});

test('small plaintexts (the addon\'s scratch-buffer path): fresh arrays, independent, exact at every size around 64 B', async () => {
  const { Keyring, backend } = await import('keyroll');
  const ring = Keyring.generate(1_700_000_000);
  const kept = [];
  for (let size = 0; size <= 80; size++) {
    const pt = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
    for (const issuedAt of [null, 1_700_000_000]) {
      for (const token of [ring.encrypt(pt, { context: 'c', issuedAt }), ring.encryptBinary(pt, { context: 'c', issuedAt })]) {
        const ttl = issuedAt === null ? {} : { ttl: 60, now: 1_700_000_030 };
        const out = ring.decrypt(token, { context: 'c', ...ttl });
        assert.deepEqual(out, pt, `${backend} ${size} B`);
        assert.equal(out.buffer.byteLength, size, 'its own buffer, not a view of a shared one');
        kept.push([out, pt]);
        assert.throws(() => ring.decrypt(token, { context: 'other', ...ttl }), { code: 'decrypt_failed' });
        if (issuedAt !== null) assert.throws(() => ring.decrypt(token, { context: 'c', ttl: 60, now: 1_700_000_100 }), { code: 'expired' });
      }
    }
  }
  for (const [out, pt] of kept) assert.deepEqual(out, pt, 'later calls left earlier results alone');
  ring.free();
});

test('KEYROLL_BACKEND: native and wasm pick the binding; anything else fails at import', () => {
  const load = (value) =>
    execFileSync(process.execPath, ['--input-type=module', '-e', "const k = await import('keyroll'); console.log(k.backend, k.aeadBackend())"], {
      cwd: new URL('..', import.meta.url),
      env: { ...process.env, KEYROLL_BACKEND: value },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  assert.equal(load('native'), 'native aws-lc-rs');
  assert.equal(load(''), 'native aws-lc-rs', 'the addon first where it is installed');
  assert.equal(load('wasm'), 'wasm rustcrypto-aes-gcm');
  assert.throws(() => load('WASM'), /KEYROLL_BACKEND must be "native" or "wasm"/);
});
