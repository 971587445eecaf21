// KeyringHandle.open on the PostgreSQL store (the server scripts/ci/50-cli.sh starts,
// KEYROLL_TEST_PG_URL, and the CLI it builds): the operator stages and force-promotes with the
// CLI while a reader holds generation 1; an envelope under the new active version decrypts in
// the reader at once (one immediate reload), and the promote gate saw the reader's check-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KeyringHandle, backend } from 'keyroll';

const masterKey = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
const root = new URL('../../..', import.meta.url).pathname;
const cli = process.env.KEYROLL_CLI ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug', 'keyroll');

function keyroll(url, ...args) {
  const env = { ...process.env, KEYROLL_KEYRING: url, KEYROLL_MASTER_KEY: Buffer.from(masterKey).toString('hex') };
  delete env.KEYROLL_PASSPHRASE;
  return spawnSync(cli, args, { env, encoding: 'utf8' });
}

test('a version promoted by the CLI decrypts in a reader still on generation 1', { skip: backend !== 'native' && 'store URLs need the addon' }, () => {
  const name = `node-handle-${process.pid}-${Date.now()}`;
  const url = `${process.env.KEYROLL_TEST_PG_URL}#${name}`;
  assert.equal(keyroll(url, 'init').status, 0);
  const reader = KeyringHandle.open(url, { masterKey, pollInterval: 3600, reader: `node-pg:${name}` });
  try {
    assert.equal(reader.generation, 1);
    assert.equal(keyroll(url, 'stage').status, 0);
    const gated = keyroll(url, 'promote', '2');
    assert.notEqual(gated.status, 0, 'the reader checked in without version 2: promote waits');
    assert.match(gated.stderr, /readers_behind|node-pg/);
    const forced = keyroll(url, 'promote', '2', '--force', '--yes');
    assert.equal(forced.status, 0, forced.stderr);

    const writer = KeyringHandle.open(url, { masterKey, pollInterval: 0 });
    const token = writer.encrypt('fresh', { context: 'ctx' });
    writer.free();
    assert.match(token, /^kr1:v2:/);
    assert.equal(new TextDecoder().decode(reader.decrypt(token, { context: 'ctx' })), 'fresh');
    assert.equal(reader.generation, 3);
    assert.equal(reader.status().lastError, undefined);
  } finally {
    reader.free();
  }
});
