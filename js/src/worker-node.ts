/** The worker thread behind `Keyring.loadAsync` / `dumpAsync` in Node (see offload.ts). */

import { parentPort } from 'node:worker_threads';
import { Keyring } from './node.js';
import { type OffloadRequest, handle } from './offload.js';

parentPort?.once('message', (request: OffloadRequest) => {
  const reply = handle(Keyring, request);
  const transfer = reply.ok ? [reply.document.buffer, ...(reply.masterKey ? [reply.masterKey.buffer] : [])] : [];
  parentPort?.postMessage(reply, transfer as ArrayBuffer[]);
});
