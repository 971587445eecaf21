// The browser entry in a real headless Chromium (Debian's chromium + playwright-core), page
// served from 127.0.0.1: every case of every vector file, plus errors and secrets hygiene.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { start, runPage } from './browser/harness.mjs';

const expected = readdirSync(new URL('../../tests/vectors/v1/', import.meta.url)).filter((f) => f.endsWith('.json'));
let env;
before(async () => {
  env = await start();
});
after(async () => {
  await env?.close();
});

test('Chromium: every vector file, every case', async (t) => {
  const { result, errors } = await runPage(env.browser, env.origin, '/test/browser/vectors.html');
  assert.deepEqual(errors, []);
  assert.equal(result.backend, 'rustcrypto-aes-gcm');
  assert.match(result.userAgent, /Chrome\//);
  assert.deepEqual(Object.keys(result.files).sort(), expected.sort());
  for (const [name, file] of Object.entries(result.files)) {
    assert.equal(file.results.length, file.cases, `${name}: every case ran`);
    await t.test(name, async (tf) => {
      for (const r of file.results) await tf.test(r.name, () => assert.ok(r.ok, r.error));
    });
  }
});
