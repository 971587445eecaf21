/**
 * What the TypeORM and Drizzle columns share: the context rule, the three value kinds and the
 * fail-closed read. Neither ORM is imported here, so `keyroll/typeorm` and `keyroll/drizzle`
 * load only the ORM their user already has.
 *
 * Stored format (the same as the Python fields, python/src/keyroll/_orm.py and docs/orm.md):
 * every value is sealed with the context `table:column` (the database names, UTF-8); text and
 * JSON values are stored as the text envelope `kr1:v<N>:…` (in a text column, or as its ASCII
 * bytes in a binary one), bytes values as the binary envelope (bytea/BLOB). JSON is
 * `JSON.stringify`'s compact text, as Python's `separators=(",", ":"), ensure_ascii=False`.
 * Rows written by the old libraries hold Fernet tokens, which carry no context: they are opened
 * with the empty context (their keys imported into the keyring) and sealed under `table:column`
 * by the next write.
 */

import type { Keyring } from '../keyring.js';
import { KeyrollError } from '../errors.js';
import { inspect } from '../index.js';

/**
 * The keyring a column uses: a `Keyring`, or a function returning the current one (called on
 * every value, so a handle that reloads the keyring after a rotation plugs in unchanged).
 */
export type KeyringSource = Keyring | (() => Keyring);

/** The plaintext kinds an encrypted column holds. */
export type ValueKind = 'text' | 'bytes' | 'json';

/** What every encrypted column needs to know. */
export interface ColumnOptions {
  /** The keyring (or a function returning the current one). */
  keyring: KeyringSource;
  /** The table's name in the database (first half of the context). */
  table: string;
  /** The column's name in the database (second half of the context). */
  column: string;
  /**
   * Replaces the `table:column` rule for this column, as the Python fields' `context=` does
   * (e.g. a context computed from a natural key). Both sides must give the same one.
   */
  context?: string;
}

/** JSON values an encrypted JSON column stores. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Maps a kind to the JavaScript type its column holds. */
export interface KindValue {
  text: string;
  bytes: Uint8Array;
  json: unknown;
}

/**
 * The context every language's fields use: `table:column`. Not the primary key: a row's key is
 * often unknown before INSERT (serial ids), and rows move between tables by copy; binding the
 * column still stops a ciphertext being pasted from one column into another.
 */
export function columnContext(table: string, column: string): string {
  if (typeof table !== 'string' || table === '' || typeof column !== 'string' || column === '') {
    throw new TypeError('keyroll: an encrypted column needs a non-empty table and column name');
  }
  return `${table}:${column}`;
}

/** The keyring to use now. */
export function resolve(source: KeyringSource): Keyring {
  return typeof source === 'function' ? source() : source;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** What a kind is stored as: the text envelope, or the binary one for bytes. */
export type StoredValue<K extends ValueKind> = K extends 'bytes' ? Uint8Array : string;

/** Encrypts and decrypts the values of one column (one context, one kind). */
export class ColumnCodec<K extends ValueKind> {
  readonly kind: K;
  /** `table:column`. */
  readonly context: string;
  readonly #keyring: KeyringSource;

  constructor(kind: K, options: ColumnOptions) {
    if (kind !== 'text' && kind !== 'bytes' && kind !== 'json') {
      throw new TypeError('keyroll: an encrypted column kind is text, bytes or json');
    }
    if (options === null || typeof options !== 'object' || options.keyring === undefined) {
      throw new TypeError('keyroll: an encrypted column needs a keyring');
    }
    this.kind = kind;
    if (options.context !== undefined && (typeof options.context !== 'string' || options.context === '')) {
      throw new TypeError('keyroll: an explicit column context is a non-empty string');
    }
    this.context = options.context ?? columnContext(options.table, options.column);
    this.#keyring = options.keyring;
  }

  /** The plaintext's bytes, refusing a value of the wrong type (never coerced). */
  #plaintext(value: unknown): Uint8Array {
    switch (this.kind) {
      case 'text':
        if (typeof value !== 'string') throw new TypeError(`keyroll: ${this.context} holds strings`);
        return encoder.encode(value);
      case 'bytes':
        if (!(value instanceof Uint8Array)) throw new TypeError(`keyroll: ${this.context} holds Uint8Array values`);
        return value;
      default: {
        const json: unknown = JSON.stringify(value);
        if (typeof json !== 'string') throw new TypeError(`keyroll: ${this.context} got a value JSON cannot hold`);
        return encoder.encode(json);
      }
    }
  }

  /**
   * The stored form of `value` under the keyring's active version (a fresh nonce every call):
   * the text envelope for text and JSON, the binary envelope for bytes; null stays null.
   */
  encrypt(value: KindValue[K] | null | undefined): StoredValue<K> | null | undefined {
    if (value === null || value === undefined) return value as null | undefined;
    const plaintext = this.#plaintext(value);
    const ring = resolve(this.#keyring);
    if (this.kind === 'bytes') return ring.encryptBinary(plaintext, { context: this.context }) as StoredValue<K>;
    try {
      return ring.encrypt(plaintext, { context: this.context }) as StoredValue<K>;
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * The plaintext of a stored value; null stays null. Anything that does not decrypt under this
   * context throws `KeyrollError` (never the stored text back), and so does a plaintext that is
   * not what the column holds (not UTF-8 for text, not JSON for json).
   */
  decrypt(stored: unknown): KindValue[K] | null | undefined {
    if (stored === null || stored === undefined) return stored;
    const token = storedToken(stored, this.context);
    const context = isFernet(token) ? '' : this.context;
    const plaintext = resolve(this.#keyring).decrypt(token, { context });
    if (this.kind === 'bytes') return plaintext as KindValue[K];
    let text: string;
    try {
      text = decoder.decode(plaintext);
    } catch {
      throw new KeyrollError('malformed', `keyroll: ${this.context} holds a plaintext that is not UTF-8`);
    } finally {
      plaintext.fill(0);
    }
    if (this.kind === 'text') return text as KindValue[K];
    try {
      return JSON.parse(text) as KindValue[K];
    } catch {
      throw new KeyrollError('malformed', `keyroll: ${this.context} holds a plaintext that is not JSON`);
    }
  }
}

/**
 * Whether a stored value is a Fernet token from an old library: those carry no context, so they
 * are opened with none (core refuses a context for them). The same test as the Python fields'
 * `is_legacy` (`inspect(token).format == "fernet"`), with a shortcut for envelopes (binary magic,
 * or `kr` + digit: wire-format §6), which `inspect` never calls Fernet.
 */
function isFernet(token: string | Uint8Array): boolean {
  const b0 = typeof token === 'string' ? token.charCodeAt(0) : token[0];
  const b1 = typeof token === 'string' ? token.charCodeAt(1) : token[1];
  const b2 = typeof token === 'string' ? token.charCodeAt(2) : token[2];
  if (b0 === 0xc4 && b1 === 0x6b && b2 === 0x72) return false;
  if (b0 === 0x6b && b1 === 0x72 && b2 !== undefined && b2 >= 0x30 && b2 <= 0x39) return false;
  try {
    return inspect(token).format === 'fernet';
  } catch {
    return false;
  }
}

/** Text columns give strings, bytea/BLOB columns bytes (a text token stored as bytes included). */
function storedToken(stored: unknown, context: string): string | Uint8Array {
  if (typeof stored === 'string' || stored instanceof Uint8Array) return stored;
  throw new KeyrollError('malformed', `keyroll: ${context} holds a ${typeof stored}, not an encrypted value`);
}
