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

import {
  type ColumnType,
  type EntitySubscriberInterface,
  EventSubscriber,
  type EntitySchema,
  type FindOperator,
  In,
  type InsertEvent,
  type ObjectLiteral,
  type UpdateEvent,
  type ValueTransformer,
} from 'typeorm';
import type { Bytes } from '../convert.js';
import { BLIND_INDEX_WIDTH, BlindIndexColumn } from './blind.js';
import { ColumnCodec, type ColumnOptions, type KindValue, type StoredValue, type ValueKind } from './codec.js';

export { columnContext } from './codec.js';
export { BLIND_INDEX_WIDTH, BlindIndexColumn } from './blind.js';
export type { BlindIndexOptions } from './blind.js';
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
  type: ColumnType;
  name: string;
  nullable: boolean;
  transformer: EncryptedTransformer<K>;
}

/** `encryptedColumn`'s options: the column, and for bytes the database's binary type. */
export type EncryptedColumnSpec<K extends ValueKind> = ColumnOptions & {
  /** Default true. */
  nullable?: boolean;
} & (K extends 'bytes'
    ? /** The binary column type: `'bytea'` (PostgreSQL), `'blob'` (SQLite, MySQL). */ { type: ColumnType }
    : /** Default `'text'`; a binary type also works (the text envelope's ASCII bytes). */ { type?: ColumnType });

/**
 * Column options for an encrypted column named `options.column` (the name the context uses, so
 * the two cannot drift apart) with its transformer: text and JSON in a `text` column, bytes in
 * the binary type you name, as the Python fields store them.
 */
export function encryptedColumn<K extends ValueKind>(kind: K, options: EncryptedColumnSpec<K>): EncryptedColumnOptions<K> {
  const type = (options as { type?: ColumnType }).type ?? (kind === 'bytes' ? undefined : 'text');
  if (type === undefined || (type as unknown) === '') {
    throw new TypeError("keyroll: an encrypted bytes column needs its binary type ('bytea', 'blob')");
  }
  return {
    type,
    name: options.column,
    nullable: options.nullable ?? true,
    transformer: encryptedTransformer(kind, options),
  };
}

/** Column options for a blind-index column: `varchar(80)` named `options.column`, nullable. */
export function blindIndexColumn(options: { column: string; nullable?: boolean }): {
  type: 'varchar';
  length: number;
  name: string;
  nullable: boolean;
} {
  if (typeof options?.column !== 'string' || options.column === '') {
    throw new TypeError('keyroll: a blind-index column needs its column name');
  }
  return { type: 'varchar', length: BLIND_INDEX_WIDTH, name: options.column, nullable: options.nullable ?? true };
}

/**
 * `In(index.candidates(value))`: the `where` value that finds the rows whose source equals
 * `value` (after normalisation) under any live version, so rows indexed before a rotation and
 * after it are found alike: `repo.findBy({ emailBidx: blindIndexWhere(emailIndex, 'a@b.c') })`.
 * (The blind-index column has no transformer, so TypeORM passes the candidates as they are.)
 */
export function blindIndexWhere(index: BlindIndexColumn, value: Bytes): FindOperator<string> {
  return In(index.candidates(value));
}

/**
 * Fills blind-index properties on every insert and update TypeORM runs with listeners
 * (`save`, `insert`, `update`, query-builder inserts and updates): `{ emailBidx: emailIndex }`
 * sets `emailBidx` to the index of the entity's `emailIndex.source` property whenever that
 * property is in the values written (null for null). TypeORM's `subscribers` option takes
 * classes: use `blindIndexSubscriber(...)` there, or push an instance into
 * `dataSource.subscribers` after `initialize()`. Writes with `callListeners: false` or raw SQL
 * must call `compute` themselves.
 */
export class BlindIndexSubscriber<Entity extends ObjectLiteral = ObjectLiteral>
  implements EntitySubscriberInterface<Entity>
{
  readonly #target: string | Function;
  readonly #indexes: Array<[string, BlindIndexColumn]>;

  /** `target`: the entity class, or its `EntitySchema` (or the schema's name). */
  constructor(target: string | Function | EntitySchema<Entity>, indexes: Record<string, BlindIndexColumn>) {
    // TypeORM matches a subscriber by its metadata's target: an EntitySchema's is its
    // `target` option, else its name.
    this.#target = typeof target === 'object' ? (target.options.target ?? target.options.name) : target;
    this.#indexes = Object.entries(indexes);
    for (const [property, index] of this.#indexes) {
      if (!(index instanceof BlindIndexColumn)) throw new TypeError(`keyroll: ${property} needs a BlindIndexColumn`);
    }
  }

  listenTo(): string | Function {
    return this.#target;
  }

  beforeInsert(event: InsertEvent<Entity>): void {
    this.#fill(event.entity);
  }

  beforeUpdate(event: UpdateEvent<Entity>): void {
    this.#fill(event.entity);
  }

  #fill(entity: ObjectLiteral | undefined): void {
    if (entity === undefined || entity === null) return;
    for (const [property, index] of this.#indexes) {
      if (!Object.prototype.hasOwnProperty.call(entity, index.source)) continue;
      const value: unknown = entity[index.source];
      if (value === undefined) continue;
      if (value !== null && typeof value !== 'string' && !(value instanceof Uint8Array)) {
        throw new TypeError(`keyroll: ${index.source} must be a string or bytes to be indexed`);
      }
      (entity as Record<string, unknown>)[property] = index.computeNullable(value);
    }
  }
}

/**
 * A `BlindIndexSubscriber` class for the DataSource's `subscribers` option (TypeORM instantiates
 * the classes listed there itself): `subscribers: [blindIndexSubscriber(User, { emailBidx })]`.
 */
export function blindIndexSubscriber<Entity extends ObjectLiteral = ObjectLiteral>(
  target: string | Function | EntitySchema<Entity>,
  indexes: Record<string, BlindIndexColumn>,
): new () => BlindIndexSubscriber<Entity> {
  const Bound = class extends BlindIndexSubscriber<Entity> {
    constructor() {
      super(target, indexes);
    }
  };
  // What the @EventSubscriber() decorator does: register the class with TypeORM.
  EventSubscriber()(Bound);
  return Bound;
}
