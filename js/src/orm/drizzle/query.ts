/**
 * What both dialect entries share besides the columns: blind-index lookups and the context rule.
 */

import { type Column, type SQL, inArray } from 'drizzle-orm';
import type { Bytes } from '../../convert.js';
import type { BlindIndexColumn } from '../blind.js';

export { columnContext } from '../codec.js';
export { BLIND_INDEX_WIDTH, BlindIndexColumn } from '../blind.js';
export type { BlindIndexOptions } from '../blind.js';
export type { ColumnOptions, Json, KeyringSource, ValueKind } from '../codec.js';

/**
 * `inArray(column, index.candidates(value))`: rows whose source equals `value` (after
 * normalisation) under any live version, so rows indexed before a rotation and after it are
 * found alike. `column` is a plain text/varchar column holding `index.compute(plaintext)`
 * (written by you on insert and update: Drizzle has no write hooks).
 */
export function blindIndexWhere(column: Column, index: BlindIndexColumn, value: Bytes): SQL {
  return inArray(column, index.candidates(value));
}
