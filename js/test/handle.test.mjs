// KeyringHandle: a live keyring that only moves forward. On every backend: documents in
// (`fromDocument`, `offer`). On the native addon also store URLs (`open('file:…')`), where a
// version staged by another process decrypts at once, without waiting for the poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Keyring, KeyringHandle, KeyrollError, backend } from 'keyroll';

const T0 = 1_700_000_000;
const masterKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

function throwsCode(fn, code) {
  assert.throws(fn, (e) => e instanceof KeyrollError && e.code === code);
}

/** Generations 1, 2 and 3 of one keyring, each with one more version. */
function documents() {
  const ring = Keyring.generate(T0);
  const g1 = ring.dump({ masterKey });
  const r2 = Keyring.load(g1, { masterKey });
  r2.addVersion(T0 + 1);
  const g2 = r2.dump({ masterKey });
  const r3 = Keyring.load(g2, { masterKey });
  r3.addVersion(T0 + 2);
  const g3 = r3.dump({ masterKey });
  return { g1, g2, g3 };
}

test('offer swaps a higher generation, ignores the same, refuses a lower one', () => {
  const { g1, g2, g3 } = documents();
  const handle = KeyringHandle.fromDocument(g2, { masterKey });
  assert.equal(handle.generation, 2);
  assert.equal(handle.offer(g2), false);
  throwsCode(() => handle.offer(g1), 'keyring_rollback');
  assert.equal(handle.generation, 2, 'a refused offer changes nothing');
  assert.equal(handle.offer(g3), true);
  assert.deepEqual(handle.status(), { generation: 3, versions: [1, 2, 3] });
  const token = handle.encrypt('x', { context: 'c' });
  assert.match(token, /^kr1:v1:/);
  assert.deepEqual(handle.decrypt(token, { context: 'c' }), new TextEncoder().encode('x'));
  throwsCode(() => handle.offer(Keyring.generate(T0).dump({ masterKey })), 'wrong_keyring');
  throwsCode(() => handle.offer('{"junk": true}'), 'keyring_corrupt');
  handle.recordFailure('keyring_corrupt', T0 + 9);
  assert.deepEqual(handle.status().lastError, { code: 'keyring_corrupt', at: T0 + 9 });
  handle.free();
  assert.equal(String(handle), 'KeyringHandle(freed)');
});

test('no secret in toString, JSON or inspect', () => {
  const passphrase = 'correct horse battery staple';
  const doc = Keyring.generate(T0).dump({ passphrase, iterations: 100_000 });
  const handle = KeyringHandle.fromDocument(doc, { passphrase });
  const shown = `${handle} ${JSON.stringify(handle)} ${inspect(handle)}`;
  assert.equal(String(handle), 'KeyringHandle(generation=1, versions=[1])');
  assert.ok(!shown.includes(passphrase) && !shown.includes('horse'));
  handle.free();
});

test(`store URLs on the ${backend} backend`, { skip: backend === 'native' }, () => {
  throwsCode(() => KeyringHandle.open('file:/nonexistent', { masterKey }), 'invalid_argument');
  const handle = KeyringHandle.fromDocument(documents().g1, { masterKey });
  throwsCode(() => handle.reload(), 'invalid_argument');
});

/** Writes a document as the file store reads it (whole, by rename). */
function put(path, doc) {
  writeFileSync(`${path}.tmp`, doc);
  renameSync(`${path}.tmp`, path);
}

test('open(file:): a version staged by another process decrypts at once; failed reloads keep the last good keyring', { skip: backend !== 'native' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyroll-handle-'));
  try {
    const path = join(dir, 'keyring.json');
    const { g1 } = documents();
    put(path, g1);
    const handle = KeyringHandle.open(`file:${path}`, { masterKey, pollInterval: 3600, reader: 'node-test:1:a' });
    assert.equal(handle.generation, 1);

    // Another process stages version 2, saves, and already writes under it.
    const script = `
      const { Keyring } = await import('keyroll');
      const fs = await import('node:fs');
      const [path, hex] = process.argv.slice(1);
      const masterKey = Uint8Array.from(Buffer.from(hex, 'hex'));
      const ring = Keyring.load(fs.readFileSync(path), { masterKey });
      const v = ring.addVersion();
      fs.writeFileSync(path + '.tmp', ring.dump({ masterKey }));
      fs.renameSync(path + '.tmp', path);
      ring.promote(v);
      process.stdout.write(ring.encrypt('fresh', { context: 'ctx' }));`;
    const token = execFileSync(process.execPath, ['--input-type=module', '-e', script, path, Buffer.from(masterKey).toString('hex')], {
      encoding: 'utf8',
      cwd: new URL('.', import.meta.url),
    });
    assert.match(token, /^kr1:v2:/);
    assert.equal(new TextDecoder().decode(handle.decrypt(token, { context: 'ctx' })), 'fresh');
    assert.equal(handle.generation, 2);
    const checkIn = JSON.parse(readFileSync(join(dir, 'keyring.json.readers', 'node-test_1_a.json'), 'utf8'));
    assert.deepEqual([checkIn.generation, checkIn.versions], [2, [1, 2]]);

    // A corrupt file: the reload fails, the keyring stays, the status says why.
    const kept = handle.encrypt('kept');
    put(path, '{ not a keyring');
    throwsCode(() => handle.reload(), 'keyring_corrupt');
    assert.equal(new TextDecoder().decode(handle.decrypt(kept)), 'kept');
    assert.equal(handle.status().lastError.code, 'keyring_corrupt');
    assert.equal(handle.generation, 2);

    // The generation-1 document put back: never swapped in.
    put(path, g1);
    throwsCode(() => handle.reload(), 'keyring_rollback');
    assert.equal(handle.generation, 2);

    throwsCode(() => KeyringHandle.open(`file:${join(dir, 'none.json')}`, { masterKey, pollInterval: 0 }), 'keyring_not_found');
    handle.close();
    handle.free();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
