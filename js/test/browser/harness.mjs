// Serves the package to a real headless Chromium from 127.0.0.1, as a web app would load it:
//   /pkg/...      the package (js/, or an unpacked `npm pack` tarball) (the page imports /pkg/dist/browser.js through an import map)
//   /test/...     js/test/ (the shared vector runner, the pages); /bench/... js/bench/
//   /vectors/...  tests/vectors/v1/, plus /vectors/index.json listing the files
// Used by test/browser.test.mjs and bench/browser.mjs.
import { createServer } from 'node:http';
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const JS = fileURLToPath(new URL('../../', import.meta.url));
const VECTORS = fileURLToPath(new URL('../../../tests/vectors/v1/', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

async function serve(ROOTS, req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const [, root, ...rest] = url.pathname.split('/');
  const base = ROOTS[root];
  if (!base) return void res.writeHead(404).end();
  if (root === 'vectors' && rest.join('/') === 'index.json') {
    const files = (await readdir(base)).filter((f) => f.endsWith('.json')).sort();
    res.writeHead(200, { 'content-type': TYPES['.json'] });
    return void res.end(JSON.stringify(files));
  }
  const path = normalize(join(base, ...rest.map(decodeURIComponent)));
  if (!path.startsWith(normalize(base + sep)) && path !== normalize(base)) return void res.writeHead(403).end();
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
}

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Starts the server and a headless Chromium (playwright gives it a fresh temporary profile);
 * returns `{ origin, browser, close }`. `pkg` is the package directory served at /pkg/
 * (default: js/ itself; the pack test serves the unpacked tarball).
 */
export async function start({ pkg = JS } = {}) {
  const roots = { pkg, test: join(JS, 'test'), bench: join(JS, 'bench'), vectors: VECTORS };
  const server = createServer((req, res) => {
    serve(roots, req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let browser;
  try {
    browser = await launching;
  } catch (e) {
    server.close();
    throw e;
  }
  const close = async () => {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  };
  return { origin, browser, close };
}

/** Opens `path` and waits for the page to set `window.__result`; page errors fail the run. */
export async function runPage(browser, origin, path, timeout = 300_000) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${origin}${path}`);
  await page.waitForFunction(() => window.__result !== undefined || window.__error !== undefined, null, {
    timeout,
    polling: 100,
  });
  const { result, error } = await page.evaluate(() => ({ result: window.__result, error: window.__error }));
  await page.close();
  if (error !== undefined) throw new Error(`page ${path} failed: ${error}\n${errors.join('\n')}`);
  return { result, errors };
}
