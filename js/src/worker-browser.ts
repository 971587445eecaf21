/** The Web Worker behind `Keyring.loadAsync` / `dumpAsync` in browsers (see offload.ts). */

import { type OffloadRequest, handle } from './offload.js';

// The handler is installed before the module (top-level await) loads: a message that arrives
// while it loads would otherwise be dispatched to no handler and lost.
const entry = import('./browser.js');
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<OffloadRequest>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
};
scope.onmessage = (event) => {
  void entry.then(({ Keyring }) => {
    const reply = handle(Keyring, event.data);
    const transfer = reply.ok ? [reply.document.buffer, ...(reply.masterKey ? [reply.masterKey.buffer] : [])] : [];
    scope.postMessage(reply, transfer as ArrayBuffer[]);
  });
};
