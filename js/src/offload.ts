/**
 * PBKDF2 off the main thread. Opening or sealing a passphrase document runs PBKDF2-HMAC-SHA256
 * (600,000 iterations by default): ~0.7-1.5 s of wasm here, far too long to block a page or an
 * event loop. `Keyring.loadAsync` / `dumpAsync` run that step in a worker (a Web Worker in
 * browsers, a worker thread in Node) with the same module:
 *
 * - load: the worker opens the document with the passphrase and re-seals it under a fresh
 *   random 256-bit key, which travels back (transferred, then wiped) with that document; the
 *   caller's thread opens it with HKDF only (sub-millisecond).
 * - dump: the caller's thread seals under a fresh random key; the worker opens that and
 *   re-seals it under the passphrase.
 *
 * Core cannot (yet) take a precomputed PBKDF2 output, so WebCrypto's `deriveBits` cannot be
 * used; when it can, this file shrinks to one `deriveBits` call.
 */

import type { Keyring } from './keyring.js';

export type OffloadRequest =
  | { op: 'load'; document: Uint8Array; passphrase: Uint8Array }
  | { op: 'seal'; document: Uint8Array; masterKey: Uint8Array; passphrase: Uint8Array; iterations: number };

export type OffloadReply =
  | { ok: true; document: Uint8Array; masterKey?: Uint8Array }
  | { ok: false; code: string; message: string };

/** Runs one request in a fresh worker. Each entry installs its own. */
export type Runner = (request: OffloadRequest, transfer: ArrayBuffer[]) => Promise<OffloadReply>;

let runner: Runner | undefined;

export function setRunner(r: Runner): void {
  runner = r;
}

export function getRunner(): Runner {
  if (runner === undefined) throw new Error('keyroll: no worker support in this environment');
  return runner;
}

/** The worker side: the same code in both kinds of worker. */
export function handle(keyring: typeof Keyring, request: OffloadRequest): OffloadReply {
  const encoder = new TextEncoder();
  try {
    if (request.op === 'load') {
      const ring = keyring.load(request.document, { passphrase: request.passphrase });
      const masterKey = crypto.getRandomValues(new Uint8Array(32));
      try {
        return { ok: true, document: encoder.encode(ring.dump({ masterKey })), masterKey };
      } finally {
        ring.free();
      }
    }
    const ring = keyring.load(request.document, { masterKey: request.masterKey });
    try {
      const document = ring.dump({ passphrase: request.passphrase, iterations: request.iterations });
      return { ok: true, document: encoder.encode(document) };
    } finally {
      request.masterKey.fill(0);
      ring.free();
    }
  } catch (e) {
    const error = e as { code?: string; message?: string };
    return { ok: false, code: error.code ?? 'invalid_argument', message: error.message ?? String(e) };
  } finally {
    request.passphrase.fill(0);
  }
}
