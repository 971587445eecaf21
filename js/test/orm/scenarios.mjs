// The encrypted-column scenarios, run by orm.test.mjs (sql.js) and orm-pg.test.mjs (PostgreSQL)
// for each ORM adapter (adapters.mjs).
import assert from 'node:assert/strict';
import { Keyring, KeyrollError, inspect } from 'keyroll';

const enc = (s) => new TextEncoder().encode(s);
const T0 = 1_700_000_000;

/** Asserts `promise` rejects with a KeyrollError of `code`. */
export async function rejectsCode(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof KeyrollError, `not a KeyrollError: ${e}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** A bytes value as the driver gives it (Buffer on pg, Uint8Array on sql.js). */
function asBytes(v) {
  return v instanceof Uint8Array ? new Uint8Array(v) : v;
}

/**
 * Registers the scenarios with `t.test` for `make(kind, options) -> adapter`.
 * `options()` gives { url } for the database (PostgreSQL) or {}.
 */
export function encryptedColumnScenarios(test, make, kind, options = async () => ({})) {
  test('round trip: text, bytes and JSON values and nulls; stored as kr1 text / binary envelope under users:<column>', async () => {
    const ring = Keyring.generate(T0);
    const db = await make(kind, { keyring: ring, ...(await options()) });
    try {
      const photo = new Uint8Array([0, 1, 2, 250, 255]);
      const prefs = { theme: 'dark', n: [1, 2.5, null], nested: { ok: true }, text: 'é ✓' };
      await db.insert([
        { id: 1, ssn: '078-05-1120', photo, prefs, email: 'a@example.com' },
        { id: 2, ssn: null, photo: null, prefs: null, email: null },
        { id: 3, ssn: '', photo: new Uint8Array(0), prefs: [], email: 'b@example.com' },
      ]);
      const rows = await db.all();
      assert.equal(rows.length, 3);
      assert.equal(rows[0].ssn, '078-05-1120');
      assert.deepEqual(asBytes(rows[0].photo), photo);
      assert.deepEqual(rows[0].prefs, prefs);
      assert.equal(rows[0].email, 'a@example.com');
      assert.equal(rows[1].ssn, null);
      assert.equal(rows[1].photo, null);
      assert.equal(rows[1].prefs, null);
      assert.equal(rows[2].ssn, '');
      assert.deepEqual(asBytes(rows[2].photo), new Uint8Array(0));
      assert.deepEqual(rows[2].prefs, []);

      const [stored] = await db.raw('SELECT ssn, photo, prefs FROM users WHERE id = $1', [1]);
      assert.match(stored.ssn, /^kr1:v1:/);
      assert.equal(inspect(asBytes(stored.photo)).format, 'keyroll_v1_binary');
      assert.equal(new TextDecoder().decode(ring.decrypt(stored.ssn, { context: 'users:ssn' })), '078-05-1120');
      assert.deepEqual(ring.decrypt(asBytes(stored.photo), { context: 'users:photo' }), photo);
      // Compact JSON, as Python's json.dumps(separators=(",", ":"), ensure_ascii=False).
      assert.equal(ring.decryptString(stored.prefs, { context: 'users:prefs' }), JSON.stringify(prefs));
      assert.throws(() => ring.decrypt(stored.ssn, { context: 'users:email' }), KeyrollError);
    } finally {
      await db.close();
    }
  });

  test('fail closed: tampered, plaintext, misplaced and foreign values throw KeyrollError, never the stored text', async () => {
    const ring = Keyring.generate(T0);
    const db = await make(kind, { keyring: ring, ...(await options()) });
    try {
      await db.insert([{ id: 1, ssn: 'secret', email: 'x@example.com' }]);
      const [stored] = await db.raw('SELECT ssn, email FROM users WHERE id = $1', [1]);
      const flipped = stored.ssn.slice(0, -2) + (stored.ssn.endsWith('AA') ? 'AB' : 'AA');
      const cases = [
        [flipped, 'decrypt_failed'],
        ['078-05-1120', 'unsupported_format'], // a plaintext left in the column
        [stored.email, 'decrypt_failed'], // another column's ciphertext (context users:email)
        [Keyring.generate(T0).encrypt('x', { context: 'users:ssn' }), 'wrong_keyring'],
      ];
      for (const [value, code] of cases) {
        await db.raw('UPDATE users SET ssn = $1 WHERE id = $2', [value, 1]);
        await rejectsCode(db.byId(1), code);
        await rejectsCode(db.all(), code);
      }
    } finally {
      await db.close();
    }
  });

  test('a function keyring: a reloaded, rotated keyring writes the new version and reads the old rows; save after read re-seals the plaintext', async () => {
    const passphrase = 'orm test';
    let current = Keyring.generate(T0);
    const db = await make(kind, { keyring: () => current, ...(await options()) });
    try {
      await db.insert([{ id: 1, ssn: 'old', prefs: { v: 1 } }]);
      // Another process rotates and saves; this one reloads the document (a live handle).
      const doc = current.dump({ passphrase, iterations: 100_000 });
      const other = Keyring.load(doc, { passphrase });
      other.rotate(T0 + 10);
      current = Keyring.load(other.dump({ passphrase, iterations: 100_000 }), { passphrase });
      await db.insert([{ id: 2, ssn: 'new' }]);
      const raw = await db.raw('SELECT id, ssn FROM users ORDER BY id');
      assert.match(raw[0].ssn, /^kr1:v1:/);
      assert.match(raw[1].ssn, /^kr1:v2:/);
      const row = await db.byId(1);
      assert.equal(row.ssn, 'old');
      row.ssn = 'changed';
      await db.save(row);
      const [after] = await db.raw('SELECT ssn, prefs FROM users WHERE id = $1', [1]);
      assert.match(after.ssn, /^kr1:v2:/);
      assert.equal(current.decryptString(after.ssn, { context: 'users:ssn' }), 'changed');
      // The untouched JSON value still holds its plaintext (re-sealed or kept), never ciphertext as plaintext.
      assert.deepEqual((await db.byId(1)).prefs, { v: 1 });
    } finally {
      await db.close();
    }
  });

  test('writes refuse values of the wrong type (no coercion)', async () => {
    const ring = Keyring.generate(T0);
    const db = await make(kind, { keyring: ring, ...(await options()) });
    try {
      await assert.rejects(db.insert([{ id: 1, ssn: 42 }]), TypeError);
      await assert.rejects(db.insert([{ id: 1, photo: 'not bytes' }]), TypeError);
      await assert.rejects(db.insert([{ id: 1, prefs: 10n }]), TypeError); // (a function would be TypeORM's raw SQL)
      assert.deepEqual(await db.raw('SELECT id FROM users'), []);
    } finally {
      await db.close();
    }
  });
}

export { enc, T0 };
