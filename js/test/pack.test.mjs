// `npm pack` gives a package that works: only built files inside, and once unpacked it loads
// by name in Node (a fresh project's node_modules) and through its browser entry in Chromium.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
// The platform package (the Node-API addon), packed the same way; installed in a second project.
const PLATFORM = join(JS, 'platforms', 'linux-x64-gnu');
const platform = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: PLATFORM, encoding: 'utf8' }))[0];
// Children pick their binding themselves, whatever this run was told.
const auto = { ...process.env, KEYROLL_BACKEND: '' };

test('the tarball holds the built package only', () => {
  const files = packed.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'dist/node.js', 'dist/browser.js', 'dist/index.d.ts', 'dist/wasm/keyroll_wasm_bg.wasm']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f)), []);
  assert.equal(files.filter((f) => f.endsWith('.wasm')).length, 1, 'one wasm for both entries');
  assert.deepEqual(files.filter((f) => f.endsWith('.node') || f.startsWith('platforms/')), [], 'the addon ships in its platform package');
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.optionalDependencies, { 'keyroll-linux-x64-gnu': pkg.version });
});

test('the platform package holds the addon only, for linux x64 glibc, at the same version', () => {
  assert.deepEqual(platform.files.map((f) => f.path).sort(), ['README.md', 'keyroll.linux-x64-gnu.node', 'package.json']);
  const pkg = JSON.parse(readFileSync(join(PLATFORM, 'package.json'), 'utf8'));
  const main = JSON.parse(readFileSync(join(JS, 'package.json'), 'utf8'));
  assert.equal(pkg.version, main.version);
  assert.deepEqual([pkg.os, pkg.cpu, pkg.libc, pkg.main], [['linux'], ['x64'], ['glibc'], 'keyroll.linux-x64-gnu.node']);
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
    const { backend, aeadBackend } = await import('keyroll');
    console.log(token.slice(0, 7), backend, aeadBackend());`;
  const node = (cwd, env = auto) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, env, encoding: 'utf8' }).trim();
  // Without the platform package (other platforms, --no-optional): the WebAssembly fallback.
  assert.equal(node(project), 'kr1:v1: wasm rustcrypto-aes-gcm');
  assert.throws(() => node(project, { ...auto, KEYROLL_BACKEND: 'native' }), /KEYROLL_BACKEND=native but the addon did not load/);
  // With it, as npm installs the optional dependency on linux-x64-gnu: the addon, and wasm on demand.
  const both = join(work, 'app-native');
  for (const [dir, tgz] of [['keyroll', packed.filename], ['keyroll-linux-x64-gnu', platform.filename]]) {
    mkdirSync(join(both, 'node_modules', dir), { recursive: true });
    execFileSync('tar', ['-xzf', join(work, tgz), '-C', join(both, 'node_modules', dir), '--strip-components=1']);
  }
  writeFileSync(join(both, 'package.json'), '{"name":"app","private":true,"type":"module"}');
  assert.equal(node(both), 'kr1:v1: native aws-lc-rs');
  assert.equal(node(both, { ...auto, KEYROLL_BACKEND: 'wasm' }), 'kr1:v1: wasm rustcrypto-aes-gcm');
  // An addon of another version (a half-upgraded install) is not trusted: wasm again.
  const manifest = join(both, 'node_modules', 'keyroll', 'package.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/"version": "[^"]+"/, '"version": "0.0.0-other"'));
  assert.equal(node(both), 'kr1:v1: wasm rustcrypto-aes-gcm');
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
