/**
 * `keyroll/drizzle/pg`: encrypted Drizzle columns for PostgreSQL (`drizzle-orm/pg-core`), stored
 * as kr1 text under the context `table:column`, exactly as the Python fields store them
 * (docs/orm.md). Drizzle is an optional peer dependency: only this entry imports it.
 *
 * ```ts
 * const users = pgTable('users', {
 *   id: serial('id').primaryKey(),
 *   ssn: encryptedText({ keyring: () => current, table: 'users', column: 'ssn' }),
 * });
 * ```
 *
 * The mappers are synchronous, as Drizzle's are; keyroll's encrypt/decrypt are too once the
 * package is imported. A function for `keyring` is called on every value, so a live-reloading
 * keyring handle plugs in unchanged.
 */

import { customType } from 'drizzle-orm/pg-core';
import type { ColumnOptions, Json } from '../codec.js';
import { encryptedParams } from './columns.js';

export * from './query.js';

/** An encrypted string column (`text` in the database), named `options.column`. */
export function encryptedText<const TName extends string>(options: ColumnOptions & { column: TName }) {
  return customType<{ data: string; driverData: string }>(encryptedParams<string, string>('text', options, 'bytea'))(options.column);
}

/** An encrypted bytes column: the value is a `Uint8Array`, stored as the binary envelope (`bytea`). */
export function encryptedBytes<const TName extends string>(options: ColumnOptions & { column: TName }) {
  return customType<{ data: Uint8Array; driverData: Uint8Array }>(
    encryptedParams<Uint8Array, Uint8Array>('bytes', options, 'bytea'),
  )(
    options.column,
  );
}

/** An encrypted JSON column (`JSON.stringify`'s UTF-8, stored as kr1 text); `T` is the value's type. */
export function encryptedJson<T = Json, const TName extends string = string>(
  options: ColumnOptions & { column: TName },
) {
  return customType<{ data: T; driverData: string }>(encryptedParams<T, string>('json', options, 'bytea'))(options.column);
}
