// A row written by the Python fields (keyroll.sqlalchemy, and sqlalchemy-utils' Fernet engine
// for a legacy row) is read in Node through each ORM, found through its blind index, rewritten
// in Node, and read back in Python: test/orm/python_rows.py through the repo's .venv python.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from 'keyroll';
import { BlindIndexColumn } from 'keyroll/typeorm';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./python_rows.py', import.meta.url));

/** The interpreter with the keyroll wheel and SQLAlchemy (scripts/ci/20-python.sh's .venv). */
function python() {
  const exe = process.env.KEYROLL_PYTHON ?? join(ROOT, '.venv', 'bin', 'python');
  if (!existsSync(exe)) throw new Error(`${exe} is missing: run scripts/ci/20-python.sh first (or set KEYROLL_PYTHON)`);
  return exe;
}

function runPython(args, input) {
  return JSON.parse(execFileSync(python(), [SCRIPT, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 24 }));
}

const b64 = (s) => (s === null ? null : new Uint8Array(Buffer.from(s, 'base64')));

/**
 * `where` is { kind: 'sqljs' } or { kind: 'pg', url: async () => postgres://… of a fresh database }.
 */
export function pythonRowScenarios(test, make, orm, where) {
  test(`${orm}/${where.kind}: rows written by the Python fields (and sqlalchemy-utils) open in Node, are found by their blind index, and Node's writes open in Python`, async () => {
    const work = mkdtempSync(join(tmpdir(), 'keyroll-orm-py-'));
    try {
      const file = join(work, 'users.db');
      const pgUrl = where.kind === 'pg' ? await where.url() : undefined;
      const saUrl = pgUrl ? pgUrl.replace(/^postgres(ql)?:/, 'postgresql+psycopg:') : `sqlite:///${file}`;
      const written = runPython(['write', saUrl]);
      const keyring = Keyring.load(written.document, { masterKey: Buffer.from(written.masterKeyHex, 'hex') });
      const blind = new BlindIndexColumn({ keyring, table: 'users', source: 'email' });
      const db = await make(where.kind, {
        keyring,
        blind,
        ...(pgUrl ? { url: pgUrl, existing: true } : { database: readFileSync(file) }),
      });
      try {
        const rows = await db.all();
        assert.equal(rows.length, 4);
        for (const [i, want] of written.rows.entries()) {
          assert.equal(rows[i].id, want.id);
          assert.equal(rows[i].ssn, want.ssn);
          assert.deepEqual(rows[i].photo === null ? null : new Uint8Array(rows[i].photo), b64(want.photo));
          assert.deepEqual(rows[i].prefs, want.prefs);
          assert.equal(rows[i].email, want.email);
        }
        // The sqlalchemy-utils row: a Fernet token under the imported key, read with no context.
        assert.equal(rows[3].ssn, written.legacy.ssn);
        const stored = await db.raw('SELECT id, ssn, email_bidx FROM users ORDER BY id');
        assert.match(stored[3].ssn, /^gAAAAA/);
        // The same index key and normalisation as Python's BlindIndexColumn.
        assert.equal(stored[0].email_bidx, blind.compute('Alice@Example.com'));
        assert.deepEqual((await db.findByEmail('alice@EXAMPLE.com')).map((r) => r.id), [1]);
        assert.deepEqual((await db.findByEmail('bob@example.com')).map((r) => r.id), [2]);

        // Node writes: a new row, and the legacy row re-sealed (kr1 under users:ssn).
        await db.insert([{ id: 5, ssn: 'from node', photo: new Uint8Array([9, 8, 7]), prefs: { n: 1 }, email: 'Eve@Example.com' }]);
        await db.save({ ...rows[3], ssn: rows[3].ssn });
        const after = await db.raw('SELECT ssn FROM users WHERE id = $1', [4]);
        assert.match(after[0].ssn, /^kr1:v1:/);
        if (!pgUrl) writeFileSync(file, db.exportBytes());
      } finally {
        await db.close();
      }
      const back = runPython(['read', saUrl], JSON.stringify({ ...written, emails: ['eve@example.com', 'ALICE@example.com'] }));
      assert.deepEqual(back.rows[3], { id: 4, ssn: written.legacy.ssn, photo: null, prefs: null, email: null });
      assert.deepEqual(back.rows[4], { id: 5, ssn: 'from node', photo: 'CQgH', prefs: { n: 1 }, email: 'Eve@Example.com' });
      assert.deepEqual(back.found, { 'eve@example.com': [5], 'ALICE@example.com': [1] });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
