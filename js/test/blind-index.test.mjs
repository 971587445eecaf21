// keyroll's BlindIndex in Node beyond the shared vectors: strings and bytes, typed errors,
// metadata-only printing, free(), and a rotation in the middle of lookups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { BLIND_INDEX_NORMALIZERS, BlindIndex, Keyring, isKeyrollError } from 'keyroll';

const NOW = 1_700_000_000;

test('strings and bytes give the same index', () => {
  const ring = Keyring.generate(NOW);
  const index = ring.blindIndex('users.email', { bits: 64, normalizer: 'trim+casefold' });
  assert.ok(index instanceof BlindIndex);
  const t = index.compute(' Alice@Example.COM ');
  assert.match(t, /^bi1:v1:[0-9a-f]{16}$/);
  assert.equal(index.compute(new TextEncoder().encode('alice@example.com')), t);
  assert.deepEqual(index.candidates('alice@example.com'), [t]);
  assert.deepEqual(
    [index.name, index.normalizer, index.bits, index.activeVersion, index.versions],
    ['users.email', 'trim+casefold', 64, 1, [1]],
  );
  assert.deepEqual([...BLIND_INDEX_NORMALIZERS], ['exact', 'trim', 'casefold', 'trim+casefold', 'digits']);
  index.free();
  ring.free();
});

test('bad parameters and input are KeyrollErrors with invalid_argument', () => {
  const ring = Keyring.generate(NOW);
  for (const bits of [0, 4, 12, 264, -8, 2 ** 32 + 64]) {
    assert.throws(
      () => ring.blindIndex('e', { bits }),
      (e) => isKeyrollError(e) && e.code === 'invalid_argument',
      String(bits),
    );
  }
  assert.throws(() => ring.blindIndex('e', { bits: 64, normalizer: 'lower' }), (e) => e.code === 'invalid_argument');
  assert.throws(() => ring.blindIndex('', { bits: 64 }), (e) => e.code === 'invalid_argument');
  assert.throws(() => ring.blindIndex('e', {}), TypeError);
  assert.throws(() => ring.blindIndex('e', { bits: 7.5 }), TypeError);
  const index = ring.blindIndex('e', { bits: 64, normalizer: 'casefold' });
  assert.throws(() => index.compute(Uint8Array.of(0xff)), (e) => e.code === 'invalid_argument');
  assert.throws(() => index.compute(42), TypeError);
  ring.free();
});

test('printing shows metadata only; free() is final', () => {
  const ring = Keyring.generate(NOW);
  const index = ring.blindIndex('users.email', { bits: 64 });
  const shown = `${index} ${inspect(index)} ${JSON.stringify(index)}`;
  assert.match(shown, /BlindIndex\(name="users.email", normalizer=exact, bits=64, versions=\[1\]\)/);
  index.free();
  index.free();
  assert.equal(String(index), 'BlindIndex(freed)');
  assert.throws(() => index.compute('x'), /freed/);
  ring.free();
});

test('a rotation in the middle of lookups loses no match; an export only looks up', () => {
  const ring = Keyring.generate(NOW);
  let index = ring.blindIndex('users.email', { bits: 64, normalizer: 'trim+casefold' });
  const rows = new Map();
  for (let i = 0; i < 50; i++) rows.set(`user${i}@example.com`, index.compute(`user${i}@example.com`));
  index.free();
  ring.rotate(NOW + 1);
  index = ring.blindIndex('users.email', { bits: 64, normalizer: 'trim+casefold' });
  assert.deepEqual(index.versions, [2, 1]);
  let i = 0;
  for (const email of rows.keys()) if (i++ % 2) rows.set(email, index.compute(email));
  for (const [email, stored] of rows) assert.ok(index.candidates(email.toUpperCase()).includes(stored), email);
  const exported = ring.exportDecryptOnly([1, 2]);
  const lookup = exported.blindIndex('users.email', { bits: 64, normalizer: 'trim+casefold' });
  assert.equal(lookup.activeVersion, undefined);
  assert.deepEqual(lookup.candidates('user1@example.com'), index.candidates('user1@example.com'));
  assert.throws(() => lookup.compute('x'), (e) => e.code === 'no_active_key');
  for (const o of [lookup, exported, index, ring]) o.free();
});
