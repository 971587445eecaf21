/**
 * What both dialect entries share besides the columns: the context rule and its types. The
 * blind-index query helpers join this file once core's `BlindIndex` is in the npm package.
 */

export { columnContext } from '../codec.js';
export type { ColumnOptions, Json, KeyringSource, ValueKind } from '../codec.js';
