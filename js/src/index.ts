/**
 * keyroll: versioned envelope encryption and key rotation, over the same Rust core and wire
 * format as the Python, Kotlin, Swift and CLI packages.
 *
 * The `node` and `browser` entries load the WebAssembly module and re-export this API.
 */

import * as wasm from './backend.js';
import { type Bytes, bytes, fromJson } from './convert.js';
import type { ErrorCode } from './errors.js';
import type { TokenInfo } from './types.js';

export { Keyring } from './keyring.js';
export { KeyringHandle } from './handle.js';
export type { HandleOpenOptions, HandleStatus } from './handle.js';
export { BlindIndex, BLIND_INDEX_NORMALIZERS } from './blind-index.js';
export type { BlindIndexNormalizer, BlindIndexOptions } from './blind-index.js';
export type {
  ContextOptions,
  RewrapOptions,
  RewrapReport,
  DecryptOptions,
  DumpOptions,
  EncryptOptions,
  LoadOptions,
  RawGcmKey,
  RawGcmOptions,
} from './keyring.js';
export { SigningKeyring } from './signing.js';
export type { Jwk, Jwks, JwtVerifyOptions, SignOptions, SigningAlgorithm, VerifiedJwt, VerifiedMessage } from './signing.js';
export { KeyrollError, isKeyrollError } from './errors.js';
/** Which binding runs: `native` (the Node-API addon) or `wasm`. */
export { backend } from './backend.js';
export type { BackendName } from './backend.js';
export type { ErrorCode } from './errors.js';
export type { Bytes, Time } from './convert.js';
export type { KeyKind, KeyState, Policy, PolicyStatus, TokenInfo, Verified, VersionInfo } from './types.js';

/** PBKDF2 iterations used by `dump({ passphrase })` unless told otherwise. */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;

/** What a token is (format, keyring id, key version, lengths), without any key. */
export function inspect(token: Bytes): TokenInfo {
  return fromJson<TokenInfo>(wasm.inspectJson(bytes(token)));
}

/** A fresh Fernet key as `Fernet.generate_key()` writes it (base64url); for tests and demos. */
export function generateFernetKey(): string {
  return wasm.generateFernetKey();
}

/** Every error code the core can report (the same list in every language). */
export function errorCodes(): ErrorCode[] {
  return wasm.errorCodes() as ErrorCode[];
}

/** The AEAD implementation inside the module (`rustcrypto-aes-gcm` on wasm). */
export function aeadBackend(): string {
  return wasm.aeadBackend();
}
