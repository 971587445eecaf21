/**
 * `SigningKeyring`: versioned HMAC-SHA256 keys and Ed25519 key pairs for signed messages
 * (`krs1:v3:…`) and JWTs (HS256 / EdDSA, `kid` = keyring id + version), over core's
 * `SigningKeyring` (one call per method). `docs/signing.md` explains the move off a single
 * `SECRET_KEY` and app verification with a public keyset.
 */

import { WasmSigningKeyring } from './backend.js';
import { type Bytes, type Time, bytes, fromJson, seconds, utf8 } from './convert.js';
import type { DumpOptions, LoadOptions } from './keyring.js';
import type { KeyState, Policy, PolicyStatus, VersionInfo } from './types.js';

/** What a version signs with: HMAC-SHA256 (JWT `HS256`) or Ed25519 (JWT `EdDSA`). */
export type SigningAlgorithm = 'hmac_sha256' | 'ed25519';

/** What `verify` returns for an authentic signed message. */
export interface VerifiedMessage {
  /** The message that was signed (signing does not hide it). */
  message: Uint8Array;
  keyVersion: number;
  algorithm: SigningAlgorithm;
}

/** What `verifyJwt` checks besides the signature. */
export interface JwtVerifyOptions {
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. Default 0. */
  leeway?: number;
  /** `aud` must contain it; without it a token that has an `aud` is refused (RFC 7519). */
  audience?: string;
  /** `iss` must equal it. */
  issuer?: string;
  /** Claims that must be present, e.g. `['exp']`. */
  required?: readonly string[];
  /** The time the claims are judged at; default now. */
  now?: Time;
}

/** An authentic JWT whose claims passed the checks. */
export interface VerifiedJwt<C = Record<string, unknown>> {
  claims: C;
  keyVersion: number;
  algorithm: SigningAlgorithm;
}

/** One RFC 8037 key of `jwks()`. */
export interface Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** A JSON Web Key Set, as `jose.createLocalJWKSet` and PyJWT's `PyJWKSet` take it. */
export interface Jwks {
  keys: Jwk[];
}

export interface SignOptions {
  /** What the signature is for (e.g. `"password-reset"`); `verify` needs the same. Default empty. */
  context?: Bytes;
}

const DEFAULT_ITERATIONS = 600_000;
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

/**
 * A set of signing key versions, at most one active (the one that signs); the others verify
 * as their state allows (`pending` and `decrypt_only` do, so a token keeps verifying after a
 * rotation until it expires).
 *
 * Free it with `free()` or `using`; `toString()`, `JSON.stringify` and `util.inspect` show
 * metadata only, never key material.
 */
export class SigningKeyring {
  #inner: WasmSigningKeyring | undefined;

  private constructor(inner: WasmSigningKeyring) {
    this.#inner = inner;
  }

  get #ring(): WasmSigningKeyring {
    if (this.#inner === undefined) throw new Error('keyroll: this SigningKeyring was freed');
    return this.#inner;
  }

  /** A new keyring with a random id and version 1 of `algorithm` active. */
  static generate(algorithm: SigningAlgorithm, now?: Time): SigningKeyring {
    return new SigningKeyring(WasmSigningKeyring.generate(algorithm, seconds(now)));
  }

  /**
   * The keyring of an old single secret (a `SECRET_KEY`, ≥ 32 bytes used as they are): v1,
   * active, verifies the old system's JWTs (no `kid`). Every process given the same secret
   * makes the same keyring, so its `kid`s agree; `rotate` it once the keyring is stored.
   */
  static fromLegacySecret(secret: Bytes, now?: Time): SigningKeyring {
    return new SigningKeyring(WasmSigningKeyring.fromHmacSecret(bytes(secret), seconds(now)));
  }

  /** Opens a signing keyring document (`wrong_keyring_kind` for an encryption keyring's). */
  static load(document: Bytes, options: LoadOptions): SigningKeyring {
    const doc = bytes(document);
    if ('masterKey' in options) {
      return new SigningKeyring(WasmSigningKeyring.fromDocumentMasterKey(doc, options.masterKey));
    }
    return new SigningKeyring(WasmSigningKeyring.fromDocumentPassphrase(doc, bytes(options.passphrase)));
  }

  /**
   * A verify-only keyring from a public keyset (`publicKeyset()`, or the CLI's
   * `keyroll keys export-public`): verifies Ed25519 messages and EdDSA JWTs, holds no secret.
   */
  static fromPublicKeyset(keyset: Bytes): SigningKeyring {
    const text = typeof keyset === 'string' ? keyset : utf8(bytes(keyset));
    return new SigningKeyring(WasmSigningKeyring.fromPublicKeyset(text));
  }

  /** Seals this keyring into a JSON document under a passphrase or a 32-byte master key. */
  dump(options: DumpOptions): string {
    if ('masterKey' in options) return utf8(this.#ring.toDocumentMasterKey(options.masterKey));
    const iterations = options.iterations ?? DEFAULT_ITERATIONS;
    return utf8(this.#ring.toDocumentPassphrase(bytes(options.passphrase), iterations));
  }

  /** The keyring id (16 hex digits), in every signed message and `kid`. */
  get id(): string {
    return this.#ring.id;
  }

  /** The version that signs, if any. */
  get activeVersion(): number | undefined {
    return this.#ring.activeVersion;
  }

  /** The active version's algorithm, if any. */
  get algorithm(): SigningAlgorithm | undefined {
    const active = this.#ring.activeVersion;
    return active === undefined ? undefined : (this.#ring.algorithmOf(active) as SigningAlgorithm | undefined);
  }

  /** Versions below this refuse to verify (0: no minimum). */
  get minVersion(): number {
    return this.#ring.minVersion;
  }

  /** Whether this keyring came from a public keyset (verifies only). */
  get verifyOnly(): boolean {
    return this.#ring.verifyOnly;
  }

  /** Every version's metadata, ascending. */
  get versions(): VersionInfo[] {
    return fromJson<VersionInfo[]>(this.#ring.versionsJson());
  }

  /** The rotation policy. */
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

  /** Refuses tokens of versions below `minimum`. */
  setMinVersion(minimum: number): void {
    this.#ring.setMinVersion(minimum);
  }

  /** The `kid` of a version: `"<id>:v<version>"`. */
  kid(version: number): string {
    return this.#ring.kid(version);
  }

  /** Adds a pending version (verifiers learn it before anything is signed with it). */
  addVersion(algorithm: SigningAlgorithm, now?: Time): number {
    return this.#ring.addVersion(algorithm, seconds(now));
  }

  /** Makes a pending or verify-only version the one that signs. */
  promote(version: number, now?: Time): void {
    this.#ring.promote(version, seconds(now));
  }

  /** A new version of the active one's algorithm, promoted at once; returns it. */
  rotate(now?: Time): number {
    return this.#ring.rotate(seconds(now));
  }

  /** A new version of `algorithm` (e.g. HS256 → EdDSA), promoted at once; returns it. */
  rotateTo(algorithm: SigningAlgorithm, now?: Time): number {
    return this.#ring.rotateTo(algorithm, seconds(now));
  }

  /** Rotates and marks the old version compromised: nothing it signed verifies any more. */
  emergencyRotate(reason: string, now?: Time): number {
    return this.#ring.emergencyRotate(reason, seconds(now));
  }

  /** Moves a version along its life cycle. */
  setState(version: number, state: KeyState, options: { note?: string; now?: Time } = {}): void {
    this.#ring.setState(version, state, options.note, seconds(options.now));
  }

  /** Imports an old secret as a verify-only legacy HMAC version; returns its version. */
  importLegacySecret(secret: Bytes, now?: Time): number {
    return this.#ring.importHmacSecret(bytes(secret), seconds(now));
  }

  /** Signs `message` with the active version: `krs1:v<N>:…` (the message is readable in it). */
  sign(message: Bytes, options: SignOptions = {}): string {
    return this.#ring.sign(bytes(message), bytes(options.context));
  }

  /** `sign` in binary form (header ‖ message ‖ signature). */
  signBinary(message: Bytes, options: SignOptions = {}): Uint8Array {
    return this.#ring.signBinary(bytes(message), bytes(options.context));
  }

  /** Verifies a signed message (text or binary) made for `context`; returns the message. */
  verify(signed: Bytes, options: SignOptions = {}): VerifiedMessage {
    return this.#ring.verify(bytes(signed), bytes(options.context)) as VerifiedMessage;
  }

  /** Signs a JWT with the active version (`iat` is added if absent). */
  signJwt(claims: Record<string, unknown>, options: { now?: Time } = {}): string {
    return this.#ring.signJwt(JSON.stringify(claims), seconds(options.now));
  }

  /**
   * Verifies a JWT: the key from `kid` only (or, without `kid`, an imported legacy secret),
   * `alg` against that version's algorithm, the signature, then `exp`/`nbf`/`iat` (with
   * `leeway`), `iss`, `aud` and required claims.
   */
  verifyJwt<C = Record<string, unknown>>(token: string, options: JwtVerifyOptions = {}): VerifiedJwt<C> {
    const raw = this.#ring.verifyJwt(
      token,
      options.leeway ?? 0,
      options.audience,
      options.issuer,
      [...(options.required ?? [])],
      seconds(options.now),
    ) as { claims: string; keyVersion: number; algorithm: SigningAlgorithm };
    return { claims: JSON.parse(raw.claims) as C, keyVersion: raw.keyVersion, algorithm: raw.algorithm };
  }

  /** The public keyset (JSON text): Ed25519 public keys and states, nothing secret. */
  publicKeyset(): string {
    return this.#ring.publicKeyset();
  }

  /** The JWKS of the Ed25519 versions that verify, newest first. */
  jwks(): Jwks {
    return JSON.parse(this.#ring.jwks()) as Jwks;
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

  /** Metadata only. */
  toJSON(): { id: string; activeVersion?: number; versions: VersionInfo[] } | { freed: true } {
    if (this.#inner === undefined) return { freed: true };
    return { id: this.id, activeVersion: this.activeVersion, versions: this.versions };
  }

  toString(): string {
    if (this.#inner === undefined) return 'SigningKeyring(freed)';
    const states = this.versions.map((v) => `v${v.version}:${v.kind}:${v.state}`).join(', ');
    return `SigningKeyring(id=${this.id}, active=${this.activeVersion ?? 'none'}, [${states}])`;
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}
