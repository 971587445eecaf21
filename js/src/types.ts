/** Metadata types: everything here is safe to print, log and serialize. */

/** The life cycle of a key version. */
export type KeyState = 'pending' | 'active' | 'decrypt_only' | 'disabled' | 'compromised' | 'destroyed';

/** What a version's key is: keyroll's own, or an imported legacy key. */
export type KeyKind = 'aes256_gcm' | 'fernet' | 'raw_gcm' | 'hmac_sha256' | 'hmac_sha256_legacy' | 'ed25519';

/** One key version, without its key. Times are Unix seconds. */
export interface VersionInfo {
  version: number;
  kind: KeyKind;
  state: KeyState;
  createdAt: number;
  activatedAt?: number;
  retiredAt?: number;
  compromisedAt?: number;
  destroyedAt?: number;
  note?: string;
  legacyVersionByte?: number;
}

/** When the active key should be rotated. */
export interface Policy {
  rotateAfterDays: number;
  warnAfterDays: number;
}

/** The verdict of `checkPolicy`. */
export interface PolicyStatus {
  state: 'ok' | 'warn' | 'due' | 'no_active_key';
  activeVersion?: number;
  ageSeconds: number;
  warnAt?: number;
  dueAt?: number;
}

/** What `inspect` learns from a token without a key (nothing is authenticated). */
export interface TokenInfo {
  format: 'keyroll_v1_binary' | 'keyroll_v1_text' | 'fernet';
  algorithm: string;
  keyringId?: string;
  keyVersion?: number;
  issuedAt?: number;
  tokenLen: number;
  binaryLen: number;
  headerLen: number;
  /** Ciphertext alone (Fernet: with its CBC padding, a multiple of 16). */
  ciphertextLen: number;
  /** Exact for v1; absent for Fernet, whose padding is known only after decryption. */
  plaintextLen?: number;
}

/** What `verify` learns from an authentic token. */
export interface Verified {
  keyVersion: number;
  issuedAt?: number;
}
