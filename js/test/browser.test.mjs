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

test('Chromium: 600k-iteration PBKDF2 runs in a Web Worker, the page stays responsive', async () => {
  const { result, errors } = await runPage(env.browser, env.origin, '/test/browser/pbkdf2.html');
  assert.deepEqual(errors, []);
  assert.equal(result.iterations, 600_000);
  assert.equal(result.defaultIterations, 600_000);
  assert.equal(result.syncDecrypts, 'browser secret');
  assert.equal(result.asyncDecrypts, 'browser secret');
  assert.equal(result.sameId, true);
  assert.equal(result.wrong, 'bad_passphrase');
  console.log(
    `PBKDF2 600k in Chromium: synchronous load blocks ${result.syncMs.toFixed(0)} ms; loadAsync takes ` +
      `${result.asyncMs.toFixed(0)} ms with a worst main-thread stall of ${result.asyncWorstStallMs.toFixed(0)} ms`,
  );
  // The worker path must not block like the synchronous one (> 300 ms here).
  assert.ok(result.asyncWorstStallMs < 300, `worst stall ${result.asyncWorstStallMs} ms`);
  assert.ok(result.dumpAsyncWorstStallMs < 300, `worst stall ${result.dumpAsyncWorstStallMs} ms`);
});
