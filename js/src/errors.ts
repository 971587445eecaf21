/**
 * The one error class of keyroll. Core maps every failure to a stable `code` (the same in
 * Python, Kotlin, Swift and the CLI; table in docs/wire-format.md); messages carry key
 * versions and field names, never key material or plaintext.
 */

/** Every code keyroll's core can report (the same list as `errorCodes()`). */
export type CoreErrorCode =
  | 'malformed'
  | 'unsupported_format'
  | 'unknown_key_version'
  | 'wrong_keyring'
  | 'key_disabled'
  | 'key_compromised'
  | 'key_destroyed'
  | 'below_minimum_version'
  | 'decrypt_failed'
  | 'expired'
  | 'missing_timestamp'
  | 'bad_passphrase'
  | 'keyring_corrupt'
  | 'invalid_state_transition'
  | 'invalid_key'
  | 'no_active_key'
  | 'read_only'
  | 'invalid_argument'
  | 'rng_failure'
  | 'keyring_conflict'
  | 'keyring_rollback'
  | 'signature_invalid'
  | 'algorithm_mismatch'
  | 'claim_invalid'
  | 'wrong_keyring_kind';

/**
 * The codes of keyring stores (store URLs: `KeyringHandle.open` on the Node-API addon), as the
 * store crate's `Error::code` gives them (its `keyring_rollback` is core's).
 */
export type StoreErrorCode =
  | 'io_error'
  | 'keyring_not_found'
  | 'keyring_exists'
  | 'keyring_locked'
  | 'backup_not_found'
  | 'backup_corrupt'
  | 'audit_corrupt'
  | 'symlink_refused'
  | 'unsafe_directory'
  | 'invalid_store_url'
  | 'store_unsupported'
  | 'store_unavailable';

/** Every code keyroll can report. */
export type ErrorCode = CoreErrorCode | StoreErrorCode;

/** Thrown by every keyroll operation that fails; `code` is stable across languages. */
export class KeyrollError extends Error {
  /** The stable, machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  /** Always `"KeyrollError"`, also after minification. */
  override get name(): 'KeyrollError' {
    return 'KeyrollError';
  }
}

/**
 * Whether `value` is a keyroll error. Also true for one from another copy of the package
 * (another realm or a duplicated install), which `instanceof` would miss.
 */
export function isKeyrollError(value: unknown): value is KeyrollError {
  if (value instanceof KeyrollError) return true;
  return (
    value instanceof Error &&
    value.name === 'KeyrollError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
