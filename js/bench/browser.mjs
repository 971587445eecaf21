// keyroll in headless Chromium against WebCrypto AES-GCM (one at a time and 64 in flight),
// same page, same run; plus module instantiation and 600k-iteration PBKDF2 (sync vs worker).
// Usage: node bench/browser.mjs [ms-per-round]
import { start, runPage } from '../test/browser/harness.mjs';
import { table } from './cases.mjs';

const ms = Number(process.argv[2] ?? 400);
const env = await start();
try {
  const { result } = await runPage(env.browser, env.origin, `/bench/browser.html?ms=${ms}`, 600_000);
  console.log(result.userAgent);
  console.log(`wasm compile ${result.compileMs.toFixed(1)} ms (best of 5); import('keyroll') (fetch + instantiate) ${result.importMs.toFixed(1)} ms`);
  const { result: p } = await runPage(env.browser, env.origin, '/test/browser/pbkdf2.html');
  console.log(
    `PBKDF2 ${p.iterations}: Keyring.load blocks the page ${p.syncMs.toFixed(0)} ms; ` +
      `Keyring.loadAsync ${p.asyncMs.toFixed(0)} ms, worst main-thread stall ${p.asyncWorstStallMs.toFixed(0)} ms`,
  );
  console.log();
  console.log(table(result.rows));
} finally {
  await env.close();
}
