// wasm memory stops growing when 100k keyrings and envelopes are dropped: freed explicitly,
// or left to the FinalizationRegistry after garbage collection. Needs node --expose-gc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import * as keyroll from 'keyroll';
import { initSync } from '../dist/wasm/keyroll_wasm.js';

// The module is already instantiated by the node entry: initSync hands back its exports. On the
// Node-API addon (keyroll.backend 'native') keys live in the process heap: RSS is measured, and
// 10k keyrings left unreclaimed would add ~30 MB a round, against a 16 MiB bound for all of them.
const native = keyroll.backend === 'native';
const memory = native ? undefined : initSync().memory;
const NATIVE_SLACK = 16 * 1024 * 1024;
const ROUNDS = 10;
const PER_ROUND = 10_000;

async function collect() {
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    await tick();
  }
}

async function grows(round) {
  const sizes = [];
  for (let r = 0; r < ROUNDS; r++) {
    round();
    await collect();
    sizes.push(native ? process.memoryUsage().rss : memory.buffer.byteLength);
  }
  return sizes;
}

test('garbage collection is exposed', () => {
  assert.equal(typeof globalThis.gc, 'function', 'run with node --expose-gc');
});

test('100k keyrings and envelopes freed explicitly: memory flat', async () => {
  const sizes = await grows(() => {
    for (let i = 0; i < PER_ROUND; i++) {
      const ring = keyroll.Keyring.generate(1_700_000_000);
      const token = ring.encrypt(new Uint8Array(256), { context: 'memory' });
      ring.decrypt(token, { context: 'memory' });
      ring.free();
    }
  });
  if (native) assert.ok(sizes.at(-1) - sizes[1] <= NATIVE_SLACK, `RSS per round: ${sizes}`);
  else assert.equal(sizes.at(-1), sizes[1], `sizes per round: ${sizes}`);
  console.log(`${keyroll.backend} memory per round (free): ${sizes}`);
});

test('100k keyrings and envelopes dropped without free(): the FinalizationRegistry reclaims them', async () => {
  const sizes = await grows(() => {
    for (let i = 0; i < PER_ROUND; i++) {
      const ring = keyroll.Keyring.generate(1_700_000_000);
      ring.decrypt(ring.encryptBinary(new Uint8Array(256)));
    }
  });
  // Without finalization 100k keyrings would hold well over 50 MiB; allow one growth step
  // for allocator fragmentation, never steady growth.
  const late = sizes.slice(ROUNDS / 2);
  if (native) {
    assert.ok(late.at(-1) - sizes[2] <= NATIVE_SLACK, `RSS per round: ${sizes}`);
  } else {
    assert.ok(late.at(-1) - sizes[2] <= 2 * 65536 * 16, `sizes per round: ${sizes}`);
    assert.equal(late.at(-1), late[0], `memory still growing in later rounds: ${sizes}`);
  }
  console.log(`${keyroll.backend} memory per round (finalizer): ${sizes}`);
});
