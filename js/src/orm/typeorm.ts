/**
 * `keyroll/typeorm`: encrypted TypeORM columns that read and write what the Python fields do
 * (docs/orm.md). TypeORM is an optional peer dependency: only this entry imports it.
 *
 * ```ts
 * import { Keyring } from 'keyroll';
 * import { encryptedColumn } from 'keyroll/typeorm';
 * const users = new EntitySchema({ name: 'users', columns: {
 *   id: { type: Number, primary: true, generated: true },
 *   ssn: encryptedColumn('text', { keyring: () => current, table: 'users', column: 'ssn' }),
 * } });
 * ```
 *
 * TypeORM calls transformers synchronously; keyroll's `encrypt`/`decrypt` are synchronous once
 * the package is imported (Node instantiates the wasm at import, browsers by top-level await),
 * so nothing here is async. Only opening a passphrase-sealed keyring is slow: do it with
 * `Keyring.loadAsync` before the DataSource starts, and hand the columns a function returning
 * the current keyring if it is reloaded later.
 */

import type { ValueTransformer } from 'typeorm';
import { ColumnCodec, type ColumnOptions, type KindValue, type StoredValue, type ValueKind } from './codec.js';

export { columnContext } from './codec.js';
export type { ColumnOptions, Json, KeyringSource, StoredValue, ValueKind } from './codec.js';

/** A TypeORM transformer over one column's codec (what `encryptedColumn` puts in `transformer`). */
export interface EncryptedTransformer<K extends ValueKind> extends ValueTransformer {
  /** `table:column`, the context every value of the column is bound to. */
  readonly context: string;
  /**
   * Plaintext → its envelope under the active version (a fresh nonce every call): `kr1:v<N>:…`
   * for text and JSON, the binary envelope for bytes; null stays null.
   */
  to(value: KindValue[K] | null | undefined): StoredValue<K> | null | undefined;
  /** Stored value → plaintext; throws `KeyrollError` for anything that does not decrypt. */
  from(value: unknown): KindValue[K] | null | undefined;
}

/**
 * The transformer for an encrypted column of `kind`. Equality in `where` cannot work on it
 * (every write has a fresh nonce): search through a blind index column (`blindIndexWhere`).
 */
export function encryptedTransformer<K extends ValueKind>(kind: K, options: ColumnOptions): EncryptedTransformer<K> {
  const codec = new ColumnCodec(kind, options);
  return {
    context: codec.context,
    to: (value) => codec.encrypt(value),
    from: (value) => codec.decrypt(value),
  };
}

/** What `encryptedColumn` returns: EntitySchema column options (or `@Column(...)` options). */
export interface EncryptedColumnOptions<K extends ValueKind> {
  type: string;
  name: string;
  nullable: boolean;
  transformer: EncryptedTransformer<K>;
}

/** `encryptedColumn`'s options: the column, and for bytes the database's binary type. */
export type EncryptedColumnSpec<K extends ValueKind> = ColumnOptions & {
  /** Default true. */
  nullable?: boolean;
} & (K extends 'bytes'
    ? /** The binary column type: `'bytea'` (PostgreSQL), `'blob'` (SQLite, MySQL). */ { type: string }
    : /** Default `'text'`; a binary type also works (the text envelope's ASCII bytes). */ { type?: string });

/**
 * Column options for an encrypted column named `options.column` (the name the context uses, so
 * the two cannot drift apart) with its transformer: text and JSON in a `text` column, bytes in
 * the binary type you name, as the Python fields store them.
 */
export function encryptedColumn<K extends ValueKind>(kind: K, options: EncryptedColumnSpec<K>): EncryptedColumnOptions<K> {
  const type = (options as { type?: string }).type ?? (kind === 'bytes' ? undefined : 'text');
  if (typeof type !== 'string' || type === '') {
    throw new TypeError("keyroll: an encrypted bytes column needs its binary type ('bytea', 'blob')");
  }
  return {
    type,
    name: options.column,
    nullable: options.nullable ?? true,
    transformer: encryptedTransformer(kind, options),
  };
}
