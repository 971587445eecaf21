// The TypeScript API over core: round trips, rotation, batch forms, documents, legacy keys,
// errors, and packaging (exports map, require(), wasm size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as keyroll from 'keyroll';
import { defaultPbkdf2Iterations } from '../dist/backend.js';

const { Keyring, KeyrollError, isKeyrollError, inspect } = keyroll;
const T0 = 1_700_000_000;
const DAY = 86_400;
const enc = (s) => new TextEncoder().encode(s);

function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof KeyrollError, `not a KeyrollError: ${e}`);
    assert.ok(e instanceof Error);
    assert.ok(isKeyrollError(e));
    assert.equal(e.name, 'KeyrollError');
    assert.equal(e.code, code);
    return true;
  });
}

test('encrypt and decrypt, text and binary, strings and bytes', () => {
  const ring = Keyring.generate(T0);
  const token = ring.encrypt('4111 1111 1111 1111', { context: 'users:42:card', issuedAt: T0 });
  assert.match(token, /^kr1:v1:[A-Za-z0-9_-]+$/);
  assert.equal(ring.decryptString(token, { context: 'users:42:card' }), '4111 1111 1111 1111');
  assert.deepEqual(ring.decrypt(enc(token), { context: enc('users:42:card') }), enc('4111 1111 1111 1111'));
  const binary = ring.encryptBinary(new Uint8Array([0, 1, 2, 255]), { context: 'blob' });
  assert.ok(binary instanceof Uint8Array);
  assert.deepEqual(ring.decrypt(binary, { context: 'blob' }), new Uint8Array([0, 1, 2, 255]));
  throwsCode(() => ring.decrypt(token, { context: 'users:43:card' }), 'decrypt_failed');
  throwsCode(() => ring.decrypt(token), 'decrypt_failed');
  throwsCode(() => Keyring.generate(T0).decrypt(token, { context: 'users:42:card' }), 'wrong_keyring');
  ring.free();
});

test('issued-at defaults to now, can be left out, and TTL checks it', () => {
  const ring = Keyring.generate(T0);
  const before = Math.floor(Date.now() / 1000);
  const stamped = inspect(ring.encrypt('x')).issuedAt;
  assert.ok(stamped >= before && stamped <= before + 5, `issuedAt ${stamped}`);
  const none = ring.encrypt('x', { issuedAt: null });
  assert.equal(inspect(none).issuedAt, undefined);
  throwsCode(() => ring.decrypt(none, { ttl: 60 }), 'missing_timestamp');
  const old = ring.encrypt('x', { issuedAt: new Date(T0 * 1000) });
  assert.equal(ring.decryptString(old, { ttl: 60, now: T0 + 60 }), 'x');
  throwsCode(() => ring.decrypt(old, { ttl: 60, now: T0 + 61 }), 'expired');
  assert.deepEqual(ring.verify(old, { ttl: 60, now: T0 + 1 }), { keyVersion: 1, issuedAt: T0 });
  throwsCode(() => ring.encrypt('x', { issuedAt: 1.5 }), 'invalid_argument');
  throwsCode(() => ring.encrypt('x', { issuedAt: -1 }), 'invalid_argument');
  throwsCode(() => ring.rotate(Number.NaN), 'invalid_argument');
  assert.equal(ring.activeVersion, 1, 'a refused call changes nothing');
});

test('rotation, rewrap, emergency rotation, states, minimum version', () => {
  const ring = Keyring.generate(T0);
  const t1 = ring.encrypt('secret', { context: 'c', issuedAt: T0 });
  assert.equal(ring.needsRewrap(t1), false);
  assert.equal(ring.rotate(T0 + 90 * DAY), 2);
  assert.equal(ring.needsRewrap(t1), true);
  const t2 = ring.rewrap(t1, { context: 'c' });
  assert.equal(inspect(t2).keyVersion, 2);
  assert.equal(inspect(t2).issuedAt, T0, 'rewrap keeps issued-at');
  assert.equal(ring.decryptString(t2, { context: 'c' }), 'secret');
  assert.equal(inspect(ring.rewrapBinary(t1, { context: 'c' })).format, 'keyroll_v1_binary');
  assert.equal(ring.emergencyRotate('laptop stolen', T0 + 91 * DAY), 3);
  const v2 = ring.versions.find((v) => v.version === 2);
  assert.equal(v2.state, 'compromised');
  assert.equal(v2.note, 'laptop stolen');
  throwsCode(() => ring.decrypt(t2, { context: 'c' }), 'key_compromised');
  throwsCode(() => ring.rewrap(t2, { context: 'c' }), 'key_compromised');
  assert.ok(isKeyrollError(ring.rewrapMany([t2], { context: 'c' })[0]));
  const t3 = ring.rewrap(t2, { context: 'c', allowCompromised: true });
  // A batch that opts in counts what it read from each compromised version.
  const report = ring.rewrapMany([t2, t1, 'garbage', t2], { context: 'c', allowCompromised: true });
  assert.equal(report.tokens.length, 4);
  assert.equal(inspect(report.tokens[0]).keyVersion, 3);
  assert.ok(isKeyrollError(report.tokens[2]));
  assert.deepEqual([...report.compromised], [[2, 2]]);
  assert.equal(report.compromisedTotal, 2);
  assert.ok(Array.isArray(ring.rewrapMany([t1], { context: 'c' })), 'no opt-in: a plain array');
  assert.equal(ring.decryptString(t3, { context: 'c' }), 'secret');
  ring.setState(1, 'disabled', { note: 'retired', now: T0 + 92 * DAY });
  throwsCode(() => ring.decrypt(t1, { context: 'c' }), 'key_disabled');
  throwsCode(() => ring.setState(3, 'destroyed'), 'invalid_state_transition');
  throwsCode(() => ring.setState(1, 'nonsense'), 'invalid_argument');
  ring.setMinVersion(3);
  assert.equal(ring.minVersion, 3);
  throwsCode(() => ring.decrypt(t1, { context: 'c' }), 'below_minimum_version');
  assert.equal(ring.addVersion(T0 + 93 * DAY), 4);
  assert.equal(ring.versions.at(-1).state, 'pending');
  ring.promote(4, T0 + 94 * DAY);
  assert.equal(ring.activeVersion, 4);
  assert.deepEqual(
    ring.versions.map((v) => [v.version, v.state]),
    [[1, 'disabled'], [2, 'compromised'], [3, 'decrypt_only'], [4, 'active']],
  );
});

test('policy and checkPolicy', () => {
  const ring = Keyring.generate(T0);
  assert.deepEqual(ring.policy, { rotateAfterDays: 90, warnAfterDays: 80 });
  assert.equal(ring.checkPolicy(T0 + DAY).state, 'ok');
  assert.equal(ring.checkPolicy(T0 + 80 * DAY).state, 'warn');
  assert.deepEqual(ring.checkPolicy(T0 + 90 * DAY), {
    state: 'due', activeVersion: 1, ageSeconds: 90 * DAY, warnAt: T0 + 80 * DAY, dueAt: T0 + 90 * DAY,
  });
  ring.setPolicy({ rotateAfterDays: 30, warnAfterDays: 20 });
  assert.equal(ring.checkPolicy(T0 + 30 * DAY).state, 'due');
  throwsCode(() => ring.setPolicy({ rotateAfterDays: 10, warnAfterDays: 20 }), 'invalid_argument');
  assert.equal(ring.exportDecryptOnly([1]).checkPolicy(T0).state, 'no_active_key');
  throwsCode(() => ring.exportDecryptOnly([]), 'invalid_argument');
});

test('batch forms give one result per item', () => {
  const ring = Keyring.generate(T0);
  const tokens = ring.encryptMany(['a', 'b', enc('c')], { context: 'batch' });
  assert.equal(tokens.length, 3);
  const out = ring.decryptMany([...tokens, 'kr1:v1:AAAA', tokens[0]], { context: 'batch' });
  assert.deepEqual(out.slice(0, 3), [enc('a'), enc('b'), enc('c')]);
  assert.ok(isKeyrollError(out[3]) && out[3] instanceof KeyrollError);
  assert.equal(out[3].code, 'unsupported_format');
  assert.deepEqual(out[4], enc('a'));
  ring.rotate(T0 + 1);
  const moved = ring.rewrapMany([tokens[0], 'garbage'], { context: 'batch' });
  assert.equal(inspect(moved[0]).keyVersion, 2);
  assert.ok(isKeyrollError(moved[1]));
});

test('documents: passphrase and master key; wrong unlock and tampering refused', () => {
  const ring = Keyring.generate(T0);
  const token = ring.encrypt('doc', { issuedAt: T0 });
  const doc = ring.dump({ passphrase: 'correct horse', iterations: 100_000 });
  assert.equal(JSON.parse(doc).body.kek.iterations, 100_000);
  assert.equal(Keyring.load(doc, { passphrase: 'correct horse' }).decryptString(token), 'doc');
  assert.equal(Keyring.load(enc(doc), { passphrase: enc('correct horse') }).id, ring.id);
  throwsCode(() => Keyring.load(doc, { passphrase: 'wrong' }), 'bad_passphrase');
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sealed = ring.dump({ masterKey: key });
  assert.equal(Keyring.load(sealed, { masterKey: key }).decryptString(token), 'doc');
  throwsCode(() => Keyring.load(sealed, { masterKey: new Uint8Array(32) }), 'bad_passphrase');
  throwsCode(() => Keyring.load(sealed, { masterKey: new Uint8Array(31) }), 'invalid_key');
  const tampered = sealed.replace('"min_version": 0', '"min_version": 1');
  assert.notEqual(tampered, sealed);
  throwsCode(() => Keyring.load(tampered, { masterKey: key }), 'keyring_corrupt');
  throwsCode(() => Keyring.load('{}', { masterKey: key }), 'keyring_corrupt');
  // The PBKDF2 sealing floor is 100,000 iterations (#14); documents sealed below it still load.
  throwsCode(() => ring.dump({ passphrase: 'p', iterations: 99_999 }), 'invalid_argument');
  throwsCode(() => ring.dump({ passphrase: 'p', iterations: 1 }), 'invalid_argument');
  throwsCode(() => ring.dump({ passphrase: 'p', iterations: 0 }), 'invalid_argument');
});

test('loadAsync and dumpAsync run PBKDF2 in a worker thread, same documents', async () => {
  const ring = Keyring.generate(T0);
  const token = ring.encrypt('async', { issuedAt: T0 });
  const doc = await ring.dumpAsync({ passphrase: 'pw', iterations: 100_000 });
  assert.equal(JSON.parse(doc).body.kek.iterations, 100_000);
  assert.equal(Keyring.load(doc, { passphrase: 'pw' }).decryptString(token), 'async');
  const loaded = await Keyring.loadAsync(doc, { passphrase: enc('pw') });
  assert.equal(loaded.id, ring.id);
  assert.deepEqual(loaded.versions, ring.versions);
  assert.equal(loaded.decryptString(token), 'async');
  await assert.rejects(Keyring.loadAsync(doc, { passphrase: 'wrong' }), (e) => isKeyrollError(e) && e.code === 'bad_passphrase');
  await assert.rejects(Keyring.loadAsync('{}', { passphrase: 'pw' }), (e) => isKeyrollError(e) && e.code === 'keyring_corrupt');
  await assert.rejects(ring.dumpAsync({ passphrase: 'pw', iterations: 0 }), (e) => isKeyrollError(e) && e.code === 'invalid_argument');
  const key = crypto.getRandomValues(new Uint8Array(32));
  assert.equal((await Keyring.loadAsync(await ring.dumpAsync({ masterKey: key }), { masterKey: key })).id, ring.id);
});

test('decrypt-only export and derived keys', () => {
  const ring = Keyring.generate(T0);
  const token = ring.encrypt('x');
  const reader = ring.exportDecryptOnly([1]);
  assert.equal(reader.readOnly, true);
  assert.equal(reader.activeVersion, undefined);
  assert.equal(reader.decryptString(token), 'x');
  throwsCode(() => reader.encrypt('y'), 'no_active_key');
  throwsCode(() => reader.rotate(), 'read_only');
  const a = ring.deriveKey('pii');
  assert.equal(a.version, 1);
  assert.equal(a.key.length, 32);
  assert.deepEqual(ring.deriveKey(enc('pii')).key, a.key);
  assert.notDeepEqual(ring.deriveKey('audit').key, a.key);
  assert.equal(ring.deriveKey('pii', 64).key.length, 64);
  throwsCode(() => ring.deriveKey('pii', 0), 'invalid_argument');
});

test('Fernet keys: compat keyring shared between processes, import into a keyring', () => {
  const keys = [keyroll.generateFernetKey(), keyroll.generateFernetKey()];
  assert.match(keys[0], /^[A-Za-z0-9_-]{43}=$/);
  const writer = Keyring.fromFernetKeys(keys, T0);
  const reader = Keyring.fromFernetKeys(keys, T0 + 5);
  const token = writer.encrypt('shared', { context: 'orders:7' });
  assert.equal(reader.decryptString(token, { context: 'orders:7' }), 'shared');
  assert.deepEqual(writer.versions.map((v) => v.kind), ['fernet', 'fernet']);
  const ring = Keyring.generate(T0);
  const versions = ring.importFernet(keys, T0);
  assert.equal(versions.length, 2);
  assert.ok(versions.every((v) => v >= 2 ** 31));
  assert.equal(ring.decryptString(token, { context: 'orders:7' }), 'shared');
  throwsCode(() => Keyring.fromFernetKeys(['not a key'], T0), 'invalid_key');
  throwsCode(() => Keyring.fromFernetKeys([], T0), 'invalid_argument');
});

test('error codes: the TypeScript unions list exactly core\'s codes and the store\'s', () => {
  const src = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');
  const codes = (text) => [...text.matchAll(/\| '([a-z_]+)'/g)].map((m) => m[1]);
  const [core, store] = src.split('export type StoreErrorCode');
  const union = codes(core);
  assert.deepEqual(union, keyroll.errorCodes());
  // The store crate's codes, read from its one `code()` (core's own codes pass through it).
  const rust = readFileSync(new URL('../../store/src/error.rs', import.meta.url), 'utf8');
  const fromRust = [...rust.slice(rust.indexOf('pub fn code')).matchAll(/=> "([a-z_]+)"/g)]
    .map((m) => m[1])
    .filter((c) => !union.includes(c));
  assert.deepEqual(codes(store.split(';')[0]), [...new Set(fromRust)]);
  assert.ok(union.includes('keyring_conflict') && union.includes('keyring_rollback'));
  const e = new KeyrollError('expired', 'token expired');
  assert.equal(String(e), 'KeyrollError: token expired');
  assert.equal(isKeyrollError(new Error('x')), false);
  assert.equal(isKeyrollError({ name: 'KeyrollError', code: 'expired' }), false);
});

test('free() and Symbol.dispose release the keyring; use after free is refused', () => {
  const ring = Keyring.generate(T0);
  ring.free();
  ring.free();
  assert.throws(() => ring.encrypt('x'), /freed/);
  assert.equal(String(ring), 'Keyring(freed)');
  const other = Keyring.generate(T0);
  other[Symbol.dispose]();
  assert.throws(() => other.id, /freed/);
});

test('package: exports map, require(), one wasm within budget', () => {
  assert.match(import.meta.resolve('keyroll'), /\/dist\/node\.js$/);
  const required = createRequire(import.meta.url)('keyroll');
  assert.equal(required.Keyring, Keyring, 'require() gives the same module (Node >= 20.19)');
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.deepEqual(Object.keys(pkg.exports['.']), ['types', 'node', 'browser', 'default']);
  const wasm = readFileSync(new URL('../dist/wasm/keyroll_wasm_bg.wasm', import.meta.url));
  const gz = gzipSync(wasm, { level: 9 }).length;
  // 311 KB gzipped on 2026-12-02: code 179 KB, data 130 KB — mostly the Unicode tables the
  // blind-index normalisers need (NFKC, full case folding) and Ed25519's precomputed tables.
  // It was 134 KB before signing and blind indexes; -Oz instead of -O3 saves under 1 KB.
  // The budget catches growth; Node loads the native addon and never fetches this file.
  assert.ok(gz <= 330 * 1024, `wasm is ${gz} bytes gzipped`);
  assert.equal(keyroll.aeadBackend(), keyroll.backend === 'native' ? 'aws-lc-rs' : 'rustcrypto-aes-gcm');
  assert.equal(keyroll.DEFAULT_PBKDF2_ITERATIONS, defaultPbkdf2Iterations(), 'the default is core\'s');
});
