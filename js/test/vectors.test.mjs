// The shared vectors (tests/vectors/v1/*.json) through the Node entry: every case of every
// file; positives give the exact bytes, every fail_* throws KeyrollError with its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as keyroll from 'keyroll';
import { runFile } from './vector-cases.mjs';

const dir = new URL('../../tests/vectors/v1/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('the vector directory has files', () => {
  assert.ok(files.length >= 6, `found ${files.join(', ')}`);
});

for (const name of files) {
  test(`vectors ${name}`, async (t) => {
    const file = JSON.parse(readFileSync(new URL(name, dir), 'utf8'));
    assert.ok(file.cases.length > 0);
    const results = runFile(keyroll, file);
    assert.equal(results.length, file.cases.length);
    for (const r of results) {
      await t.test(r.name, () => assert.ok(r.ok, r.error));
    }
  });
}
