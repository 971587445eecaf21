/**
 * The `KeyringHandle` class: a live keyring over core's handle (one call per method).
 *
 * Everywhere: `fromDocument(document, unlock)` then `offer(newerDocument)` — the page or
 * service fetches documents however it likes, and the handle swaps a newer one in atomically,
 * never a lower generation (`keyring_rollback`). On Node with the native addon, `open(url)`
 * also reads a store URL and keeps the handle current from a Rust thread (poll every
 * `pollInterval` seconds, and one immediate reload when a token names a version not held).
 */

import { WasmKeyringHandle, backend } from './backend.js';
import { type Bytes, type Time, bytes, fromJson, seconds } from './convert.js';
import { KeyrollError } from './errors.js';
import type { DecryptOptions, EncryptOptions, LoadOptions } from './keyring.js';

/** How `KeyringHandle.open` opens and follows a store. */
export type HandleOpenOptions = LoadOptions & {
  /** Seconds between two polls of the store's generation; default 30, 0 for none. */
  pollInterval?: number;
  /** The reader id in check-ins (default `host:pid:random-tag`). */
  reader?: string;
};

/** What a handle holds and how its last reload went (error codes only). */
export interface HandleStatus {
  generation: number;
  versions: number[];
  lastCheck?: number;
  lastError?: { code: string; at: number };
}

/** The addon's handle, which also opens store URLs. */
interface NativeHandle extends WasmKeyringHandle {
  reload(): boolean;
  close(): void;
}
interface NativeHandleClass {
  open(
    url: string,
    passphrase: Uint8Array | undefined,
    masterKey: Uint8Array | undefined,
    pollInterval: number,
    reader: string | undefined,
  ): NativeHandle;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

function issued(value: Time | null | undefined): number | undefined {
  return value === null ? undefined : seconds(value);
}

/**
 * A keyring that moves forward while the process runs. `toString()`, `JSON.stringify` and
 * `util.inspect` show the generation and versions only, never key material.
 */
export class KeyringHandle {
  #inner: WasmKeyringHandle | undefined;

  private constructor(inner: WasmKeyringHandle) {
    this.#inner = inner;
  }

  get #handle(): WasmKeyringHandle {
    if (this.#inner === undefined) throw new Error('keyroll: this KeyringHandle was freed');
    return this.#inner;
  }

  /** A handle on a keyring document; `offer` newer ones. */
  static fromDocument(document: Bytes, options: LoadOptions): KeyringHandle {
    const doc = bytes(document);
    if ('masterKey' in options) {
      return new KeyringHandle(WasmKeyringHandle.fromDocumentMasterKey(doc, options.masterKey));
    }
    return new KeyringHandle(WasmKeyringHandle.fromDocumentPassphrase(doc, bytes(options.passphrase)));
  }

  /**
   * Opens a store URL (`file:PATH` or a path, `postgres://…#NAME`) and keeps the keyring
   * current. Needs the native addon (Node on linux-x64); elsewhere `invalid_argument`.
   */
  static open(url: string, options: HandleOpenOptions): KeyringHandle {
    if (backend !== 'native') {
      throw new KeyrollError('invalid_argument', 'store URLs need the native addon; use fromDocument and offer');
    }
    const native = WasmKeyringHandle as unknown as NativeHandleClass;
    const passphrase = 'passphrase' in options ? bytes(options.passphrase) : undefined;
    const masterKey = 'masterKey' in options ? options.masterKey : undefined;
    return new KeyringHandle(native.open(url, passphrase, masterKey, options.pollInterval ?? 30, options.reader));
  }

  /** The generation of the keyring held now. */
  get generation(): number {
    return this.#handle.generation();
  }

  /** Generation, versions, last check and last reload error. */
  status(): HandleStatus {
    return fromJson<HandleStatus>(this.#handle.statusJson());
  }

  /** Swaps in a newer document: `true` if swapped, `false` if already held; lower throws. */
  offer(document: Bytes): boolean {
    return this.#handle.offer(bytes(document));
  }

  /** Records a failed fetch of a newer document (its error code), kept in `status()`. */
  recordFailure(code: string, at?: Time): void {
    this.#handle.recordFailure(code, seconds(at));
  }

  /** Checks the store now (`open`ed handles): `true` if a newer keyring came in. */
  reload(): boolean {
    const handle = this.#handle as NativeHandle;
    if (typeof handle.reload !== 'function') {
      throw new KeyrollError('invalid_argument', 'this handle has no store: offer documents instead');
    }
    return handle.reload();
  }

  /** Encrypts to the text form with the current keyring. */
  encrypt(plaintext: Bytes, options: EncryptOptions = {}): string {
    return this.#handle.encrypt(bytes(plaintext), bytes(options.context), issued(options.issuedAt));
  }

  /** Encrypts to the binary form with the current keyring. */
  encryptBinary(plaintext: Bytes, options: EncryptOptions = {}): Uint8Array {
    return this.#handle.encryptBinary(bytes(plaintext), bytes(options.context), issued(options.issuedAt));
  }

  /** Decrypts; an `open`ed handle reloads once for a version it does not hold yet. */
  decrypt(token: Bytes, options: DecryptOptions = {}): Uint8Array {
    const now = options.ttl === undefined ? 0 : seconds(options.now);
    return this.#handle.decrypt(bytes(token), bytes(options.context), options.ttl, now);
  }

  /** Stops reloading (at once); the handle keeps working with what it holds. */
  close(): void {
    const handle = this.#inner as NativeHandle | undefined;
    if (typeof handle?.close === 'function') handle.close();
  }

  /** Stops reloading and wipes the keys now; safe to call twice. */
  free(): void {
    const inner = this.#inner;
    this.#inner = undefined;
    inner?.free();
  }

  [disposeSymbol](): void {
    this.free();
  }

  /** Metadata only: generation and versions. */
  toJSON(): { generation: number; versions: number[] } | { freed: true } {
    if (this.#inner === undefined) return { freed: true };
    const { generation, versions } = this.status();
    return { generation, versions };
  }

  toString(): string {
    if (this.#inner === undefined) return 'KeyringHandle(freed)';
    const { generation, versions } = this.status();
    return `KeyringHandle(generation=${generation}, versions=[${versions.join(', ')}])`;
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}
