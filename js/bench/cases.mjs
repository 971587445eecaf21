// Benchmark cases shared by Node (bench/node.mjs) and Chromium (bench/browser.html): keyroll
// against the platform's AES-256-GCM in the same run. Plain ESM, no Node imports.

export const SIZES = [64, 1024, 65536];
const CONTEXT = 'users:42:card';
const IN_FLIGHT = 64;

/** Best ops/s of `rounds` rounds of ~`ms` milliseconds each (synchronous op). */
export function rate(op, ms = 400, rounds = 3) {
  let batch = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) op();
    const dt = performance.now() - t;
    if (dt > 20) break;
    batch *= 4;
  }
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    while (dt < ms) {
      for (let i = 0; i < batch; i++) op();
      n += batch;
      dt = performance.now() - t0;
    }
    best = Math.max(best, (n * 1000) / dt);
  }
  return best;
}

/** Best ops/s of an async op, `width` at a time. */
export async function rateAsync(op, width, ms = 400, rounds = 3) {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    while (dt < ms) {
      const batch = [];
      for (let i = 0; i < width; i++) batch.push(op());
      await Promise.all(batch);
      n += width;
      dt = performance.now() - t0;
    }
    best = Math.max(best, (n * 1000) / dt);
  }
  return best;
}

/** WebCrypto AES-256-GCM: fresh random 96-bit IV per message, context as AAD, iv ‖ ct ‖ tag. */
async function subtlePeer(subtle, getRandomValues) {
  const key = await subtle.importKey('raw', getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const aad = new TextEncoder().encode(CONTEXT);
  const encrypt = async (pt) => {
    const iv = getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, pt));
    const out = new Uint8Array(12 + ct.length);
    out.set(iv);
    out.set(ct, 12);
    return out;
  };
  const decrypt = async (blob) =>
    new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: blob.subarray(0, 12), additionalData: aad }, key, blob.subarray(12)));
  return { encrypt, decrypt };
}

/**
 * Runs every case. `sync` peers are `{ name, encrypt(pt) → blob, decrypt(blob) → pt }`.
 * Returns rows `{ size, op, name, opsPerSec }`.
 */
export async function runAll(keyroll, { subtle, getRandomValues, syncPeers = [], ms = 400, log = () => {} }) {
  const ring = keyroll.Keyring.generate();
  const web = await subtlePeer(subtle, getRandomValues);
  const rows = [];
  const add = (size, op, name, opsPerSec) => {
    rows.push({ size, op, name, opsPerSec });
    log(`${String(size).padStart(6)} B ${op} ${name.padEnd(28)} ${Math.round(opsPerSec).toLocaleString('en-US').padStart(12)} ops/s`);
  };
  for (const size of SIZES) {
    const pt = getRandomValues(new Uint8Array(size));
    const text = ring.encrypt(pt, { context: CONTEXT });
    const binary = ring.encryptBinary(pt, { context: CONTEXT });
    const sync = [
      { name: 'keyroll (text)', encrypt: () => ring.encrypt(pt, { context: CONTEXT }), decrypt: () => ring.decrypt(text, { context: CONTEXT }) },
      { name: 'keyroll (binary)', encrypt: () => ring.encryptBinary(pt, { context: CONTEXT }), decrypt: () => ring.decrypt(binary, { context: CONTEXT }) },
      ...syncPeers.map((p) => {
        const blob = p.encrypt(pt, CONTEXT);
        return { name: p.name, encrypt: () => p.encrypt(pt, CONTEXT), decrypt: () => p.decrypt(blob, CONTEXT) };
      }),
    ];
    const webBlob = await web.encrypt(pt);
    for (const op of ['encrypt', 'decrypt']) {
      for (const s of sync) add(size, op, s.name, rate(s[op], ms));
      const call = op === 'encrypt' ? () => web.encrypt(pt) : () => web.decrypt(webBlob);
      add(size, op, 'WebCrypto (1 at a time)', await rateAsync(call, 1, ms));
      add(size, op, `WebCrypto (${IN_FLIGHT} in flight)`, await rateAsync(call, IN_FLIGHT, ms));
    }
  }
  ring.free();
  return rows;
}

/** Markdown table: ops/s per peer and keyroll's ratio to each. */
export function table(rows, baseline = 'keyroll (text)') {
  const names = [...new Set(rows.map((r) => r.name))];
  const lines = [
    `| size | op | ${names.join(' | ')} | ${names.filter((n) => !n.startsWith('keyroll')).map((n) => `keyroll ÷ ${n}`).join(' | ')} |`,
  ];
  lines.push(`|${' --- |'.repeat(2 + names.length + names.filter((n) => !n.startsWith('keyroll')).length)}`);
  const sizes = [...new Set(rows.map((r) => r.size))];
  for (const size of sizes) {
    for (const op of ['encrypt', 'decrypt']) {
      const get = (n) => rows.find((r) => r.size === size && r.op === op && r.name === n)?.opsPerSec ?? NaN;
      const kr = get(baseline);
      const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
      const cells = names.map((n) => Math.round(get(n)).toLocaleString('en-US'));
      const ratios = names.filter((n) => !n.startsWith('keyroll')).map((n) => `${(kr / get(n)).toFixed(2)}×`);
      lines.push(`| ${label} | ${op} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}
