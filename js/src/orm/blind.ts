/**
 * Blind-index columns for the ORM entries: the index of an encrypted column's plaintext,
 * computed on write under the active version, and the candidates of a value under every live
 * version for lookups (`WHERE col IN (…)`), so a rotation loses no match (docs/blind-index.md).
 *
 * The same index as the Python fields (keyroll.sqlalchemy `BlindIndexColumn`, keyroll.django):
 * name `<table>.<source>` unless given, normaliser `trim+casefold`, 64 bits, stored as
 * `bi1:v<N>:<hex>` in a `VARCHAR(80)` column. The name is part of the key derivation: Node and
 * Python must use the same one (pass `name` if the Python attribute is not called like the
 * column).
 */

import type { Bytes } from '../convert.js';
import type { BlindIndex, BlindIndexNormalizer } from '../blind-index.js';
import { type KeyringSource, resolve } from './codec.js';

/** How a blind index is defined (must match the Python field's definition). */
export interface BlindIndexOptions {
  /** The keyring (or a function returning the current one). */
  keyring: KeyringSource;
  /** The table's name in the database. */
  table: string;
  /** The encrypted column whose plaintext is indexed (the Python field's `source`). */
  source: string;
  /** The index's name (part of its key); default `<table>.<source>`. */
  name?: string;
  /** Default `trim+casefold`, as the Python fields. */
  normalizer?: BlindIndexNormalizer;
  /** Default 64, as the Python fields (a multiple of 8, 8..256; sizing: docs/blind-index.md). */
  bits?: number;
}

/** The longest text form (`bi1:v<10 digits>:` and 64 hex digits), the column's width. */
export const BLIND_INDEX_WIDTH = 80;

/**
 * One blind index over a keyring source. Each call takes the keyring as it is now (an index is a
 * snapshot of its live versions, one HKDF each), so a reloaded or rotated keyring counts at once.
 */
export class BlindIndexColumn {
  /** The index's name (part of its key). */
  readonly name: string;
  readonly normalizer: BlindIndexNormalizer;
  readonly bits: number;
  /** The encrypted attribute it indexes. */
  readonly source: string;
  readonly #keyring: KeyringSource;

  constructor(options: BlindIndexOptions) {
    if (options === null || typeof options !== 'object' || options.keyring === undefined) {
      throw new TypeError('keyroll: a blind index needs a keyring');
    }
    if (typeof options.source !== 'string' || options.source === '') {
      throw new TypeError('keyroll: a blind index needs the name of the column it indexes (source)');
    }
    if (options.name === undefined && (typeof options.table !== 'string' || options.table === '')) {
      throw new TypeError('keyroll: a blind index needs its table name (or an explicit name)');
    }
    this.name = options.name ?? `${options.table}.${options.source}`;
    this.normalizer = options.normalizer ?? 'trim+casefold';
    this.bits = options.bits ?? 64;
    this.source = options.source;
    this.#keyring = options.keyring;
    // Fails now, not at the first write, on a bad name, normaliser or bit count.
    this.#with(() => undefined);
  }

  #with<T>(f: (index: BlindIndex) => T): T {
    const index = resolve(this.#keyring).blindIndex(this.name, { bits: this.bits, normalizer: this.normalizer });
    try {
      return f(index);
    } finally {
      index.free();
    }
  }

  /** The index of `value` under the active version: what a write stores. */
  compute(value: Bytes): string {
    return this.#with((index) => index.compute(value));
  }

  /** The index of `value` under every live version: what a lookup asks for (`IN (…)`). */
  candidates(value: Bytes): string[] {
    return this.#with((index) => index.candidates(value));
  }

  /** `compute`, with null and undefined kept (for nullable columns). */
  computeNullable(value: Bytes | null | undefined): string | null | undefined {
    return value === null || value === undefined ? value : this.compute(value);
  }
}
