// Key material never shows in toString(), JSON.stringify, util.inspect or error messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import * as keyroll from 'keyroll';

const { Keyring } = keyroll;
const T0 = 1_700_000_000;
const hex = (b) => Buffer.from(b).toString('hex');
const b64 = (b) => Buffer.from(b).toString('base64');
const b64url = (b) => Buffer.from(b).toString('base64url');

/** Every text form of `secret` a leak could take. */
function forms(secret) {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'base64url') : Buffer.from(secret);
  return [hex(bytes), b64(bytes), b64url(bytes), bytes.subarray(0, 12).toString('latin1'), String([...bytes])]
    .concat(typeof secret === 'string' ? [secret] : []);
}

function assertClean(text, secrets, where) {
  for (const s of secrets) for (const f of forms(s)) assert.ok(!text.includes(f), `${where} leaks key material`);
}

function renderings(value) {
  return [
    String(value),
    `${value}`,
    JSON.stringify(value) ?? '',
    util.inspect(value, { showHidden: true, depth: Infinity, getters: true }),
    util.format('%o %O %j', value, value, value),
  ];
}

test('a keyring prints metadata only', () => {
  const fernet = keyroll.generateFernetKey();
  const masterKey = crypto.getRandomValues(new Uint8Array(32));
  const rawKey = crypto.getRandomValues(new Uint8Array(32));
  const ring = Keyring.fromFernetKeys([fernet], T0);
  ring.rotate(T0 + 1);
  ring.importRawGcm({ key: rawKey }, { versionByte: 7, now: T0 });
  const derived = ring.deriveKey('pii').key;
  const reloaded = Keyring.load(ring.dump({ masterKey }), { masterKey });
  for (const r of [ring, reloaded, ring.exportDecryptOnly(ring.versions.map((v) => v.version))]) {
    const shown = renderings(r);
    assert.match(shown[0], /^Keyring\(id=[0-9a-f]{16}, active=(1|none), \[/);
    assert.ok(JSON.parse(shown[2]).versions.length === 3);
    for (const text of shown) assertClean(text, [fernet, masterKey, rawKey, derived], 'keyring rendering');
  }
});

test('error messages and their renderings carry no key material', () => {
  const masterKey = crypto.getRandomValues(new Uint8Array(32));
  const ring = Keyring.generate(T0);
  const doc = ring.dump({ masterKey });
  const fernet = keyroll.generateFernetKey();
  const almost = fernet.slice(0, 40) + '!!!=';
  const errors = [];
  const collect = (fn) => {
    try {
      fn();
    } catch (e) {
      assert.ok(keyroll.isKeyrollError(e), String(e));
      errors.push(e);
    }
  };
  const wrong = masterKey.slice();
  wrong[0] ^= 1;
  collect(() => Keyring.load(doc, { masterKey: wrong }));
  collect(() => Keyring.load(doc.replace('"read_only": false', '"read_only": true'), { masterKey }));
  collect(() => Keyring.load(doc, { passphrase: 'hunter2-passphrase' }));
  collect(() => Keyring.fromFernetKeys([almost], T0));
  collect(() => ring.importRawGcm({ key: masterKey.subarray(0, 31) }));
  collect(() => ring.decrypt(ring.encrypt('plaintext-marker', { context: 'a' }), { context: 'b' }));
  assert.equal(errors.length, 6);
  for (const e of errors) {
    const texts = [e.message, String(e), e.stack ?? '', JSON.stringify(e), util.inspect(e, { showHidden: true })];
    for (const t of texts) {
      assertClean(t, [masterKey, wrong, fernet], `error ${e.code}`);
      assert.ok(!t.includes(almost) && !t.includes('hunter2') && !t.includes('plaintext-marker'), `error ${e.code}`);
    }
  }
  assert.deepEqual(errors.map((e) => e.code), [
    'bad_passphrase', 'keyring_corrupt', 'bad_passphrase', 'invalid_key', 'invalid_key', 'decrypt_failed',
  ]);
});
