// The encrypted-column scenarios, run by orm.test.mjs (sql.js) and orm-pg.test.mjs (PostgreSQL)
// for each ORM adapter (adapters.mjs).
import assert from 'node:assert/strict';
import { Keyring, KeyrollError, inspect } from 'keyroll';
import { BlindIndexColumn } from 'keyroll/typeorm';

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

/**
 * The blind-index scenarios: compute on write (TypeORM's subscriber, Drizzle's explicit value),
 * lookups through the candidates helper, and a rotation in the middle of lookups.
 */
export function blindIndexScenarios(test, make, kind, options = async () => ({})) {
  const index = (keyring) => new BlindIndexColumn({ keyring, table: 'users', source: 'email' });

  test('blind index: written on insert and update, found through its normalisation, null for null', async () => {
    const ring = Keyring.generate(T0);
    const blind = index(ring);
    const db = await make(kind, { keyring: ring, blind, ...(await options()) });
    try {
      await db.insert([
        { id: 1, email: 'Alice@Example.com' },
        { id: 2, email: 'bob@example.com' },
        { id: 3, email: null },
      ]);
      const raw = await db.raw('SELECT id, email_bidx FROM users ORDER BY id');
      assert.match(raw[0].email_bidx, /^bi1:v1:[0-9a-f]{16}$/);
      assert.equal(raw[2].email_bidx, null);
      assert.equal(raw[0].email_bidx, blind.compute('alice@example.com'));
      assert.deepEqual((await db.findByEmail('  ALICE@example.COM ')).map((r) => r.id), [1]);
      assert.deepEqual((await db.findByEmail('carol@example.com')).map((r) => r.id), []);
      const bob = await db.byId(2);
      bob.email = 'Carol@Example.com';
      await db.save(bob);
      assert.deepEqual((await db.findByEmail('carol@example.com')).map((r) => r.id), [2]);
      assert.deepEqual((await db.findByEmail('bob@example.com')).map((r) => r.id), []);
      await db.update(1, { email: 'dave@example.com' });
      assert.deepEqual((await db.findByEmail('dave@example.com')).map((r) => r.id), [1]);
      assert.equal((await db.byId(1)).email, 'dave@example.com');
      await db.update(1, { email: null });
      assert.equal((await db.raw('SELECT email_bidx FROM users WHERE id = 1'))[0].email_bidx, null);
    } finally {
      await db.close();
    }
  });

  test('blind index: a rotation in the middle of lookups loses no match (two-phase rotation, new rows, backfill)', async () => {
    const N = 80;
    const email = (i) => `user${i}@example.com`;
    const passphrase = 'orm rotation';
    const reload = (ring) => Keyring.load(ring.dump({ passphrase, iterations: 100_000 }), { passphrase });
    let current = Keyring.generate(T0);
    const blind = index(() => current);
    const db = await make(kind, { keyring: () => current, blind, ...(await options()) });
    const stats = { lookups: 0, found: 0, naiveFound: 0 };
    // Every email written so far must find exactly its row, through the candidates helper; and
    // how many plain equality on the active version's index would find.
    const lookupAll = async (count) => {
      for (let i = 0; i < count; i++) {
        const rows = await db.findByEmail(email(i).toUpperCase());
        stats.lookups++;
        assert.deepEqual(rows.map((r) => r.id), [i], `lookup ${email(i)} at version ${current.activeVersion}`);
        stats.found++;
      }
      const stored = new Map((await db.raw('SELECT id, email_bidx FROM users')).map((r) => [r.id, r.email_bidx]));
      for (let i = 0; i < count; i++) if (stored.get(i) === blind.compute(email(i))) stats.naiveFound++;
    };
    try {
      await db.insert(Array.from({ length: N / 2 }, (_, i) => ({ id: i, email: email(i), ssn: `ssn-${i}` })));
      await lookupAll(N / 2);
      // Phase 1 of a fleet rotation: readers learn the pending v2 first...
      const writer = reload(current);
      const v2 = writer.addVersion(T0 + 100);
      current = reload(writer);
      await lookupAll(N / 2);
      // ...a writer that already promoted it writes new rows under v2 while readers hold it pending.
      writer.promote(v2, T0 + 200);
      const reader = current;
      current = writer;
      await db.insert(Array.from({ length: N / 4 }, (_, k) => ({ id: N / 2 + k, email: email(N / 2 + k), ssn: 'new' })));
      current = reader;
      await lookupAll((3 * N) / 4);
      // Phase 2: every process has v2 active; more rows, and a backfill re-saving half the old rows.
      current = reload(writer);
      await db.insert(Array.from({ length: N / 4 }, (_, k) => ({ id: (3 * N) / 4 + k, email: email((3 * N) / 4 + k) })));
      for (let i = 0; i < N / 4; i++) {
        const row = await db.byId(i);
        await db.save({ ...row, email: row.email });
        if (i % 10 === 5) await lookupAll(N);
      }
      await lookupAll(N);
      const versions = await db.raw('SELECT email_bidx FROM users');
      const byVersion = {};
      for (const r of versions) {
        const v = r.email_bidx.split(':')[1];
        byVersion[v] = (byVersion[v] ?? 0) + 1;
      }
      assert.deepEqual(byVersion, { v1: N / 2 - N / 4, v2: N / 2 + N / 4 });
      assert.equal(stats.found, stats.lookups);
      // Plain equality on the active version's index misses every row still indexed under v1.
      assert.ok(stats.naiveFound < stats.lookups, 'the candidates helper must be needed');
      console.log(
        `blind index across rotation (${kind}): ${stats.found}/${stats.lookups} lookups found their row ` +
          `through candidates; plain equality on the active index would find ${stats.naiveFound}`,
      );
    } finally {
      await db.close();
    }
  });
}

export { enc, T0 };
