// `npm pack` gives a package that works: only built files inside, and once unpacked it loads
// by name in Node (a fresh project's node_modules) and through its browser entry in Chromium.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, runPage } from './browser/harness.mjs';

const JS = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'keyroll-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: JS, encoding: 'utf8' }))[0];
const project = join(work, 'app');
const installed = join(project, 'node_modules', 'keyroll');
mkdirSync(installed, { recursive: true });
execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);

test('the tarball holds the built package only', () => {
  const files = packed.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'dist/node.js', 'dist/browser.js', 'dist/index.d.ts', 'dist/wasm/keyroll_wasm_bg.wasm']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f)), []);
  assert.equal(files.filter((f) => f.endsWith('.wasm')).length, 1, 'one wasm for both entries');
});

test('a fresh Node project imports and requires it by name', () => {
  writeFileSync(join(project, 'package.json'), '{"name":"app","private":true,"type":"module"}');
  const script = `
    import { Keyring, isKeyrollError } from 'keyroll';
    import { createRequire } from 'node:module';
    const ring = Keyring.generate();
    const token = ring.encrypt('packed', { context: 'c' });
    if (ring.decryptString(token, { context: 'c' }) !== 'packed') throw new Error('round trip');
    try { ring.decrypt(token); throw new Error('no error'); } catch (e) { if (!isKeyrollError(e)) throw e; }
    if (createRequire(import.meta.url)('keyroll').Keyring !== Keyring) throw new Error('require');
    console.log(token.slice(0, 7));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
  assert.equal(out.trim(), 'kr1:v1:');
});

test('Chromium runs every vector through the packed browser entry', async () => {
  const env = await start({ pkg: installed });
  try {
    const { result, errors } = await runPage(env.browser, env.origin, '/test/browser/vectors.html');
    assert.deepEqual(errors, []);
    const results = Object.values(result.files).flatMap((f) => f.results);
    assert.ok(results.length >= 190, `${results.length} cases`);
    assert.deepEqual(results.filter((r) => !r.ok), []);
  } finally {
    await env.close();
  }
});
