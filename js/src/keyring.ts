/** The `Keyring` class: idiomatic JavaScript over core's keyring (one call per method). */

import { WasmKeyring, checkNotRolledBack, checkSuccessor, documentGeneration } from './backend.js';
import { type Bytes, type Time, bytes, fromJson, seconds, utf8 } from './convert.js';
import { type ErrorCode, KeyrollError } from './errors.js';
import { type OffloadReply, getRunner } from './offload.js';
import { type BlindIndex, type BlindIndexOptions, blindIndexOf } from './blind-index.js';
import type { KeyState, Policy, PolicyStatus, Verified, VersionInfo } from './types.js';
import type { KeyWrap } from './kms.js';

/** How to open a keyring document. */
export type LoadOptions = { passphrase: Bytes } | { masterKey: Uint8Array };

/** How to seal a keyring document. */
export type DumpOptions =
  | {
      passphrase: Bytes;
      /** PBKDF2-HMAC-SHA256 iterations; default 600,000. */
      iterations?: number;
    }
  | { masterKey: Uint8Array };

export interface EncryptOptions {
  /** Authenticated context, e.g. `"users:42:ssn"`; decrypt needs the same. Default empty. */
  context?: Bytes;
  /** Issued-at time written into the header (enables TTL checks). Default now; `null` for none. */
  issuedAt?: Time | null;
}

export interface DecryptOptions {
  /** The context the token was encrypted with. Default empty. */
  context?: Bytes;
  /** Refuse tokens issued more than `ttl` seconds before `now` (or > 60 s in the future). */
  ttl?: number;
  /** The time TTL is judged at; default now. */
  now?: Time;
}

export interface ContextOptions {
  context?: Bytes;
}

/** What `rewrapMany(tokens, { allowCompromised: true })` returns. */
export interface RewrapReport {
  /** The new tokens in order; a failed item holds its `KeyrollError`. */
  tokens: Array<string | KeyrollError>;
  /** Source version → number of tokens read from it while it was compromised (unverified data). */
  compromised: Map<number, number>;
  /** The sum of `compromised`. */
  compromisedTotal: number;
}

/** Options of `rewrap`. */
export interface RewrapOptions extends ContextOptions {
  /**
   * Also read tokens under a compromised version (to move data off it). Such data is
   * unverified: whoever stole the key could have forged it. Off by default.
   */
  allowCompromised?: boolean;
}

/** A legacy AES-256-GCM key from a home-made manager. */
export type RawGcmKey =
  | { key: Uint8Array }
  | { password: Bytes; saltPattern: string; iterations: number };

export interface RawGcmOptions {
  /** The byte that precedes the nonce in this key's blobs, if they carry one. */
  versionByte?: number;
  now?: Time;
}

const DEFAULT_ITERATIONS = 600_000;
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

function issued(value: Time | null | undefined): number | undefined {
  return value === null ? undefined : seconds(value);
}

function unwrap(reply: OffloadReply): { document: Uint8Array; masterKey?: Uint8Array } {
  if (!reply.ok) throw new KeyrollError(reply.code as ErrorCode, reply.message);
  return reply;
}

function ttlNow(options: DecryptOptions): number {
  return options.ttl === undefined ? 0 : seconds(options.now);
}

/**
 * A set of key versions, at most one active, held in WebAssembly memory.
 *
 * Free it with `free()` or `using` (`Symbol.dispose`) to wipe its keys at once; a
 * `FinalizationRegistry` frees it after garbage collection otherwise. `toString()`,
 * `JSON.stringify` and `util.inspect` show metadata only, never key material.
 */
export class Keyring {
  #inner: WasmKeyring | undefined;

  private constructor(inner: WasmKeyring) {
    this.#inner = inner;
  }

  get #ring(): WasmKeyring {
    if (this.#inner === undefined) throw new Error('keyroll: this Keyring was freed');
    return this.#inner;
  }

  /** A new keyring with a random id and version 1 active. */
  static generate(now?: Time): Keyring {
    return new Keyring(WasmKeyring.generate(seconds(now)));
  }

  /**
   * Opens a keyring document (JSON, as `dump` writes it). A wrong passphrase or key gives
   * `bad_passphrase`; any change to the document gives `keyring_corrupt`. With a passphrase
   * this runs PBKDF2 (600,000 iterations by default) and blocks for ~1 s; `loadAsync` does not.
   */
  static load(document: Bytes, options: LoadOptions): Keyring {
    const doc = bytes(document);
    if ('masterKey' in options) {
      return new Keyring(WasmKeyring.fromDocumentMasterKey(doc, options.masterKey));
    }
    return new Keyring(WasmKeyring.fromDocumentPassphrase(doc, bytes(options.passphrase)));
  }

  /**
   * `load` with PBKDF2 in a worker (Web Worker / worker thread), so a page or an event loop
   * never blocks on it; see offload.ts for how the keyring comes back. A master key needs no
   * worker (HKDF only) and opens here.
   */
  static async loadAsync(document: Bytes, options: LoadOptions): Promise<Keyring> {
    if ('masterKey' in options) return Keyring.load(document, options);
    const doc = bytes(document).slice();
    const passphrase = bytes(options.passphrase).slice();
    const reply = unwrap(await getRunner()({ op: 'load', document: doc, passphrase }, [doc.buffer, passphrase.buffer]));
    const masterKey = reply.masterKey ?? new Uint8Array(0);
    try {
      return Keyring.load(reply.document, { masterKey });
    } finally {
      masterKey.fill(0);
    }
  }

  /**
   * The keyring every process builds from the same Fernet key list (primary first, as
   * `MultiFernet` takes it): it reads the Fernet tokens and its v1 output is readable by every
   * other keyroll process with the same list, with no keyring file.
   */
  static fromFernetKeys(keys: readonly string[], now?: Time): Keyring {
    return new Keyring(WasmKeyring.fromFernetKeys([...keys], seconds(now)));
  }

  /** The generation a stored document says it is (0 before generations), read without a key. */
  static documentGeneration(document: Bytes): number {
    return documentGeneration(bytes(document));
  }

  /**
   * Whether `next` may replace the stored `current` (`null`: nothing stored): exactly one
   * generation newer, else `KeyrollError` `keyring_conflict`. Returns `next`'s generation.
   */
  static checkSuccessor(current: Bytes | null, next: Bytes): number {
    return checkSuccessor(current === null ? undefined : bytes(current), bytes(next));
  }

  /** Refuses (`keyring_rollback`) a document older than `highestSeen`; returns its generation. */
  static checkNotRolledBack(document: Bytes, highestSeen: number): number {
    return checkNotRolledBack(bytes(document), highestSeen);
  }

  /** @internal `openDocument` (keyroll/kms): opens with the KEK a key-management service unwrapped. */
  static loadUnwrapped(document: Bytes, kek: Uint8Array): Keyring {
    return new Keyring(WasmKeyring.fromDocumentUnwrapped(bytes(document), kek));
  }

  /** @internal `sealDocument` (keyroll/kms): seals under a KEK and the service's wrap of it. */
  dumpWrapped(kek: Uint8Array, wrap: KeyWrap): string {
    const context = JSON.stringify(wrap.context);
    return utf8(this.#ring.toDocumentWrapped(kek, wrap.provider, wrap.keyId, context, wrap.wrapped));
  }

  /** Seals this keyring into a JSON document under a passphrase or a 32-byte master key. */
  dump(options: DumpOptions): string {
    if ('masterKey' in options) {
      return utf8(this.#ring.toDocumentMasterKey(options.masterKey));
    }
    const iterations = options.iterations ?? DEFAULT_ITERATIONS;
    return utf8(this.#ring.toDocumentPassphrase(bytes(options.passphrase), iterations));
  }

  /** `dump` with PBKDF2 in a worker; a master key needs none and seals here. */
  async dumpAsync(options: DumpOptions): Promise<string> {
    if ('masterKey' in options) return this.dump(options);
    const masterKey = crypto.getRandomValues(new Uint8Array(32));
    const document = this.#ring.toDocumentMasterKey(masterKey.slice());
    const passphrase = bytes(options.passphrase).slice();
    const iterations = options.iterations ?? DEFAULT_ITERATIONS;
    const reply = unwrap(
      await getRunner()({ op: 'seal', document, masterKey, passphrase, iterations }, [
        document.buffer as ArrayBuffer,
        masterKey.buffer,
        passphrase.buffer,
      ]),
    );
    return utf8(reply.document);
  }

  /** The keyring id (16 hex digits), written into every envelope. */
  get id(): string {
    return this.#ring.id;
  }

  /** The version new envelopes are written under, if any. */
  get activeVersion(): number | undefined {
    return this.#ring.activeVersion;
  }

  /** Versions below this refuse to decrypt (0: no minimum). */
  get minVersion(): number {
    return this.#ring.minVersion;
  }

  /** Whether this is a decrypt-only export. */
  get readOnly(): boolean {
    return this.#ring.readOnly;
  }

  /** Every version's metadata, ascending. */
  get versions(): VersionInfo[] {
    return fromJson<VersionInfo[]>(this.#ring.versionsJson());
  }

  /** The rotation policy (default: warn at 80 days, due at 90). */
  get policy(): Policy {
    return fromJson<Policy>(this.#ring.policyJson());
  }

  setPolicy(policy: Policy): void {
    this.#ring.setPolicy(policy.rotateAfterDays, policy.warnAfterDays);
  }

  /** Judges the active key's age against the policy. */
  checkPolicy(now?: Time): PolicyStatus {
    return fromJson<PolicyStatus>(this.#ring.checkPolicyJson(seconds(now)));
  }

  /** Refuses envelopes of versions below `minimum`. */
  setMinVersion(minimum: number): void {
    this.#ring.setMinVersion(minimum);
  }

  /** Adds a new key as `pending` (readers learn it before writers use it); returns its version. */
  addVersion(now?: Time): number {
    return this.#ring.addVersion(seconds(now));
  }

  /** Makes a pending or decrypt-only version active; the old one becomes decrypt-only. */
  promote(version: number, now?: Time): void {
    this.#ring.promote(version, seconds(now));
  }

  /** Scheduled rotation: a new active version; returns it. */
  rotate(now?: Time): number {
    return this.#ring.rotate(seconds(now));
  }

  /** Rotates and marks the old active version compromised (only `rewrap` still reads it). */
  emergencyRotate(reason: string, now?: Time): number {
    return this.#ring.emergencyRotate(reason, seconds(now));
  }

  /** Moves a version along its life cycle; `destroyed` wipes its key. */
  setState(version: number, state: KeyState, options: { note?: string; now?: Time } = {}): void {
    this.#ring.setState(version, state, options.note, seconds(options.now));
  }

  /** Imports Fernet keys (base64url strings) as decrypt-only versions; returns their versions. */
  importFernet(keys: readonly string[], now?: Time): number[] {
    return Array.from(this.#ring.importFernet([...keys], seconds(now)));
  }

  /** Imports a raw AES-256-GCM key from a home-made manager as a decrypt-only version. */
  importRawGcm(key: RawGcmKey, options: RawGcmOptions = {}): number {
    const now = seconds(options.now);
    if ('key' in key) return this.#ring.importRawGcmKey(key.key, options.versionByte, now);
    return this.#ring.importRawGcmPbkdf2(
      bytes(key.password),
      key.saltPattern,
      key.iterations,
      options.versionByte,
      now,
    );
  }

  /**
   * A copy that only decrypts exactly `versions` (active or decrypt-only ones; never compromised,
   * disabled, destroyed or pending material), every change refused. Whoever holds it can also
   * forge envelopes for those versions: seal it under its own credential.
   */
  exportDecryptOnly(versions: readonly number[]): Keyring {
    return new Keyring(this.#ring.exportDecryptOnly(Uint32Array.from(versions)));
  }

  /** A key for another purpose, HKDF-derived from the active version (changes on rotation). */
  deriveKey(purpose: Bytes, length = 32): { version: number; key: Uint8Array } {
    const [version, key] = this.#ring.deriveKey(bytes(purpose), length) as [number, Uint8Array];
    return { version, key };
  }

  /**
   * A blind index over this keyring (docs/blind-index.md): `bits` a multiple of 8 from 8 to 256,
   * `normalizer` default `exact`. A snapshot of the live versions: make it again after a rotation.
   */
  blindIndex(name: string, options: BlindIndexOptions): BlindIndex {
    return blindIndexOf(this.#ring, name, options);
  }

  /** Encrypts to the text form `kr1:v<N>:<base64url>`. */
  encrypt(plaintext: Bytes, options: EncryptOptions = {}): string {
    return this.#ring.encrypt(bytes(plaintext), bytes(options.context), issued(options.issuedAt));
  }

  /** Encrypts to the binary form (for large payloads). */
  encryptBinary(plaintext: Bytes, options: EncryptOptions = {}): Uint8Array {
    return this.#ring.encryptBinary(bytes(plaintext), bytes(options.context), issued(options.issuedAt));
  }

  /** Decrypts any token this keyring reads: v1 text or binary, legacy Fernet or raw GCM. */
  decrypt(token: Bytes, options: DecryptOptions = {}): Uint8Array {
    const context = bytes(options.context);
    if (typeof token === 'string') {
      return this.#ring.decryptText(token, context, options.ttl, ttlNow(options));
    }
    return this.#ring.decrypt(bytes(token), context, options.ttl, ttlNow(options));
  }

  /** `decrypt`, then UTF-8 decoding (throws `TypeError` if the plaintext is not UTF-8). */
  decryptString(token: Bytes, options: DecryptOptions = {}): string {
    return utf8(this.decrypt(token, options));
  }

  /** Authenticates a token without returning its plaintext. */
  verify(token: Bytes, options: DecryptOptions = {}): Verified {
    return this.#ring.verify(bytes(token), bytes(options.context), options.ttl, ttlNow(options)) as Verified;
  }

  /** Re-encrypts under the active version, keeping the issued-at time; plaintext stays inside. */
  rewrap(token: Bytes, options: RewrapOptions = {}): string {
    return this.#ring.rewrap(bytes(token), bytes(options.context), options.allowCompromised === true);
  }

  /** `rewrap` to the binary form. */
  rewrapBinary(token: Bytes, options: RewrapOptions = {}): Uint8Array {
    return this.#ring.rewrapBinary(bytes(token), bytes(options.context), options.allowCompromised === true);
  }

  /** Whether `rewrap` would change this token (reads the header only, decrypts nothing). */
  needsRewrap(token: Bytes): boolean {
    return this.#ring.needsRewrap(bytes(token));
  }

  /** Encrypts each item (text form), one issued-at for the batch. */
  encryptMany(items: readonly Bytes[], options: EncryptOptions = {}): string[] {
    return this.#ring.encryptMany(items.map(bytes), bytes(options.context), issued(options.issuedAt));
  }

  /** Decrypts each token; a bad one gives a `KeyrollError` in its place, not a throw. */
  decryptMany(tokens: readonly Bytes[], options: DecryptOptions = {}): Array<Uint8Array | KeyrollError> {
    return this.#ring.decryptMany(tokens.map(bytes), bytes(options.context), options.ttl, ttlNow(options));
  }

  /**
   * Rewraps each token (text form); a bad one gives a `KeyrollError` in its place. With
   * `allowCompromised: true` the result is a `RewrapReport`, which also counts the tokens read
   * from each compromised version: that data is unverified, so log the counts.
   */
  rewrapMany(tokens: readonly Bytes[], options: RewrapOptions & { allowCompromised: true }): RewrapReport;
  rewrapMany(tokens: readonly Bytes[], options?: RewrapOptions): Array<string | KeyrollError>;
  rewrapMany(tokens: readonly Bytes[], options: RewrapOptions = {}): Array<string | KeyrollError> | RewrapReport {
    const allow = options.allowCompromised === true;
    const raw = this.#ring.rewrapMany(tokens.map(bytes), bytes(options.context), allow) as Array<
      { token: string; fromVersion: number; fromCompromised: boolean } | KeyrollError
    >;
    const out = raw.map((r) => (r instanceof KeyrollError ? r : r.token));
    if (!allow) return out;
    const compromised = new Map<number, number>();
    for (const r of raw) {
      if (!(r instanceof KeyrollError) && r.fromCompromised) {
        compromised.set(r.fromVersion, (compromised.get(r.fromVersion) ?? 0) + 1);
      }
    }
    let compromisedTotal = 0;
    for (const n of compromised.values()) compromisedTotal += n;
    return { tokens: out, compromised, compromisedTotal };
  }

  /** Wipes the keys and releases the wasm memory now. Safe to call twice. */
  free(): void {
    const inner = this.#inner;
    this.#inner = undefined;
    inner?.free();
  }

  [disposeSymbol](): void {
    this.free();
  }

  /** Metadata only: id, active version, versions and their states. */
  toJSON(): { id: string; activeVersion?: number; versions: VersionInfo[] } | { freed: true } {
    if (this.#inner === undefined) return { freed: true };
    return { id: this.id, activeVersion: this.activeVersion, versions: this.versions };
  }

  toString(): string {
    if (this.#inner === undefined) return 'Keyring(freed)';
    const states = this.versions.map((v) => `v${v.version}:${v.state}`).join(', ');
    return `Keyring(id=${this.id}, active=${this.activeVersion ?? 'none'}, [${states}])`;
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}
