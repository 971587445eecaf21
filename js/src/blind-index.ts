/**
 * `BlindIndex`: equality search over encrypted columns, over core's blind index (one call per
 * method). Spec: docs/wire-format.md §11; sizing and what leaks: docs/blind-index.md.
 *
 * ```js
 * const email = ring.blindIndex('users.email', { bits: 64, normalizer: 'trim+casefold' });
 * row.emailBi = email.compute(' Alice@Example.com');         // 'bi1:v2:…', on insert/update
 * db.query('… WHERE email_bi = ANY($1)', [email.candidates('alice@example.com')]);
 * ```
 */

import type { WasmBlindIndex, WasmKeyring } from './wasm/keyroll_wasm.js';
import { type Bytes, bytes } from './convert.js';

/** How values are normalised before indexing (docs/wire-format.md §11.2). */
export type BlindIndexNormalizer = 'exact' | 'trim' | 'casefold' | 'trim+casefold' | 'casefold+trim' | 'digits';

/** The canonical normaliser names, in the spec's order. */
export const BLIND_INDEX_NORMALIZERS: readonly BlindIndexNormalizer[] = Object.freeze([
  'exact',
  'trim',
  'casefold',
  'trim+casefold',
  'digits',
]);

/** Options of `Keyring.blindIndex`. */
export interface BlindIndexOptions {
  /** Bits of the MAC kept: a multiple of 8 from 8 to 256 (choosing: docs/blind-index.md). */
  bits: number;
  /** Default `exact`. */
  normalizer?: BlindIndexNormalizer;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for('nodejs.dispose') as typeof Symbol.dispose);

let wrap: (inner: WasmBlindIndex) => BlindIndex;

/**
 * A blind index over one column, made by `keyring.blindIndex(name, { bits, normalizer })`:
 * `compute(value)` for the row written, `candidates(value)` for `WHERE col IN (…)` (one per live
 * key version, active first). A snapshot of the keyring: make it again after a rotation. Values
 * are strings (UTF-8) or `Uint8Array`s. Free it with `free()` or `using` to wipe its keys at once.
 */
export class BlindIndex {
  #inner: WasmBlindIndex | undefined;

  static {
    wrap = (inner) => new BlindIndex(inner);
  }

  private constructor(inner: WasmBlindIndex) {
    this.#inner = inner;
  }

  get #index(): WasmBlindIndex {
    if (this.#inner === undefined) throw new Error('keyroll: this BlindIndex was freed');
    return this.#inner;
  }

  /** The index of `value` under the active version (`bi1:v<N>:<hex>`): what a write stores. */
  compute(value: Bytes): string {
    return this.#index.compute(bytes(value));
  }

  /** The index of `value` under every live version, active first: what a lookup asks for. */
  candidates(value: Bytes): string[] {
    return this.#index.candidates(bytes(value));
  }

  /** The index name (part of its key). */
  get name(): string {
    return this.#index.name;
  }

  /** The normaliser's canonical name. */
  get normalizer(): BlindIndexNormalizer {
    return this.#index.normalizer as BlindIndexNormalizer;
  }

  /** The number of bits kept. */
  get bits(): number {
    return this.#index.bits;
  }

  /** The version `compute` writes; undefined for a decrypt-only export (it only looks up). */
  get activeVersion(): number | undefined {
    return this.#index.activeVersion;
  }

  /** The versions `candidates` covers, in its order. */
  get versions(): number[] {
    return Array.from(this.#index.versions);
  }

  /** Wipes the keys and releases the wasm memory now. Safe to call twice. */
  free(): void {
    const inner = this.#inner;
    this.#inner = undefined;
    inner?.free();
  }

  [disposeSymbol](): void {
    this.free();
  }

  toString(): string {
    if (this.#inner === undefined) return 'BlindIndex(freed)';
    return `BlindIndex(name=${JSON.stringify(this.name)}, normalizer=${this.normalizer}, bits=${this.bits}, versions=[${this.versions.join(', ')}])`;
  }

  toJSON(): { name: string; normalizer: string; bits: number; versions: number[] } | { freed: true } {
    if (this.#inner === undefined) return { freed: true };
    return { name: this.name, normalizer: this.normalizer, bits: this.bits, versions: this.versions };
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

/** @internal `Keyring.blindIndex`'s one line. */
export function blindIndexOf(ring: WasmKeyring, name: string, options: BlindIndexOptions): BlindIndex {
  if (options === null || typeof options !== 'object' || !Number.isInteger(options.bits)) {
    throw new TypeError('keyroll: blindIndex needs { bits } (a multiple of 8 from 8 to 256)');
  }
  if (typeof name !== 'string') throw new TypeError('keyroll: a blind index name is a string');
  return wrap(ring.blindIndex(name, options.normalizer ?? 'exact', Math.min(Math.max(options.bits, 0), 0xffff_ffff)));
}
