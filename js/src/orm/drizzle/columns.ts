/**
 * One definition of the three encrypted Drizzle column types, over the `customType` of any
 * dialect (each dialect's `customType` has the same parameters; only the builder it returns
 * differs, and the dialect entries give it its type).
 */

import { ColumnCodec, type ColumnOptions, type ValueKind } from '../codec.js';

/** The parameters every dialect's `customType` takes (the part this package uses). */
export interface CustomTypeParams<TData, TDriver> {
  dataType: () => string;
  toDriver: (value: TData) => TDriver;
  fromDriver: (value: TDriver) => TData;
}

/**
 * `customType` parameters for an encrypted column, stored as the Python fields store it: text
 * and JSON as kr1 text in a `text` column, bytes as the binary envelope in `binaryType`. Reads
 * throw `KeyrollError` for anything that does not decrypt.
 */
export function encryptedParams<TData, TDriver>(
  kind: ValueKind,
  options: ColumnOptions,
  binaryType: string,
): CustomTypeParams<TData, TDriver> {
  const codec = new ColumnCodec(kind, options);
  return {
    dataType: () => (kind === 'bytes' ? binaryType : 'text'),
    // Drizzle never hands a custom column's mapper a null (it writes NULL itself).
    toDriver: (value) => codec.encrypt(value as never) as TDriver,
    fromDriver: (value) => codec.decrypt(value) as TData,
  };
}
