// One Node process of the fleet chaos test (tests/chaos/run.py): a reader or a writer holding
// a live keyring through keyroll's KeyringHandle (the Node-API addon) on the PostgreSQL
// keyring store. Same contract as tests/chaos/worker.py:
//   node worker.mjs reader|writer NAME STORE_URL DB_URL OUT_DIR   (KEYROLL_MASTER_KEY in env)
// Counters go to OUT_DIR/NAME.json (atomically, several times a second) until OUT_DIR/stop exists.
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { KeyringHandle, KeyrollError } from 'keyroll';

const [role, name, storeUrl, dbUrl, outDir] = process.argv.slice(2);
// KEYROLL_MASTER_KEY as operators write it: 64 hex digits or base64 (url-safe or not).
const masterKey = (text) => new Uint8Array(/^[0-9a-fA-F]{64}$/.test(text)
  ? Buffer.from(text, 'hex')
  : Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
const CONTEXT = Buffer.from('chaos:rows');
// Opening while the store is down fails; a supervisor would start the process again: retry.
let handle;
let openRetries = 0;
for (const giveUp = Date.now() + 60_000; ;) {
  try {
    handle = KeyringHandle.open(storeUrl, {
      masterKey: masterKey(process.env.KEYROLL_MASTER_KEY),
      pollInterval: Number(process.env.CHAOS_POLL_INTERVAL ?? '1'),
      reader: name,
    });
    break;
  } catch (e) {
    if (!(e instanceof KeyrollError) || e.code !== 'store_unavailable' || Date.now() > giveUp) throw e;
    openRetries += 1;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const counts = {
  name, role, lang: 'node', pid: process.pid, written: 0, decrypted: 0, decrypt_errors: 0,
  refused_compromised: 0, db_retries: 0, open_retries: openRetries, errors_sample: [], generations: {},
};
const stop = join(outDir, 'stop');
const out = join(outDir, `${name}.json`);
const flush = () => {
  writeFileSync(`${out}.tmp`, JSON.stringify(counts));
  renameSync(`${out}.tmp`, out);
};
const noteGeneration = () => {
  const g = String(handle.generation);
  if (!(g in counts.generations)) counts.generations[g] = Date.now() / 1000;
};
const check = (plaintext, envelope) => {
  let got;
  try {
    got = handle.decrypt(envelope, { context: CONTEXT });
  } catch (e) {
    if (e instanceof KeyrollError && e.code === 'key_compromised') {
      counts.refused_compromised += 1;
      return;
    }
    counts.decrypt_errors += 1;
    if (counts.errors_sample.length < 5) counts.errors_sample.push(e.code ?? String(e));
    return;
  }
  if (Buffer.from(got).equals(plaintext)) counts.decrypted += 1;
  else {
    counts.decrypt_errors += 1;
    if (counts.errors_sample.length < 5) counts.errors_sample.push('wrong_plaintext');
  }
};

let client = null;
let lastId = 0;
let lastFlush = 0;
const stopWriters = join(outDir, 'stop-writers');
while (!existsSync(stop) && !(role === 'writer' && existsSync(stopWriters))) {
  noteGeneration();
  if (Date.now() - lastFlush > 200) {
    flush();
    lastFlush = Date.now();
  }
  try {
    if (client === null) {
      client = new pg.Client({ connectionString: dbUrl, connectionTimeoutMillis: 5000 });
      client.on('error', () => {});
      await client.connect();
    }
    if (role === 'writer') {
      const values = [];
      const params = [];
      for (let i = 0; i < 20; i++) {
        const pt = randomBytes(randomInt(1, 200));
        params.push(name, pt, handle.encrypt(pt, { context: CONTEXT }));
        values.push(`($${params.length - 2}, $${params.length - 1}, $${params.length})`);
      }
      await client.query(`INSERT INTO chaos_rows (writer, plaintext, envelope) VALUES ${values.join(', ')}`, params);
      counts.written += 20;
    } else {
      const fresh = await client.query(
        'SELECT id, plaintext, envelope FROM chaos_rows WHERE id > $1 ORDER BY id LIMIT 200', [lastId]);
      const old = await client.query(
        'SELECT plaintext, envelope FROM chaos_rows WHERE id = (SELECT floor(random() * (max(id) + 1))::bigint FROM chaos_rows)');
      for (const r of fresh.rows) {
        check(r.plaintext, r.envelope);
        lastId = Number(r.id);
      }
      counts.last_id = lastId;
      for (const r of old.rows) check(r.plaintext, r.envelope);
      if (fresh.rows.length === 0) await new Promise((r) => setTimeout(r, 10)); // idle pacing
    }
  } catch (e) {
    if (e instanceof KeyrollError) throw e;
    counts.db_retries += 1;
    try { await client?.end(); } catch { /* already gone */ }
    client = null;
    await new Promise((r) => setTimeout(r, 50));
  }
}
noteGeneration();
counts.final_generation = handle.generation;
counts.last_error = handle.status().lastError ?? null;
flush();
handle.close();
await client?.end().catch(() => {});
