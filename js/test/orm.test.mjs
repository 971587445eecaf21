// keyroll/typeorm and keyroll/drizzle/sqlite on SQLite (sql.js: WebAssembly, no native build):
// the encrypted-column scenarios of test/orm/scenarios.mjs for both ORMs, and the packaging
// (the ORM entries are separate: importing 'keyroll' loads neither ORM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Keyring, KeyrollError } from 'keyroll';
import { BlindIndexColumn, encryptedColumn, encryptedTransformer } from 'keyroll/typeorm';
import { ADAPTERS } from './orm/adapters.mjs';
import { blindIndexScenarios, encryptedColumnScenarios } from './orm/scenarios.mjs';

for (const [orm, make] of Object.entries(ADAPTERS)) {
  const named = (name, fn) => test(`${orm}/sqljs: ${name}`, fn);
  encryptedColumnScenarios(named, make, 'sqljs');
  blindIndexScenarios(named, make, 'sqljs');
}

test('the context is table:column unless given explicitly (as the Python fields\' context=), and is checked', () => {
  const ring = Keyring.generate();
  const ssn = encryptedTransformer('text', { keyring: ring, table: 'users', column: 'ssn' });
  assert.equal(ssn.context, 'users:ssn');
  assert.equal(ring.decryptString(ssn.to('x'), { context: 'users:ssn' }), 'x');
  const custom = encryptedTransformer('text', { keyring: ring, table: 'users', column: 'ssn', context: 'people:ssn' });
  assert.equal(ring.decryptString(custom.to('x'), { context: 'people:ssn' }), 'x');
  assert.throws(() => custom.from(ssn.to('x')), (e) => e instanceof KeyrollError && e.code === 'decrypt_failed');
  for (const bad of [{ table: '', column: 'ssn' }, { table: 'users', column: '' }, { table: 'users', column: 'ssn', context: '' }]) {
    assert.throws(() => encryptedTransformer('text', { keyring: ring, ...bad }), TypeError);
  }
  assert.throws(() => encryptedColumn('bytes', { keyring: ring, table: 'users', column: 'photo' }), TypeError);
  assert.throws(() => new BlindIndexColumn({ keyring: ring, table: 'users', source: 'email', bits: 12 }), KeyrollError);
});

test("the 'keyroll' entries import neither TypeORM nor Drizzle (only the keyroll/* ORM entries do)", () => {
  // The static import graph of each entry: every specifier is relative or node:, never a package.
  const seen = new Set();
  const bare = new Set();
  const walk = (url) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const source = readFileSync(url, 'utf8');
    for (const [, from, dynamic] of source.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/gm)) {
      const spec = from ?? dynamic;
      if (spec.startsWith('.')) walk(new URL(spec, url));
      else if (!spec.startsWith('node:')) bare.add(spec);
    }
  };
  for (const entry of ['node.js', 'browser.js']) walk(new URL(`../dist/${entry}`, import.meta.url));
  assert.ok(seen.size >= 5, `${seen.size} modules`);
  assert.deepEqual([...bare], []);
  assert.ok(![...seen].some((u) => u.includes('/orm/')));
  const typeorm = readFileSync(new URL('../dist/orm/typeorm.js', import.meta.url), 'utf8');
  assert.doesNotMatch(typeorm, /from ['"]drizzle/);
  const drizzle = readFileSync(new URL('../dist/orm/drizzle/pg.js', import.meta.url), 'utf8');
  assert.match(drizzle, /from ['"]drizzle-orm\/pg-core['"]/);
  assert.doesNotMatch(drizzle, /typeorm/);
});
